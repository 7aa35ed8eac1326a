/** series.ts: which periods a series request covers; catalog.ts daysRead: which days a live indicator depends on. */
import { describe, expect, it } from 'vitest';
import { daysRead, type Period, periodsOf } from '../../server/indicators/catalog.js';
import { SeriesRangeError, seriesPeriods } from '../../server/indicators/series.js';

const days = (from: string, n: number) => Array.from({ length: n }, (_, i) => new Date(Date.parse(`${from}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10));
const keys = (ps: readonly Period[]) => ps.map((p) => p.key);
const everything = () => true;

describe('seriesPeriods', () => {
  // 2016-01-01 (Friday) .. 2016-03-31: weeks 2015-W53 .. 2016-W13, months 01 .. 03.
  const weeks = periodsOf(days('2016-01-01', 91), 'week');

  it('takes the periods holding from and to, inclusive, whatever day of them is given', () => {
    expect(keys(seriesPeriods(weeks, 'week', { from: '2016-01-06', to: '2016-01-17', allowed: everything, max: 400 }))).toEqual(['2016-W01', '2016-W02']);
    expect(keys(seriesPeriods(weeks, 'week', { from: '2016-01-01', to: '2016-01-03', allowed: everything, max: 400 }))).toEqual(['2015-W53']);
    expect(seriesPeriods(weeks, 'week', { allowed: everything, max: 400 })).toHaveLength(14);
  });

  it('an omitted bound stops where the caller may see; a given bound is kept for the caller to refuse', () => {
    // A window that allows weeks 2016-W03 .. 2016-W10 only.
    const allowed = (p: Period) => p.start >= '2016-01-18' && p.start <= '2016-03-07';
    expect(keys(seriesPeriods(weeks, 'week', { allowed, max: 400 }))).toEqual(['2016-W03', '2016-W04', '2016-W05', '2016-W06', '2016-W07', '2016-W08', '2016-W09', '2016-W10']);
    expect(keys(seriesPeriods(weeks, 'week', { from: '2016-01-11', allowed, max: 400 })).slice(0, 2)).toEqual(['2016-W02', '2016-W03']);
    expect(keys(seriesPeriods(weeks, 'week', { to: '2016-03-20', allowed, max: 400 })).at(-1)).toBe('2016-W11');
  });

  it('more periods than the bound: the latest when from is omitted, an error naming the range when given', () => {
    const daily = periodsOf(days('2015-01-01', 500), 'day');
    const latest = seriesPeriods(daily, 'day', { allowed: everything, max: 400 });
    expect(latest).toHaveLength(400);
    expect(latest.at(-1)!.key).toBe(daily.at(-1)!.key);
    expect(latest[0]!.key).toBe(daily[100]!.key);
    const e = (() => {
      try {
        seriesPeriods(daily, 'day', { from: '2015-01-01', allowed: everything, max: 400 });
      } catch (x) {
        return x as SeriesRangeError;
      }
      return null;
    })();
    expect(e).toBeInstanceOf(SeriesRangeError);
    expect(e!.code).toBe('TOO_MANY_PERIODS');
    expect(e!.message).toContain('at most 400 periods, found 500 days from 2015-01-01 to 2016-05-14');
  });

  it('refuses malformed or reversed bounds naming the field', () => {
    expect(() => seriesPeriods(weeks, 'week', { from: '2016-1-1', allowed: everything, max: 400 })).toThrow(/^from: expected a date YYYY-MM-DD/);
    expect(() => seriesPeriods(weeks, 'week', { to: '2016-02-30x', allowed: everything, max: 400 })).toThrow(/^to: expected a date/);
    expect(() => seriesPeriods(weeks, 'week', { from: '2016-02-01', to: '2016-01-01', allowed: everything, max: 400 })).toThrow(/^from: expected a date no later than to's week/);
  });
});

describe('daysRead', () => {
  it('is the period and the calendar period before it, or everything before its end when scaled', () => {
    expect(daysRead('week', '2016-01-13', false)).toEqual({ from: '2016-01-04', to: '2016-01-18' });
    expect(daysRead('month', '2016-03-31', false)).toEqual({ from: '2016-02-01', to: '2016-04-01' });
    expect(daysRead('day', '2016-01-01', false)).toEqual({ from: '2015-12-31', to: '2016-01-02' });
    expect(daysRead('year', '2016-06-01', true)).toEqual({ from: null, to: '2017-01-01' });
  });
});
