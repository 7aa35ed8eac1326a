import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, generateTmp, locate, readCells, readDatasetEvents, readLevel } from './helpers.js';

afterAll(cleanup);

const OPTIONS = { subscribers: 3000, days: 8, seed: 5 };

/**
 * For each subscriber, the admin2 of their most frequent night-time (0-5 h)
 * cell before and after the disaster date; returns the share of subscribers
 * seen at night on both sides whose night admin2 is the struck one.
 */
const cache = new Map<string, ReturnType<typeof computeNightShares>>();
function nightShares(scenario: 'none' | 'displacement', struck?: string, disasterDate?: string) {
  const key = `${scenario}/${struck}/${disasterDate}`;
  if (!cache.has(key)) cache.set(key, computeNightShares(scenario, struck, disasterDate));
  return cache.get(key)!;
}

async function computeNightShares(scenario: 'none' | 'displacement', struck?: string, disasterDate?: string) {
  const { dir, summary } = await generateTmp({ ...OPTIONS, scenario, ...(disasterDate ? { disasterDate } : {}) });
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'dataset.json'), 'utf8'));
  const disaster = meta.generator.disaster ?? { date: '2016-01-05', pcod: struck };
  const admin2 = readLevel(dir, 2);
  const cellAdmin2 = new Map<string, string | null>();
  for (const c of readCells(dir)) cellAdmin2.set(c.cell_id, locate(admin2, 2, c.lon, c.lat));
  const night = { before: new Map<string, Map<string, number>>(), after: new Map<string, Map<string, number>>() };
  for (const e of readDatasetEvents(dir)) {
    if (!e.cell_id || Number(e.datetime.slice(11, 13)) >= 5) continue;
    const side = e.datetime.slice(0, 10) < disaster.date ? night.before : night.after;
    const region = cellAdmin2.get(e.cell_id) ?? 'none';
    const m = side.get(e.msisdn) ?? new Map<string, number>();
    m.set(region, (m.get(region) ?? 0) + 1);
    side.set(e.msisdn, m);
  }
  const modal = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  let both = 0;
  let before = 0;
  let after = 0;
  for (const [msisdn, m] of night.before) {
    const n = night.after.get(msisdn);
    if (!n) continue;
    both++;
    if (modal(m) === disaster.pcod) before++;
    if (modal(n) === disaster.pcod) after++;
  }
  return { before, after, both, disaster, summary };
}

describe('generate: displacement scenario', () => {
  it('records the struck region, date and share in dataset.json', async () => {
    const { disaster, summary } = await nightShares('displacement');
    expect(disaster.date).toBe('2016-01-05');
    expect(disaster.level).toBe('admin2');
    expect(disaster.pcod).toMatch(/^XX\d{4}$/);
    expect(disaster.share).toBe(0.4);
    expect(disaster.displaced).toBeGreaterThan(0);
    expect(summary.disaster?.pcod).toBe(disaster.pcod);
  });

  it("moves a share of the struck region's residents out of it at night after the disaster day", async () => {
    const { before, after, disaster } = await nightShares('displacement');
    expect(before).toBeGreaterThan(30);
    // 40% leave: about 60% of the night-time residents remain.
    expect(after / before).toBeGreaterThan(0.4);
    expect(after / before).toBeLessThan(0.8);
    const baseline = await nightShares('none', disaster.pcod);
    expect(baseline.after / baseline.before).toBeGreaterThan(0.85);
    expect(baseline.after / baseline.before).toBeLessThan(1.15);
  });

  it('--disaster-date moves the same residents on the chosen day instead of the middle one', async () => {
    const middle = await nightShares('displacement');
    const chosen = await nightShares('displacement', undefined, '2016-01-03');
    expect(chosen.disaster.date).toBe('2016-01-03');
    expect(chosen.summary.disaster?.date).toBe('2016-01-03');
    // The date changes when, not who: the same region, residents and draw of the displaced.
    expect([chosen.disaster.pcod, chosen.disaster.residents, chosen.disaster.displaced]).toEqual([middle.disaster.pcod, middle.disaster.residents, middle.disaster.displaced]);
    // Split at the chosen date, the nights show the move as they do at the middle day (40% leave).
    expect(chosen.before).toBeGreaterThan(30);
    expect(chosen.after / chosen.before).toBeGreaterThan(0.4);
    expect(chosen.after / chosen.before).toBeLessThan(0.8);
  });
});
