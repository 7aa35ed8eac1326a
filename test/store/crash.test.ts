/**
 * kill -9 during ingest: the store must always be the previous version or the
 * new one, never a mix, and every file the manifest names must verify.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../server/store/manifest.js';
import { Store } from '../../server/store/reader.js';
import { COLUMNS } from '../../server/store/layout.js';

const CLI = path.resolve('dist/server/cli/main.js');
let root: string;
let dataset: string;
const env = { ...process.env, OPALITE_PSEUDONYM_KEY: 'ef'.repeat(32) };

function run(args: string[], killAfterMs?: number): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: 'ignore' });
    const timer = killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('exit', (code) => {
      if (timer) clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Every day the manifest names reads back with matching checksums and row counts. */
function verify(store: string): number {
  const s = Store.open(store);
  for (const date of s.days()) {
    for (const c of COLUMNS) expect(s.readColumn(date, c.name, { verify: true }).length).toBe(s.day(date).rows);
  }
  s.dims();
  s.release(); // its lease would keep this version's folders from the next writer
  return s.version;
}

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-crash-'));
  dataset = path.join(root, 'ds');
  fs.mkdirSync(path.join(dataset, 'events'), { recursive: true });
  fs.writeFileSync(path.join(dataset, 'cells.csv'), 'cell_id,lon,lat\nA,0.5,0.5\nB,1.5,0.5\n');
  // Five days, 60,000 rows each: big enough that a kill lands mid-ingest.
  const lines = ['msisdn,datetime,cell_id,event_type,outgoing'];
  for (let i = 0; i < 300_000; i++) {
    const day = 1 + (i % 5);
    lines.push(`2250${(i * 7919) % 5000},2016-01-0${day} ${String(i % 24).padStart(2, '0')}:00:00,${i % 2 ? 'A' : 'B'},calls,true`);
  }
  fs.writeFileSync(path.join(dataset, 'events', 'events.csv'), lines.join('\n') + '\n');
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('kill -9 during ingest', { timeout: 600_000 }, () => {
  it('leaves the previous store or the new one, never a mix', async () => {
    expect(fs.existsSync(CLI), 'run npm run build first').toBe(true);
    const store = path.join(root, 'store');
    expect(await run(['ingest', dataset, '--store', store])).toBe(0);
    const started = performance.now();
    expect(await run(['ingest', dataset, '--store', store])).toBe(0);
    const fullMs = performance.now() - started;
    let version = verify(store);
    expect(version).toBe(2);
    const outcomes = { old: 0, new: 0 };
    // Issue #8 asks for at least 20 trials; OPALITE_CRASH_TRIALS runs a longer form.
    const trials = Number(process.env.OPALITE_CRASH_TRIALS ?? 20);
    for (let trial = 0; trial < trials; trial++) {
      const at = Math.round((fullMs * (trial + 0.5)) / trials);
      await run(['ingest', dataset, '--store', store], at);
      const now = verify(store);
      expect([version, version + 1]).toContain(now);
      outcomes[now === version ? 'old' : 'new']++;
      version = now;
      expect(readManifest(store).days['2016-01-03']!.rows).toBe(60_000);
    }
    // Some kills must have landed before the commit, or the test proves nothing.
    expect(outcomes.old).toBeGreaterThan(0);
    // The next writer cleans what a killed one left, and succeeds.
    expect(await run(['ingest', dataset, '--store', store])).toBe(0);
    expect(fs.existsSync(path.join(store, '.staging'))).toBe(false);
    expect(fs.readdirSync(path.join(store, 'days'))).toHaveLength(5);
  });
});
