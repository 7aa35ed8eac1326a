/**
 * The graph view: one region's series with uPlot. The reference is the median
 * of the 12 months before each period (what the abnormality score measures
 * against), and the band is where the score is within +-2, i.e. the median
 * +- 2 x 1.4826 x MAD; both are computed from published values only. When
 * the values are noised (differential privacy), a second band is each
 * value's 95% interval. For flows, the region's published total out, in and
 * net (in - out) per period.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { abnormality, MAD_SCALE } from '../indicators/compare.js';
import { intervalOf } from './privacy.js';
import type { SeriesPoint } from './values.js';

const BAND = 2;
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumSignificantDigits: 3 });

export class Chart {
  private plot: uPlot | null = null;

  constructor(private readonly el: HTMLElement) {}

  show(title: string, series: readonly SeriesPoint[], pcod: string, current: string): void {
    const xs: number[] = [];
    const noiseLow: (number | null)[] = [];
    const noiseHigh: (number | null)[] = [];
    const values: (number | null)[] = [];
    const medians: (number | null)[] = [];
    const lows: (number | null)[] = [];
    const highs: (number | null)[] = [];
    series.forEach((p, i) => {
      const v = p.picture.values.get(pcod) ?? null;
      const a = abnormality(v, p.start, series.slice(0, i).map((h) => ({ start: h.start, value: h.picture.values.get(pcod) ?? null })));
      xs.push(Date.parse(`${p.start}T00:00:00Z`) / 1000);
      values.push(v);
      const iv = v === null ? null : intervalOf(p.picture.privacy, pcod);
      noiseLow.push(iv === null ? null : v! - iv);
      noiseHigh.push(iv === null ? null : v! + iv);
      const spread = a.mad !== undefined ? BAND * MAD_SCALE * a.mad : null;
      medians.push(a.median ?? null);
      lows.push(a.median !== undefined && spread !== null ? a.median - spread : null);
      highs.push(a.median !== undefined && spread !== null ? a.median + spread : null);
    });
    const noised = noiseLow.some((v) => v !== null);
    const series_: uPlot.Series[] = [
      {},
      { label: noised ? 'value (approx.)' : 'value', stroke: '#1d4f91', width: 2, points: { show: true } },
      { label: 'reference (12-month median)', stroke: '#555', dash: [6, 4] },
      { label: 'band low', stroke: 'rgba(0,0,0,0)', points: { show: false } },
      { label: 'band high', stroke: 'rgba(0,0,0,0)', points: { show: false } },
    ];
    const bands: uPlot.Band[] = [{ series: [4, 3], fill: 'rgba(65,182,196,0.18)' }];
    const data: (number | null)[][] = [xs, values, medians, lows, highs];
    if (noised) {
      series_.push({ label: '95% low', stroke: 'rgba(29,79,145,0.35)', dash: [2, 3], points: { show: false } }, { label: '95% high', stroke: 'rgba(29,79,145,0.35)', dash: [2, 3], points: { show: false } });
      bands.push({ series: [6, 5], fill: 'rgba(29,79,145,0.12)' });
      data.push(noiseLow, noiseHigh);
    }
    this.el.dataset.noised = String(noised);
    this.draw(title, series_, bands, data, current, xs.length);
  }

  /** A region's published flows out, in and net per period (an OD source's series). */
  showFlows(title: string, series: readonly SeriesPoint[], pcod: string, current: string): void {
    const xs = series.map((p) => Date.parse(`${p.start}T00:00:00Z`) / 1000);
    const side = (f: (t: { in: number; out: number }) => number) => series.map((p) => (p.picture.totals ? f(p.picture.totals.get(pcod) ?? { in: 0, out: 0 }) : null));
    this.el.dataset.noised = 'false';
    // The values at the period on the map, for tests and scripts.
    const i = series.findIndex((p) => p.start === current);
    const t = series[i]?.picture.totals?.get(pcod) ?? { in: 0, out: 0 };
    this.el.dataset.current = JSON.stringify(i < 0 ? null : { out: t.out, in: t.in, net: t.in - t.out });
    this.draw(
      title,
      [
        {},
        { label: 'out', stroke: '#b2182b', width: 2, points: { show: true } },
        { label: 'in', stroke: '#2166ac', width: 2, points: { show: true } },
        { label: 'net (in − out)', stroke: '#555', dash: [6, 4] },
      ],
      [],
      [xs, side((t) => t.out), side((t) => t.in), side((t) => t.in - t.out)],
      current,
      xs.length,
    );
  }

  private draw(title: string, series: uPlot.Series[], bands: uPlot.Band[], data: (number | null)[][], current: string, points: number): void {
    this.plot?.destroy();
    // The "loading" text clear() left goes: the plot replaces it.
    this.el.textContent = '';
    const currentX = Date.parse(`${current}T00:00:00Z`) / 1000;
    this.el.dataset.points = String(points);
    this.plot = new uPlot(
      {
        title,
        width: Math.max(280, this.el.clientWidth),
        height: this.el.clientWidth < 600 ? 260 : 380,
        scales: { x: { time: true } },
        // On a phone, the legend names the series without the hover values ("--") that would crowd it.
        legend: { live: this.el.clientWidth >= 600 },
        axes: [{}, { size: 50, values: (_u, ticks) => ticks.map((t) => compact.format(t)) }],
        series,
        bands,
        hooks: {
          draw: [
            (u) => {
              // The period on the map, as a vertical rule.
              const x = u.valToPos(currentX, 'x', true);
              const ctx = u.ctx;
              ctx.save();
              ctx.strokeStyle = '#c0392b';
              ctx.beginPath();
              ctx.moveTo(x, u.bbox.top);
              ctx.lineTo(x, u.bbox.top + u.bbox.height);
              ctx.stroke();
              ctx.restore();
            },
          ],
        },
      },
      data as uPlot.AlignedData,
      this.el,
    );
  }

  clear(message: string): void {
    this.plot?.destroy();
    this.plot = null;
    this.el.textContent = message;
  }
}
