import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cleanup,
  generateTmp,
  locate,
  readCells,
  readDatasetEvents,
  readLevel,
  type CellRow,
  type EventRow,
  type Feature,
} from './helpers.js';

afterAll(cleanup);

let dir = '';
let cells: CellRow[] = [];
let events: EventRow[] = [];
let levels: Feature[][] = [];
const DAYS = 6;
const START = '2016-03-01';
const END = '2016-03-06';

beforeAll(async () => {
  ({ dir } = await generateTmp({ subscribers: 800, days: DAYS, start: START, seed: 4 }));
  cells = readCells(dir);
  events = readDatasetEvents(dir);
  levels = [1, 2, 3].map((l) => readLevel(dir, l));
});

describe('generate: cells', () => {
  it('names cells and sites like C00123-1 and S00123, 1-3 cells a site', () => {
    for (const c of cells) {
      expect(c.cell_id).toMatch(/^C\d{5}-[123]$/);
      expect(c.site_id).toBe(`S${c.cell_id.slice(1, 6)}`);
    }
    const perSite = new Map<string, Set<string>>();
    for (const c of cells) perSite.set(c.site_id, (perSite.get(c.site_id) ?? new Set()).add(c.cell_id));
    expect(Math.max(...[...perSite.values()].map((s) => s.size))).toBe(3);
    expect([...perSite.values()].some((s) => s.size === 1)).toBe(true);
  });

  it('moves a few cells mid-period: two versions, consecutive dates, new position', () => {
    const byId = new Map<string, CellRow[]>();
    for (const c of cells) byId.set(c.cell_id, [...(byId.get(c.cell_id) ?? []), c]);
    const moved = [...byId.values()].filter((v) => v.length === 2);
    expect(moved.length).toBeGreaterThanOrEqual(3);
    for (const [a, b] of moved) {
      expect(a!.valid_from).toBe('');
      expect(b!.valid_to).toBe('');
      expect(a!.valid_to < b!.valid_from).toBe(true);
      const nextDay = new Date(Date.parse(`${a!.valid_to}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      expect(b!.valid_from).toBe(nextDay);
      expect(Math.hypot(a!.lon - b!.lon, a!.lat - b!.lat)).toBeGreaterThan(0.005);
    }
  });

  it('retires a few cells and commissions a few during the period', () => {
    const single = cells.filter((c) => cells.filter((d) => d.cell_id === c.cell_id).length === 1);
    const retired = single.filter((c) => c.valid_to !== '');
    const commissioned = single.filter((c) => c.valid_from !== '');
    expect(retired.length).toBeGreaterThanOrEqual(3);
    expect(commissioned.length).toBeGreaterThanOrEqual(3);
    for (const c of retired) expect(c.valid_to < END).toBe(true);
    for (const c of commissioned) expect(c.valid_from > START).toBe(true);
  });

  it('uses only cells that exist and are in service on the event date', () => {
    const versions = new Map<string, CellRow[]>();
    for (const c of cells) versions.set(c.cell_id, [...(versions.get(c.cell_id) ?? []), c]);
    let located = 0;
    for (const e of events) {
      if (e.cell_id === '') continue;
      located++;
      const date = e.datetime.slice(0, 10);
      const live = versions.get(e.cell_id)!.filter((v) => (v.valid_from === '' || v.valid_from <= date) && (v.valid_to === '' || date <= v.valid_to));
      expect(live, `${e.cell_id} on ${date}`).toHaveLength(1);
    }
    expect(located).toBeGreaterThan(events.length * 0.9);
  });

  it('has one cell in the lake and one offshore, in no polygon of any level, both carrying traffic', () => {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'dataset.json'), 'utf8'));
    const special = [meta.generator.unlocated_cells.lake, meta.generator.unlocated_cells.offshore] as string[];
    for (const id of special) {
      const c = cells.find((x) => x.cell_id === id)!;
      levels.forEach((features, k) => expect(locate(features, k + 1, c.lon, c.lat), `${id} at admin${k + 1}`).toBeNull());
      expect(events.some((e) => e.cell_id === id), `events at ${id}`).toBe(true);
    }
    // Every other site is inside the country.
    const others = cells.filter((c) => !special.includes(c.cell_id));
    for (const c of others.filter((_, i) => i % 7 === 0)) expect(locate(levels[2]!, 3, c.lon, c.lat)).not.toBeNull();
  });

  it('places more sites where more people live', () => {
    const sites = new Map(cells.map((c) => [c.site_id, c]));
    const a3 = levels[2]!;
    const count = new Map<string, number>();
    for (const s of sites.values()) {
      const p = locate(a3, 3, s.lon, s.lat);
      if (p) count.set(p, (count.get(p) ?? 0) + 1);
    }
    const pop = (f: Feature) => Number(f.properties['population']);
    const sorted = [...a3].sort((a, b) => pop(a) - pop(b));
    const sitesOf = (fs: Feature[]) => fs.reduce((s, f) => s + (count.get(String(f.properties['ADM3_PCODE'])) ?? 0), 0);
    const third = Math.floor(sorted.length / 3);
    expect(sitesOf(sorted.slice(-third))).toBeGreaterThan(2 * sitesOf(sorted.slice(0, third)));
  });
});
