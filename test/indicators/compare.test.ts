/** compare.ts: diff, percent change, and the robust abnormality score on hand-made series. */
import { describe, expect, it } from 'vitest';
import { addDays } from '../../server/indicators/catalog.js';
import { abnormality, compare, compareResults, diff, mad, median, percentChange } from '../../server/indicators/compare.js';

/** A daily series of `values` ending the day before `start`. */
const daily = (start: string, values: (number | null)[]) => values.map((value, i) => ({ start: addDays(start, i - values.length), value }));

describe('diff and percent_change', () => {
  it('diff is x - reference rounded to the difference step (10 by default)', () => {
    expect(diff(1200, 1000)).toBe(200);
    expect(diff(1000, 1234)).toBe(-230);
    expect(diff(1004, 1000)).toBe(0);
    expect(diff(1000, 1000, { rounding: { people: 100, relocations: 10, density: 10, difference: 1 } })).toBe(0);
    expect(diff(null, 1000)).toBeNull();
    expect(diff(1000, null)).toBeNull();
  });

  it('percent_change is 100 (x - ref) / ref to one decimal, null against 0 or a withheld reference', () => {
    expect(percentChange(650, 1000)).toBe(-35);
    expect(percentChange(1000, 300)).toBe(233.3);
    expect(percentChange(100, 0)).toBeNull();
    expect(percentChange(null, 100)).toBeNull();
    expect(percentChange(100, null)).toBeNull();
  });
});

describe('median and MAD', () => {
  it('odd and even lengths', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
    // |x - 16| of [10, 12, 14, 16, 18, 20, 100] = [6, 4, 2, 0, 2, 4, 84] -> 4
    expect(median([10, 12, 14, 16, 18, 20, 100])).toBe(16);
    expect(mad([10, 12, 14, 16, 18, 20, 100])).toBe(4);
  });
});

describe('abnormality', () => {
  const start = '2017-01-01';
  // 91 days: the hand-made 7 values repeated 13 times: median 16, MAD 4.
  const history = daily(start, Array.from({ length: 91 }, (_, i) => [10, 12, 14, 16, 18, 20, 100][i % 7]!));

  it('is (x - median) / (1.4826 MAD) over the history', () => {
    const a = abnormality(40, start, history);
    expect(a.withheld).toBeUndefined();
    expect(a.median).toBe(16);
    expect(a.mad).toBe(4);
    // By hand, rounded to 2 decimals: 24 / 5.9304 = 4.0469..., -6 / 5.9304 = -1.0117...
    expect(a.score).toBe(4.05);
    expect(abnormality(16, start, history).score).toBe(0);
    expect(abnormality(10, start, history).score).toBe(-1.01);
    // Far out, the constant shows through the rounding: 593.04 / (1.4826 x 4) = 100 exactly, where a
    // scale of 1.483 would give 99.97.
    expect(abnormality(609.04, start, history).score).toBe(100);
  });

  it('is published only with at least 90 days of history (a parameter)', () => {
    expect(abnormality(40, start, daily(start, Array(90).fill(5).map((v, i) => v + (i % 3)))).withheld).toBeUndefined();
    const short = abnormality(40, start, daily(start, Array(89).fill(5).map((v, i) => v + (i % 3))));
    expect(short.withheld).toBe('short-history');
    expect(short.score).toBeNull();
    expect(short.historyDays).toBe(89);
    // Lowered, a short synthetic series gets a score: [1, 2, 3, 4, 5]: median 3, MAD 1.
    const five = abnormality(6, start, daily(start, [1, 2, 3, 4, 5]), { minHistoryDays: 5 });
    expect(five.score).toBe(2.02); // 3 / 1.4826 = 2.0234...
    expect(abnormality(77.13, start, daily(start, [1, 2, 3, 4, 5]), { minHistoryDays: 5 }).score).toBe(50); // 74.13 / 1.4826
    expect(abnormality(6, start, daily(start, [1, 2, 3, 4, 5]), { minHistoryDays: 6 }).withheld).toBe('short-history');
  });

  it('uses only the previous 12 months, ignores withheld values, and withholds with a zero MAD', () => {
    // A year-old outlier block is out of the window; the last 100 days are [7, 9] -> median 8, MAD 1.
    const old = daily(addDays(start, -100), Array(300).fill(1000));
    const recent = daily(start, Array.from({ length: 100 }, (_, i) => (i % 2 ? 9 : 7)));
    const withOld = abnormality(10, start, [...old, ...recent], { lookbackDays: 100 });
    expect(withOld.median).toBe(8);
    expect(withOld.score).toBe(1.35); // 2 / 1.4826 = 1.3489...
    const gaps = abnormality(10, start, [...recent, { start: addDays(start, -3), value: null }]);
    expect(gaps.n).toBe(100);
    expect(abnormality(10, start, daily(start, Array(120).fill(8))).withheld).toBe('zero-mad');
    expect(abnormality(null, start, recent).withheld).toBe('missing');
    // Later points never enter the history.
    expect(abnormality(10, start, [...recent, { start: addDays(start, 1), value: 1e6 }]).median).toBe(8);
  });

  it('compare() joins the three, and compareResults() does it per region', () => {
    const series = [...history, { start, value: 40 }];
    const c = compare(series, 20);
    expect(c).toMatchObject({ value: 40, reference: 20, diff: 20, percent_change: 100 });
    expect(c.abnormality.score).toBe(4.05);
    const results = [
      { period: { start: '2016-01-04' }, values: [{ pcod: 'A', value: 1000 }, { pcod: 'B', value: null }] },
      { period: { start: '2016-01-11' }, values: [{ pcod: 'A', value: 600 }, { pcod: 'B', value: 300 }] },
    ];
    const cr = compareResults(results, [results[0]!]);
    expect(cr[0]).toMatchObject({ pcod: 'A', value: 600, reference: 1000, diff: -400, percent_change: -40 });
    expect(cr[0]!.abnormality.withheld).toBe('short-history');
    expect(cr[1]).toMatchObject({ pcod: 'B', value: 300, reference: null, diff: null, percent_change: null });
  });
});
