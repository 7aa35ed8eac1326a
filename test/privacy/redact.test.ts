import { describe, expect, it } from 'vitest';
import { DEFAULT_K, redact, thresholdFrom } from '../../server/privacy/redact.js';

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
