/** Sliced loops give what the plain loop gives, and return to the event loop while they run (issue #14). */
import { describe, expect, it } from 'vitest';
import { drain, drainSliced, jsonArrayChunks, mapSliced, ROWS_PER_CHECK, Slicer, type Sliced } from '../../server/util/slices.js';

/** A loop of `n` steps that burns ~`µs` per step and yields after each. */
function* busy(n: number, us: number): Sliced<number> {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const until = performance.now() + us / 1000;
    while (performance.now() < until) sum++;
    yield;
  }
  return n;
}

describe('slices', () => {
  it('drain and drainSliced give the generator’s value; a plain value passes through', async () => {
    expect(drain(busy(3, 1))).toBe(3);
    expect(await drainSliced(busy(3, 1))).toBe(3);
    expect(drain(7)).toBe(7);
    expect(await drainSliced(7)).toBe(7);
  });

  it('drainSliced lets timers and I/O callbacks run between slices; drain does not', async () => {
    // ~60 ms of work in 1 ms steps with a 4 ms slice: the event loop gets its turn about 15 times.
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 0);
    drain(busy(60, 1000));
    const blocked = ticks;
    await drainSliced(busy(60, 1000), new Slicer(4));
    clearInterval(ticker);
    expect(blocked).toBe(0);
    expect(ticks).toBeGreaterThanOrEqual(5);
  });

  it('jsonArrayChunks concatenate to JSON.stringify of the rows, for 0, 1, one chunk and several chunks', () => {
    for (const n of [0, 1, ROWS_PER_CHECK, 3 * ROWS_PER_CHECK + 7]) {
      const rows = Array.from({ length: n }, (_, i) => ({ pcod: `R"${i}`, value: i / 3, none: null }));
      expect(Buffer.concat(drain(jsonArrayChunks(rows))).toString('utf8')).toBe(JSON.stringify(rows));
    }
  });

  it('mapSliced maps every row in order', () => {
    const rows = Array.from({ length: 2 * ROWS_PER_CHECK + 3 }, (_, i) => i);
    expect(drain(mapSliced(rows, (x) => x * 2))).toEqual(rows.map((x) => x * 2));
  });
});
