/**
 * Attack: the progress fraction of a DP query told the store's exact subscriber count.
 *
 * A progressive frame's `fraction` (stream `partial` frames) and REST poll's `progress.fraction` were the share of
 * the store's subscribers in the partitions done, S_m / N, as an exact double. Two of them give N by reducing the
 * fractions (a continued fraction of a double recovers p / q exactly when q is small), so every DP answer came with
 * an exact count of the store's subscribers (and of each partition's): a neighbouring store, one subscriber more,
 * told apart with certainty, whatever the noise on the values. After the fix a DP query reports the share of
 * PARTITIONS done (m / P), which no subscriber moves; the partitions are a keyed-hash sample of subscribers, so it
 * estimates the same share.
 *
 * Criterion: the fractions a DP run reports (progress and frames) are the same on two stores that differ by one
 * subscriber, and each is a multiple of 1 / P.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../server/engine/engine.js';
import type { DpProtection } from '../../server/privacy/dp/mechanism.js';
import { buildFixture } from '../engine/fixtures.js';

const SECRET = Buffer.alloc(32, 7);
const DP: DpProtection = { mode: 'dp', secret: SECRET, rho: 0.5, k: 15, delta: 1e-9 };
const P = 8;
const SPECS = {
  spatial_aggregate: { query_kind: 'spatial_aggregate', locations: { query_kind: 'daily_location', date: '2016-01-02', method: 'last', aggregation_unit: 'admin1' } },
  'joined_spatial_aggregate avg': {
    query_kind: 'joined_spatial_aggregate',
    method: 'avg',
    locations: { query_kind: 'daily_location', date: '2016-01-02', method: 'last', aggregation_unit: 'admin1' },
    metric: { query_kind: 'event_count', start_date: '2016-01-01', end_date: '2016-01-04', direction: 'both' },
  },
};

/** The smallest q with |x - p/q| below a double's rounding (the attacker's step): the denominator of x reduced. */
function denominator(x: number): number {
  let [h0, h1, k0, k1] = [0, 1, 1, 0];
  let r = x;
  for (let i = 0; i < 40; i++) {
    const a = Math.floor(r);
    [h0, h1] = [h1, a * h1 + h0];
    [k0, k1] = [k1, a * k1 + k0];
    if (Math.abs(x - h1 / k1) <= 1e-15 * Math.max(1, x)) return k1;
    r = 1 / (r - a);
  }
  return NaN;
}
const lcm = (a: number, b: number): number => {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a / gcd(a, b)) * b;
};

describe('attack: the store size from a DP query\'s progress fraction', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-attack-fraction-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  /** Every fraction a DP run reports: through onProgress (REST poll) and on each frame (the stream). */
  async function fractions(engine: Engine, spec: object): Promise<{ progress: number[]; frames: number[] }> {
    const progress: number[] = [];
    const frames: number[] = [];
    await engine.run(spec, { protection: DP, onProgress: (f) => progress.push(f), onPartial: (r) => frames.push(r.fraction!) });
    return { progress, frames };
  }

  it('reports the same fractions, multiples of 1 / P, on two stores one subscriber apart', async () => {
    const N = 257;
    const fx = buildFixture(path.join(root, 'with'), { subs: N, days: 3, seed: 41 });
    // The neighbour: the same events without the last subscriber's, who is then never in its dictionary either.
    buildFixture(path.join(root, 'without'), { subs: N - 1, days: 3, seed: 41, events: fx.events.filter((e) => e.sub !== N - 1) });
    const a = Engine.open(path.join(root, 'with'), { partitions: P });
    const b = Engine.open(path.join(root, 'without'), { partitions: P });
    try {
      for (const [name, spec] of Object.entries(SPECS)) {
        const fa = await fractions(a, spec);
        const fb = await fractions(b, spec);
        expect(fa.progress.length, name).toBe(P - 1); // after each partition but the last (in-process: one at a time)
        // The attacker's reduction of the reported fractions, which before the fix gave N and N - 1 exactly.
        const seen = [...fa.progress, ...fa.frames].reduce((q, f) => lcm(q, denominator(f)), 1);
        expect({ name, denominator: seen }).toEqual({ name, denominator: P });
        expect({ name, ...fb }).toEqual({ name, ...fa });
        for (const f of [...fa.progress, ...fa.frames]) expect(Number.isInteger(f * P), `${name}: ${f}`).toBe(true);
      }
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);
});
