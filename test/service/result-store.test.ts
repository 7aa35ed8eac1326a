/**
 * The result cache that survives a restart: after the service restarts on the
 * same store, /poll and /get of an earlier id answer with the same rows and
 * re-running the spec is a hit (completed at once, nothing run); a kept file
 * that was altered, cut or written for a rebuilt store is ignored; the folder
 * stays within its byte bound, least recently used out first.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryResult } from '../../server/engine/engine.js';
import { ResultStore } from '../../server/service/result-store.js';
import { auth, type Harness, runToCompletion, sampleStore, specs, startHarness } from './helpers.js';

let root: string;
beforeAll(async () => {
  root = await sampleStore();
}, 120_000);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const idOf = (n: number) => n.toString(16).padStart(64, '0');
function result(n: number, rows: number): QueryResult {
  return {
    query_id: idOf(n),
    query_kind: 'spatial_aggregate',
    columns: ['pcod', 'value'],
    rows: Array.from({ length: rows }, (_, i) => ({ pcod: `XX${i}`, value: 16 + i })),
    withheld: 3,
    dropped: {} as QueryResult['dropped'],
    fraction: 1,
  };
}

describe('ResultStore', () => {
  it('gives back what it kept, for the same store only, and ignores and removes an altered or cut file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-results-'));
    const problems: string[] = [];
    const store = new ResultStore(dir, 1 << 20, (m) => problems.push(m));
    const spec = { query_kind: 'x', n: 1 };
    await store.put(idOf(1), '3:t', spec, result(1, 5));
    expect(store.get(idOf(1), '3:t')).toEqual({ json: spec, result: result(1, 5) });
    expect(store.get(idOf(2), '3:t')).toBeUndefined();
    // The same id on a rebuilt store (same version, another write time) is not this result.
    expect(store.get(idOf(1), '3:other')).toBeUndefined();
    expect(problems.at(-1)).toMatch(/another version of the store/);
    expect(fs.existsSync(path.join(dir, `${idOf(1)}.result`))).toBe(false);

    for (const [name, damage] of [
      ['altered', (b: Buffer) => (b[b.length - 10] ^= 1)],
      ['cut', (b: Buffer) => b.subarray(0, b.length - 7)],
    ] as const) {
      await store.put(idOf(1), '3:t', spec, result(1, 5));
      const file = path.join(dir, `${idOf(1)}.result`);
      const bytes = fs.readFileSync(file);
      const out = damage(bytes);
      fs.writeFileSync(file, Buffer.isBuffer(out) ? out : bytes);
      expect(store.get(idOf(1), '3:t'), name).toBeUndefined();
      expect(fs.existsSync(file)).toBe(false);
    }
    expect(problems.join('\n')).toMatch(/checksum does not match/);
    expect(problems.join('\n')).toMatch(/cut or appended to/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stays within its byte bound, the least recently used out first', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-results-'));
    const bound = 6_000;
    const store = new ResultStore(dir, bound);
    const size = async (n: number) => {
      await store.put(idOf(n), 's', {}, result(n, 40));
      return fs.statSync(path.join(dir, `${idOf(n)}.result`)).size;
    };
    const each = await size(1);
    const fits = Math.floor(bound / each);
    expect(fits).toBeGreaterThanOrEqual(2);
    for (let n = 2; n <= fits; n++) {
      await size(n);
      await new Promise((r) => setTimeout(r, 15)); // distinct modification times
    }
    // Use the oldest, so that the second oldest goes when one more comes.
    expect(store.get(idOf(1), 's')).toBeDefined();
    await new Promise((r) => setTimeout(r, 50));
    await size(fits + 1);
    const kept = fs.readdirSync(dir).filter((f) => f.endsWith('.result'));
    expect(kept.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0)).toBeLessThanOrEqual(bound);
    expect(kept).toContain(`${idOf(1)}.result`);
    expect(kept).not.toContain(`${idOf(2)}.result`);
    expect(kept).toContain(`${idOf(fits + 1)}.result`);
    // A result larger than the whole bound is not kept at all.
    await store.put(idOf(99), 's', {}, result(99, 1000));
    expect(fs.existsSync(path.join(dir, `${idOf(99)}.result`))).toBe(false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('the service across a restart', () => {
  it('answers /poll and /get of an earlier id, and a re-run is a hit', async () => {
    let h: Harness = await startHarness(root);
    const token = await h.token('premium');
    const spec = specs.flows('admin2');
    const id = await runToCompletion(h, token, spec);
    const first = await (await fetch(`${h.api}/get/${id}`, { headers: auth(token) })).json();
    const csv = await (await fetch(`${h.api}/get/${id}.csv`, { headers: auth(token) })).text();
    await h.close();
    const dir = path.join(root, 'store', 'cache', 'results');
    expect(fs.readdirSync(dir)).toContain(`${id}.result`);

    h = await startHarness(root);
    try {
      const token2 = await h.token('premium');
      expect(h.server.context.jobs.get(id)?.status).toBe('completed'); // from disk, nothing run
      const poll = await fetch(`${h.api}/poll/${id}`, { headers: auth(token2), redirect: 'manual' });
      expect(poll.status).toBe(303);
      expect(await (await fetch(`${h.api}/get/${id}`, { headers: auth(token2) })).json()).toEqual(first);
      expect(await (await fetch(`${h.api}/get/${id}.csv`, { headers: auth(token2) })).text()).toBe(csv);
      // The tier check still applies to a kept result: free may not see admin2 flows.
      expect((await fetch(`${h.api}/poll/${id}`, { headers: auth(await h.token('free')) })).status).toBe(403);
      await h.close();

      // A fresh start again, this time through /run: the same id, completed at once.
      h = await startHarness(root);
      const run = await fetch(`${h.api}/run`, { method: 'POST', headers: auth(await h.token('premium')), body: JSON.stringify(spec) });
      expect(((await run.json()) as { query_id: string }).query_id).toBe(id);
      expect(h.server.context.jobs.get(id)?.status).toBe('completed');
      expect(h.server.context.jobs.running + h.server.context.jobs.queued).toBe(0);
      await h.close();

      // An altered kept file is not served: the id is unknown again, and running it recomputes the same rows.
      const file = path.join(dir, `${id}.result`);
      const bytes = fs.readFileSync(file);
      bytes[bytes.length - 20] ^= 1;
      fs.writeFileSync(file, bytes);
      h = await startHarness(root);
      const token3 = await h.token('premium');
      expect((await fetch(`${h.api}/poll/${id}`, { headers: auth(token3) })).status).toBe(404);
      expect(await runToCompletion(h, token3, spec)).toBe(id);
      expect(await (await fetch(`${h.api}/get/${id}`, { headers: auth(token3) })).json()).toEqual(first);
    } finally {
      await h.close();
    }
  }, 120_000);
});
