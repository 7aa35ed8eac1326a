/**
 * The labelled aggregates' step (protocol.ts, op 'labelled'): a partition classifies
 * its subscribers' mobility (mobility-classification.ts) and counts them per
 * (location or (from, to) pair, label); the main thread turns the merged counts
 * into FlowKit's rows. After FlowKit's LabelledSpatialAggregate and LabelledFlows.
 */
import { classifyMobility, MOBILITY_LABELS } from './mobility-classification.js';
import type { AggStep, LocStep, MobilityStep, PartialResult } from './protocol.js';

type LabelledStep = Extract<AggStep, { op: 'labelled' }>;

/** One slot per label, and a last one for subscribers without a label (FlowKit's left join gives them a null label). */
export const LABEL_SLOTS = MOBILITY_LABELS.length + 1;
const NO_LABEL = LABEL_SLOTS - 1;

/** The label of a slot: a mobility label, or null for the no-label slot. */
export function slotLabel(slot: number): string | null {
  return slot === NO_LABEL ? null : MOBILITY_LABELS[slot]!;
}

/** Every location step the labelled step evaluates (the engine loads their units' tables). */
export function labelledLocSteps(step: LabelledStep): LocStep[] {
  const periods = step.labels.periods.flatMap((p) => [p.location, ...p.presence]);
  return [step.from, ...(step.to ? [step.to] : []), ...periods];
}

/** A location step's vector: i32 per partition-local subscriber, -1 = absent (a private copy). */
export type VectorOf = (step: LocStep) => Int32Array;

/** The mobility label code per local subscriber, -1 where none. */
export function mobilityLabels(step: MobilityStep, vectorOf: VectorOf, nSubs: number): Int32Array {
  const periods = step.periods.map((p) => {
    const loc = vectorOf(p.location);
    const present = Uint8Array.from(loc, (l) => (l >= 0 ? 1 : 0));
    // FlowKit's NULL location: present in the preferred majority's inputs, located by neither it nor the fallback.
    for (const input of p.presence) {
      const v = vectorOf(input);
      for (let s = 0; s < nSubs; s++) if (v[s]! >= 0) present[s] = 1;
    }
    return { loc, present };
  });
  return classifyMobility(periods, step.stayLengthThreshold, nSubs);
}

/**
 * Evaluates each distinct location step once: FlowKit users typically aggregate over
 * one of the classification's own periods (and flows between two of them).
 */
function once(vectorOf: VectorOf): VectorOf {
  const seen = new Map<string, Int32Array>();
  return (step) => {
    const key = JSON.stringify(step);
    let v = seen.get(key);
    if (!v) seen.set(key, (v = vectorOf(step)));
    return v;
  };
}

/** One partition's share of a labelled step. */
export function countLabelled(step: LabelledStep, evaluate: VectorOf, nSubs: number): Omit<PartialResult, 'drops'> {
  const vectorOf = once(evaluate);
  const labels = mobilityLabels(step.labels, vectorOf, nSubs);
  const from = vectorOf(step.from);
  const to = step.to ? vectorOf(step.to) : null;
  const counts = step.dense ? new Uint32Array(step.nFrom * step.nTo * LABEL_SLOTS) : null;
  const keys: number[] = [];
  for (let s = 0; s < nSubs; s++) {
    const a = from[s]!;
    const b = to ? to[s]! : 0;
    if (a < 0 || b < 0) continue;
    const label = labels[s]!;
    if (label < 0 && !step.unlabelled) continue;
    // f64 keys: exact below 2^53, so fine units' pairs fit.
    const cell = (a * step.nTo + b) * LABEL_SLOTS + (label < 0 ? NO_LABEL : label);
    if (counts) counts[cell]!++;
    else keys.push(cell);
  }
  return counts ? { counts } : { groups: new Int32Array(keys.length), values: Float64Array.from(keys) };
}

/** Non-zero (cell, count) of merged results, cells ascending: dense counts as they are, sparse keys sorted and counted. */
export function labelledCells(dense: boolean, counts: ArrayLike<number>, keys: Float64Array): { cell: number; count: number }[] {
  const out: { cell: number; count: number }[] = [];
  if (dense) {
    for (let c = 0; c < counts.length; c++) if (counts[c]! > 0) out.push({ cell: c, count: counts[c]! });
    return out;
  }
  keys.sort();
  for (let i = 0; i < keys.length; ) {
    let j = i;
    while (j < keys.length && keys[j] === keys[i]) j++;
    out.push({ cell: keys[i]!, count: j - i });
    i = j;
  }
  return out;
}
