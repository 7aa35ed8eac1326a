/**
 * A small store built directly (no readers, no generator): a 2 x 2 grid of
 * one-degree square regions, cells at known places (one outside every region,
 * one moved mid-period, one retired), and seeded random events full of ties.
 * The test's Locator computes regions by arithmetic, independently of the
 * store's point-in-polygon.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DIR_IN, DIR_OUT, NULL_U32, SECONDS_PER_DAY, TYPE_CALLS, TYPE_MDS, TYPE_SMS, TYPE_TOPUPS } from '../../kernels/shared/constants.js';
import type { RegionLevel } from '../../server/geo/regions.js';
import { SubscriberDictionary } from '../../server/ingest/pseudonymise.js';
import type { Locator } from '../reference/events.js';
import type { RefMetricEvent } from '../reference/metrics.js';
import { CellTable, type CellVersion } from '../../server/store/cells.js';
import { commit } from '../../server/store/commit.js';
import { DayStaging } from '../../server/store/day-writer.js';
import { paths } from '../../server/store/layout.js';
import { emptyManifest } from '../../server/store/manifest.js';
import { rng } from '../util/rng.js';

export const FIRST_DAY = 16801; // 2016-01-01
export const KEY = Buffer.alloc(32, 7);

function square(x: number, y: number): number[][][][] {
  return [[[[x, y], [x + 1, y], [x + 1, y + 1], [x, y + 1], [x, y]]]];
}

export const LEVEL: RegionLevel = {
  level: 1,
  unit: 'admin1',
  file: 'fixture',
  regions: [0, 1, 2, 3].map((i) => ({
    pcod: `R${i}`,
    name: `Region ${i}`,
    areaKm2: 12345,
    polygons: square(i % 2, Math.floor(i / 2)),
    bbox: [i % 2, Math.floor(i / 2), (i % 2) + 1, Math.floor(i / 2) + 1] as [number, number, number, number],
  })),
};

/** Region of a position by arithmetic: the squares are [x, x+1) x [y, y+1) for x, y in {0, 1}. */
function regionAt(lon: number, lat: number): number {
  if (lon < 0 || lon >= 2 || lat < 0 || lat >= 2) return -3;
  return Math.floor(lon) + 2 * Math.floor(lat);
}

export interface Fixture {
  dir: string;
  events: RefMetricEvent[];
  versions: CellVersion[];
  nCells: number;
  locator: Locator;
  days: number;
}


/**
 * Writes a store of `subs` subscribers over `days` days into `dir`. Cells 0-7 sit
 * two per region; cell 8 lies outside every region; cell 3 moves from R1 to R2 on
 * day 2; cell 5 is retired after day 1; cell 9 is named by events but has no version.
 */
export function buildFixture(
  dir: string,
  opts: { subs: number; days: number; seed: number; eventsPerSub?: number; events?: RefMetricEvent[] },
): Fixture {
  const random = rng(opts.seed);
  const versions: CellVersion[] = [];
  const cells = new CellTable();
  for (let c = 0; c < 8; c++) {
    const r = c >> 1;
    const lon = (r % 2) + 0.25 + 0.5 * (c & 1);
    const lat = Math.floor(r / 2) + 0.5;
    const key = cells.indexOf(`C${c}`);
    if (c === 3) {
      versions.push({ cell: key, site: 'S3', lon, lat, from: null, to: FIRST_DAY + 1 });
      versions.push({ cell: key, site: 'S3', lon: 0.5, lat: 1.5, from: FIRST_DAY + 2, to: null });
    } else if (c === 5) {
      versions.push({ cell: key, site: 'S5', lon, lat, from: null, to: FIRST_DAY + 1 });
    } else {
      versions.push({ cell: key, site: `S${c}`, lon, lat, from: null, to: null });
    }
  }
  versions.push({ cell: cells.indexOf('C8'), site: 'S8', lon: 5, lat: 5, from: null, to: null });
  cells.indexOf('C9');
  cells.setVersions(versions, [LEVEL]);

  const subscribers = new SubscriberDictionary(KEY);
  for (let s = 0; s < opts.subs; s++) subscribers.indexOf(`s${s}`);

  // Each subscriber has a home cell it uses most; times are coarse so that ties at one second are common.
  const events: RefMetricEvent[] = opts.events ? [...opts.events] : [];
  const perSub = opts.eventsPerSub ?? 6;
  for (let d = 0; d < (opts.events ? 0 : opts.days); d++) {
    for (let s = 0; s < opts.subs; s++) {
      const home = Math.floor(random() * 8);
      const n = Math.floor(random() * perSub);
      for (let e = 0; e < n; e++) {
        const u = random();
        const cell = u < 0.6 ? home : u < 0.93 ? Math.floor(random() * 8) : u < 0.96 ? 8 : u < 0.98 ? 9 : NULL_U32;
        const t = (FIRST_DAY + d) * SECONDS_PER_DAY + Math.floor(random() * 24) * 3600 + Math.floor(random() * 3) * 1800;
        const type = [TYPE_CALLS, TYPE_SMS, TYPE_MDS, TYPE_CALLS, TYPE_TOPUPS][Math.floor(random() * 5)]!;
        const dir = type === TYPE_MDS || type === TYPE_TOPUPS ? 0 : random() < 0.5 ? DIR_OUT : DIR_IN;
        const u2 = random();
        // Calls and sms have a counterpart: mostly a few favourite contacts, sometimes oneself or nobody.
        const peer = type > TYPE_SMS ? NULL_U32 : u2 < 0.05 ? s : u2 < 0.1 ? NULL_U32 : (s + 1 + Math.floor(random() * random() * 12)) % opts.subs;
        const recharge = type === TYPE_TOPUPS ? Math.round(random() * 400) / 8 : NaN;
        events.push({ sub: s, t, cell, kind: type | (dir << 2), peer, recharge });
      }
    }
  }
  // Ingest order is not time order.
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [events[i], events[j]] = [events[j]!, events[i]!];
  }

  const staging = new DayStaging(path.join(paths.staging(dir), 'fixture', 'days'));
  for (const e of events) staging.append(e.sub, e.t, e.cell, e.kind, NULL_U32, e.peer ?? NULL_U32, e.recharge ?? NaN);
  const dims = path.join(paths.staging(dir), 'fixture', 'dims');
  fs.mkdirSync(dims, { recursive: true });
  fs.writeFileSync(path.join(dims, 'cells.json'), JSON.stringify(cells.toJSON()));
  fs.writeFileSync(path.join(dims, 'regions.json'), JSON.stringify([LEVEL]));
  fs.writeFileSync(path.join(dims, 'subscribers.bin'), subscribers.serialise());
  commit(dir, emptyManifest('UTC', 'fixture'), {
    days: staging.finish(),
    dims,
    meta: { subscribers: subscribers.size, cells: cells.size },
  });

  const locator: Locator = (cell, day) => {
    const candidates = versions.filter((v) => v.cell === cell && (v.from === null || day >= v.from) && (v.to === null || day <= v.to));
    if (candidates.length === 0) return -2;
    const v = candidates[candidates.length - 1]!;
    return regionAt(v.lon, v.lat);
  };
  return { dir, events, versions, nCells: cells.size, locator, days: opts.days };
}
