/**
 * The page orders units as the service does: both take unitRank and unitOrder
 * from the one wire module (server/service/wire.ts). The page used to rank its
 * own way, cell and lon-lat alike, so its unit list could come out in another
 * order than the service's frames.
 */
import { describe, expect, it } from 'vitest';
import { type Source, unitsFor } from '../../server/dashboard/sources.js';
import type { Limits } from '../../server/service/wire.js';

const limits = (units: string[]): Limits => ({ units, temporal: 'hour', kinds: ['*'], download: true, live: true, historyDays: null, freshnessDays: null });

describe('unitsFor', () => {
  it('lists the source units the tier may see coarse to fine: admin by level, then lon-lat, then cell', () => {
    const source = { spatial: ['cell', 'admin10', 'lon-lat', 'admin2', 'admin1', 'admin3'] } as unknown as Source;
    expect(unitsFor(source, limits(['cell', 'lon-lat', 'admin10', 'admin2', 'admin1']))).toEqual(['admin1', 'admin2', 'admin10', 'lon-lat', 'cell']);
    expect(unitsFor(source, limits(['lon-lat', 'cell']))).toEqual(['lon-lat', 'cell']);
  });
});
