/**
 * Each command imports only what it uses (issue #16: `opalite --help` took 0.96 s
 * because the command line imported Arrow, Parquet, the engine and the service first).
 * Runs the built command line with a module hook that lists every module it loads.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = path.resolve('dist/server/cli/main.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-cli-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

fs.writeFileSync(
  path.join(dir, 'hooks.mjs'),
  "import fs from 'node:fs';\nexport async function load(url, context, next) { fs.appendFileSync(process.env.MODULE_LOG, url + '\\n'); return next(url, context); }\n",
);
fs.writeFileSync(path.join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");

/** The modules (repository-relative, or package names) the command line loads for `args`. */
async function modulesLoaded(args: string[]): Promise<string[]> {
  const log = path.join(dir, `modules-${Math.random().toString(36).slice(2)}.log`);
  await run(process.execPath, ['--import', path.join(dir, 'register.mjs'), CLI, ...args], {
    env: { ...process.env, MODULE_LOG: log, OPALITE_HOME: path.join(dir, 'home') },
  }).catch((e: { code?: number }) => {
    if (typeof e.code !== 'number') throw e; // a command that exits non-zero still loaded what it loaded
  });
  return fs
    .readFileSync(log, 'utf8')
    .split('\n')
    .filter((u) => u.startsWith('file://'))
    .map((u) => {
      const p = decodeURIComponent(new URL(u).pathname);
      const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p);
      return nm ? nm[1]! : path.relative(process.cwd(), p);
    });
}

const HEAVY = ['apache-arrow', 'parquet-wasm', 'parquetjs-lite', 'uWebSockets.js', 'piscina', 'jose', 'zod', 'msgpackr', 'pino'];

describe('the command line', () => {
  it.skipIf(!fs.existsSync(CLI))('loads none of the engine, the service, Arrow or Parquet for --help', async () => {
    const loaded = await modulesLoaded(['--help']);
    expect(loaded).toContain('dist/server/cli/main.js');
    expect(loaded.filter((m) => HEAVY.includes(m))).toEqual([]);
    expect(loaded.filter((m) => /^dist\/server\/(engine|service|store|ingest\/ingest|format\/formats)/.test(m))).toEqual([]);
  });

  it.skipIf(!fs.existsSync(CLI))('loads the store reader but not the engine or the service for info', async () => {
    const loaded = await modulesLoaded(['info', '--store', path.join(dir, 'no-such-store')]);
    expect(loaded).toContain('dist/server/store/reader.js');
    expect(loaded.filter((m) => ['apache-arrow', 'parquet-wasm', 'uWebSockets.js', 'piscina', 'jose'].includes(m))).toEqual([]);
    expect(loaded.filter((m) => /^dist\/server\/(engine|service)\//.test(m))).toEqual([]);
  });
});

describe('opalite info', () => {
  it('says that its id count takes in the counterparts of calls and SMS (issue #14: 5,486 for 3,000 subscribers, unexplained)', async () => {
    const { formatSummary } = await import('../../server/cli/info.js');
    const text = formatSummary({ version: 1, timezone: 'UTC', rows: 10, days: [], bytes: 290, bytesPerEvent: 29, subscribers: 5486, cells: 3, cellVersions: 3, levels: [] } as unknown as Parameters<typeof formatSummary>[0]);
    expect(text).toContain('5,486 pseudonymised ids (subscribers and the counterparts of their calls and SMS)');
  });
});
