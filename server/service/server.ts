/**
 * The service: one uWS app serving the REST routes and the stream over one
 * engine. startServer listens (port 0 = a free port) and returns the port
 * and a graceful close: stop accepting, let running queries and requests
 * finish (bounded), close stream sockets with a reason, flush the audit log.
 * The engine belongs to the caller, who closes it after.
 */
import net from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pino, type Logger } from 'pino';
import type { Engine } from '../engine/engine.js';
import { AuditLog } from './audit.js';
import { Verifier } from './auth.js';
import { BodyCache } from './cache.js';
import { ConfigError, describeConfig, ledgerFile, privacyOf, resultCacheDir, serviceHome, type ServiceConfig } from './config.js';
import { Accountant } from '../privacy/dp/accountant.js';
import { dpSecret } from '../privacy/dp/secret.js';
import { isProduction } from '../util/production.js';
import type { ServiceContext } from './context.js';
import { Jobs } from './jobs.js';
import { loadPublicKey, type VerifyKey } from './keys.js';
import { PrometheusMetrics } from './prometheus.js';
import { RateLimiter } from './ratelimit.js';
import { ResultStore } from './result-store.js';
import { API, registerRest } from './rest.js';
import { storeChange } from '../store/change.js';
import { StreamHub } from './stream.js';
import { registerDashboard } from './static.js';
import { closeApp, LIBUS_LISTEN_EXCLUSIVE_PORT, uWS, type TemplatedApp, type us_listen_socket } from './uws.js';
import { IndicatorCache } from '../indicators/cache.js';

/**
 * How long close() lets running queries finish before it abandons them
 * (SHUTTING_DOWN). With the rest of shutdown this stays inside the 30 s the
 * README promises and the systemd unit's TimeoutStopSec.
 */
export const SHUTDOWN_GRACE_MS = 20_000;

export interface StartOptions {
  config: ServiceConfig;
  engine: Engine;
  log?: Logger;
  /** Verification keys; default: config.keys.publicKeys. */
  keys?: VerifyKey[];
  /** The audit log, opened; default: config.audit.file (tests pass one whose disk fills up). */
  audit?: AuditLog;
}

export interface RunningServer {
  port: number;
  /** http://host:port */
  url: string;
  /** Graceful: stops accepting at once, waits up to `graceMs` (default SHUTDOWN_GRACE_MS) for running queries and requests, then abandons the queries still running. */
  close(opts?: { graceMs?: number; reason?: string }): Promise<void>;
  /**
   * Takes up a new store version: new queries run on `engine`, cached bodies
   * are dropped, live subscriptions the change touches are re-run
   * (live.ts's followStore calls it, through its EngineHolder); the caller closes the old engine.
   */
  onStoreVersion(engine: Engine): void;
  readonly context: ServiceContext;
}

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const { config } = opts;
  const log = opts.log ?? pino({ level: config.log.level, name: 'opalite' }, pino.destination(2));
  const keys = opts.keys ?? config.keys.publicKeys.map(loadPublicKey);
  if (keys.length === 0) throw new ConfigError('keys.publicKeys: expected at least one public key to verify tokens with, found none');
  const audit = opts.audit ?? AuditLog.open(config.audit.file, { fsync: config.audit.fsync, fsyncIntervalMs: config.audit.fsyncIntervalMs });
  audit.onFailure = (err) => log.error({ err, file: config.audit.file }, 'audit log write failed; requests are refused until it can be written');
  // The second sink that anchors the chain (audit-anchor.ts): journald keeps these lines where the service user cannot edit them.
  audit.onCheckpoint = (cp) => log.info({ audit_checkpoint: cp, file: config.audit.file }, 'audit checkpoint');
  const metrics = new PrometheusMetrics();
  let secret: Buffer;
  let accountant: Accountant;
  try {
    if (isProduction() && !config.privacy.secretFile) {
      throw new Error('secretFile: expected the DP secret file in production (NODE_ENV=production; OPALITE_DP_SECRET_FILE), found none; a generated development secret is never used in production');
    }
    secret = dpSecret(config.privacy.secretFile, serviceHome());
    accountant = new Accountant(ledgerFile(config));
  } catch (e) {
    audit.close();
    throw new ConfigError(`privacy: ${(e as Error).message}`);
  }
  for (const [name, tier] of Object.entries(config.tiers)) {
    if (privacyOf(tier).mode === 'threshold') {
      log.warn({ tier: name }, `tier ${name} is protected by threshold redaction only: its answers are exact and two of them can be differenced (docs/PRIVACY.md); every answer says so`);
    }
  }
  const results =
    config.cache.maxBytes > 0
      ? new ResultStore(resultCacheDir(config), config.cache.maxBytes, (message, err) => log.warn({ err }, message))
      : undefined;
  const jobs = new Jobs(opts.engine, {
    maxConcurrent: config.limits.maxConcurrentQueries,
    maxJobs: config.limits.maxJobs,
    maxQueued: config.limits.maxQueuedQueries,
    results,
  });
  jobs.onInternalError = (err) => log.error({ err }, 'query failed');
  const ctx: ServiceContext = {
    config,
    engine: opts.engine,
    jobs,
    verifier: new Verifier(keys, config.audience, config.tiers),
    limiter: new RateLimiter(),
    audit,
    metrics,
    log,
    bodies: new BodyCache(config.limits.resultCacheBytes),
    indicators: new IndicatorCache(),
    accountant,
    dpSecret: secret,
    closing: false,
  };
  metrics.gauge('opalite_queries_running', 'Queries executing now.', () => jobs.running);
  metrics.gauge('opalite_queries_queued', 'Queries waiting for an execution slot.', () => jobs.queued);
  metrics.gauge('opalite_cache_entries', 'Finished query results held for /get.', () => jobs.cached);
  metrics.gauge('opalite_cache_bodies', 'Serialised results and geographies held.', () => ctx.bodies.size);
  metrics.gauge('opalite_audit_entries', 'Entries in the audit log.', () => audit.entries);
  metrics.gauge('opalite_audit_failures', 'Audit log writes and flushes that failed since start (each refused its request).', () => audit.failures);
  metrics.gauge('opalite_store_version', 'Version of the store being served.', () => ctx.engine.version);
  // The engine's buffer pool of day columns (docs/SCALE.md); counts restart with each store version's engine.
  metrics.gauge('opalite_pool_resident_bytes', 'Bytes of store day columns resident in the engine.', () => ctx.engine.poolStats().residentBytes);
  metrics.gauge('opalite_pool_budget_bytes', 'The resident budget (residentBytes) day columns stay within.', () => ctx.engine.poolStats().budgetBytes);
  metrics.gauge('opalite_pool_resident_days', 'Store days resident in the engine.', () => ctx.engine.poolStats().days);
  metrics.gauge('opalite_pool_hits', 'Day blocks a query found resident, since this store version was opened.', () => ctx.engine.poolStats().hits);
  metrics.gauge('opalite_pool_misses', 'Day blocks read from disk for a query, since this store version was opened.', () => ctx.engine.poolStats().misses);
  metrics.gauge('opalite_pool_evictions', 'Days evicted to stay within the budget, since this store version was opened.', () => ctx.engine.poolStats().evictions);
  metrics.gauge('opalite_pool_read_bytes', 'Bytes read from the store\'s day columns, since this store version was opened.', () => ctx.engine.poolStats().bytesRead);
  // How long the main thread went without serving the event loop: nothing a query does may hold it more than a few ms.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  metrics.gauge('opalite_event_loop_delay_max_seconds', 'Longest event-loop stall since start (sampled every 10 ms, so at least 0.01).', () => loopDelay.max / 1e9);
  metrics.gauge('opalite_event_loop_delay_p99_seconds', 'The 99th percentile of event-loop delay since start.', () => loopDelay.percentile(99) / 1e9);

  const app = uWS.App();
  const hub = new StreamHub(ctx);
  hub.register(app, `${API}/stream`);
  const inflight: { count: number; idle?: () => void } = { count: 0 };
  registerRest(app, ctx, inflight);
  registerDashboard(app, { log });

  let listenSocket: us_listen_socket;
  try {
    listenSocket = await listenExclusively(app, config.host, config.port);
  } catch (e) {
    closeApp(app);
    audit.close();
    accountant.close();
    throw e;
  }
  const port = uWS.us_socket_local_port(listenSocket as never);
  const sweeper = setInterval(() => ctx.limiter.sweep(), 600_000).unref();
  log.info({ ...describeConfig(config), port }, 'opalite service listening');

  let closed: Promise<void> | null = null;
  const close = (o: { graceMs?: number; reason?: string } = {}) =>
    (closed ??= (async () => {
      ctx.closing = true;
      uWS.us_listen_socket_close(listenSocket);
      clearInterval(sweeper);
      const grace = o.graceMs ?? SHUTDOWN_GRACE_MS;
      const requestsDone = new Promise<void>((r) => (inflight.count === 0 ? r() : (inflight.idle = r)));
      const finished = await within(Promise.all([jobs.idle(), requestsDone]), grace);
      if (!finished) {
        const abandoned = jobs.abandon('the service shut down before this query finished; run it again on its next start');
        log.warn({ abandoned, requests: inflight.count }, 'shutdown grace elapsed; running queries abandoned');
        // Requests that waited for an abandoned job answer now; give them a moment to be written.
        await within(requestsDone, 1000);
      }
      hub.closeAll(o.reason ?? 'server shutting down');
      closeApp(app);
      loopDelay.disable();
      audit.close();
      accountant.close();
      log.info('opalite service closed');
    })());

  return {
    port,
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    close,
    onStoreVersion(engine: Engine) {
      const previous = ctx.engine.store.manifest;
      ctx.engine = engine;
      jobs.setEngine(engine);
      ctx.bodies.clear();
      hub.onStoreVersion(storeChange(previous, engine.store.manifest));
    },
    context: ctx,
  };
}

async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([p.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Listens on host:port alone (no SO_REUSEPORT: see LIBUS_LISTEN_EXCLUSIVE_PORT).
 * uWS only says that it could not bind, so on failure the same address is
 * tried with node:net (also exclusive) to name the reason: "address in use"
 * when another process holds it, else the system's code.
 */
async function listenExclusively(app: TemplatedApp, host: string, port: number): Promise<us_listen_socket> {
  // The typings omit the (host, port, options, callback) form that the addon takes.
  const listen = app.listen as unknown as (h: string, p: number, o: number, cb: (s: us_listen_socket | false) => void) => void;
  const socket = await new Promise<us_listen_socket | false>((resolve) => listen.call(app, host, port, LIBUS_LISTEN_EXCLUSIVE_PORT, resolve));
  if (socket) return socket;
  const code = await new Promise<string>((resolve) => {
    const probe = net.createServer();
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve('no error on a second try')));
  });
  const why = code === 'EADDRINUSE' ? 'address in use (another process listens on it: stop it or choose another --port)' : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : code === 'EADDRNOTAVAIL' ? 'address not available on this machine (check host)' : code;
  return Promise.reject(new ConfigError(`listen ${host}:${port}: ${why}`));
}
