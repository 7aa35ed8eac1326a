import { describe, expect, it } from 'vitest';
import { int64, isoInstant, timestamp } from '../../../server/ingest/readers/values.js';

describe('raw value conventions', () => {
  it('formats instants exactly like Date.toISOString', () => {
    const samples = [0, 1, 999, 1000, 59_999, 86_399_999, 86_400_000, 1451636102000, 1451636102007, 1451636102070, 4102444799999, -1, -86_400_001, 253402300799999];
    for (let t = 1451606400000; t < 1451606400000 + 3 * 86_400_000; t += 7_777_777) samples.push(t);
    for (const ms of samples) expect(isoInstant(ms), String(ms)).toBe(new Date(ms).toISOString());
    expect(isoInstant(253402300800000)).toBe(new Date(253402300800000).toISOString()); // year 10000
  });

  it('gives wall-clock times as Dates and instants as ISO strings', () => {
    expect(timestamp(1451636102000, false)).toEqual(new Date(1451636102000));
    expect(timestamp(1451636102000.9, true)).toBe('2016-01-01T08:15:02.000Z');
    expect(timestamp(Number.NaN, true)).toBeNull();
    expect(timestamp(9e15, false)).toBeNull();
  });

  it('keeps int64 values as numbers when exact', () => {
    expect(int64(120n)).toBe(120);
    expect(int64(2n ** 53n + 1n)).toBe(2n ** 53n + 1n);
    expect(int64(-(2n ** 53n) + 1n)).toBe(-(2 ** 53) + 1);
  });
});
