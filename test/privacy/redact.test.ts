import { describe, expect, it } from 'vitest';
import { coarsenCount, DEFAULT_K, redact, redactDropped, redactEstimate, significant2, thresholdFrom } from '../../server/privacy/redact.js';

const rows = (values: number[]) => values.map((value, i) => ({ pcod: `R${i}`, value }));

describe('redact', () => {
  it('keeps a value only when it is greater than k: 15 withheld, 16 kept', () => {
    const r = rows([15, 16, 0, 100]);
    const out = redact({ rule: 'value', rows: r, support: r.map((x) => x.value) }, DEFAULT_K);
    expect(out.rows.map((x) => x.pcod)).toEqual(['R1', 'R3']);
    expect(out.withheld).toBe(2);
  });

  it('decides on the support, not on the published value', () => {
    const r = rows([1000, 1000]);
    const out = redact({ rule: 'value', rows: r, support: [15, 16] }, 15);
    expect(out.rows.map((x) => x.pcod)).toEqual(['R1']);
  });

  it('drops a whole series when any bucket has k or fewer subscribers', () => {
    const r = [
      { pcod: 'A', hour: 0, value: 50 },
      { pcod: 'A', hour: 1, value: 50 },
      { pcod: 'B', hour: 0, value: 50 },
      { pcod: 'B', hour: 1, value: 50 },
    ];
    const out = redact({ rule: 'series', rows: r, support: [16, 16, 16, 15], group: ['A', 'A', 'B', 'B'] }, 15);
    expect(out.rows.map((x) => `${x.pcod}${x.hour}`)).toEqual(['A0', 'A1']);
    expect(out.withheld).toBe(2);
  });

  it('withholds a whole histogram when any bin has k or fewer', () => {
    const r = rows([20, 15, 30]);
    expect(redact({ rule: 'all', rows: r, support: [20, 15, 30] }, 15)).toEqual({ rows: [], withheld: 3 });
    expect(redact({ rule: 'all', rows: r, support: [20, 16, 30] }, 15).withheld).toBe(0);
  });

  it('publishes infrastructure counts unredacted', () => {
    const r = rows([1, 2]);
    expect(redact({ rule: 'none', rows: r, support: [1, 2] }, 15).rows).toHaveLength(2);
  });
});

describe('thresholdFrom', () => {
  it('defaults to 15, may be raised, never lowered or switched off', () => {
    expect(thresholdFrom(undefined)).toBe(15);
    expect(thresholdFrom(50)).toBe(50);
    expect(() => thresholdFrom(14)).toThrow(/>= 15/);
    expect(() => thresholdFrom(0)).toThrow();
    expect(() => thresholdFrom(15.5)).toThrow();
  });
});

describe('redactEstimate (a progressive frame)', () => {
  it('coarsens a count to a multiple of 10, or of its second significant figure when coarser', () => {
    expect([16, 24, 25, 94, 95, 999, 1234, 1250, 98_765].map(coarsenCount)).toEqual([20, 20, 30, 90, 100, 1000, 1200, 1300, 99_000]);
    expect([0.123456, 184, 1875, 0].map(significant2)).toEqual([0.12, 180, 1900, 0]);
  });

  it('keeps rows on the partial support, then scales the coarsened count and rounds to 2 significant figures', () => {
    const r = rows([23, 15, 1234]);
    // 23 -> 20 / 0.125 = 160; 15 withheld; 1234 -> 1200 / 0.125 = 9600.
    expect(redactEstimate({ rule: 'value', rows: r, support: [23, 15, 1234] }, 15, 0.125)).toEqual({
      rows: [
        { pcod: 'R0', value: 160 },
        { pcod: 'R2', value: 9600 },
      ],
      withheld: 1,
    });
    // 17 -> 20 / 0.37 = 54.05... -> 54: 54 x 0.37 = 19.98 gives 20, not the 17 behind it.
    expect(redactEstimate({ rule: 'value', rows: rows([17]), support: [17] }, 15, 0.37).rows).toEqual([{ pcod: 'R0', value: 54 }]);
  });

  it('does not scale averages or distinct cells, and withholds labelled partials whole', () => {
    expect(redactEstimate({ rule: 'value', rows: rows([3.14159]), support: [40], scaled: false }, 15, 0.5).rows).toEqual([{ pcod: 'R0', value: 3.1 }]);
    expect(redactEstimate({ rule: 'none', rows: rows([7]), support: [0], scaled: false }, 15, 0.5).rows).toEqual([{ pcod: 'R0', value: 7 }]);
    const labelled = { rule: 'series' as const, rows: rows([40, 50]), support: [40, 50], group: ['A', 'A'], openGroups: true };
    expect(redactEstimate(labelled, 15, 0.5)).toEqual({ rows: [], withheld: 2 });
  });
});

describe('redactDropped', () => {
  it("publishes each reason's count only above k; an estimate's coarsened", () => {
    expect(redactDropped({ noCell: 0, unknownCell: 15, outsideRegion: 16 }, 15)).toEqual({ noCell: null, unknownCell: null, outsideRegion: 16 });
    expect(redactDropped({ noCell: 3, unknownCell: 16, outsideRegion: 1234 }, 15, true)).toEqual({ noCell: null, unknownCell: 20, outsideRegion: 1200 });
  });
});
