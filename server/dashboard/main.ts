/**
 * The dashboard: connects with the token (pasted, or #token=... in the URL),
 * offers what the token's tier may see, subscribes to the stream for the
 * selection and draws each frame as it arrives: coarse units first, partial
 * estimates sharpening, the fraction done in the progress bar. Comparisons and
 * the graph read the series of earlier periods over REST.
 *
 * State for tests and scripts sits in data attributes: #app[data-status]
 * (connecting, loading, partial, final, error), #app[data-unit, -period,
 * -comparison, -source] (what the map shows), each region path's data-value / data-shown / data-state, and
 * #legend[data-min][data-max].
 */
import './style.css';
import { Api } from './api.js';
import { Chart } from './chart.js';
import { colourScale, type ScaleKind } from './colour.js';
import { save, toCsv, toGeoJson } from './download.js';
import { renderLegend } from './legend.js';
import { MapView } from './map.js';
import { describePrivacy } from './privacy.js';
import { type Frame, type Geography, type Limits, unitRank } from '../service/wire.js';
import { openingPeriod, type Period, periodsFor, resolutionsFor, type Source, sourcesFor, TIME_RANK, unitsFor } from './sources.js';
import { readSituation, renderSituation, type Situation, situationCsv, situationMap } from './situation.js';
import { StreamConnection } from './stream.js';
import { renderTable } from './table.js';
import { type ComparisonKind, compareRegions, type FlowMeasure, flowPicture, type Picture, pictureOfIndicator, pictureOfRows, type SeriesPoint, type Shown } from './values.js';

/** How long each period stays on the map when playing the periods in turn. */
const PLAY_STEP_MS = 900;

/** The most periods the service gives in one series (GET /indicators/<id>/series, POST /series). */
const MAX_SERIES_PERIODS = 400;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const select = (id: string) => $<HTMLSelectElement>(id);

type View = 'map' | 'graph' | 'table' | 'situation';

/** Fills a select with options, keeping the current choice when it is still offered. */
function options(el: HTMLSelectElement, items: readonly { value: string; label: string; start?: string }[], preferred?: string): void {
  const keep = el.value;
  el.replaceChildren(
    ...items.map((i) => {
      const o = new Option(i.label, i.value);
      if (i.start) o.dataset.start = i.start;
      return o;
    }),
  );
  const want = [keep, preferred].find((v) => v !== undefined && items.some((i) => i.value === v));
  el.value = want ?? items.at(-1)?.value ?? '';
}

/** A period as the Period list shows it: short enough for a phone's select ("2016-W14 · 04-04 to 04-10"). */
function periodItem(p: Period): { value: string; label: string; start: string } {
  const first = p.days[0]!;
  const last = p.days.at(-1)!;
  const label = p.resolution === 'day' ? p.key : `${p.key} · ${first.slice(5)} to ${last.slice(5)}`;
  return { value: p.key, label, start: p.start };
}

const addDays = (day: string, n: number) => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** The measure's unit, in words: "people" when scaled to people, else what the catalog counts ("subscribers"). */
function measureUnit(catalogUnit: string, scaled: boolean): string {
  const m = /^(.*?) \((.*) when scaled\)$/.exec(catalogUnit);
  return m ? (scaled ? m[2]! : m[1]!) : catalogUnit;
}

/** How a value is written for a comparison: thousands separators, a sign for changes, "%" for percent change. */
function formatter(kind: ComparisonKind | 'net'): (v: number) => string {
  const sign = (v: number) => (v > 0 ? '+' : v < 0 ? '−' : '');
  if (kind === 'percent_change') return (v) => `${sign(v)}${Math.abs(v).toLocaleString('en', { maximumFractionDigits: 1 })}%`;
  if (kind === 'abnormality') return (v) => `${sign(v)}${Math.abs(v).toFixed(1)}`;
  if (kind === 'diff' || kind === 'net') return (v) => `${sign(v)}${Math.abs(v).toLocaleString('en', { maximumFractionDigits: 2 })}`;
  return (v) => v.toLocaleString('en', { maximumFractionDigits: 2 });
}

class Dashboard {
  private readonly map = new MapView($<HTMLElement>('map') as unknown as SVGSVGElement);
  private readonly chart = new Chart($('chart'));
  private readonly situationChart = new Chart($('sit-chart'));
  /** The situation on the card (for its CSV), and a counter so that a slow answer never replaces a newer one. */
  private situation: Situation | null = null;
  private situationRequest = 0;
  /** Playing the periods in turn: the timer of the next step, when playing. */
  private playing: number | null = null;
  private readonly app = $('app');
  private readonly geographies = new Map<string, Promise<Geography>>();
  private readonly series = new Map<string, Promise<SeriesPoint[]>>();
  private readonly loadedSeries = new Map<string, SeriesPoint[]>();
  private sources: Source[] = [];
  private days: string[] = [];
  /**
   * The current subscription: its id, the units its frames come in, the latest picture per unit; `followsLatest` when
   * it asked for no period (the service moves it to each new latest period).
   */
  private sub: { id: string; units: string[]; pictures: Map<string, Picture>; frames: number; fraction: number; final: boolean; spec: unknown; followsLatest: boolean } | null = null;
  /** Bumped by each live refresh, so that series loaded before it are loaded again. */
  private generation = 0;
  private subCount = 0;
  private view: View = 'map';
  private region: string | null = null;
  private renderQueued = false;
  private lastShown: { unit: string; shown: Map<string, Shown>; picture: Picture } | null = null;
  /**
   * Until the user picks a unit, the page may move the first view to a coarser unit when most regions of the chosen
   * one are withheld (a small store's admin2 regions are mostly under the resident floor): a first view of hatching
   * tells nothing.
   */
  private autoUnit = true;

  private constructor(
    private readonly conn: StreamConnection,
    private readonly api: Api,
    private readonly limits: Limits,
  ) {}

  static async connect(token: string): Promise<Dashboard> {
    const conn = await StreamConnection.open(token);
    const d = new Dashboard(conn, new Api(token), conn.limits);
    conn.onClose = (reason) => d.fail(`the stream closed: ${reason}`);
    // What this page offers the tier (administrative units, days or coarser), not every unit the service knows.
    const units = conn.limits.units.filter((u) => u.startsWith('admin'));
    const temporal = TIME_RANK[Math.max(TIME_RANK.indexOf(conn.limits.temporal), TIME_RANK.indexOf('day'))];
    $('who').textContent = `${conn.sub} · ${conn.tier} tier · ${units.join(', ')} · ${temporal} or coarser${conn.limits.download ? ' · downloads' : ''}${conn.limits.live ? ' · live' : ''}`;
    document.body.classList.add('connected');
    $('follow-row').hidden = !conn.limits.live;
    const [catalog, days] = await Promise.all([d.api.catalog(), d.api.days()]);
    d.sources = sourcesFor(catalog, d.limits);
    d.days = days;
    d.wire();
    // A phone turned, a window resized: the chart is drawn at its container's width.
    window.addEventListener('resize', () => d.scheduleRender());
    d.fillCategories();
    d.subscribe();
    // A subscription that follows the latest period is moved on by the service itself (live tiers); with any other,
    // a day opening a new period touches nothing subscribed, so the page asks for the stored days now and then.
    if (d.limits.live) setInterval(() => !d.sub?.followsLatest && void d.followNewDays(), 30_000);
    return d;
  }

  private get source(): Source {
    return this.sources.find((s) => s.id === select('source').value) ?? this.sources[0]!;
  }

  private get unit(): string {
    return select('unit').value;
  }

  private get comparison(): ComparisonKind {
    return select('comparison').value as ComparisonKind;
  }

  private get scale(): boolean {
    return this.source.scalable && $<HTMLInputElement>('scale').checked;
  }

  private periods(): Period[] {
    return periodsFor(this.days, select('resolution').value, this.limits);
  }

  private get period(): Period | undefined {
    return this.periods().find((p) => p.key === select('period').value);
  }

  // ------------------------------------------------------------ controls

  private wire(): void {
    select('category').onchange = () => this.fillSources();
    select('source').onchange = () => this.fillUnits();
    select('unit').onchange = () => {
      this.autoUnit = false;
      this.subscribe();
    };
    select('measure').onchange = () => this.scheduleRender();
    select('resolution').onchange = () => this.fillPeriods();
    select('period').onchange = () => {
      this.stop();
      this.subscribe();
    };
    // The slider moves through the Period list; playing steps it on once each period is drawn.
    $<HTMLInputElement>('slider').oninput = () => {
      const i = Number($<HTMLInputElement>('slider').value);
      this.stop();
      this.toPeriod(i);
    };
    $('play').onclick = () => (this.playing !== null ? this.stop() : this.play());
    select('sit-region').onchange = () => {
      // The same region on the map and in the graph.
      this.region = select('sit-region').value;
      this.map.select(this.region);
      void this.loadSituation();
    };
    $<HTMLInputElement>('sit-date').onchange = () => void this.loadSituation();
    $('sit-csv').onclick = () => this.situation && save(`situation_${this.situation.query.pcod}_${this.situation.query.period.key}.csv`, 'text/csv', situationCsv(this.situation));
    $('sit-print').onclick = () => window.print();
    select('comparison').onchange = () => this.scheduleRender();
    $<HTMLInputElement>('scale').onchange = () => this.subscribe();
    // On the latest period, following decides whether the subscription asks for that period or for the latest.
    $<HTMLInputElement>('follow').onchange = () => this.subscribe();
    $<HTMLInputElement>('threshold').oninput = () => this.scheduleRender();
    select('region').onchange = () => this.selectRegion(select('region').value);
    this.map.onSelect = (pcod) => this.selectRegion(pcod);
    for (const b of document.querySelectorAll<HTMLButtonElement>('#views button')) b.onclick = () => this.showView(b.dataset.view as View);
    // On a phone the controls are a drawer over the map; a choice made in it closes it.
    for (const el of $('controls').querySelectorAll('select')) el.addEventListener('change', () => setDrawer(false));
    $('downloads').hidden = !this.limits.download;
    $('dl-csv').onclick = () => this.download('csv');
    $('dl-geojson').onclick = () => this.download('geojson');
    $('dl-spec').onclick = () => this.download('spec');
  }

  private fillCategories(): void {
    const cats = [...new Set(this.sources.map((s) => s.category))];
    options(select('category'), cats.map((c) => ({ value: c, label: c })), 'residents');
    this.fillSources();
  }

  private fillSources(): void {
    const cat = select('category').value;
    const items = this.sources.filter((s) => s.category === cat).map((s) => ({ value: s.id, label: s.label }));
    options(select('source'), items, items[0]?.value);
    this.fillUnits();
  }

  private fillUnits(): void {
    const s = this.source;
    $('source-description').textContent = s.description;
    $('scale-row').hidden = !s.scalable;
    $('flow-controls').hidden = s.shape !== 'od';
    // Flows are shown as published; comparisons are for region values.
    select('comparison').disabled = s.shape === 'od';
    const units = unitsFor(s, this.limits);
    options(select('unit'), units.map((u) => ({ value: u, label: u })), units.includes('admin2') ? 'admin2' : undefined);
    const res = resolutionsFor(s, this.limits);
    options(select('resolution'), res.map((r) => ({ value: r, label: r })), res.includes('week') ? 'week' : res[0]);
    this.fillPeriods();
  }

  private fillPeriods(): void {
    const ps = this.periods();
    options(select('period'), ps.map(periodItem), openingPeriod(ps)?.key);
    this.syncSlider();
    this.subscribe();
  }

  private showView(v: View): void {
    this.view = v;
    for (const b of document.querySelectorAll<HTMLButtonElement>('#views button')) b.setAttribute('aria-selected', String(b.dataset.view === v));
    for (const name of ['map', 'graph', 'table', 'situation']) $(`view-${name}`).hidden = name !== v;
    if (v === 'situation') void this.openSituation();
    this.scheduleRender();
  }

  private selectRegion(pcod: string): void {
    this.region = pcod;
    this.map.select(pcod);
    select('region').value = pcod;
    this.scheduleRender();
  }

  // ------------------------------------------------------------ data

  private geography(unit: string): Promise<Geography> {
    let g = this.geographies.get(unit);
    if (!g) {
      g = this.api.geography(unit);
      this.geographies.set(unit, g);
      g.then((geo) => this.map.addGeography(unit, geo)).then(
        () => this.scheduleRender(),
        (e: unknown) => this.fail((e as Error).message),
      );
    }
    return g;
  }

  /** (Re)subscribes for the selection: every unit from the coarsest up to the chosen one. */
  private subscribe(): void {
    const s = this.source;
    const p = this.period;
    const unit = this.unit;
    if (this.sub) this.conn.unsubscribe(this.sub.id);
    this.sub = null;
    this.showError(null);
    $('notice').hidden = true;
    if (!p || !unit) {
      void this.explainEmpty();
      return;
    }
    if (s.kind === 'aggregate' && s.spec!(p, unit) === null) {
      this.setStatus('empty', `${s.label} needs the period before ${p.key}, which the store does not hold: pick a later period`);
      return;
    }
    const units = this.limits.units.filter((u) => u.startsWith('admin') && unitRank(u) <= unitRank(unit));
    units.forEach((u) => void this.geography(u));
    const id = `s${++this.subCount}`;
    // Following new days on the latest period: an indicator subscription without a period, which the service
    // re-sends for each new latest period (live tiers).
    const latest = select('period').selectedIndex === select('period').options.length - 1;
    const followsLatest = s.kind === 'indicator' && this.limits.live && latest && $<HTMLInputElement>('follow').checked;
    const body =
      s.kind === 'indicator'
        ? { indicator: { id: s.id, unit, resolution: p.resolution, ...(followsLatest ? {} : { period: p.start }), scale: this.scale } }
        : { spec: s.spec!(p, unit) };
    this.sub = { id, units, pictures: new Map(), frames: 0, fraction: 0, final: false, spec: 'spec' in body ? body.spec : body.indicator, followsLatest };
    // A new unit, resolution or scale while the situation is open: read it again at those.
    if (this.view === 'situation') void this.openSituation();
    this.conn.subscribe(id, body, (f) => this.onFrame(id, f));
    this.setStatus('loading', `waiting for the first frame of ${s.label} at ${unit}, ${p.key}`);
  }

  private onFrame(id: string, f: Frame): void {
    const sub = this.sub;
    if (!sub || sub.id !== id) return;
    if (f.op === 'error') {
      this.fail(`${f.code}: ${f.message}`);
      return;
    }
    if (f.op !== 'partial' && f.op !== 'final') return;
    const unit = f.tier ?? this.unit;
    const picture = f.op === 'final' && f.indicator ? pictureOfIndicator(f.indicator, f.privacy) : pictureOfRows(unit, f.rows ?? [], this.source.shape === 'od', f.privacy);
    sub.pictures.set(unit, picture);
    this.app.dataset.frames = String(++sub.frames);
    const i = Math.max(0, sub.units.indexOf(unit));
    sub.fraction = (i + (f.op === 'final' ? 1 : f.fraction)) / sub.units.length;
    if (f.op === 'final' && f.last) {
      sub.final = true;
      sub.fraction = 1;
      if (this.autoUnit && this.coarserIfHatched(sub.pictures)) return;
    }
    // A frame of another period than the one selected (a latest-following subscription moved on) is drawn once the
    // page has taken up the new days; the end of a live refresh means new or replaced days.
    const moved = f.op === 'final' && f.indicator !== undefined && f.indicator.period.key !== select('period').value;
    if (f.op === 'final' && f.last && (f.refresh || moved)) void this.afterRefresh();
    else if (!moved) this.scheduleRender();
  }

  private async afterRefresh(): Promise<void> {
    this.generation++;
    try {
      await this.followNewDays();
    } catch (e) {
      this.fail(`stored days: ${(e as Error).message}`);
    }
    this.scheduleRender();
  }

  /** The key of the series of the selection at `unit` (new days make a new series). */
  private seriesKey(unit: string): string {
    return JSON.stringify([this.source.id, unit, select('resolution').value, this.scale, this.days.at(-1), this.days.length, this.generation]);
  }

  /**
   * Every allowed period of the selection at `unit` (the latest MAX_SERIES_PERIODS), cached: an indicator in one
   * series request, a raw aggregate's specs in a few POST /series; null until loaded.
   */
  private seriesFor(unit: string): SeriesPoint[] | null {
    const key = this.seriesKey(unit);
    const done = this.loadedSeries.get(key);
    if (done) return done;
    if (!this.series.has(key)) {
      const s = this.source;
      const resolution = select('resolution').value;
      const periods = this.periods().slice(-MAX_SERIES_PERIODS);
      const scale = this.scale;
      const load = async (): Promise<SeriesPoint[]> => {
        if (periods.length === 0) return [];
        if (s.kind === 'indicator') {
          const results = await this.api.indicatorSeries(s.id, unit, resolution, periods[0]!.start, periods.at(-1)!.start, scale);
          return results.map((r) => ({ start: r.period.start, key: r.period.key, picture: pictureOfIndicator(r) }));
        }
        const specs = periods.map((p) => s.spec!(p, unit));
        const answers = await this.api.runAll(specs.filter((x) => x !== null));
        let next = 0;
        return periods.map((p, i) => {
          const a = specs[i] ? answers[next++]! : { rows: [], privacy: undefined };
          return { start: p.start, key: p.key, picture: pictureOfRows(unit, a.rows, s.shape === 'od', a.privacy) };
        });
      };
      const all = load();
      this.series.set(key, all);
      all.then(
        (pts) => {
          this.loadedSeries.set(key, pts);
          this.scheduleRender();
        },
        (e: unknown) => {
          this.series.delete(key);
          this.fail(`series: ${(e as Error).message}`);
        },
      );
    }
    return null;
  }

  /**
   * Takes up the stored days as they are now: new periods are offered and, when following new days from the latest
   * period, the new latest is selected. A subscription that follows the latest is already on it (the service re-sent
   * it); any other is asked again when the period shown changes.
   */
  private async followNewDays(): Promise<void> {
    const days = await this.api.days();
    if (days.length === this.days.length && days.at(-1) === this.days.at(-1)) return;
    const period = select('period');
    const wasLatest = period.selectedIndex === period.options.length - 1;
    const before = period.value;
    this.days = days;
    options(period, this.periods().map(periodItem), before);
    this.syncSlider();
    if ($<HTMLInputElement>('follow').checked && wasLatest) period.selectedIndex = period.options.length - 1;
    if (period.value !== before && !this.sub?.followsLatest) this.subscribe();
  }

  // ------------------------------------------------------------ rendering

  /** Coalesces frames: at most one render per animation frame, of the latest state. */
  scheduleRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.render();
    });
  }

  private render(): void {
    const sub = this.sub;
    const p = this.period;
    if (!sub || !p) return;
    // The finest unit that has a picture and whose outlines are ready.
    const unit = [...sub.units].reverse().find((u) => sub.pictures.has(u) && this.map.has(u));
    if (!unit) return;
    const published = sub.pictures.get(unit)!;
    const measure = select('measure').value as FlowMeasure;
    // Flows colour the regions by the chosen total (out, in or net) of the published pairs.
    const picture = published.flows ? flowPicture(published, measure) : published;
    const kind = published.flows ? 'value' : this.comparison;
    const needsSeries = kind !== 'value' || this.view === 'graph';
    const series = needsSeries ? this.seriesFor(unit) : null;
    const history = series ? series.filter((h) => h.start < p.start) : [];
    const previous = series?.find((h) => h.key === p.previous?.key)?.picture;
    const regions = this.map.regions(unit);
    const pending = kind !== 'value' && !series;
    const shown = pending ? new Map<string, Shown>() : compareRegions(regions, picture, p.start, kind, previous, history);
    const values = [...shown.values()].map((s) => s.shown).filter((v): v is number => v !== null);
    const scaleKind: ScaleKind = kind === 'abnormality' ? 'abnormality' : kind !== 'value' || (published.flows && measure === 'net') ? 'diverging' : 'sequential';
    const scale = pending ? null : colourScale(values, scaleKind);
    this.map.paint(unit, shown, scale);
    const format = formatter(published.flows && measure === 'net' ? 'net' : kind);
    const hidden = new Map<string, number>();
    for (const s of shown.values()) if (s.shown === null && s.why) hidden.set(s.why, (hidden.get(s.why) ?? 0) + 1);
    renderLegend($('legend'), { title: this.title(unit, p, kind, measure, pending), scale, format, hidden });
    this.drawFlows(unit, published);
    this.lastShown = { unit, shown, picture };
    this.renderRegionInfo(unit, shown, published, format);
    $('privacy').textContent = describePrivacy(published.privacy);
    if (this.view === 'table') renderTable($<HTMLTableElement>('table'), kind, this.map.names(unit), shown, published, format);
    if (this.view === 'graph') this.renderGraph(unit, series, p);
    const final = sub.final && unit === sub.units.at(-1) && !pending && !(this.view === 'graph' && !series);
    this.syncSlider();
    if (final && this.playing === -1) this.playing = window.setTimeout(() => this.step(), PLAY_STEP_MS);
    this.app.dataset.unit = unit;
    this.app.dataset.period = p.key;
    this.app.dataset.comparison = kind;
    this.app.dataset.source = this.source.id;
    this.app.dataset.measure = published.flows ? measure : '';
    this.setStatus(
      final ? 'final' : 'partial',
      final ? `final · ${unit} · ${p.key}` : `${unit} · ${Math.round(sub.fraction * 100)}% done${needsSeries && !series ? ` · comparisons: loading ${Math.min(this.periods().length, MAX_SERIES_PERIODS)} periods` : ''}`,
      sub.fraction,
    );
  }

  // ------------------------------------------------------------ time

  /** The slider shows where the selected period sits in the Period list. */
  private syncSlider(): void {
    const period = select('period');
    const slider = $<HTMLInputElement>('slider');
    slider.max = String(Math.max(0, period.options.length - 1));
    slider.value = String(Math.max(0, period.selectedIndex));
    slider.disabled = period.options.length < 2;
    $('slider-out').textContent = period.value;
    $('play').textContent = this.playing !== null ? '❚❚' : '▶';
  }

  private toPeriod(i: number): void {
    const period = select('period');
    if (i < 0 || i >= period.options.length || i === period.selectedIndex) return;
    period.selectedIndex = i;
    this.syncSlider();
    this.subscribe();
  }

  /**
   * Plays the periods in turn from the selected one (from the first, when the last is selected): the next is asked
   * for once the current one is drawn whole, so the map shows each period, not a blur of half-drawn ones.
   */
  private play(): void {
    const period = select('period');
    if (period.selectedIndex >= period.options.length - 1) this.toPeriod(0);
    // -1: waiting for the current period's final render, which sets the timer of the next step.
    this.playing = -1;
    this.syncSlider();
    if (this.app.dataset.status === 'final') this.playing = window.setTimeout(() => this.step(), PLAY_STEP_MS);
  }

  private step(): void {
    const period = select('period');
    if (period.selectedIndex >= period.options.length - 1) return this.stop();
    this.playing = -1;
    this.toPeriod(period.selectedIndex + 1);
  }

  private stop(): void {
    if (this.playing !== null && this.playing >= 0) clearTimeout(this.playing);
    this.playing = null;
    this.syncSlider();
  }

  // ------------------------------------------------------------ situation

  /** Fills the situation's region list (the chosen unit's regions) and date bounds; reads it if a region is chosen. */
  private async openSituation(): Promise<void> {
    const unit = this.unit;
    await this.geography(unit);
    const names = this.map.names(unit);
    // The region chosen before, if the unit has it; none otherwise (never a region picked for the user).
    const pick = [this.region, select('sit-region').value].find((p) => p && names.has(p)) ?? undefined;
    options(select('sit-region'), [...names].map(([value, name]) => ({ value, label: `${name} (${value})` })), pick);
    if (!pick) select('sit-region').value = '';
    const date = $<HTMLInputElement>('sit-date');
    const ps = this.periods();
    date.min = ps[0]?.days[0] ?? '';
    date.max = ps.at(-1)?.days.at(-1) ?? '';
    if (!date.value) date.value = this.period?.days[0] ?? date.max;
    await this.loadSituation();
  }

  private async loadSituation(): Promise<void> {
    const view = $('view-situation');
    const unit = this.unit;
    const pcod = select('sit-region').value;
    const date = $<HTMLInputElement>('sit-date').value;
    const ps = this.periods();
    const period = ps.find((p) => p.start <= date && date < p.end);
    const n = ++this.situationRequest;
    $('sit-card').hidden = true;
    this.situation = null;
    $<HTMLButtonElement>('sit-csv').disabled = true;
    $('sit-csv').hidden = !this.limits.download;
    if (!pcod || !date) return;
    if (!period) {
      view.dataset.status = 'empty';
      $('sit-status').textContent = `No ${select('resolution').value} period this tier may see holds ${date} (from ${$<HTMLInputElement>('sit-date').min} to ${$<HTMLInputElement>('sit-date').max}).`;
      return;
    }
    view.dataset.status = 'loading';
    $('sit-status').textContent = `Reading ${this.map.names(unit).get(pcod)} in ${period.key}…`;
    // The reference reads up to a year before the period (the abnormality score's lookback).
    const yearBefore = new Date(Date.parse(`${period.start}T00:00:00Z`) - 366 * 86_400_000).toISOString().slice(0, 10);
    const earlier = ps.filter((p) => p.start < period.start && p.start >= yearBefore);
    try {
      const s = await readSituation(this.api, { pcod, name: this.map.names(unit).get(pcod) ?? pcod, unit, period, earlier, scale: $<HTMLInputElement>('scale').checked, names: this.map.names(unit) });
      if (n !== this.situationRequest) return;
      this.situation = s;
      $('sit-card').hidden = false;
      const m = situationMap($('map') as unknown as SVGSVGElement, s);
      $('sit-map').replaceChildren(m.svg, Object.assign(document.createElement('p'), { className: 'hint', textContent: m.caption }));
      renderSituation($('sit-card'), this.situationChart, s);
      $<HTMLButtonElement>('sit-csv').disabled = false;
      $('sit-status').textContent = '';
      view.dataset.status = 'final';
    } catch (e) {
      if (n !== this.situationRequest) return;
      view.dataset.status = 'error';
      $('sit-status').textContent = `The situation could not be read: ${(e as Error).message}`;
    }
  }

  /** The legend's title: what (category, indicator or measure, and its unit), where, when, compared how. */
  private title(unit: string, p: Period, kind: ComparisonKind, measure: FlowMeasure, pending: boolean): string {
    const s = this.source;
    const entry = s.measureUnit;
    const what = s.shape === 'od' ? `${s.category} · ${s.label}: ${measure === 'net' ? 'net (in − out)' : `total ${measure}`}` : `${s.category} · ${s.label}`;
    const compared = kind === 'value' ? '' : ` · ${{ diff: 'difference from the previous period', percent_change: 'percent change from the previous period (%)', abnormality: 'abnormality score' }[kind]}`;
    const approx = this.sub?.pictures.get(unit)?.privacy?.mode === 'dp' ? ' · approx. (differential privacy)' : '';
    return `${what} (${measureUnit(entry, this.scale)}) · ${unit} · ${p.key}${compared}${approx}${pending ? ' (computing…)' : ''}`;
  }

  /**
   * After the first view's last frame: when most regions of the chosen unit are withheld and a coarser unit has most
   * of its own published, shows that one instead (and says so). True when it moved.
   */
  private coarserIfHatched(pictures: ReadonlyMap<string, Picture>): boolean {
    this.autoUnit = false;
    const share = (u: string) => {
      const pic = pictures.get(u);
      if (!pic || pic.flows) return 1;
      // An indicator lists every region (null when withheld); a FlowKit result leaves withheld ones out.
      const n = Math.max(this.map.regions(u).length, pic.values.size);
      return n === 0 ? 1 : 1 - [...pic.values.values()].filter((v) => v !== null).length / n;
    };
    const chosen = this.unit;
    if (share(chosen) <= 0.5) return false;
    const coarser = [...pictures.keys()].filter((u) => unitRank(u) < unitRank(chosen) && share(u) <= 0.5).sort((a, b) => unitRank(b) - unitRank(a))[0];
    if (!coarser) return false;
    select('unit').value = coarser;
    this.subscribe();
    $('notice').hidden = false;
    $('notice').textContent = `Showing ${coarser}: at ${chosen}, ${Math.round(share(chosen) * 100)}% of the regions are withheld (see the legend for why). Pick ${chosen} under Spatial resolution to see it anyway.`;
    return true;
  }

  /**
   * The tier's window leaves no period of this indicator (the free tier's embargo on a store shorter than it): says
   * why, in the service's own words, and what the tier would see once the store is long enough.
   */
  private async explainEmpty(): Promise<void> {
    const s = this.source;
    const l = this.limits;
    const units = unitsFor(s, l);
    const resolutions = resolutionsFor(s, l);
    const first = this.days[0];
    const last = this.days.at(-1);
    this.setStatus('empty', 'nothing this tier may see in this store yet');
    const lines: string[] = [];
    if (!first || !last) lines.push('The store holds no day yet.');
    else if (units.length === 0 || resolutions.length === 0) lines.push(`The ${this.conn.tier} tier may not see ${s.label} at any unit or time resolution the page offers.`);
    else {
      lines.push(`This store holds ${this.days.length} days, ${first} to ${last}.`);
      if (l.freshnessDays) {
        const before = addDays(last, 1 - l.freshnessDays);
        lines.push(`The ${this.conn.tier} tier sees only data older than ${l.freshnessDays} days: periods that end before ${before}, so none of this store's ${resolutions.join(' or ')} periods yet.`);
        // The first period of the finest resolution allowed, and the last stored day from which the tier may see it.
        const finest = [...resolutions].sort((a, b) => TIME_RANK.indexOf(a) - TIME_RANK.indexOf(b))[0]!;
        const firstPeriod = periodsFor(this.days, finest, { ...l, freshnessDays: null, historyDays: null })[0];
        if (firstPeriod) {
          const from = addDays(firstPeriod.end, l.freshnessDays - 1);
          lines.push(
            `Once the store holds data up to ${from} (${Math.round((Date.parse(from) - Date.parse(last)) / 86_400_000)} more days), it would see ${finest} ${firstPeriod.key} at ${units.join(' and ')}` +
              `${l.download ? '' : ', without downloads'}.`,
          );
        }
      }
      if (s.kind === 'indicator') {
        const why = await this.api.refusal(s.id, units[0]!, [...resolutions].sort((a, b) => TIME_RANK.indexOf(a) - TIME_RANK.indexOf(b))[0]!, last);
        if (why) lines.push(`The service says: ${why}`);
      }
    }
    if (this.sub) return; // another choice was made meanwhile
    const n = $('notice');
    n.hidden = false;
    n.replaceChildren(...lines.map((t) => Object.assign(document.createElement('p'), { textContent: t })));
    $('legend').replaceChildren();
  }

  private drawFlows(unit: string, picture: Picture): void {
    const t = $<HTMLInputElement>('threshold');
    const max = Math.max(0, ...(picture.flows ?? []).map((f) => f.value));
    t.max = String(max);
    const threshold = Math.min(Number(t.value), max);
    const n = this.map.drawFlows(unit, picture.flows, threshold);
    $('threshold-out').textContent = `${threshold.toLocaleString('en')} (${n} drawn)`;
    renderCorridors($('corridors'), picture.flows, this.map.names(unit));
  }

  private renderRegionInfo(unit: string, shown: Map<string, Shown>, picture: Picture, format: (v: number) => string): void {
    const pcod = this.region;
    const names = this.map.names(unit);
    options(select('region'), [...names].map(([value, name]) => ({ value, label: `${name} (${value})` })), pcod ?? undefined);
    const info = $('region-info');
    if (!pcod || !names.has(pcod)) {
      info.textContent = 'Click a region for its values; the graph view shows its series.';
      return;
    }
    const s = shown.get(pcod);
    const t = picture.totals?.get(pcod);
    const fmt = (v: number | null | undefined) => (v === null || v === undefined ? `withheld (${s?.why ?? 'not published'})` : v.toLocaleString('en'));
    info.textContent = t
      ? `${names.get(pcod)} (${pcod}): out ${t.out.toLocaleString('en')} · in ${t.in.toLocaleString('en')} · net ${formatter('net')(t.in - t.out)} (published flows)`
      : `${names.get(pcod)} (${pcod}): value ${fmt(s?.value)}` +
        (s && s.shown !== s.value ? ` · ${this.comparison.replace('_', ' ')} ${s.shown === null ? `– (${s.why})` : format(s.shown)}` : '');
  }

  private renderGraph(unit: string, series: SeriesPoint[] | null, p: Period): void {
    const pcod = this.region && this.map.names(unit).has(this.region) ? this.region : select('region').value;
    if (!series) this.chart.clear('loading the series…');
    else if (pcod) {
      const title = `${this.source.label} · ${this.map.names(unit).get(pcod)} (${pcod})`;
      const hint = $('graph-hint');
      hint.textContent = (this.source.shape === 'od' ? hint.dataset.flows : hint.dataset.series) ?? '';
      if (this.source.shape === 'od') this.chart.showFlows(title, series, pcod, p.start);
      else this.chart.show(title, series, pcod, p.start);
    }
  }

  private download(what: 'csv' | 'geojson' | 'spec'): void {
    const last = this.lastShown;
    const p = this.period;
    if (!last || !p || !this.limits.download) return;
    const base = `${this.source.id}_${last.unit}_${p.key}`;
    if (what === 'csv') save(`${base}.csv`, 'text/csv', toCsv(this.comparison, this.map.names(last.unit), last.shown, last.picture));
    if (what === 'geojson') {
      void this.geography(last.unit).then((g) => save(`${base}.geojson`, 'application/geo+json', toGeoJson(g.features, this.comparison, last.shown, last.picture)));
    }
    if (what === 'spec') {
      const s = this.source;
      const rerun =
        s.kind === 'indicator'
          ? { rest: `GET /api/0/indicators/${s.id}?unit=${last.unit}&resolution=${p.resolution}&period=${p.start}${this.scale ? '&scale=true' : ''}`, stream: { op: 'subscribe', indicator: this.sub?.spec } }
          : { rest: 'POST /api/0/run', spec: this.sub?.spec, stream: { op: 'subscribe', spec: this.sub?.spec } };
      save(`${base}.spec.json`, 'application/json', JSON.stringify({ source: s.id, unit: last.unit, period: p.key, comparison: this.comparison, ...rerun }, null, 2));
    }
  }

  private setStatus(status: string, text: string, fraction = 0): void {
    this.app.dataset.status = status;
    $('progress-text').textContent = text;
    $('progress-bar').style.width = `${Math.round(fraction * 100)}%`;
  }

  private showError(message: string | null): void {
    $('error').hidden = message === null;
    $('error').textContent = message ?? '';
  }

  fail(message: string): void {
    this.showError(message);
    this.setStatus('error', 'error');
  }
}

/** Opens or closes the controls' drawer (phones; on a wide screen the controls are always beside the map). */
function setDrawer(open: boolean): void {
  document.body.classList.toggle('drawer-open', open);
  $('menu').setAttribute('aria-expanded', String(open));
}
$('menu').onclick = () => setDrawer(!document.body.classList.contains('drawer-open'));
$('scrim').onclick = () => setDrawer(false);
document.addEventListener('keydown', (e) => e.key === 'Escape' && setDrawer(false));

/** The top corridors: the largest published flows, with the regions' names. */
function renderCorridors(el: HTMLElement, flows: Picture['flows'], names: ReadonlyMap<string, string>): void {
  el.hidden = !flows;
  if (!flows) return;
  const top = [...flows].sort((a, b) => b.value - a.value).slice(0, 10);
  const head = Object.assign(document.createElement('strong'), { textContent: top.length ? `Top ${top.length} corridors` : 'No published flow between regions' });
  const list = document.createElement('ol');
  for (const f of top) {
    const li = document.createElement('li');
    li.dataset.from = f.pcod_from;
    li.dataset.to = f.pcod_to;
    li.dataset.value = String(f.value);
    li.textContent = `${names.get(f.pcod_from) ?? f.pcod_from} → ${names.get(f.pcod_to) ?? f.pcod_to}: ${f.value.toLocaleString('en')}`;
    list.append(li);
  }
  el.replaceChildren(head, list);
}

let current: Dashboard | null = null;

async function start(token: string): Promise<void> {
  if (!token) return;
  $('app').dataset.status = 'connecting';
  try {
    current = await Dashboard.connect(token);
  } catch (e) {
    $('app').dataset.status = 'error';
    $('error').hidden = false;
    $('error').textContent = (e as Error).message;
  }
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const token = $<HTMLInputElement>('token').value.trim();
  if (!current) return void start(token);
  // Another token: start afresh (the fragment never reaches the server).
  location.hash = new URLSearchParams({ token }).toString();
  location.reload();
});
const fromFragment = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromFragment) {
  // Out of the address bar (and so out of bookmarks and screen shares) once read.
  history.replaceState(null, '', location.pathname + location.search);
  void start(fromFragment);
}
