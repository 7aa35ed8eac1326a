/**
 * The situation view, for a crisis: one region and one date. It shows the
 * residents of the period holding the date against their reference (the
 * median of the 12 months before, as the abnormality score measures), the
 * residents of the previous period, the departures (residents.departed) and
 * where the published relocations went (relocations.od from the region, top
 * five), each with its reason when withheld and the protection the service
 * reported. The CSV holds exactly those numbers; the printable summary is the
 * same card (map, graph, numbers, protection, date) on one page.
 */
import { abnormality } from '../indicators/compare.js';
import type { Api } from './api.js';
import { Chart } from './chart.js';
import { colourScale } from './colour.js';
import { describePrivacy } from './privacy.js';
import type { IndicatorResult } from '../service/wire.js';
import type { Period } from './sources.js';
import { abnormalityText, pictureOfIndicator, type SeriesPoint } from './values.js';

/** What the numbers are read at: the region, its unit, the period holding the date, and how values are counted. */
export interface SituationQuery {
  pcod: string;
  name: string;
  unit: string;
  period: Period;
  /** Every earlier period of the same resolution the tier may see, oldest first (the reference's history). */
  earlier: Period[];
  /** Residents scaled to people (the census), as the sidebar says. */
  scale: boolean;
  names: ReadonlyMap<string, string>;
}

/** One line of the summary: a measure, its value (null when not published) and why not, or a note. */
export interface SituationRow {
  measure: string;
  period: string;
  value: number | null;
  note: string;
}

export interface Situation {
  query: SituationQuery;
  rows: SituationRow[];
  destinations: { pcod: string; name: string; value: number }[];
  /** Why no destination is listed, when none is. */
  noDestinations: string | null;
  protection: string;
  series: SeriesPoint[];
  /** When the numbers were read (the summary's date). */
  at: string;
}

const TOP = 5;

export async function readSituation(api: Api, q: SituationQuery): Promise<Situation> {
  const res = q.period.resolution;
  const first = q.earlier[0] ?? q.period;
  const [series, departed, od] = await Promise.all([
    api.indicatorSeries('residents.count', q.unit, res, first.start, q.period.start, q.scale),
    api.indicator('residents.departed', q.unit, res, q.period.start, false),
    api.indicator('relocations.od', q.unit, res, q.period.start, false),
  ]);
  const points: SeriesPoint[] = series.map((r) => ({ start: r.period.start, key: r.period.key, picture: pictureOfIndicator(r) }));
  const now = points.find((p) => p.key === q.period.key);
  const value = now?.picture.values.get(q.pcod) ?? null;
  const why = (r: { picture: { reasons: Map<string, string> } } | undefined) => r?.picture.reasons.get(q.pcod) ?? 'no data for this period';
  const history = points.filter((p) => p.start < q.period.start).map((p) => ({ start: p.start, value: p.picture.values.get(q.pcod) ?? null }));
  const a = abnormality(value, q.period.start, history);
  const previous = q.period.previous ? points.find((p) => p.key === q.period.previous!.key) : undefined;
  const people = q.scale ? 'people' : 'subscribers';
  const rows: SituationRow[] = [
    { measure: `residents (${people})`, period: q.period.key, value, note: value === null ? why(now) : '' },
    {
      measure: 'reference: median of the 12 months before',
      period: q.period.key,
      value: a.median ?? null,
      note: a.median === undefined ? abnormalityText(a) : `${a.n} earlier periods`,
    },
    {
      measure: 'change from the reference (%)',
      period: q.period.key,
      value: value !== null && a.median ? Math.round((1000 * (value - a.median)) / a.median) / 10 : null,
      note: value === null ? 'no published value' : a.median === undefined ? abnormalityText(a) : '',
    },
    { measure: 'abnormality score', period: q.period.key, value: a.score, note: a.score === null ? (value === null ? 'no published value' : abnormalityText(a)) : '' },
    {
      measure: `residents (${people}) in the previous period`,
      period: q.period.previous?.key ?? '',
      value: previous?.picture.values.get(q.pcod) ?? null,
      note: !previous ? 'no previous period' : (previous.picture.values.get(q.pcod) ?? null) === null ? why(previous) : '',
    },
    { measure: 'departures (subscribers whose home moved out)', period: q.period.key, value: valueOf(departed, q.pcod), note: reasonOf(departed, q.pcod) },
  ];
  const odPicture = pictureOfIndicator(od);
  const out = (odPicture.flows ?? []).filter((f) => f.pcod_from === q.pcod).sort((x, y) => y.value - x.value);
  const destinations = out.slice(0, TOP).map((f) => ({ pcod: f.pcod_to, name: q.names.get(f.pcod_to) ?? f.pcod_to, value: f.value }));
  const k = od.metadata?.disclosure?.k ?? 15;
  const floor = od.metadata?.disclosure?.residentFloor ?? 200;
  return {
    query: q,
    rows,
    destinations,
    noDestinations: destinations.length ? null : `no relocation out of ${q.name} is published: a pair of regions is withheld when it holds ${k} or fewer, or when either region has fewer than ${floor} resident subscribers`,
    protection: describePrivacy(now?.picture.privacy ?? null) || `Protection: values of ${k} or fewer withheld; regions under ${floor} resident subscribers withheld; counts rounded.`,
    series: points,
    at: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
  };
}

function valueOf(r: IndicatorResult, pcod: string): number | null {
  return r.values?.find((v) => v.pcod === pcod)?.value ?? null;
}

function reasonOf(r: IndicatorResult, pcod: string): string {
  const p = pictureOfIndicator(r);
  return (p.values.get(pcod) ?? null) === null ? p.reasons.get(pcod) ?? 'no data for this period' : '';
}

const fmt = (v: number | null, measure: string) =>
  v === null ? '' : measure.includes('%') ? `${v > 0 ? '+' : ''}${v.toLocaleString('en', { maximumFractionDigits: 1 })}%` : v.toLocaleString('en', { maximumFractionDigits: 2 });

/** Draws the card: title, numbers, destinations, graph, protection and date. The map is the caller's (a copy). */
export function renderSituation(card: HTMLElement, chart: Chart, s: Situation): void {
  const q = s.query;
  const p = q.period;
  card.querySelector('#sit-title')!.textContent = `${q.name} (${q.pcod}) · ${p.key} · ${p.days[0]} to ${p.days.at(-1)}`;
  const table = card.querySelector<HTMLTableElement>('#sit-table')!;
  table.replaceChildren(
    ...s.rows.map((r) => {
      const tr = document.createElement('tr');
      tr.dataset.measure = r.measure;
      if (r.value !== null) tr.dataset.value = String(r.value);
      const th = Object.assign(document.createElement('th'), { textContent: `${r.measure}${r.period && r.period !== p.key ? ` (${r.period})` : ''}` });
      const td = document.createElement('td');
      td.textContent = r.value === null ? r.note : fmt(r.value, r.measure);
      if (r.value === null) td.className = 'withheld';
      else if (r.note) td.append(Object.assign(document.createElement('span'), { className: 'hint', textContent: ` (${r.note})` }));
      tr.append(th, td);
      return tr;
    }),
  );
  const dest = card.querySelector<HTMLElement>('#sit-destinations')!;
  const head = Object.assign(document.createElement('strong'), { textContent: `Where the departed went (relocations, top ${TOP})` });
  if (s.noDestinations) dest.replaceChildren(head, Object.assign(document.createElement('p'), { className: 'hint', textContent: s.noDestinations }));
  else {
    const ol = document.createElement('ol');
    for (const d of s.destinations) {
      const li = Object.assign(document.createElement('li'), { textContent: `${d.name} (${d.pcod}): ${d.value.toLocaleString('en')}` });
      li.dataset.pcod = d.pcod;
      li.dataset.value = String(d.value);
      ol.append(li);
    }
    dest.replaceChildren(head, ol);
  }
  card.querySelector('#sit-protection')!.textContent = `${s.protection} Read ${s.at}.`;
  chart.show(`residents · ${q.name} (${q.pcod})`, s.series, q.pcod, p.start);
}

const csvField = (v: unknown) => {
  const t = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
};

/** Exactly the numbers on the card: one line per measure, then one per destination. */
export function situationCsv(s: Situation): string {
  const q = s.query;
  const lines: unknown[][] = [['region', 'name', 'unit', 'measure', 'period', 'value', 'withheld_or_note']];
  for (const r of s.rows) lines.push([q.pcod, q.name, q.unit, r.measure, r.period, r.value, r.note]);
  for (const d of s.destinations) lines.push([q.pcod, q.name, q.unit, `relocations to ${d.pcod} ${d.name}`, q.period.key, d.value, '']);
  return lines.map((l) => l.map(csvField).join(',')).join('\n') + '\n';
}

/**
 * The summary's map: a copy of the page's map outlines at the situation's unit, coloured by the residents of the
 * situation's period (hatched where withheld), the region outlined; a copy, so that the summary keeps it as read.
 */
export function situationMap(source: SVGSVGElement, s: Situation): { svg: SVGSVGElement; caption: string } {
  const q = s.query;
  const svg = source.cloneNode(true) as SVGSVGElement;
  svg.removeAttribute('id');
  svg.setAttribute('aria-label', `map of ${q.unit} residents in ${q.period.key}`);
  // Its own pattern: the page's map may be hidden (another view), and a pattern in a hidden SVG is not painted.
  svg.querySelector('pattern#hatch')?.setAttribute('id', 'sit-hatch');
  svg.querySelector('g.flows')?.replaceChildren();
  for (const g of svg.querySelectorAll('g.unit')) g.toggleAttribute('hidden', g.getAttribute('data-unit') !== q.unit);
  const picture = s.series.find((p) => p.key === q.period.key)?.picture;
  const values = [...(picture?.values.values() ?? [])].filter((v): v is number => v !== null);
  const scale = colourScale(values, 'sequential');
  let selected: Element | null = null;
  for (const p of svg.querySelectorAll(`g[data-unit="${q.unit}"] path.region`)) {
    const pcod = p.getAttribute('data-pcod')!;
    const v = picture?.values.get(pcod) ?? null;
    p.setAttribute('fill', v === null || !scale ? 'url(#sit-hatch)' : scale.colour(v));
    p.setAttribute('class', `region${pcod === q.pcod ? ' selected' : ''}`);
    if (pcod === q.pcod) selected = p;
  }
  // Outlined on top of its neighbours.
  selected?.parentElement?.append(selected);
  const range = scale ? `${scale.min.toLocaleString('en')} (palest) to ${scale.max.toLocaleString('en')} (darkest)` : 'none published';
  return { svg, caption: `Residents (${q.scale ? 'people' : 'subscribers'}) at ${q.unit} in ${q.period.key}: ${range}; hatched: withheld. ${q.name} outlined.` };
}
