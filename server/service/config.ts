/**
 * The service's configuration: defaults, then a JSON file, then the
 * environment, then the command line (each overriding the one before).
 * Secrets are never part of it: it names the files that hold keys, never
 * their contents, so describing the configuration in a log is always safe.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { AGGREGATE_KINDS, TEMPORAL_RESOLUTIONS, type Temporal } from '../engine/spec.js';
import { opaliteHome } from '../ingest/pseudonymise.js';
import type { BudgetPeriod } from '../privacy/dp/accountant.js';

/**
 * How a tier's answers are protected (docs/PRIVACY.md). `dp`, the default:
 * discrete Gaussian noise at a zCDP cost of `rho` per query, spent from a
 * per-subject `budget` per period, values published only when the noisy value
 * exceeds k. `threshold`: FlowKit's redaction alone, exact values; it cannot
 * stop differencing, so it is an explicit operator choice, warned about at
 * start and named in every answer.
 */
export type TierPrivacy =
  | {
      mode: 'dp';
      /** zCDP cost of one query (its final answer and its progressive frames together). */
      rho: number;
      /** What one token subject may spend per period. */
      budget: { rho: number; period: BudgetPeriod };
      /** The delta of the (epsilon, delta) figure reported beside rho (default 1e-9). */
      delta?: number;
      /** Threshold on noisy values (default: the service's k). */
      k?: number;
    }
  | { mode: 'threshold'; k?: number };

/** The zCDP cost of one indicator publication by default (docs/PRIVACY.md). */
export const DEFAULT_INDICATOR_RHO = 0.5;
/**
 * The default publisher cap per data period, in publications: the 8 noised vectors of a period at 3 admin
 * units, twice (room for one correction of the period's data after it was published).
 */
export const INDICATOR_CAP_PUBLICATIONS = 48;

/** The publisher's cap per data period in force: privacy.indicatorCap, else INDICATOR_CAP_PUBLICATIONS x indicatorRho. */
export function indicatorCap(cfg: Pick<ServiceConfig, 'privacy'>): number {
  return cfg.privacy.indicatorCap || INDICATOR_CAP_PUBLICATIONS * (cfg.privacy.indicatorRho ?? DEFAULT_INDICATOR_RHO);
}

/** A tier's privacy when its configuration names none: DP (issue #13), with the default figures of docs/PRIVACY.md. */
export const DEFAULT_DP: TierPrivacy = { mode: 'dp', rho: 0.1, budget: { rho: 5, period: 'month' }, delta: 1e-9 };

/** What a token of a tier may see (docs/SERVICE.md, tiers and tokens). */
export interface Tier {
  /** Aggregation units it may see; '*' = every unit of the store. */
  units: string[];
  /** The finest time resolution a result may reveal. */
  temporal: Temporal;
  /** Top-level query kinds it may run; '*' = all. */
  kinds: string[];
  /** Whether it may download results (CSV, GeoJSON, Parquet, Arrow); JSON is browsing. */
  download: boolean;
  /** Whether its stream subscriptions receive fresh frames when new days are ingested. */
  live: boolean;
  /** How far back: a query may not reach before the store's last day minus this many days. */
  historyDays?: number;
  /** Embargo: a query may not reach into the store's newest this many days. */
  freshnessDays?: number;
  /** Queries (REST runs and stream subscriptions) per hour per token subject. */
  queriesPerHour: number;
  /** How its answers are protected; omitted: DEFAULT_DP. */
  privacy?: TierPrivacy;
}

/** The aggregate kinds the indicator families (OPAL's) are built from. */
export const INDICATOR_KINDS = ['spatial_aggregate', 'flows', 'inflows', 'outflows', 'unique_subscriber_counts'];

/** docs/SERVICE.md's example tiers, after OPAL's Free and Premium plans. */
export const DEFAULT_TIERS: Record<string, Tier> = {
  free: {
    units: ['admin1', 'admin2'],
    temporal: 'month',
    kinds: [...INDICATOR_KINDS, 'geography'],
    download: false,
    live: false,
    freshnessDays: 30,
    queriesPerHour: 60,
    privacy: { mode: 'dp', rho: 0.05, budget: { rho: 1, period: 'month' }, delta: 1e-9 },
  },
  premium: {
    units: ['admin1', 'admin2', 'admin3'],
    temporal: 'day',
    kinds: [...AGGREGATE_KINDS],
    download: true,
    live: false,
    queriesPerHour: 600,
    privacy: { mode: 'dp', rho: 0.1, budget: { rho: 5, period: 'month' }, delta: 1e-9 },
  },
  partner: {
    units: ['*'],
    temporal: 'hour',
    kinds: ['*'],
    download: true,
    live: true,
    queriesPerHour: 6000,
    privacy: { mode: 'dp', rho: 0.2, budget: { rho: 20, period: 'month' }, delta: 1e-9 },
  },
};

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface ServiceConfig {
  host: string;
  /** 0 = a free port. */
  port: number;
  /** Store folder. */
  store: string;
  /** Redaction threshold (>= 15). */
  k?: number;
  /** Subscriber partitions: tasks per query (default: the engine's choice from the store's size, partitionsFor). */
  partitions?: number;
  /** Kernel worker threads; 0 runs queries on the event loop (tests only: it blocks I/O while a query runs). */
  threads: number;
  /**
   * Bytes of store day columns the engine keeps resident (its buffer pool, docs/SCALE.md): days are read
   * when a query needs them, least recently used days evicted to stay within this; a query whose window
   * alone needs more is refused (OVER_BUDGET). Default: 3 GiB or a quarter of the machine's memory, whichever is less.
   */
  residentBytes: number;
  /** The `aud` every token must carry. */
  audience: string;
  keys: {
    /** PEM public keys (Ed25519 or RSA) that tokens may be signed by. */
    publicKeys: string[];
    /** PEM private key for minting tokens (CLI `token`, the development tokens of `serve`). */
    signingKey?: string;
  };
  tiers: Record<string, Tier>;
  audit: {
    file: string;
    /** always: fdatasync after every entry; interval: at most every fsyncIntervalMs; never: leave it to the OS. */
    fsync: FsyncPolicy;
    fsyncIntervalMs: number;
  };
  limits: {
    /** Largest request body (POST /run), bytes; beyond: 413. */
    maxBodyBytes: number;
    /** Queries executing at once; the rest wait (status "queued"). */
    maxConcurrentQueries: number;
    /** Queries waiting beyond this are refused with 503 and Retry-After. */
    maxQueuedQueries: number;
    /** Query jobs remembered for /poll and /get (finished ones are forgotten oldest first). */
    maxJobs: number;
    /** Serialised results (CSV, Arrow, ...) kept for repeated downloads, bytes. */
    resultCacheBytes: number;
  };
  stream: {
    /** Largest inbound WebSocket message, bytes (uWS closes the socket beyond it). */
    maxPayloadLength: number;
    /** Subscriptions open at once on one socket. */
    maxSubscriptions: number;
    /** Bytes uWS may buffer for one socket (uWS maxBackpressure). */
    maxBackpressure: number;
    /** Bytes of final frames queued while a socket is choked; beyond: the socket is closed (1013). */
    maxQueuedBytes: number;
    /** Seconds without traffic before uWS closes a socket. */
    idleTimeout: number;
    /** Milliseconds a socket may stay unauthenticated. */
    authTimeoutMs: number;
  };
  log: { level: string };
  cors: {
    /** Browser origins (scheme://host[:port]) whose pages may call the REST API; '*' = any. Default: none. */
    origins: string[];
  };
  privacy: {
    /** File holding the DP noise secret (>= 32 bytes, mode 0600); '' = a development secret under OPALITE_HOME/service. */
    secretFile: string;
    /** The budget ledger (JSON lines, fsynced per charge); '' = budget.jsonl beside the audit log. */
    ledger: string;
    /**
     * zCDP cost of one indicator publication (one noised vector, one period, one unit), paid once by the
     * publisher whatever the number of tokens (docs/PRIVACY.md, "Indicators"). Default 0.5.
     */
    indicatorRho: number;
    /**
     * The most rho the publisher spends on one data period (one resolution and period key, all units and
     * publications together, re-publications after a data change included); past it a publication is
     * withheld. Default (0 here): INDICATOR_CAP_PUBLICATIONS x indicatorRho.
     */
    indicatorCap: number;
  };
  cache: {
    /** Finished query results kept on disk across restarts; '' = <store>/cache/results. */
    dir: string;
    /** Bytes the folder may hold; the least recently written results go first. 0 turns it off. */
    maxBytes: number;
  };
}

const Temporal = z.enum(TEMPORAL_RESOLUTIONS);

/** residentBytes' bounds: 16 MiB, and 3.5 GiB of a wasm32 memory's 4 GiB (the rest: task scratch, tables, a day's load scratch). */
export const MIN_RESIDENT_BYTES = 16 * 2 ** 20;
export const MAX_RESIDENT_BYTES = 3.5 * 2 ** 30;

const PrivacySchema = z.discriminatedUnion('mode', [
  z
    .object({
      mode: z.literal('dp'),
      rho: z.number().positive().max(100),
      budget: z.object({ rho: z.number().positive(), period: z.enum(['day', 'week', 'month', 'year']) }).strict(),
      delta: z.number().positive().max(1e-3).optional(),
      k: z.number().int().min(15).optional(),
    })
    .strict()
    .refine((p) => p.rho <= p.budget.rho, { message: 'expected rho (the cost of one query) at most budget.rho (what a subject may spend per period)', path: ['rho'] }),
  z.object({ mode: z.literal('threshold'), k: z.number().int().min(15).optional() }).strict(),
]);

const TierSchema = z
  .object({
    units: z.array(z.string().min(1)).min(1),
    temporal: Temporal,
    kinds: z.array(z.string().min(1)).min(1),
    download: z.boolean().default(false),
    live: z.boolean().default(false),
    historyDays: z.number().int().positive().optional(),
    freshnessDays: z.number().int().nonnegative().optional(),
    queriesPerHour: z.number().int().positive(),
    privacy: PrivacySchema.optional(),
  })
  .strict();

const FileSchema = z
  .object({
    host: z.string(),
    port: z.number().int().min(0).max(65535),
    store: z.string(),
    k: z.number().int().min(15),
    partitions: z.number().int().min(1).max(256),
    threads: z.number().int().min(0).max(256),
    // One day of a small store at least; at most what a wasm32 memory holds beside task scratch.
    residentBytes: z.number().int().min(MIN_RESIDENT_BYTES).max(MAX_RESIDENT_BYTES),
    audience: z.string().min(1),
    keys: z.object({ publicKeys: z.array(z.string()), signingKey: z.string() }).partial().strict(),
    tiers: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), TierSchema),
    audit: z
      .object({ file: z.string(), fsync: z.enum(['always', 'interval', 'never']), fsyncIntervalMs: z.number().int().positive() })
      .partial()
      .strict(),
    limits: z
      .object({
        maxBodyBytes: z.number().int().min(1024),
        maxConcurrentQueries: z.number().int().min(1),
        maxQueuedQueries: z.number().int().min(1),
        maxJobs: z.number().int().min(1),
        resultCacheBytes: z.number().int().min(0),
      })
      .partial()
      .strict(),
    stream: z
      .object({
        maxPayloadLength: z.number().int().min(1024),
        maxSubscriptions: z.number().int().min(1),
        maxBackpressure: z.number().int().min(1024),
        maxQueuedBytes: z.number().int().min(1024),
        idleTimeout: z.number().int().min(0),
        authTimeoutMs: z.number().int().min(100),
      })
      .partial()
      .strict(),
    log: z.object({ level: z.string() }).partial().strict(),
    cors: z
      .object({ origins: z.array(z.string().regex(/^(\*|https?:\/\/[^/\s]+)$/, 'expected "*" or an origin such as https://dashboard.example.org (no path)')) })
      .partial()
      .strict(),
    cache: z.object({ dir: z.string(), maxBytes: z.number().int().min(0) }).partial().strict(),
    privacy: z.object({ secretFile: z.string(), ledger: z.string(), indicatorRho: z.number().positive().max(100), indicatorCap: z.number().positive().max(10_000) }).partial().strict(),
  })
  .partial()
  .strict();

export type ConfigFile = z.infer<typeof FileSchema>;

/** The buffer pool's default budget (the engine's DEFAULT_RESIDENT_BYTES), lowered to a quarter of a small machine's memory. */
export function defaultResidentBytes(totalMemory = os.totalmem()): number {
  return Math.max(MIN_RESIDENT_BYTES, Math.min(3 * 2 ** 30, Math.floor(totalMemory / 4 / 2 ** 20) * 2 ** 20));
}

/** Where development secrets and the default audit log live: outside any repository. */
export function serviceHome(): string {
  return path.join(opaliteHome(), 'service');
}

export function defaultConfig(): ServiceConfig {
  const home = serviceHome();
  return {
    host: '127.0.0.1',
    port: 8080,
    store: '',
    threads: Math.min(4, Math.max(1, os.availableParallelism() - 1)),
    residentBytes: defaultResidentBytes(),
    audience: 'opalite',
    keys: { publicKeys: [] },
    tiers: structuredClone(DEFAULT_TIERS),
    audit: { file: path.join(home, 'audit.jsonl'), fsync: 'interval', fsyncIntervalMs: 1000 },
    limits: { maxBodyBytes: 64 * 1024, maxConcurrentQueries: 2, maxQueuedQueries: 64, maxJobs: 1000, resultCacheBytes: 64 * 1024 * 1024 },
    stream: {
      maxPayloadLength: 64 * 1024,
      maxSubscriptions: 16,
      maxBackpressure: 1024 * 1024,
      maxQueuedBytes: 1024 * 1024,
      idleTimeout: 120,
      authTimeoutMs: 10_000,
    },
    log: { level: 'info' },
    cors: { origins: [] },
    privacy: { secretFile: '', ledger: '', indicatorRho: DEFAULT_INDICATOR_RHO, indicatorCap: 0 },
    cache: { dir: '', maxBytes: 256 * 1024 * 1024 },
  };
}

/** An operator's mistake in setting the service up (configuration, keys, audit log): its message says it all. */
export class SetupError extends Error {}

export class ConfigError extends SetupError {
  override name = 'ConfigError';
}

/** Validates a parsed configuration file; `source` names it in messages. */
export function parseConfigFile(json: unknown, source: string): ConfigFile {
  const parsed = FileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`${source}: ${issue.path.join('.') || 'configuration'}: ${issue.message}`);
  }
  return parsed.data;
}

export function readConfigFile(file: string): ConfigFile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`${file}: expected a JSON configuration file, found no readable file`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: expected JSON, found text that does not parse (${(e as Error).message})`);
  }
  // Relative paths in the file are relative to the file.
  const cfg = parseConfigFile(json, file);
  const dir = path.dirname(path.resolve(file));
  const rel = (p: string) => path.resolve(dir, p);
  if (cfg.store) cfg.store = rel(cfg.store);
  if (cfg.audit?.file) cfg.audit.file = rel(cfg.audit.file);
  if (cfg.keys?.publicKeys) cfg.keys.publicKeys = cfg.keys.publicKeys.map(rel);
  if (cfg.keys?.signingKey) cfg.keys.signingKey = rel(cfg.keys.signingKey);
  if (cfg.cache?.dir) cfg.cache.dir = rel(cfg.cache.dir);
  if (cfg.privacy?.secretFile) cfg.privacy.secretFile = rel(cfg.privacy.secretFile);
  if (cfg.privacy?.ledger) cfg.privacy.ledger = rel(cfg.privacy.ledger);
  return cfg;
}

/** The environment's overrides (OPALITE_*), as a configuration file would give them. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): ConfigFile {
  const out: Record<string, unknown> = {};
  const int = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n)) throw new ConfigError(`${name}: expected an integer, found ${JSON.stringify(v)}`);
    return n;
  };
  if (env.OPALITE_HOST) out.host = env.OPALITE_HOST;
  if (env.OPALITE_PORT) out.port = int('OPALITE_PORT', env.OPALITE_PORT);
  if (env.OPALITE_STORE) out.store = path.resolve(env.OPALITE_STORE);
  if (env.OPALITE_K) out.k = int('OPALITE_K', env.OPALITE_K);
  if (env.OPALITE_THREADS) out.threads = int('OPALITE_THREADS', env.OPALITE_THREADS);
  if (env.OPALITE_RESIDENT_BYTES) out.residentBytes = int('OPALITE_RESIDENT_BYTES', env.OPALITE_RESIDENT_BYTES);
  if (env.OPALITE_AUDIENCE) out.audience = env.OPALITE_AUDIENCE;
  if (env.OPALITE_AUDIT_LOG) out.audit = { file: path.resolve(env.OPALITE_AUDIT_LOG) };
  const keys: Record<string, unknown> = {};
  if (env.OPALITE_PUBLIC_KEYS) keys.publicKeys = env.OPALITE_PUBLIC_KEYS.split(',').map((p) => path.resolve(p.trim()));
  if (env.OPALITE_SIGNING_KEY) keys.signingKey = path.resolve(env.OPALITE_SIGNING_KEY);
  if (Object.keys(keys).length) out.keys = keys;
  if (env.OPALITE_LOG_LEVEL) out.log = { level: env.OPALITE_LOG_LEVEL };
  if (env.OPALITE_CORS_ORIGINS) out.cors = { origins: env.OPALITE_CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean) };
  if (env.OPALITE_CACHE_DIR) out.cache = { dir: path.resolve(env.OPALITE_CACHE_DIR) };
  if (env.OPALITE_DP_SECRET_FILE) out.privacy = { secretFile: path.resolve(env.OPALITE_DP_SECRET_FILE) };
  return parseConfigFile(out, 'environment');
}

/** Layers partial configurations over the defaults; a layer's tiers replace the tiers before it. */
export function mergeConfig(base: ServiceConfig, ...layers: ConfigFile[]): ServiceConfig {
  const cfg = structuredClone(base);
  for (const l of layers) {
    for (const key of ['host', 'port', 'store', 'k', 'partitions', 'threads', 'residentBytes', 'audience'] as const) {
      if (l[key] !== undefined) (cfg as unknown as Record<string, unknown>)[key] = l[key];
    }
    if (l.tiers) cfg.tiers = structuredClone(l.tiers) as Record<string, Tier>;
    Object.assign(cfg.privacy, l.privacy ?? {});
    Object.assign(cfg.keys, l.keys ?? {});
    Object.assign(cfg.audit, l.audit ?? {});
    Object.assign(cfg.limits, l.limits ?? {});
    Object.assign(cfg.stream, l.stream ?? {});
    Object.assign(cfg.log, l.log ?? {});
    Object.assign(cfg.cors, l.cors ?? {});
    Object.assign(cfg.cache, l.cache ?? {});
  }
  if (Object.keys(cfg.tiers).length === 0) throw new ConfigError('tiers: expected at least one tier, found none');
  // DP unless the operator chose otherwise, tier by tier.
  for (const t of Object.values(cfg.tiers)) t.privacy ??= structuredClone(DEFAULT_DP);
  return cfg;
}

/** Defaults, then the file (if any), then the environment, then `overrides`. */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: ConfigFile } = {}): ServiceConfig {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.OPALITE_CONFIG;
  return mergeConfig(defaultConfig(), file ? readConfigFile(file) : {}, configFromEnv(env), opts.overrides ?? {});
}

/** A one-line-per-setting description for the log: paths, never key material. */
export function describeConfig(cfg: ServiceConfig): Record<string, unknown> {
  return {
    listen: `${cfg.host}:${cfg.port}`,
    store: cfg.store,
    k: cfg.k ?? 15,
    partitions: cfg.partitions ?? 'from the store size',
    threads: cfg.threads,
    residentBytes: cfg.residentBytes,
    audience: cfg.audience,
    publicKeys: cfg.keys.publicKeys,
    tiers: Object.keys(cfg.tiers),
    audit: cfg.audit.file,
    fsync: cfg.audit.fsync,
    corsOrigins: cfg.cors.origins,
    resultCache: cfg.cache.maxBytes > 0 ? resultCacheDir(cfg) : 'off',
    privacy: Object.fromEntries(Object.entries(cfg.tiers).map(([n, t]) => [n, privacyOf(t).mode === 'dp' ? `dp rho ${(privacyOf(t) as { rho: number }).rho}/query` : 'threshold only'])),
  };
}

/** A tier's privacy: its own, else DEFAULT_DP. */
export function privacyOf(t: Tier): TierPrivacy {
  return t.privacy ?? DEFAULT_DP;
}

/** Where the budget ledger lives: privacy.ledger, else budget.jsonl beside the audit log. */
export function ledgerFile(cfg: Pick<ServiceConfig, 'audit' | 'privacy'>): string {
  return cfg.privacy.ledger || path.join(path.dirname(cfg.audit.file), 'budget.jsonl');
}

/** Where finished query results are kept across restarts: cache.dir, else beside the store's days. */
export function resultCacheDir(cfg: Pick<ServiceConfig, 'store' | 'cache'>): string {
  return cfg.cache.dir || path.join(cfg.store, 'cache', 'results');
}
