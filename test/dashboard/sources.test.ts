/**
 * The page orders units as the service does: both take unitRank and unitOrder
 * from the one wire module (server/service/wire.ts). The page used to rank its
 * own way, cell and lon-lat alike, so its unit list could come out in another
 * order than the service's frames.
 */
import { describe, expect, it } from 'vitest';
import { openingPeriod, periodsFor, type Source, unitsFor } from '../../server/dashboard/sources.js';
import type { Limits } from '../../server/service/wire.js';

const limits = (units: string[]): Limits => ({ units, temporal: 'hour', kinds: ['*'], download: true, live: true, historyDays: null, freshnessDays: null });

describe('unitsFor', () => {
  it('lists the source units the tier may see coarse to fine: admin by level, then lon-lat, then cell', () => {
    const source = { spatial: ['cell', 'admin10', 'lon-lat', 'admin2', 'admin1', 'admin3'] } as unknown as Source;
    expect(unitsFor(source, limits(['cell', 'lon-lat', 'admin10', 'admin2', 'admin1']))).toEqual(['admin1', 'admin2', 'admin10', 'lon-lat', 'cell']);
    expect(unitsFor(source, limits(['lon-lat', 'cell']))).toEqual(['lon-lat', 'cell']);
  });
});

/** Stored days from `from` through `to`, inclusive. */
function daysFrom(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

describe('openingPeriod', () => {
  // 2016-01-01 is a Friday: ISO week 2016-W01 runs Monday 01-04 to Sunday 01-10, W02 from 01-11 to 01-17.
  const open = (to: string, resolution = 'week') => openingPeriod(periodsFor(daysFrom('2016-01-01', to), resolution, limits(['admin2'])))?.key;

  it('opens on the latest complete period, not on one still filling (withheld whole under DP)', () => {
    expect(open('2016-01-13')).toBe('2016-W01');
    expect(open('2016-01-10')).toBe('2016-W01');
    expect(open('2016-01-17')).toBe('2016-W02');
    expect(open('2016-02-28', 'month')).toBe('2016-01');
    expect(open('2016-02-29', 'month')).toBe('2016-02');
  });

  it('opens on the latest period when none is complete', () => {
    expect(openingPeriod(periodsFor(daysFrom('2016-01-04', '2016-01-06'), 'week', limits(['admin2'])))?.key).toBe('2016-W01');
    expect(openingPeriod([])).toBeUndefined();
  });
});
