/**
 * The dashboard in headless Chromium against the real service on the
 * generated displacement scenario (issue #7, "Done when"): the map and legend
 * match the REST result for the same selection; after the disaster the struck
 * region's residents fall and their abnormality score grows (checked against
 * a plain median/MAD computed here from REST values); flows are drawn
 * thickest first above a threshold; a free-tier token is offered only its
 * units and resolutions and refused finer ones by the service; and no task in
 * the page runs longer than 100 ms while admin3 frames arrive. Issue #19: the
 * first view moves off a mostly withheld unit; withheld regions say why, as
 * REST reports it; legends suit the values (one class for one value, none
 * for nothing published, "%" for percent change, the unit in the title);
 * flows colour the regions by out, in or net, with the top corridors and the
 * region's out/in/net over time; the phone layout (no horizontal scroll, the
 * map at least 80% of the width, the controls in a drawer); every token
 * `npm start` prints shows a period and a drawn map on the embedded sample,
 * as REST publishes it; and the free tier's empty page on a store shorter
 * than its embargo explains itself.
 * Screenshots (1440x900 and 390x844 per view) go to docs/ (shown in the
 * README) when OPALITE_SCREENSHOTS=docs, else to a temporary folder, so that
 * a test run leaves the working tree as it was.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decode, encode } from '@msgpack/msgpack';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { followStore } from '../../server/service/live.js';
import { DEFAULT_TIERS } from '../../server/service/config.js';
import { auth, type Harness, ingestWithTestKey, runToCompletion, sampleStore, startHarness, StreamClient } from '../service/helpers.js';
import { type Disaster, displacementService, launchBrowser } from './harness.js';

const DOCS = process.env.OPALITE_SCREENSHOTS === 'docs' ? path.resolve('docs') : fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-screens-'));
let h: Harness;
let disaster: Disaster;
let dataset: string;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let premium: string;
let free: string;

beforeAll(async () => {
  ({ h, disaster, dataset } = await displacementService());
  premium = await h.token('premium');
  free = await h.token('free');
  browser = await launchBrowser();
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await h?.close();
  if (h) fs.rmSync(h.root, { recursive: true, force: true });
});

/** The page at 1440x900 and at 390x844 (a phone), as docs/<name>.png and docs/<name>-phone.png; back to wide after. */
async function shoot(page: Page, name: string): Promise<void> {
  await page.setViewportSize({ width: 1440, height: 900 });
  await settle(page);
  await page.screenshot({ path: path.join(DOCS, `${name}.png`) });
  await page.setViewportSize({ width: 390, height: 844 });
  await settle(page);
  await page.screenshot({ path: path.join(DOCS, `${name}-phone.png`) });
  await page.setViewportSize({ width: 1440, height: 900 });
  await settle(page);
}

/** Two animation frames: a resize's render has run. */
const settle = (page: Page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));

/** The legend as shown: its title, each class's label, and each hidden-region line. */
function legendOf(page: Page): Promise<{ title: string; classes: string[]; hidden: string[]; text: string; data: Record<string, string> }> {
  return page.$eval('#legend', (el) => ({
    title: el.querySelector('strong')?.textContent ?? '',
    classes: [...el.querySelectorAll('.class')].map((c) => c.textContent!),
    hidden: [...el.querySelectorAll('.hidden-reason')].map((c) => c.textContent!),
    text: el.textContent!,
    data: { ...(el as HTMLElement).dataset } as Record<string, string>,
  }));
}

/** The page's words for the service's reason codes (server/indicators/disclosure.ts), written out here. */
const REASONS: Record<string, string> = { 'resident-floor': 'fewer than 200 resident subscribers', threshold: '15 or fewer subscribers', 'rounded-to-threshold': 'rounds to 15 or fewer', missing: 'no data for this period' };

interface Shown {
  status: string;
  unit: string;
  period: string;
  comparison: string;
  source: string;
}

/** Waits until the page shows the final frame of what it was asked for. */
async function waitShown(page: Page, want: Partial<Shown>, timeout = 40_000): Promise<void> {
  await page.waitForFunction(
    (w) => {
      const d = document.getElementById('app')!.dataset;
      if (d.status === 'error') throw new Error(document.getElementById('error')!.textContent ?? 'error');
      return d.status === 'final' && Object.entries(w).every(([k, v]) => d[k] === v);
    },
    want,
    { timeout, polling: 50 },
  );
}

/** Each region of the unit on the map: its published value (null when withheld), shown value and state. */
function regionsOnMap(page: Page, unit: string): Promise<Record<string, { value: number | null; shown: number | null; state: string }>> {
  return page.$$eval(`#map g[data-unit="${unit}"] path.region`, (paths) =>
    Object.fromEntries(
      paths.map((p) => [
        p.getAttribute('data-pcod')!,
        {
          value: p.hasAttribute('data-value') ? Number(p.getAttribute('data-value')) : null,
          shown: p.hasAttribute('data-shown') ? Number(p.getAttribute('data-shown')) : null,
          state: p.getAttribute('data-state')!,
        },
      ]),
    ),
  );
}

interface IndicatorBody {
  values: { pcod: string; value: number | null }[];
  period: { key: string; start: string };
}

const indicatorRest = async (token: string, query: string): Promise<IndicatorBody> => {
  const r = await fetch(`${h.api}/indicators/residents.count?${query}`, { headers: auth(token) });
  expect(r.status).toBe(200);
  return (await r.json()) as IndicatorBody;
};

/** Plain reference for the abnormality score: (x - median) / (1.4826 MAD) of the earlier values. */
function robustZ(x: number, history: number[]): number {
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const m = med(history);
  return (x - m) / (1.4826 * med(history.map((v) => Math.abs(v - m))));
}

describe('the dashboard, premium tier', () => {
  let page: Page;
  /** Every request the page made to the API: method, path and query, and the body of a POST. */
  const requests: { method: string; url: string; body: string | null }[] = [];
  const api = (re: RegExp, method = 'GET') => requests.filter((r) => r.method === method && re.test(r.url));
  beforeAll(async () => {
    page = await browser.context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e));
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname.startsWith('/api/0/')) requests.push({ method: r.method(), url: url.pathname + url.search, body: r.postData() });
    });
    await page.addInitScript(() => {
      // The performance timeline's long tasks, kept for the test.
      const w = window as unknown as { longTasks: { start: number; duration: number }[] };
      w.longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    });
    await page.goto(`${h.base}/#token=${premium}`);
  });

  it('first shows admin1, as admin2 is mostly withheld, with the regions and legend of the REST result', async () => {
    await waitShown(page, { unit: 'admin1', comparison: 'value', source: 'residents.count' });
    const period = await page.$eval('#app', (el) => (el as HTMLElement).dataset.period!);
    const start = await page.$eval('#period', (el) => (el as HTMLSelectElement).selectedOptions[0]!.dataset.start!);
    // Why not admin2, the preferred unit: most of its regions are withheld, by REST's own account.
    const admin2 = await indicatorRest(premium, `unit=admin2&resolution=week&period=${start}&scale=true`);
    expect(admin2.values.filter((v) => v.value === null).length / admin2.values.length).toBeGreaterThan(0.5);
    expect(await page.$eval('#unit', (el) => (el as HTMLSelectElement).value)).toBe('admin1');
    expect(await page.textContent('#notice')).toContain('Showing admin1: at admin2');
    const rest = await indicatorRest(premium, `unit=admin1&resolution=week&period=${start}&scale=true`);
    expect(rest.period.key).toBe(period);
    const onMap = await regionsOnMap(page, 'admin1');
    expect(Object.keys(onMap).sort()).toEqual(rest.values.map((v) => v.pcod).sort());
    for (const v of rest.values) {
      expect(onMap[v.pcod]!.value, v.pcod).toBe(v.value);
      expect(onMap[v.pcod]!.state, v.pcod).toBe(v.value === null ? 'withheld' : 'shown');
    }
    const published = rest.values.map((v) => v.value).filter((v): v is number => v !== null);
    const legend = await legendOf(page);
    expect(Number(legend.data.min)).toBe(Math.min(...published));
    expect(Number(legend.data.max)).toBe(Math.max(...published));
    expect(Number(legend.data.withheld)).toBe(rest.values.length - published.length);
    // Up to five classes of the distinct values, labelled by the whole numbers in them; the unit and category in the title.
    expect(legend.classes.length).toBe(Math.min(5, new Set(published).size));
    for (const c of legend.classes) expect(c).toMatch(/^[\d,]+( to [\d,]+)? \(\d+\)$/);
    expect(legend.title).toContain('residents · count (people) · admin1 · ' + period);
    await shoot(page, 'dashboard-map');
  });

  it('says why each withheld region is withheld, as REST reports it, on the map, in the legend and in the table', async () => {
    await page.selectOption('#unit', 'admin2');
    await waitShown(page, { unit: 'admin2', comparison: 'value', source: 'residents.count' });
    const start = await page.$eval('#period', (el) => (el as HTMLSelectElement).selectedOptions[0]!.dataset.start!);
    const rest = (await indicatorRest(premium, `unit=admin2&resolution=week&period=${start}&scale=true`)) as IndicatorBody & { values: { withheld?: string }[]; withheld: Record<string, number> };
    const titles = await page.$$eval('#map g[data-unit="admin2"] path.region', (ps) => Object.fromEntries(ps.map((p) => [p.getAttribute('data-pcod')!, p.querySelector('title')!.textContent!])));
    const withheld = rest.values.filter((v) => v.value === null);
    expect(withheld.length).toBeGreaterThan(0);
    for (const v of withheld) expect(titles[v.pcod], v.pcod).toContain(`withheld (${REASONS[v.withheld!]})`);
    const legend = await legendOf(page);
    const byReason = new Map<string, number>();
    for (const v of withheld) byReason.set(v.withheld!, (byReason.get(v.withheld!) ?? 0) + 1);
    // REST's own counts by reason (regions without data are not counted there: they have nothing to withhold).
    for (const [why, n] of Object.entries(rest.withheld)) expect(byReason.get(why), why).toBe(n);
    expect(legend.hidden.sort()).toEqual([...byReason].map(([why, n]) => `${REASONS[why]} (${n})`).sort());
    await page.click('#views button[data-view="table"]');
    await waitShown(page, { unit: 'admin2' });
    const table = await page.$$eval('#table tbody tr', (trs) => Object.fromEntries(trs.map((tr) => [tr.getAttribute('data-pcod')!, tr.children[2]!.textContent!])));
    for (const v of rest.values) expect(table[v.pcod], v.pcod).toBe(v.value === null ? REASONS[v.withheld!] : v.value.toLocaleString('en'));
    await shoot(page, 'dashboard-table');
    await page.click('#views button[data-view="map"]');
  });

  it('shows no classes and says why when nothing is published (abnormality with less than 90 days of history)', async () => {
    await page.selectOption('#period', '2016-W05');
    await page.selectOption('#comparison', 'abnormality');
    await waitShown(page, { unit: 'admin2', period: '2016-W05', comparison: 'abnormality' });
    const legend = await legendOf(page);
    expect(legend.data.classes).toBe('0');
    expect(legend.text).toContain('nothing published');
    expect(legend.text).not.toMatch(/from 0 to 0|\b0 to 0\b/);
    // 2016-W05 starts 2016-02-01: the earlier weeks span 35 days of history (2015-12-28 to 2016-01-31).
    const rest = await indicatorRest(premium, 'unit=admin2&resolution=week&period=2016-02-01&scale=true');
    const published = rest.values.filter((v) => v.value !== null).length;
    expect(legend.hidden).toContain(`needs 90 days of history (has 35) (${published})`);
  });

  it("shows the struck region's residents falling and their abnormality rising after the disaster", async () => {
    // 2016-W13 ends the Sunday before the disaster (Tuesday 2016-04-05); 2016-W15 is the week after its week.
    expect(disaster.date).toBe('2016-04-05');
    const at = async (period: string, comparison: string) => {
      await page.selectOption('#unit', 'admin2');
      await page.selectOption('#period', period);
      await page.selectOption('#comparison', comparison);
      await waitShown(page, { unit: 'admin2', period, comparison });
      return (await regionsOnMap(page, 'admin2'))[disaster.pcod]!;
    };
    const before = await at('2016-W13', 'value');
    const after = await at('2016-W15', 'value');
    expect(before.value).not.toBeNull();
    expect(after.value).not.toBeNull();
    // 40% of the region's residents left: the count falls by roughly that share.
    expect(after.value! / before.value!).toBeLessThan(0.75);
    expect(after.value! / before.value!).toBeGreaterThan(0.45);

    const zBefore = (await at('2016-W13', 'abnormality')).shown;
    const zAfter = (await at('2016-W15', 'abnormality')).shown;
    expect(zBefore).not.toBeNull();
    expect(zAfter).not.toBeNull();
    expect(Math.abs(zBefore!)).toBeLessThan(3);
    expect(zAfter!).toBeLessThan(-10);
    // The page's score is the plain robust z-score of the REST values of the weeks before.
    const weeks = ['2015-12-28', '2016-01-04', '2016-01-11', '2016-01-18', '2016-01-25', '2016-02-01', '2016-02-08', '2016-02-15', '2016-02-22', '2016-02-29', '2016-03-07', '2016-03-14', '2016-03-21', '2016-03-28', '2016-04-04', '2016-04-11'];
    const series = await Promise.all(weeks.map((w) => indicatorRest(premium, `unit=admin2&resolution=week&period=${w}&scale=true`)));
    const valueOf = (b: IndicatorBody) => b.values.find((v) => v.pcod === disaster.pcod)!.value!;
    const xs = series.map(valueOf);
    expect(xs.at(-1)).toBe(after.value);
    expect(zAfter!).toBeCloseTo(robustZ(xs.at(-1)!, xs.slice(0, -1)), 1);
    expect(zBefore!).toBeCloseTo(robustZ(xs[13]!, xs.slice(0, 13)), 1);
    // The comparisons read the series in one request per unit, not one per period.
    expect(api(/^\/api\/0\/indicators\/[^/?]+\?/)).toEqual([]);
    const seriesRequests = api(/^\/api\/0\/indicators\/residents\.count\/series\?.*resolution=week/);
    expect(seriesRequests.length).toBeGreaterThanOrEqual(1);
    expect(seriesRequests.length).toBeLessThanOrEqual(2); // admin1 (drawn first) and admin2
    // Scores are classed around the usual band, diverging: the struck region in the most negative class.
    const legend = await legendOf(page);
    expect(legend.title).toContain('abnormality score');
    expect(legend.classes[0]).toMatch(/^−5 or below \(\d+\)$/);
    await page.screenshot({ path: path.join(DOCS, 'dashboard-abnormality.png') });

    // Percent change says "%", in the title and on every class.
    await at('2016-W15', 'percent_change');
    const pct = await legendOf(page);
    expect(pct.title).toContain('percent change from the previous period (%)');
    expect(pct.classes.length).toBeGreaterThan(0);
    for (const c of pct.classes) expect(c).toMatch(/%( to [−+]?[\d,.]+%)? \(\d+\)$/);
    await at('2016-W15', 'abnormality');
  });

  it("graphs the struck region's series with its reference band", async () => {
    await page.click(`#map g[data-unit="admin2"] path[data-pcod="${disaster.pcod}"]`);
    await page.click('#views button[data-view="graph"]');
    await waitShown(page, { period: '2016-W15', comparison: 'abnormality' });
    await page.waitForSelector('#chart canvas');
    const points = await page.$eval('#chart', (el) => Number((el as HTMLElement).dataset.points));
    const periods = await page.$$eval('#period option', (o) => o.length);
    expect(points).toBe(periods);
    // The "loading the series…" text is gone once the chart is drawn.
    expect(await page.$eval('#chart', (el) => [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join(''))).toBe('');
    await shoot(page, 'dashboard-graph');
    await page.click('#views button[data-view="map"]');
  });

  it('draws flows as arcs between centroids, thickest first, above the threshold', async () => {
    // FlowKit's flows between the most frequent locations of 2016-W13 and 2016-W14, the disaster's week:
    // the displaced leave the struck region for its neighbours. (relocations.od shows few pairs at admin2 on
    // this small country: most admin2 regions are under its 200-resident floor, withheld at both ends.)
    await page.selectOption('#category', 'FlowKit aggregates');
    await page.selectOption('#source', 'flows');
    await page.selectOption('#unit', 'admin2');
    await page.selectOption('#resolution', 'week');
    await page.selectOption('#period', '2016-W14');
    await waitShown(page, { source: 'flows', unit: 'admin2', period: '2016-W14' });
    const arcs = () => page.$$eval('#map path.flow', (ps) => ps.map((p) => ({ from: p.getAttribute('data-from')!, to: p.getAttribute('data-to')!, value: Number(p.getAttribute('data-value')) })));
    const all = await arcs();
    expect(all.length).toBeGreaterThan(1);
    expect(all.map((a) => a.value)).toEqual(all.map((a) => a.value).sort((a, b) => b - a));
    expect(all[0]!.from).toBe(disaster.pcod);

    // The arcs are the REST result's off-diagonal pairs.
    const modal = (start: string, end: string) => ({ query_kind: 'most_frequent_location', start_date: start, end_date: end, aggregation_unit: 'admin2' });
    const spec = { query_kind: 'flows', from_location: modal('2016-03-28', '2016-04-04'), to_location: modal('2016-04-04', '2016-04-11') };
    const id = await runToCompletion(h, premium, spec);
    const rows = ((await (await fetch(`${h.api}/get/${id}`, { headers: auth(premium) })).json()) as { query_result: { pcod_from: string; pcod_to: string; value: number }[] }).query_result;
    const pairs = rows.filter((r) => r.pcod_from !== r.pcod_to);
    expect(all.map((a) => `${a.from}>${a.to}=${a.value}`).sort()).toEqual(pairs.map((r) => `${r.pcod_from}>${r.pcod_to}=${r.value}`).sort());
    const sum = (pcod: string, side: 'pcod_from' | 'pcod_to') => pairs.filter((r) => r[side] === pcod).reduce((n, r) => n + r.value, 0);

    // Out (the default), in and net: each region's colour value is that sum of the REST pairs; a region with no
    // published flow on that side is not drawn as 0.
    const regionsByMeasure = async (measure: string) => {
      await page.selectOption('#measure', measure);
      await page.waitForFunction((m) => document.getElementById('app')!.dataset.measure === m, measure);
      await waitShown(page, { source: 'flows', period: '2016-W14' });
      return regionsOnMap(page, 'admin2');
    };
    const names = Object.keys(await regionsOnMap(page, 'admin2'));
    const involved = (p: string) => pairs.some((r) => r.pcod_from === p || r.pcod_to === p);
    for (const measure of ['in', 'net', 'out']) {
      const onMap = await regionsByMeasure(measure);
      for (const p of names) {
        const want = measure === 'out' ? sum(p, 'pcod_from') : measure === 'in' ? sum(p, 'pcod_to') : sum(p, 'pcod_to') - sum(p, 'pcod_from');
        const shown = measure === 'net' ? involved(p) : want > 0;
        expect([p, onMap[p]!.state, onMap[p]!.shown], measure).toEqual([p, shown ? 'shown' : 'withheld', shown ? want : null]);
      }
    }
    // Out: the struck region sends the most, and is drawn in the top class.
    const outs = names.map((p) => sum(p, 'pcod_from'));
    expect(sum(disaster.pcod, 'pcod_from')).toBe(Math.max(...outs));
    const fill = await page.$eval(`#map g[data-unit="admin2"] path[data-pcod="${disaster.pcod}"]`, (p) => p.getAttribute('fill'));
    const top = await page.$eval('#legend', (el) => [...el.querySelectorAll('.class .swatch')].at(-1)!.getAttribute('style'));
    expect(top).toContain(`background:${fill}`);
    expect((await legendOf(page)).title).toContain('FlowKit aggregates · flows between most_frequent_locations: total out (subscribers) · admin2 · 2016-W14');

    // The top corridors: the ten largest REST pairs, largest first.
    const corridors = await page.$$eval('#corridors li', (ls) => ls.map((l) => `${l.getAttribute('data-from')}>${l.getAttribute('data-to')}=${l.getAttribute('data-value')}`));
    const largest = [...pairs].sort((a, b) => b.value - a.value).slice(0, 10);
    expect(corridors.length).toBe(largest.length);
    expect(corridors.map((c) => Number(c.split('=')[1]))).toEqual(largest.map((r) => r.value));
    expect(corridors[0]).toBe(`${disaster.pcod}>${largest[0]!.pcod_to}=${largest[0]!.value}`);
    await shoot(page, 'dashboard-flows');

    // The table: each region's total out, in and net, from the REST pairs.
    await page.click('#views button[data-view="table"]');
    await waitShown(page, { source: 'flows', period: '2016-W14' });
    // Under load the table can still be the previous view's for a moment: wait for the flows table's five columns.
    await page.waitForFunction(() => {
      const trs = [...document.querySelectorAll('#table tbody tr')];
      return trs.length > 0 && trs.every((tr) => tr.children.length >= 5);
    });
    const table = await page.$$eval('#table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent!)));
    const num = (t: string | undefined) => (t === 'none published' ? 0 : Number(t!.replace(/,/g, '').replace('−', '-')));
    for (const [pcod, , outText, inText, netText] of table) {
      expect([pcod, num(outText), num(inText)]).toEqual([pcod, sum(pcod!, 'pcod_from'), sum(pcod!, 'pcod_to')]);
      if (involved(pcod!)) expect([pcod, num(netText)]).toEqual([pcod, sum(pcod!, 'pcod_to') - sum(pcod!, 'pcod_from')]);
    }

    // The graph: the struck region's out, in and net per week; at 2016-W14, the REST sums.
    await page.click(`#views button[data-view="map"]`);
    await page.click(`#map g[data-unit="admin2"] path[data-pcod="${disaster.pcod}"]`);
    await page.click('#views button[data-view="graph"]');
    await waitShown(page, { source: 'flows', period: '2016-W14' });
    await page.waitForSelector('#chart canvas');
    // The canvas can be the previous chart's for a moment under load: wait for this graph's current values.
    await page.waitForFunction(() => (document.getElementById('chart') as HTMLElement).dataset.current !== undefined);
    const current = await page.$eval('#chart', (el) => JSON.parse((el as HTMLElement).dataset.current!) as { out: number; in: number; net: number });
    expect(current).toEqual({ out: sum(disaster.pcod, 'pcod_from'), in: sum(disaster.pcod, 'pcod_to'), net: sum(disaster.pcod, 'pcod_to') - sum(disaster.pcod, 'pcod_from') });
    expect(Number(await page.$eval('#chart', (el) => (el as HTMLElement).dataset.points))).toBe(await page.$$eval('#period option', (o) => o.length));
    await shoot(page, 'dashboard-flows-graph');
    await page.click('#views button[data-view="map"]');

    const values = all.map((a) => a.value);
    const threshold = Math.ceil((values[0]! + values.at(-1)!) / 2);
    await page.$eval('#threshold', (el, v) => {
      (el as HTMLInputElement).value = String(v);
      el.dispatchEvent(new Event('input'));
    }, threshold);
    await page.waitForFunction((n) => document.querySelectorAll('#map path.flow').length < n, all.length, { timeout: 5000 });
    expect((await arcs()).map((a) => a.value)).toEqual(values.filter((v) => v >= threshold));
  });

  it("compares a raw aggregate with the previous day from a few POST /series, not a run per period", async () => {
    await page.selectOption('#category', 'FlowKit aggregates');
    await page.selectOption('#source', 'unique_subscriber_counts');
    await page.selectOption('#unit', 'admin2');
    await page.selectOption('#resolution', 'day');
    const since = requests.length;
    await page.selectOption('#period', '2016-04-05');
    await page.selectOption('#comparison', 'diff');
    await waitShown(page, { source: 'unique_subscriber_counts', unit: 'admin2', period: '2016-04-05', comparison: 'diff' });
    const shown = (await regionsOnMap(page, 'admin2'))[disaster.pcod]!;
    // The difference of the two days' REST values (run one by one here), rounded to 10 as differences are.
    const usc = async (start: string, end: string) => {
      const id = await runToCompletion(h, premium, { query_kind: 'unique_subscriber_counts', start_date: start, end_date: end, aggregation_unit: 'admin2' });
      const rows = ((await (await fetch(`${h.api}/get/${id}`, { headers: auth(premium) })).json()) as { query_result: { pcod: string; value: number }[] }).query_result;
      return rows.find((r) => r.pcod === disaster.pcod)!.value;
    };
    const [day, dayBefore] = [await usc('2016-04-05', '2016-04-06'), await usc('2016-04-04', '2016-04-05')];
    expect(shown.value).toBe(day);
    const d = day - dayBefore;
    expect(shown.shown).toBe(Math.sign(d) * Math.round(Math.abs(d) / 10) * 10);
    // 190 days at two units (admin1 drawn first, then admin2): at most two POST /series of at most 100 specs each per unit.
    const posts = requests.slice(since).filter((r) => r.method === 'POST');
    expect(posts.filter((r) => r.url === '/api/0/run')).toEqual([]);
    const batches = posts.filter((r) => r.url === '/api/0/series').map((r) => (JSON.parse(r.body!) as { specs: unknown[] }).specs.length);
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect(batches.length).toBeLessThanOrEqual(4);
    for (const n of batches) expect(n).toBeLessThanOrEqual(100);
    await page.selectOption('#comparison', 'value');
  });

  it('stays responsive while admin3 frames arrive: no task over 100 ms', async () => {
    await page.selectOption('#category', 'FlowKit aggregates');
    await page.selectOption('#source', 'unique_subscriber_counts');
    await page.selectOption('#comparison', 'value');
    await page.selectOption('#resolution', 'day');
    const longTasks = (since: number) =>
      page.evaluate((t) => (window as unknown as { longTasks: { start: number; duration: number }[] }).longTasks.filter((x) => x.start >= t), since);
    // The observer sees a task that blocks for 150 ms (so an empty list below means something).
    const probe = await page.evaluate(() => {
      // A task of the page's own (a timer): what the browser's timeline attributes to the page.
      setTimeout(() => {
        const t = performance.now();
        while (performance.now() - t < 150);
      }, 0);
      return performance.now();
    });
    await expect.poll(async () => (await longTasks(probe - 1)).some((x) => x.duration >= 150)).toBe(true);

    const since = await page.evaluate(() => performance.now());
    await page.selectOption('#unit', 'admin3');
    await waitShown(page, { source: 'unique_subscriber_counts', unit: 'admin3', comparison: 'value' });
    // 100 ms on an idle machine; a loaded one (CI's forks, other work on two cores) stretches every task alike, so
    // the bound grows with the load average per core rather than failing on the machine's contention.
    const bound = 100 * Math.max(1, os.loadavg()[0]! / os.cpus().length);
    expect((await longTasks(since)).filter((t) => t.duration > bound)).toEqual([]);
    // Partial and final frames for admin1, admin2 and admin3 arrived and were drawn.
    expect(Number(await page.$eval('#app', (el) => (el as HTMLElement).dataset.frames))).toBeGreaterThanOrEqual(6);
    const regions = await regionsOnMap(page, 'admin3');
    expect(Object.keys(regions).length).toBeGreaterThan(50);
  });
});

describe('the dashboard on a phone and on a wall screen', () => {
  /** How the page lays out at a width: horizontal overflow, the map's width, the header's height, the drawer. */
  const layout = (page: Page) =>
    page.evaluate(() => {
      const box = (id: string) => document.getElementById(id)!.getBoundingClientRect();
      return {
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        mapWidth: box('map').width,
        mapTop: box('map').top,
        headerHeight: document.querySelector('header')!.getBoundingClientRect().height,
        lineHeight: parseFloat(getComputedStyle(document.querySelector('header h1')!).lineHeight) || 20,
        controlsRight: box('controls').right,
        width: window.innerWidth,
      };
    });

  it('at 390 px: no horizontal scroll, the map first and at least 80% wide, the controls in a drawer', async () => {
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
    try {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto(`${h.base}/#token=${premium}`);
      await waitShown(page, { source: 'residents.count', unit: 'admin1' });
      const l = await layout(page);
      expect(l.overflow).toBeLessThanOrEqual(0);
      expect(l.mapWidth / l.width).toBeGreaterThanOrEqual(0.8);
      // The header on one or two lines; then the views, the progress and the map: above the fold.
      expect(l.headerHeight).toBeLessThan(2 * 40);
      expect(l.mapTop).toBeLessThan(200);
      // The drawer is closed (off screen to the left); the menu opens it, a choice in it closes it.
      expect(l.controlsRight).toBeLessThanOrEqual(0);
      // Closed, it is out of the tab order as well; Escape closes it.
      expect(await page.$eval('#controls', (el) => getComputedStyle(el).visibility)).toBe('hidden');
      await page.click('#menu');
      await page.waitForFunction(() => document.getElementById('controls')!.getBoundingClientRect().left >= 0);
      await page.keyboard.press('Escape');
      await page.waitForFunction(() => getComputedStyle(document.getElementById('controls')!).visibility === 'hidden');
      await page.click('#menu');
      await page.waitForFunction(() => document.getElementById('controls')!.getBoundingClientRect().left >= 0);
      expect(await page.$eval('#menu', (b) => b.getAttribute('aria-expanded'))).toBe('true');
      await page.selectOption('#resolution', 'month');
      await page.waitForFunction(() => document.getElementById('controls')!.getBoundingClientRect().right <= 0);
      // The store ends on 2016-07-08, so July is still filling: the page opens on the latest complete month.
      await waitShown(page, { source: 'residents.count', unit: 'admin1', period: '2016-06' });
      // Not a live tier: no "follow new days".
      expect(await page.$eval('#follow-row', (el) => (el as HTMLElement).hidden)).toBe(true);
      // The Period list's labels fit its select.
      await page.click('#menu');
      await page.waitForFunction(() => document.getElementById('controls')!.getBoundingClientRect().left >= 0);
      const period = await page.$eval('#period', (el) => {
        const s = el as HTMLSelectElement;
        const ctx = document.createElement('canvas').getContext('2d')!;
        ctx.font = getComputedStyle(s).font;
        return { text: ctx.measureText(s.selectedOptions[0]!.textContent!).width, box: s.clientWidth };
      });
      expect(period.text).toBeLessThan(period.box - 20); // room for the arrow
      await page.screenshot({ path: path.join(DOCS, 'dashboard-drawer-phone.png') });
      await page.click('#scrim', { position: { x: 380, y: 400 } });
      // 360 px and a wall screen: no horizontal scroll either; on the wall the controls sit beside the map.
      for (const width of [360, 2560]) {
        await page.setViewportSize({ width, height: 900 });
        await settle(page);
        const w = await layout(page);
        expect(w.overflow, String(width)).toBeLessThanOrEqual(0);
        expect(w.mapWidth / width, String(width)).toBeGreaterThanOrEqual(width > 800 ? 0.6 : 0.8);
        if (width > 800) expect(w.controlsRight).toBeGreaterThan(0);
      }
      // Nothing failed to load (no /favicon.ico 404) and nothing logged an error.
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('the dashboard in a crisis: time as a control, and the situation view', () => {
  let page: Page;
  beforeAll(async () => {
    page = await browser.context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e));
    await page.goto(`${h.base}/#token=${premium}`);
    await waitShown(page, { source: 'residents.count', unit: 'admin1' });
    await page.selectOption('#unit', 'admin2');
    await waitShown(page, { source: 'residents.count', unit: 'admin2' });
  });
  afterAll(async () => page?.close());

  it('moves through the periods with the slider, and plays them in turn, each drawn whole', async () => {
    const keys = await page.$$eval('#period option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    await page.$eval('#slider', (el, i) => {
      (el as HTMLInputElement).value = String(i);
      el.dispatchEvent(new Event('input'));
    }, keys.indexOf('2016-W13'));
    await waitShown(page, { unit: 'admin2', period: '2016-W13' });
    expect(await page.textContent('#slider-out')).toBe('2016-W13');
    // Every period shown whole while playing, in order.
    await page.evaluate(() => {
      const w = window as unknown as { shown: string[] };
      w.shown = [];
      new MutationObserver(() => {
        const d = document.getElementById('app')!.dataset;
        if (d.status === 'final' && w.shown.at(-1) !== d.period) w.shown.push(d.period!);
      }).observe(document.getElementById('app')!, { attributes: true });
    });
    await page.click('#play');
    await waitShown(page, { unit: 'admin2', period: '2016-W16' });
    await page.click('#play');
    const shown = await page.evaluate(() => (window as unknown as { shown: string[] }).shown);
    expect(shown.slice(0, 3)).toEqual(['2016-W14', '2016-W15', '2016-W16']);
    const at = (await page.$eval('#app', (el) => (el as HTMLElement).dataset.period))!;
    await waitShown(page, { unit: 'admin2', period: at });
    const rest = await indicatorRest(premium, `unit=admin2&resolution=week&period=${await page.$eval('#period', (el) => (el as HTMLSelectElement).selectedOptions[0]!.dataset.start!)}&scale=true`);
    const onMap = await regionsOnMap(page, 'admin2');
    for (const v of rest.values) expect(onMap[v.pcod]!.value, v.pcod).toBe(v.value);
  });

  it("sums up the struck region's week: residents against the reference, departures, destinations, as REST gives them; its CSV is exactly that", async () => {
    await page.click('#views button[data-view="situation"]');
    await page.waitForFunction(() => document.querySelectorAll('#sit-region option').length > 0);
    await page.selectOption('#sit-region', disaster.pcod);
    await page.fill('#sit-date', disaster.date);
    await page.waitForFunction(() => document.getElementById('view-situation')!.dataset.status === 'final' && document.getElementById('sit-title')!.textContent!.includes('2016-W14'), null, { timeout: 30_000 });
    // REST: the residents of 2016-W14 (the disaster's week) and of every week before it, departures, relocations.
    const q = 'unit=admin2&resolution=week';
    const series = (await (await fetch(`${h.api}/indicators/residents.count/series?${q}&from=2015-12-28&to=2016-04-04&scale=true`, { headers: auth(premium) })).json()) as { periods: IndicatorBody[] };
    const valueIn = (b: IndicatorBody) => b.values.find((v) => v.pcod === disaster.pcod)!.value;
    const xs = series.periods.map(valueIn);
    expect(series.periods.at(-1)!.period.key).toBe('2016-W14');
    const median = (v: number[]) => {
      const s = [...v].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
    };
    const history = xs.slice(0, -1) as number[];
    const reference = median(history);
    const departed = (await (await fetch(`${h.api}/indicators/residents.departed?${q}&period=2016-04-04`, { headers: auth(premium) })).json()) as IndicatorBody;
    const od = (await (await fetch(`${h.api}/indicators/relocations.od?${q}&period=2016-04-04`, { headers: auth(premium) })).json()) as { flows: { pcod_from: string; pcod_to: string; value: number }[] };
    const rows = await page.$$eval('#sit-table tr', (trs) => trs.map((tr) => [tr.getAttribute('data-measure')!, tr.hasAttribute('data-value') ? Number(tr.getAttribute('data-value')) : null]));
    const now = xs.at(-1)!;
    const dep = valueIn(departed);
    expect(rows).toEqual([
      ['residents (people)', now],
      ['reference: median of the 12 months before', reference],
      ['change from the reference (%)', Math.round((1000 * (now! - reference)) / reference) / 10],
      ['abnormality score', expect.any(Number)],
      ['residents (people) in the previous period', xs.at(-2)],
      ['departures (subscribers whose home moved out)', dep],
    ]);
    expect(rows[3]![1]).toBeCloseTo(robustZ(now!, history), 1);
    const out = od.flows.filter((f) => f.pcod_from === disaster.pcod).sort((a, b) => b.value - a.value).slice(0, 5);
    const listed = await page.$$eval('#sit-destinations li', (ls) => ls.map((l) => [l.getAttribute('data-pcod'), Number(l.getAttribute('data-value'))]));
    expect(listed).toEqual(out.map((f) => [f.pcod_to, f.value]));
    if (out.length === 0) expect(await page.textContent('#sit-destinations')).toContain('no relocation out of');

    // The CSV: one line per number on the card, then one per destination.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#sit-csv')]);
    const csv = fs.readFileSync((await download.path())!, 'utf8').trim().split('\n');
    const name = (await page.textContent('#sit-title'))!.split(' (')[0]!;
    const cell = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v));
    expect(csv[0]).toBe('region,name,unit,measure,period,value,withheld_or_note');
    expect(csv.slice(1, 7).map((l) => l.split(',').slice(0, 6).join(','))).toEqual(
      rows.map(([m, v], i) => `${disaster.pcod},${name},admin2,${m},${i === 4 ? '2016-W13' : '2016-W14'},${cell(v as number | null)}`),
    );
    expect(csv.slice(7).map((l) => l.split(',')[3]!.split(' ')[2])).toEqual(out.map((f) => f.pcod_to));
    expect(csv.slice(7).map((l) => Number(l.split(',')[5]))).toEqual(out.map((f) => f.value));
    await shoot(page, 'dashboard-situation');

    // The printable summary: the card alone (no controls), with the map, the graph, the numbers, protection and date.
    await page.emulateMedia({ media: 'print' });
    const printed = await page.evaluate(() => {
      const shown = (sel: string) => getComputedStyle(document.querySelector(sel)!).display !== 'none';
      return { controls: shown('#controls'), views: shown('#views'), card: shown('#sit-card'), map: document.querySelector('#sit-map svg path.region.selected')?.getAttribute('data-pcod'), caption: document.querySelector('#sit-map p')!.textContent!, chart: !!document.querySelector('#sit-chart canvas'), protection: document.getElementById('sit-protection')!.textContent! };
    });
    expect(printed).toMatchObject({ controls: false, views: false, card: true, map: disaster.pcod, chart: true });
    expect(printed.caption).toContain('Residents (people) at admin2 in 2016-W14');
    expect(printed.protection).toMatch(/^Protection: .* Read \d{4}-\d\d-\d\d \d\d:\d\d UTC\.$/);
    await page.setViewportSize({ width: 794, height: 1123 }); // A4 at 96 dpi
    await page.screenshot({ path: path.join(DOCS, 'dashboard-situation-print.png') });
    await page.emulateMedia({ media: 'screen' });
    await page.setViewportSize({ width: 1440, height: 900 });
  });
});

describe('the dashboard, protection shown', () => {
  // The service does not noise answers yet (differential privacy is being added beside this page): the answers are
  // given the block it will send, in the stream's frames and in REST's series, on their way to the page.
  const DP = { mode: 'dp', k: 15, epsilon: 0.5, mechanism: 'gaussian', interval95: 120, budget: { spent: 1.5, remaining: 8.5, period: 'month' } };

  async function withPrivacy(page: Page, privacy: unknown): Promise<void> {
    await page.routeWebSocket(/\/api\/0\/stream$/, (ws) => {
      const server = ws.connectToServer();
      ws.onMessage((m) => server.send(m));
      server.onMessage((m) => {
        const f = decode(m as Buffer) as Record<string, unknown>;
        if (f.op === 'partial' || f.op === 'final') f.privacy = privacy;
        ws.send(Buffer.from(encode(f)));
      });
    });
    await page.route(/\/api\/0\/indicators\/[^/]+\/series\?/, async (route) => {
      const r = await route.fetch();
      const body = (await r.json()) as { periods: Record<string, unknown>[] };
      for (const p of body.periods) p.privacy = privacy;
      await route.fulfill({ response: r, json: body });
    });
  }

  it('marks noised values approximate with their 95% interval, in the table and the graph, and gives the budget left', async () => {
    const page = await browser.context.newPage();
    try {
      await withPrivacy(page, DP);
      await page.goto(`${h.base}/#token=${premium}`);
      await waitShown(page, { source: 'residents.count', unit: 'admin1' });
      expect(await page.textContent('#privacy')).toBe(
        'Protection: differential privacy (ε = 0.5, gaussian mechanism); values of 15 or fewer withheld. Values are approximate: each ± 120 (95%). Budget left: 8.5 of 10 this month.',
      );
      expect((await legendOf(page)).title).toContain('approx. (differential privacy)');
      await page.click('#views button[data-view="table"]');
      await waitShown(page, { unit: 'admin1' });
      const start = await page.$eval('#period', (el) => (el as HTMLSelectElement).selectedOptions[0]!.dataset.start!);
      const rest = await indicatorRest(premium, `unit=admin1&resolution=week&period=${start}&scale=true`);
      const cells = await page.$$eval('#table tbody tr', (trs) => Object.fromEntries(trs.map((tr) => [tr.getAttribute('data-pcod')!, tr.children[2]!.textContent!])));
      for (const v of rest.values) expect(cells[v.pcod], v.pcod).toBe(v.value === null ? expect.any(String) : `approx. ${v.value.toLocaleString('en')} ± 120`);
      await page.click('#views button[data-view="graph"]');
      await waitShown(page, { unit: 'admin1' });
      await page.waitForSelector('#chart canvas');
      expect(await page.$eval('#chart', (el) => (el as HTMLElement).dataset.noised)).toBe('true');
      expect(await page.$$eval('#chart .u-legend .u-label', (ss) => ss.map((s) => s.textContent!))).toContain('95% low');
      await shoot(page, 'dashboard-protection');
    } finally {
      await page.close();
    }
  });

  it('under threshold mode says values of k or fewer are withheld, and marks nothing approximate', async () => {
    const page = await browser.context.newPage();
    try {
      await withPrivacy(page, { mode: 'threshold', k: 15 });
      await page.goto(`${h.base}/#token=${premium}`);
      await waitShown(page, { source: 'residents.count', unit: 'admin1' });
      expect(await page.textContent('#privacy')).toBe('Protection: values of 15 or fewer withheld.');
      await page.click('#views button[data-view="table"]');
      await waitShown(page, { unit: 'admin1' });
      expect(await page.$$eval('#table td', (tds) => tds.filter((td) => td.textContent!.includes('approx.')).length)).toBe(0);
    } finally {
      await page.close();
    }
  });
});

describe('the embedded sample as `npm start` serves it: every printed token shows something', () => {
  // The default tiers (DP, free's 30-day embargo) on data/sample: 2016-01-01 .. 2016-04-03 (data/sample/README.md).
  let root: string;
  beforeAll(async () => {
    root = await sampleStore();
  }, 60_000);
  afterAll(() => root && fs.rmSync(root, { recursive: true, force: true }));

  /** Opens the page with the tier's token; returns the unit and period shown and the map's regions at that unit. */
  async function firstView(sample: Harness, tier: string, name?: string) {
    const token = await sample.token(tier);
    const page = await browser.context.newPage();
    try {
      page.on('pageerror', (e) => console.error('page error:', e));
      await page.goto(`${sample.base}/#token=${token}`);
      await waitShown(page, { source: 'residents.count' });
      const { unit, period } = await page.$eval('#app', (el) => ({ ...(el as HTMLElement).dataset }) as { unit: string; period: string });
      const periods = await page.$$eval('#period option', (os) => os.map((o) => (o as HTMLOptionElement).value));
      const resolution = await page.$eval('#resolution', (el) => (el as HTMLSelectElement).value);
      const start = await page.$eval('#period', (el) => (el as HTMLSelectElement).selectedOptions[0]!.dataset.start!);
      const drawn = await regionsOnMap(page, unit);
      if (name) await shoot(page, name);
      return { token, unit, period, periods, resolution, start, drawn };
    } finally {
      await page.close();
    }
  }

  /** The map's published regions are REST's published values for the same indicator, unit and period. */
  async function expectMapIsRest(sample: Harness, v: Awaited<ReturnType<typeof firstView>>) {
    const r = await fetch(`${sample.api}/indicators/residents.count?unit=${v.unit}&resolution=${v.resolution}&period=${v.start}&scale=true`, { headers: auth(v.token) });
    expect(r.status).toBe(200);
    const rest = (await r.json()) as IndicatorBody;
    expect(rest.period.key).toBe(v.period);
    const published = rest.values.filter((x) => x.value !== null);
    // Something is drawn: at least one region published, and the map holds exactly REST's published values.
    expect(published.length).toBeGreaterThan(0);
    expect(Object.fromEntries(Object.entries(v.drawn).filter(([, x]) => x.value !== null).map(([pcod, x]) => [pcod, x.value]))).toEqual(
      Object.fromEntries(published.map((x) => [x.pcod, x.value])),
    );
  }

  it('free: January and February 2016 are offered, February is drawn, as REST publishes it', async () => {
    const sample = await startHarness(root, { tiers: structuredClone(DEFAULT_TIERS) });
    try {
      const v = await firstView(sample, 'free', 'dashboard-free-sample');
      // By hand: the last day is 2016-04-03, so the embargo admits periods ending by 2016-04-04 - 30 days = 2016-03-05:
      // January (ends 2016-02-01) and February (ends 2016-03-01), not March (ends 2016-04-01). The latest is shown.
      expect(v.resolution).toBe('month');
      expect(v.periods).toEqual(['2016-01', '2016-02']);
      expect(v.period).toBe('2016-02');
      expect(['admin1', 'admin2']).toContain(v.unit);
      await expectMapIsRest(sample, v);
      // March is refused by REST for the reason the page leaves it out.
      const march = await fetch(`${sample.api}/indicators/residents.count?unit=admin1&resolution=month&period=2016-03-01`, { headers: auth(v.token) });
      expect(march.status).toBe(403);
      const refusal = (await march.json()) as { code: string; msg: string };
      expect(refusal.code).toBe('TIER_FRESHNESS');
      expect(refusal.msg).toContain('expected dates before 2016-03-05');
    } finally {
      await sample.close();
    }
  });

  it('premium and partner: the latest week (2016-W13, 2016-03-28 .. 04-03, complete) is drawn, as REST publishes it', async () => {
    const sample = await startHarness(root, { tiers: structuredClone(DEFAULT_TIERS) });
    try {
      for (const tier of ['premium', 'partner']) {
        const v = await firstView(sample, tier);
        // 2016-04-03 is a Sunday: its ISO week starts on Monday 2016-03-28 and is whole, so DP publishes it.
        expect([v.resolution, v.period, v.start], tier).toEqual(['week', '2016-W13', '2016-03-28']);
        await expectMapIsRest(sample, v);
      }
    } finally {
      await sample.close();
    }
  });

  it("explains an empty page when the tier's embargo is longer than the store, as REST does", async () => {
    // Free with a 90-day embargo on the 94-day sample: the limit is 2016-04-04 - 90 days = 2016-01-05, before any month ends.
    const tiers = structuredClone(DEFAULT_TIERS);
    tiers.free!.freshnessDays = 90;
    const sample = await startHarness(root, { tiers });
    const page = await browser.context.newPage();
    try {
      const token = await sample.token('free');
      // The latest month, as the page asks it.
      const rest = await fetch(`${sample.api}/indicators/residents.count?unit=admin1&resolution=month&period=2016-04-01`, { headers: auth(token) });
      expect(rest.status).toBe(403);
      const refusal = (await rest.json()) as { code: string; msg: string };
      expect(refusal.code).toBe('TIER_FRESHNESS');
      expect(refusal.msg).toContain('expected dates before 2016-01-05');
      expect(refusal.msg).toContain('found a spec reaching 2016-04-30');
      await page.goto(`${sample.base}/#token=${token}`);
      await page.waitForFunction(() => document.getElementById('app')!.dataset.status === 'empty' && !document.getElementById('notice')!.hidden && document.getElementById('notice')!.textContent!.includes('The service says'));
      const notice = (await page.textContent('#notice'))!;
      expect(notice).toContain('This store holds 94 days, 2016-01-01 to 2016-04-03.');
      expect(notice).toContain('only data older than 90 days: periods that end before 2016-01-05');
      // January ends 2016-02-01 (exclusive): seen once the last day + 1 - 90 days reaches it, on 2016-04-30, 27 days after 2016-04-03.
      expect(notice).toContain('Once the store holds data up to 2016-04-30 (27 more days), it would see month 2016-01 at admin1 and admin2, without downloads.');
      expect(notice).toContain(`The service says: TIER_FRESHNESS: ${refusal.msg}`);
      await shoot(page, 'dashboard-free-empty');
    } finally {
      await page.close();
      await sample.close();
    }
  });
});

describe('the dashboard, free tier', () => {
  it('offers only admin1-2 and monthly or coarser, and the service refuses finer data asked directly', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${h.base}/#token=${free}`);
    await waitShown(page, { source: 'residents.count' });
    const offered = async (id: string) => page.$$eval(`#${id} option`, (os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(await offered('unit')).toEqual(['admin1', 'admin2']);
    expect(await offered('resolution')).toEqual(['month', 'year']);
    expect(await page.$eval('#downloads', (el) => (el as HTMLElement).hidden)).toBe(true);
    await page.screenshot({ path: path.join(DOCS, 'dashboard-free.png') });
    await page.close();

    const rest = await fetch(`${h.api}/indicators/residents.count?unit=admin3&resolution=month&period=2016-01-01`, { headers: auth(free) });
    expect(rest.status).toBe(403);
    expect(((await rest.json()) as { code: string }).code).toBe('TIER_UNIT');
    const c = await StreamClient.open(h.api.replace(/^http/, 'ws') + '/stream');
    try {
      c.send({ op: 'auth', token: free });
      const [hello] = await c.until((f) => f.some((x) => x.op === 'auth'));
      expect(hello).toMatchObject({ tier: 'free', limits: { units: ['admin1', 'admin2'], temporal: 'month', download: false } });
      c.send({ op: 'subscribe', id: 'a3', indicator: { id: 'residents.count', unit: 'admin3', resolution: 'month', period: '2016-01-01' } });
      c.send({ op: 'subscribe', id: 'wk', indicator: { id: 'residents.count', unit: 'admin2', resolution: 'week', period: '2016-01-04' } });
      // The stream caps a subscription at the tier's finest unit: admin1 and admin2 come, admin3 never does.
      const frames = await c.until((f) => f.some((x) => x.id === 'wk') && f.some((x) => x.id === 'a3' && x.last === true));
      expect(frames.find((x) => x.id === 'wk')).toMatchObject({ op: 'error', code: 'TIER_TEMPORAL' });
      expect(frames.filter((x) => x.id === 'a3').map((x) => [x.op, x.tier])).toEqual([
        ['final', 'admin1'],
        ['final', 'admin2'],
      ]);
    } finally {
      c.close();
    }
  });
});

// Last: it adds a day to the store the other tests read.
describe('the dashboard, live tier', () => {
  it('shows a day ingested while the page is open, without a reload', async () => {
    const live = followStore({ store: h.config.store, engine: { partitions: h.config.partitions, threads: 0 }, server: h.server, log: pino({ level: 'silent' }), intervalMs: 100, graceMs: 1000 });
    const page = await browser.context.newPage();
    try {
      page.on('pageerror', (e) => console.error('page error:', e));
      await page.goto(`${h.base}/#token=${await h.token('partner')}`);
      await waitShown(page, { source: 'residents.count' });
      // The header promises what the page offers (administrative units, days or coarser), not lon-lat or hours.
      expect(await page.textContent('#who')).toBe('test-partner · partner tier · admin1, admin2, admin3 · day or coarser · downloads · live');
      expect(await page.$eval('#follow-row', (el) => (el as HTMLElement).hidden)).toBe(false);
      await page.selectOption('#category', 'presence');
      await page.selectOption('#source', 'presence.count');
      await page.selectOption('#unit', 'admin1');
      await page.selectOption('#resolution', 'day');
      await page.uncheck('#scale'); // subscribers, not people
      await waitShown(page, { source: 'presence.count', unit: 'admin1', period: '2016-07-08' });
      const frames = Number(await page.$eval('#app', (el) => (el as HTMLElement).dataset.frames));

      // The day after the scenario's last: 300 subscribers, none seen before, at the first cell.
      const delivery = path.join(h.root, 'delivery');
      fs.cpSync(dataset, delivery, { recursive: true });
      fs.mkdirSync(path.join(delivery, 'events'));
      const cell = fs.readFileSync(path.join(dataset, 'cells.csv'), 'utf8').split('\n')[1]!.split(',')[0]!;
      const rows = Array.from({ length: 300 }, (_, i) => `99${String(i).padStart(9, '0')},2016-07-09 12:00:00,${cell},calls,true`);
      fs.writeFileSync(path.join(delivery, 'events', 'day.csv'), ['msisdn,datetime,cell_id,event_type,outgoing', ...rows].join('\n') + '\n');
      await ingestWithTestKey(delivery, h.config.store);

      // The service re-sends the latest-following subscription for the new day; the page takes it up as it is.
      await waitShown(page, { source: 'presence.count', unit: 'admin1', period: '2016-07-09' }, 20_000);
      expect(Number(await page.$eval('#app', (el) => (el as HTMLElement).dataset.frames))).toBeGreaterThan(frames);
      expect(await page.$$eval('#period option', (os) => os.map((o) => (o as HTMLOptionElement).value).at(-1))).toBe('2016-07-09');
      const onMap = await regionsOnMap(page, 'admin1');
      // Only the cell's region has anyone that day: exactly the 300 (a people count, rounded to 100).
      const shown = Object.entries(onMap).filter(([, v]) => v.value !== null);
      expect(shown.map(([, v]) => v.value)).toEqual([300]);
      // One value, one class, labelled by that value.
      const legend = await legendOf(page);
      expect(legend.classes).toEqual(['300 (1)']);
      expect(legend.title).toContain('presence · count (subscribers) · admin1 · 2016-07-09');
      const rest = (await (await fetch(`${h.api}/indicators/presence.count?unit=admin1&resolution=day&period=2016-07-09`, { headers: auth(premium) })).json()) as IndicatorBody;
      for (const v of rest.values) expect(onMap[v.pcod]!.value, v.pcod).toBe(v.value);
    } finally {
      await page.close();
      await live.close();
    }
  }, 60_000);
});
