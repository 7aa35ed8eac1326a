/** catalog.ts: periods (ISO weeks, months, clipping) and the indicator definitions. */
import { describe, expect, it } from 'vitest';
import { CATALOG, calendarPeriod, dailyOdSpecs, dayPairs, definition, periodsOf, relocationSpec, residentsSpec } from '../../server/indicators/catalog.js';

const days = (from: string, n: number) => Array.from({ length: n }, (_, i) => new Date(Date.parse(`${from}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10));

describe('periods', () => {
  it('ISO weeks start on Monday; the week of 2016-01-01 is 2015-W53', () => {
    expect(calendarPeriod('2016-01-01', 'week')).toEqual({ key: '2015-W53', start: '2015-12-28', end: '2016-01-04' });
    expect(calendarPeriod('2016-01-04', 'week')).toEqual({ key: '2016-W01', start: '2016-01-04', end: '2016-01-11' });
    expect(calendarPeriod('2016-01-10', 'week').key).toBe('2016-W01');
    expect(calendarPeriod('2018-12-31', 'week').key).toBe('2019-W01');
    expect(calendarPeriod('2016-12-15', 'month')).toEqual({ key: '2016-12', start: '2016-12-01', end: '2017-01-01' });
    expect(calendarPeriod('2016-02-29', 'year')).toEqual({ key: '2016', start: '2016-01-01', end: '2017-01-01' });
  });

  it('are clipped to the store, chained to the previous period, with the day before', () => {
    const ps = periodsOf(days('2016-01-01', 14), 'week');
    expect(ps.map((p) => [p.key, p.days.length, p.dayBefore, p.previous?.key ?? null])).toEqual([
      ['2015-W53', 3, null, null],
      ['2016-W01', 7, '2016-01-03', '2015-W53'],
      ['2016-W02', 4, '2016-01-10', '2016-W01'],
    ]);
    expect(dayPairs(ps[0]!)).toHaveLength(2);
    expect(dayPairs(ps[1]!)).toHaveLength(7);
    const months = periodsOf(days('2016-01-20', 20), 'month');
    expect(months.map((m) => [m.key, m.days.length])).toEqual([['2016-01', 12], ['2016-02', 8]]);
  });

  it('a gap breaks the chain: no previous period, no day pair across it', () => {
    const ps = periodsOf(['2016-01-01', '2016-01-02', '2016-01-20'], 'week');
    expect(ps.at(-1)!.previous).toBeNull();
    expect(dayPairs(ps.at(-1)!)).toHaveLength(0);
  });
});

describe('definitions', () => {
  it('every indicator the issue names, with specs as functions of (period, unit)', () => {
    expect(CATALOG.map((d) => d.id).sort()).toEqual(
      ['movements.od', 'presence.count', 'presence.per_km2', 'presence.trips_in', 'presence.trips_out', 'relocations.od', 'residents.arrived', 'residents.count', 'residents.delta_arrived', 'residents.departed', 'residents.per_km2'].sort(),
    );
    const [, w] = periodsOf(days('2016-01-01', 14), 'week');
    for (const d of CATALOG) {
      expect(d.specs(w!, 'admin2').length, d.id).toBeGreaterThan(0);
      expect(d.spatial).toEqual(['admin1', 'admin2', 'admin3']);
      expect(d.temporal).toEqual(['day', 'week', 'month', 'year']);
      expect(d.description.length).toBeGreaterThan(40);
    }
    expect(residentsSpec(w!, 'admin2')).toMatchObject({ query_kind: 'spatial_aggregate', locations: { query_kind: 'modal_location' } });
    expect((residentsSpec(w!, 'admin2').locations as { locations: unknown[] }).locations).toHaveLength(7);
    expect(relocationSpec(w!, 'admin2')).toMatchObject({ query_kind: 'flows', from_location: { query_kind: 'modal_location' } });
    expect(dailyOdSpecs(w!, 'admin3')[0]).toMatchObject({ query_kind: 'flows', from_location: { date: '2016-01-03', method: 'last', aggregation_unit: 'admin3' }, to_location: { date: '2016-01-04' } });
    expect(() => definition('nope')).toThrow(/unknown indicator/);
  });
});
