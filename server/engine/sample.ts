/**
 * Subscriber sampling (FlowKit's `sampling`, flowmachine's random_sample): a
 * per-subscriber result keeps a random subset of its subscribers, the same
 * subset for the same seed and store, whatever the partitioning.
 *
 * Every subscriber g (the store's global subscriber index) gets a key
 * hash(seed, unit) * 2^27 + g, where the unit is g itself or, for `system`
 * and `system_rows` (PostgreSQL's block sampling), its block of BLOCK
 * subscribers; the hash is 26 bits, so keys are distinct and exact in an f64.
 * A subscriber is kept when its key is below the rule's maxKey:
 * - bernoulli, system with `fraction` p: keys whose hash is below p * 2^26, per
 *   partition, no global pass;
 * - bernoulli, system with `size` n: p = n / (subscribers in the result), so
 *   about n are kept (PostgreSQL's TABLESAMPLE from a row estimate);
 * - random_ids (ORDER BY random() LIMIT n) and system_rows (SYSTEM_ROWS(n)):
 *   exactly the n smallest keys, n = size or round(fraction x subscribers).
 * The last two need the result's subscribers first: the planner runs a
 * "sample-keys" pass over every partition, then settles maxKey.
 * system_rows takes no seed in FlowKit (it is not repeatable there); here it
 * uses seed 0, so it is repeatable. estimate_count changes nothing: the
 * engine knows the exact count.
 */
import type { Sampling } from './spec/common.js';

/** Subscribers per block for the block methods (system, system_rows). */
export const BLOCK = 64;
const HASH_BITS = 26;
const SUB_BITS = 27;
/** Largest global subscriber index a key can hold. */
export const MAX_SAMPLED_SUBS = 2 ** SUB_BITS;

/** What a partition needs to apply a sample: kept iff sampleKey(rule, g) < maxKey. */
export interface SampleRule {
  /** 32-bit hash of the spec's seed. */
  seed: number;
  /** 1, or BLOCK for the block methods. */
  block: number;
  /** NaN until settled by the population pass. */
  maxKey: number;
}

function fmix32(h: number): number {
  // murmur3's 32-bit finaliser. see: https://github.com/aappleby/smhasher/blob/master/src/MurmurHash3.cpp
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The seed's 32-bit hash: from the bits of its f64, so that random_ids' seeds in [-1, 1] differ. */
export function seedHash(seed: number): number {
  const words = new Uint32Array(Float64Array.of(seed).buffer);
  return fmix32(words[0]! ^ fmix32(words[1]! ^ 0x9e3779b9));
}

/** The 26-bit hash of a subscriber's unit (itself or its block) under a seed hash. */
export function unitHash(seedBits: number, unit: number): number {
  return fmix32(seedBits ^ fmix32(unit + 0x7f4a7c15)) >>> (32 - HASH_BITS);
}

export function sampleKey(rule: Pick<SampleRule, 'seed' | 'block'>, g: number): number {
  return unitHash(rule.seed, Math.floor(g / rule.block)) * MAX_SAMPLED_SUBS + g;
}

/** maxKey keeping the keys whose hash is below p * 2^26. */
function fractionMaxKey(p: number): number {
  return Math.floor(Math.min(1, Math.max(0, p)) * 2 ** HASH_BITS) * MAX_SAMPLED_SUBS;
}

/** The rule of a sampling spec; `settle` is set when maxKey needs the result's subscribers' keys. */
export function sampleRule(s: Sampling): { rule: SampleRule; settle?: (keys: Float64Array) => void } {
  const block = s.sampling_method === 'system' || s.sampling_method === 'system_rows' ? BLOCK : 1;
  const rule: SampleRule = { seed: seedHash(s.sampling_method === 'system_rows' ? 0 : (s.seed ?? 0)), block, maxKey: NaN };
  const exact = s.sampling_method === 'random_ids' || s.sampling_method === 'system_rows';
  if (!exact && s.fraction !== undefined) {
    rule.maxKey = fractionMaxKey(s.fraction);
    return { rule };
  }
  return {
    rule,
    settle: (keys) => {
      if (!exact) {
        rule.maxKey = fractionMaxKey(keys.length ? s.size! / keys.length : 1);
        return;
      }
      const n = s.size ?? Math.round(s.fraction! * keys.length);
      if (n >= keys.length) rule.maxKey = Infinity;
      else rule.maxKey = n === 0 ? 0 : Float64Array.from(keys).sort()[n - 1]! + 1;
    },
  };
}
