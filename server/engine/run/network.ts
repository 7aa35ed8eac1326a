/**
 * Cells carrying events per time slot (total_network_objects,
 * aggregate_network_objects): bitsets OR-merged across partitions, or, by the
 * second, (second, cell) keys.
 */
import { SECONDS_PER_DAY } from '../../../kernels/shared/constants.js';
import * as OD from '../od-kernels.js';
import { type AggStep, CELL_KEY_SPAN } from '../protocol.js';
import type { AggregateOps } from './run.js';

type NetworkStep = Extract<AggStep, { op: 'cell-bits' | 'cell-seconds' }>;

export const NETWORK_OPS: Pick<AggregateOps, NetworkStep['op']> = {
  'cell-bits'(run, step) {
    const k = run.kernels;
    const nCells = Math.max(run.task.nCells, 1);
    const perDay = OD.cellBitsBytes(k, step.slotsPerDay, nCells);
    const f = step.filter;
    const bits = run.arena.alloc(perDay * Math.max(f.days.length, 1));
    run.u8(bits, perDay * f.days.length).fill(0);
    const slotSeconds = SECONDS_PER_DAY / step.slotsPerDay;
    f.days.forEach((day, i) => {
      const range = run.task.days[day];
      const loc = run.task.tables[step.unit]?.[day];
      if (!range || range.n === 0 || loc === undefined) return;
      const dayStart = day * SECONDS_PER_DAY;
      // The kernel's slots cover one day: clip the window to it.
      const clipped = { ...f, tStart: Math.max(f.tStart, dayStart), tEnd: Math.min(f.tEnd, dayStart + SECONDS_PER_DAY) };
      OD.markCellsByPeriod(k, range, { loc, nCells: run.task.nCells }, clipped, { seconds: slotSeconds, base: dayStart, count: step.slotsPerDay }, bits + i * perDay, run.drops);
    });
    return { bits: run.u8(bits, perDay * f.days.length).slice() };
  },
  'cell-seconds'(run, step) {
    // An hour of one-second slots at a time through the cell-bits kernel, its set bits read back as keys.
    const k = run.kernels;
    const nCells = Math.max(run.task.nCells, 1);
    if (nCells > CELL_KEY_SPAN) throw new RangeError(`total_by second: expected at most ${CELL_KEY_SPAN} cells, found ${nCells}`);
    const bytes = OD.cellBitsBytes(k, 3600, nCells);
    const bits = run.arena.alloc(bytes);
    const keys: number[] = [];
    const f = step.filter;
    for (const day of f.days) {
      const range = run.task.days[day];
      const loc = run.task.tables[step.unit]?.[day];
      if (!range || range.n === 0 || loc === undefined) continue;
      for (let h = 0; h < 24; h++) {
        const base = day * SECONDS_PER_DAY + h * 3600;
        const clipped = { ...f, tStart: Math.max(f.tStart, base), tEnd: Math.min(f.tEnd, base + 3600) };
        if (clipped.tStart >= clipped.tEnd) continue;
        const view = run.u8(bits, bytes);
        view.fill(0);
        OD.markCellsByPeriod(k, range, { loc, nCells: run.task.nCells }, clipped, { seconds: 1, base, count: 3600 }, bits, run.drops);
        for (let i = 0; i < bytes; i++) {
          const byte = view[i]!;
          if (byte === 0) continue;
          for (let b = 0; b < 8; b++) {
            if ((byte & (1 << b)) === 0) continue;
            const bit = i * 8 + b;
            keys.push((base + Math.floor(bit / nCells)) * CELL_KEY_SPAN + (bit % nCells));
          }
        }
      }
    }
    return { groups: new Int32Array(keys.length), values: Float64Array.from(keys) };
  },
};
