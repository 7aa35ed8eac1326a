/**
 * `opalite serve`: the REST API and the stream over a store. With no
 * arguments it serves the embedded sample (ingested on first run), with a
 * development signing key generated under OPALITE_HOME, and prints a token
 * for each tier; `--data DATASET` ingests a dataset folder first (once).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { Errors } from '../errors.js';
import type { ConfigFile } from '../service/config.js';
import { isProduction } from '../util/production.js';
import { storeFromDataset } from './dataset-store.js';
import { PACKAGE_ROOT, SAMPLE_DATASET, SAMPLE_STORE } from './demo.js';
import { printIngestSummary, runIngest } from './ingest.js';
import { reportSetupErrors } from './setup.js';

/** The most SIGTERM may take before the process is gone: the README's promise, under systemd's TimeoutStopSec (60 s). */
export const SHUTDOWN_LIMIT_MS = 30_000;

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, found ${v}`);
  return n;
};

interface ServeOptions {
  store?: string;
  data?: string;
  config?: string;
  port?: number;
  host?: string;
  threads?: number;
  watch?: string;
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('serve the FlowKit-compatible REST API and the MessagePack stream over a store (no arguments: the embedded sample, with development tokens)')
    .option('--store <dir>', 'store folder to serve')
    .option('--data <dataset>', 'dataset folder to ingest first (into --store, or .opalite/<name>-store), when the store does not exist yet')
    .option('--config <file>', 'JSON configuration file (default: $OPALITE_CONFIG)')
    .option('--port <n>', 'port (0 = any free port)', int)
    .option('--host <host>', 'address to bind')
    .option('--threads <n>', 'kernel worker threads (0 = run queries on the event loop)', int)
    .option('--watch <dir>', 'drop folder: dataset folders with a READY file in them are ingested into the store, then moved to .done or .failed')
    .action(reportSetupErrors(async (o: ServeOptions) => {
      const [{ Engine }, { ConfigError, loadConfig }, { developmentKeys, loadSigningKey, mintToken }, { watchDropFolder }, { followStore }, { SHUTDOWN_GRACE_MS, startServer }] = await Promise.all([
        import('../engine/engine.js'),
        import('../service/config.js'),
        import('../service/keys.js'),
        import('../service/dropfolder.js'),
        import('../service/live.js'),
        import('../service/server.js'),
      ]);
      const overrides: ConfigFile = {};
      if (o.port !== undefined) overrides.port = o.port;
      if (o.host !== undefined) overrides.host = o.host;
      if (o.threads !== undefined) overrides.threads = o.threads;
      const cfg = loadConfig({ file: o.config, overrides });
      cfg.store = await resolveStore(o, cfg.store);

      let devSigning: string | undefined;
      if (cfg.keys.publicKeys.length === 0) {
        // Development keys mint a printed token per tier: never on a production server.
        if (isProduction()) {
          throw new ConfigError('keys.publicKeys: expected the public keys tokens are signed with in production (NODE_ENV=production), found none; development keys are never used in production');
        }
        const dev = developmentKeys();
        process.stdout.write(`no keys configured: using the development key ${dev.publicKey} (kid ${dev.kid})\n`);
        cfg.keys.publicKeys = [dev.publicKey];
        devSigning = dev.privateKey;
      }

      const engineOptions = { partitions: cfg.partitions, threads: cfg.threads, k: cfg.k, residentBytes: cfg.residentBytes };
      const engine = Engine.open(cfg.store, engineOptions);
      // A server that cannot start (the port taken) must not leave the engine's worker threads keeping the process alive.
      const server = await startServer({ config: cfg, engine }).catch(async (e: unknown) => {
        await engine.close();
        throw e;
      });
      // New days ingested into this store (opalite ingest DATASET --store STORE) go live without a restart.
      const live = followStore({ store: cfg.store, engine: engineOptions, server, log: server.context.log });
      const drop = o.watch ? watchDropFolder({ dir: o.watch, store: cfg.store, log: server.context.log }) : null;
      const out = process.stdout;
      out.write(`opalite serving ${cfg.store} (store version ${engine.version}) at ${server.url}\n`);
      out.write(`  REST   ${server.url}/api/0  (OpenAPI: ${server.url}/api/0/spec/openapi.json)\n`);
      out.write(`  stream ${server.url.replace(/^http/, 'ws')}/api/0/stream  (binary MessagePack)\n`);
      out.write(`  audit  ${cfg.audit.file}\n`);
      out.write(`  page   ${server.url}/  (the dashboard: paste a token, or open it with #token=<token>)\n`);
      if (devSigning) {
        // Minted first, then written as one block: an await between the heading and the tokens let the
        // service's log lines (stderr, same terminal) land in the middle of the list.
        const signing = loadSigningKey(devSigning);
        const lines = ['', 'development tokens (12 h):'];
        for (const tier of Object.keys(cfg.tiers)) {
          const token = await mintToken(signing, { sub: `dev-${tier}`, tier, aud: cfg.audience, ttl: 12 * 3600 });
          lines.push(`  ${tier.padEnd(8)} ${token}`);
        }
        lines.push('', `try: curl -H "Authorization: Bearer <token>" ${server.url}/api/0/available_dates`, `     or open ${server.url}/#token=<token> in a browser`);
        out.write(lines.join('\n') + '\n');
      }

      let stopping = false;
      const stop = async (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stdout.write(`\n${signal}: no new connections; running queries get ${SHUTDOWN_GRACE_MS / 1000} s, then closing (at most ${SHUTDOWN_LIMIT_MS / 1000} s)\n`);
        // Whatever hangs (an ingest of the drop folder, a worker that will not stop), the process is gone
        // within the promised time: the audit log is flushed and closed, then exit 1.
        setTimeout(() => {
          server.context.log.error({ limitMs: SHUTDOWN_LIMIT_MS }, 'shutdown did not finish in time; exiting');
          try {
            server.context.audit.close();
          } finally {
            process.exit(1);
          }
        }, SHUTDOWN_LIMIT_MS).unref();
        await drop?.close();
        await live.close();
        await server.close({ graceMs: SHUTDOWN_GRACE_MS });
        // Stops the pool's workers, abandoned queries' tasks with them.
        await server.context.engine.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void stop('SIGINT'));
      process.on('SIGTERM', () => void stop('SIGTERM'));
    }));
}

/**
 * The store to serve: --store, else the configured one, else one made from
 * --data or the embedded sample, which follows its dataset (dataset-store.ts).
 */
async function resolveStore(o: ServeOptions, configured: string): Promise<string> {
  const exists = (dir: string) => fs.existsSync(path.join(dir, 'store.json'));
  const named = o.store ?? (configured || undefined);
  const dataset = o.data ?? (named ? undefined : SAMPLE_DATASET);
  if (named) {
    // The operator's store: made once from --data when missing, never rebuilt.
    if (!exists(named)) {
      if (!dataset) throw Errors.storeMissing(named);
      process.stdout.write(`ingesting ${dataset} into ${named}\n`);
      printIngestSummary(await runIngest(dataset, named));
    }
    return named;
  }
  const store = dataset === SAMPLE_DATASET ? SAMPLE_STORE : path.join(PACKAGE_ROOT, '.opalite', `${path.basename(path.resolve(dataset!))}-store`);
  await storeFromDataset(dataset!, store, async (from, into, moved) => {
    process.stdout.write(exists(store) ? `${from} changed since ${store} was made from it: ingesting it again\n` : `ingesting ${from} into ${store}\n`);
    const summary = await runIngest(from, into);
    printIngestSummary({ ...summary, report: summary.report && moved(summary.report) });
  });
  return store;
}
