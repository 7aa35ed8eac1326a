/**
 * Meaningful locations: each subscriber's labelled Hartigan clusters over a
 * window (a kernel pass, then the clustering of meaningful-kernels.ts), as
 * (lon, lat, weight) records, or pairs of them between two labels or windows.
 */
import { type ClusterList, clustersOf, labelIndex, type MeaningfulParams, ScoreTable } from '../meaningful-kernels.js';
import type { AggStep, WindowFilter } from '../protocol.js';
import { type AggregateOps, initialCapacity, type Run } from './run.js';

/** Each local subscriber's labelled clusters over the window (kernel pass, then clustering). */
function clusters(run: Run, params: MeaningfulParams, f: WindowFilter): ClusterList {
  const scores = run.arena.alloc(8 * 31);
  const f64 = new Float64Array(run.task.memory.buffer, scores, 31);
  f64.set(params.hourScores, 0);
  f64.set(params.dowScores, 24);
  const table = new ScoreTable(run.kernels, run.arena, initialCapacity(run.task.nSubs));
  for (const { ev, table: loc } of run.ranges('lon-lat', f)) {
    table.accumulate(ev, loc, f, run.task.nSubs, { hour: scores, dow: scores + 8 * 24 }, run.drops);
  }
  const { lon, lat, n } = run.task.lonLat;
  const points = { lon: new Float64Array(run.task.memory.buffer, lon, n), lat: new Float64Array(run.task.memory.buffer, lat, n) };
  return clustersOf(table.entries(), points, params, run.task.nSubs);
}

export const MEANINGFUL_OPS: Pick<AggregateOps, Extract<AggStep, { op: 'meaningful' }>['op']> = {
  meaningful(run, step) {
    const a = clusters(run, step.params, step.a.filter);
    const la = labelIndex(step.params, step.a.label);
    const values: number[] = [];
    if (!step.b) {
      // Per subscriber (a run of equal subs): its clusters of the label, 1 / n each.
      for (let i = 0; i < a.count; ) {
        let j = i;
        let n = 0;
        for (; j < a.count && a.sub[j] === a.sub[i]; j++) if (a.label[j] === la) n++;
        for (let c = i; c < j; c++) if (a.label[c] === la) values.push(a.lon[c]!, a.lat[c]!, 1 / n);
        i = j;
      }
    } else {
      // Same window on both sides (between labels): cluster once.
      const b = JSON.stringify(step.b.filter) === JSON.stringify(step.a.filter) ? a : clusters(run, step.params, step.b.filter);
      const lb = labelIndex(step.params, step.b.label);
      // Merge join of the two lists by subscriber (both ascending).
      let j = 0;
      for (let i = 0; i < a.count; ) {
        let iEnd = i;
        while (iEnd < a.count && a.sub[iEnd] === a.sub[i]) iEnd++;
        while (j < b.count && b.sub[j]! < a.sub[i]!) j++;
        let jEnd = j;
        while (jEnd < b.count && b.sub[jEnd] === a.sub[i]) jEnd++;
        let na = 0;
        let nb = 0;
        for (let x = i; x < iEnd; x++) if (a.label[x] === la) na++;
        for (let y = j; y < jEnd; y++) if (b.label[y] === lb) nb++;
        for (let x = i; x < iEnd; x++) {
          if (a.label[x] !== la) continue;
          for (let y = j; y < jEnd; y++) if (b.label[y] === lb) values.push(a.lon[x]!, a.lat[x]!, b.lon[y]!, b.lat[y]!, 1 / (na * nb));
        }
        i = iEnd;
      }
    }
    const stride = step.b ? 5 : 3;
    return { groups: new Int32Array(values.length / stride), values: Float64Array.from(values) };
  },
};
