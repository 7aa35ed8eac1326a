/**
 * Plain reference of subscriber sampling (definition: sample.ts), written
 * without keys or thresholds: the subscribers of a per-subscriber result that a
 * sampling spec keeps, from the per-subscriber hash alone. Shares only the
 * hash (seedHash, unitHash) with the engine.
 */
import { BLOCK, seedHash, unitHash } from '../../server/engine/sample.js';
import type { Sampling } from '../../server/engine/spec/common.js';

export function refSample(present: Iterable<number>, s: Sampling): Set<number> {
  const subs = [...present];
  const block = s.sampling_method === 'system' || s.sampling_method === 'system_rows' ? BLOCK : 1;
  const seed = seedHash(s.sampling_method === 'system_rows' ? 0 : (s.seed ?? 0));
  const hash = new Map(subs.map((g) => [g, unitHash(seed, Math.floor(g / block))]));
  if (s.sampling_method === 'random_ids' || s.sampling_method === 'system_rows') {
    // ORDER BY random() LIMIT n: the n subscribers with the smallest (hash, subscriber).
    const n = s.size ?? Math.round(s.fraction! * subs.length);
    const ordered = subs.sort((a, b) => hash.get(a)! - hash.get(b)! || a - b);
    return new Set(ordered.slice(0, n));
  }
  // Bernoulli and system: each subscriber (or block) kept with probability p.
  const p = s.fraction ?? Math.min(1, s.size! / Math.max(1, subs.length));
  const below = Math.floor(p * 2 ** 26);
  return new Set(subs.filter((g) => hash.get(g)! < below));
}
