/**
 * A drop folder for unattended operation: the operator's delivery job writes
 * each day's dataset folder (docs/DATA.md layout) into DIR and, when it is complete,
 * creates an empty `READY` file in it. Ready folders are ingested into the
 * served store one at a time in name order, then moved to DIR/.done (or to
 * DIR/.failed with the error in `error.txt`), so nothing is ingested twice and
 * nothing half-written is read. The live follower (live.ts) then serves the new
 * store version.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ingest } from '../ingest/ingest.js';
import { diskFullError } from '../store/fsutil.js';

export interface DropFolderOptions {
  dir: string;
  store: string;
  log: Pick<Logger, 'info' | 'error'>;
  /** How often the folder is scanned. */
  intervalMs?: number;
  /** Pseudonymisation key file (default: OPALITE_PSEUDONYM_KEY or the development key). */
  keyFile?: string;
}

export interface DropFolder {
  /** Scans once now and ingests what is ready (tests; the timer does the same). */
  scan(): Promise<void>;
  close(): Promise<void>;
}

export const READY_MARKER = 'READY';

export function watchDropFolder(opts: DropFolderOptions): DropFolder {
  const done = path.join(opts.dir, '.done');
  const failed = path.join(opts.dir, '.failed');
  fs.mkdirSync(done, { recursive: true });
  fs.mkdirSync(failed, { recursive: true });
  let running: Promise<void> = Promise.resolve();
  let closed = false;

  const ready = () =>
    fs
      .readdirSync(opts.dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.') && fs.existsSync(path.join(opts.dir, e.name, READY_MARKER)))
      .map((e) => e.name)
      .sort();

  const moveTo = (name: string, where: string) => {
    // A name delivered twice keeps both copies: the later one gets a suffix.
    let target = path.join(where, name);
    for (let i = 1; fs.existsSync(target); i++) target = path.join(where, `${name}.${i}`);
    fs.renameSync(path.join(opts.dir, name), target);
    return target;
  };

  const scan = () => {
    running = running.then(async () => {
      for (const name of closed ? [] : ready()) {
        const dataset = path.join(opts.dir, name);
        try {
          const s = await ingest({ dataset, store: opts.store, keyFile: opts.keyFile });
          moveTo(name, done);
          opts.log.info({ delivery: name, version: s.version, days: s.days, rows: s.kept, rejected: s.rejected, report: s.report }, 'delivery ingested');
        } catch (caught) {
          const e = diskFullError(caught, opts.store) as Error;
          const target = moveTo(name, failed);
          try {
            fs.writeFileSync(path.join(target, 'error.txt'), `${e.message}\n`);
          } catch (err) {
            // The disk that refused the ingest may refuse this too; the log still has it.
            opts.log.error({ delivery: name, err }, 'could not write error.txt');
          }
          opts.log.error({ delivery: name, err: e }, 'delivery failed; the store is unchanged');
        }
      }
    });
    return running;
  };

  const timer = setInterval(() => void scan(), opts.intervalMs ?? 5000);
  timer.unref();
  return {
    scan,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
