/**
 * The engine's DP release against an independent computation: every cell of
 * the domain (zeros included) is the exact count plus the noise drawn from the
 * query's keyed stream, thresholded on the noisy value; progressive frames are
 * exact prefix sums plus the tree nodes' noise, never more exact than the
 * final; the same query replays the same answer after a restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, type QueryResult } from '../../server/engine/engine.js';
import { type DpProtection, finalSigma2, interval95, nodeSigma2, noiseVector, prefixNodes, treeLevels } from '../../server/privacy/dp/mechanism.js';
import { buildFixture } from '../engine/fixtures.js';

const SECRET = Buffer.alloc(32, 3);
const dp = (rho = 0.5, k = 15): DpProtection => ({ mode: 'dp', secret: SECRET, rho, k, delta: 1e-9 });
const spatial = (unit = 'admin1') => ({
  query_kind: 'spatial_aggregate',
  locations: { query_kind: 'daily_location', date: '2016-01-02', method: 'last', aggregation_unit: unit },
});

describe('the engine under differential privacy', () => {
  let dir: string;
  let engine: Engine;
  let exact: Map<string, number>;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-dp-'));
    buildFixture(dir, { subs: 600, days: 4, seed: 11 });
    engine = Engine.open(dir, { partitions: 8 });
    const r = await engine.run(spatial());
    exact = new Map(r.rows.map((row) => [row.pcod as string, row.value as number]));
  });
  afterAll(async () => {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('publishes each region as its exact count plus the query-keyed discrete Gaussian noise, thresholded on the noisy value', async () => {
    const prot = dp(0.5, 15);
    const r = await engine.run(spatial(), { protection: prot });
    const id = engine.queryId(engine.parse(spatial()), prot);
    expect(r.query_id).toBe(id);
    expect(id).not.toBe(engine.queryId(engine.parse(spatial())));
    // The domain is the 4 regions in order, zeros included (R3 holds nobody in the fixture's daily locations or some).
    const sigma2 = finalSigma2(0.5, 1);
    const noise = noiseVector(SECRET, id, 'final', 4, sigma2);
    const expected = ['R0', 'R1', 'R2', 'R3']
      .map((pcod, i) => ({ pcod, value: (exact.get(pcod) ?? 0) + noise[i]! }))
      .filter((x) => x.value > 15);
    expect(r.rows.map((x) => ({ pcod: x.pcod, value: x.value }))).toEqual(expected);
    // A published row is the shaped row with its noisy value: the columns' keys, in their order, nothing else.
    for (const row of r.rows) expect(Object.keys(row)).toEqual(r.columns);
    expect(r.withheld).toBe(4 - expected.length);
    expect(r.dropped).toBeNull();
    expect(r.privacy).toMatchObject({ mode: 'dp', k: 15, rho: 0.5, delta: 1e-9, mechanism: 'discrete_gaussian', interval95: interval95(sigma2) });
    // sigma^2 = 1 / rho = 2: the 95% half-width of a discrete Gaussian of sigma^2 = 2 is 3 (P(|X| <= 2) = 0.9365, <= 3: 0.9882).
    expect(r.privacy.interval95).toBe(3);
    // epsilon = rho + 2 sqrt(rho ln(1/delta)).
    expect(r.privacy.epsilon).toBeCloseTo(0.5 + 2 * Math.sqrt(0.5 * Math.log(1e9)), 9);
  });

  it('replays the same noisy answer after a restart (same secret and query id), and other noise for another secret', async () => {
    const a = await engine.run(spatial(), { protection: dp() });
    const again = Engine.open(dir, { partitions: 8 });
    try {
      const b = await again.run(spatial(), { protection: dp() });
      expect(b.rows).toEqual(a.rows);
    } finally {
      await again.close();
    }
    const other = Engine.open(dir, { partitions: 8 });
    try {
      const c = await other.run(spatial(), { protection: { ...dp(), secret: Buffer.alloc(32, 4) } });
      expect(c.rows.map((x) => x.value)).not.toEqual(a.rows.map((x) => x.value));
    } finally {
      await other.close();
    }
  });

  it('publishes progressive frames as exact prefix sums plus the noise of the tree nodes covering the prefix, each noisier than the final', async () => {
    const json = spatial('admin1');
    const all = -1e12; // a threshold below every value: every cell is published, so the frames can be checked whole
    const run = async (rho: number) => {
      const e = Engine.open(dir, { partitions: 8 });
      const frames: QueryResult[] = [];
      try {
        const final = await e.run(json, { protection: dp(rho, all), onPartial: (f) => frames.push(f) });
        return { final, frames };
      } finally {
        await e.close();
      }
    };
    // rho = 1e12: node noise of sigma^2 ~ 1e-12, zero with probability ~1: the exact prefix sums, scaled.
    const exactRun = await run(1e12);
    const { final, frames } = await run(0.5);
    const levels = treeLevels(8);
    expect(levels).toBe(3);
    expect(frames.length).toBe(exactRun.frames.length);
    expect(frames.length).toBeGreaterThan(1);
    expect(prefixNodes(6, levels)).toEqual(['2:0', '1:2']);
    expect(prefixNodes(7, levels)).toEqual(['2:0', '1:2', '0:6']);
    const s2 = nodeSigma2(0.5, 1, levels);
    // In-process, partitions merge one at a time and in order: frame j is the prefix of j + 1 partitions... as the
    // engine chose them (first partition, then each 1/16); the fractions tell which prefix (partition sizes differ).
    const prefixes = frames.map((f) => exactRun.frames.findIndex((g) => g.fraction === f.fraction));
    expect(prefixes.every((i, j) => i === j)).toBe(true);
    let m = 0;
    for (const [j, f] of frames.entries()) {
      m = j + 1; // with 8 partitions every partition is a frame (partialDue: each 1/16 of 8 is each one)
      const exactRows = exactRun.frames[j]!.rows;
      const nodes = prefixNodes(m, levels);
      const noise = new Float64Array(4);
      for (const node of nodes) noiseVector(SECRET, final.query_id, node, 4, s2).forEach((v, i) => (noise[i] += v));
      for (const [i, row] of f.rows.entries()) {
        const exactCount = (exactRows[i]!.value as number) * f.fraction;
        const noisy = (row.value as number) * f.fraction;
        // Both were rounded after scaling by 1/fraction: within one scaled unit of each other.
        expect(Math.abs(noisy - (exactCount + noise[i]!))).toBeLessThanOrEqual(f.fraction + 1e-9);
      }
      expect(f.privacy.scale!).toBeGreaterThan(final.privacy.scale!);
      expect(f.privacy.interval95!).toBeGreaterThanOrEqual(final.privacy.interval95!);
    }
    expect(m).toBe(7);
  });

  it('refuses under DP a kind whose contribution is not bounded, naming the field', async () => {
    const json = { query_kind: 'location_event_counts', start_date: '2016-01-01', end_date: '2016-01-03', aggregation_unit: 'admin1', direction: 'both', event_types: ['calls'], interval: 'day' };
    await expect(engine.run(json, { protection: dp() })).rejects.toMatchObject({ code: 'DP_UNSUPPORTED' });
    // The same kind stays available to the operator's exact CLI path.
    await expect(engine.run(json)).resolves.toMatchObject({ privacy: { mode: 'threshold', k: 15 } });
  });

  it('noises a unique_subscriber_counts with the clipped bound: each subscriber in at most 3 of the 4 regions', async () => {
    const json = { query_kind: 'unique_subscriber_counts', start_date: '2016-01-01', end_date: '2016-01-03', aggregation_unit: 'admin1' };
    const r = await engine.run(json, { protection: dp(0.5) });
    expect(r.privacy.interval95).toBe(interval95(finalSigma2(0.5, 3)));
  });
});
