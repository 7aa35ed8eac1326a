/**
 * The graph view: one region's series with uPlot. The reference is the median
 * of the 12 months before each period (what the abnormality score measures
 * against), and the band is where the score is within +-2, i.e. the median
 * +- 2 x 1.4826 x MAD; both are computed from published values only.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { abnormality, MAD_SCALE } from '../indicators/compare.js';
import type { SeriesPoint } from './values.js';

const BAND = 2;
const compact = new Intl.NumberFormat('en', { notation: 'compact', maximumSignificantDigits: 3 });

export class Chart {
  private plot: uPlot | null = null;

  constructor(private readonly el: HTMLElement) {}

  show(title: string, series: readonly SeriesPoint[], pcod: string, current: string): void {
    const xs: number[] = [];
    const values: (number | null)[] = [];
    const medians: (number | null)[] = [];
    const lows: (number | null)[] = [];
    const highs: (number | null)[] = [];
    series.forEach((p, i) => {
      const v = p.picture.values.get(pcod) ?? null;
      const a = abnormality(v, p.start, series.slice(0, i).map((h) => ({ start: h.start, value: h.picture.values.get(pcod) ?? null })));
      xs.push(Date.parse(`${p.start}T00:00:00Z`) / 1000);
      values.push(v);
      const spread = a.mad !== undefined ? BAND * MAD_SCALE * a.mad : null;
      medians.push(a.median ?? null);
      lows.push(a.median !== undefined && spread !== null ? a.median - spread : null);
      highs.push(a.median !== undefined && spread !== null ? a.median + spread : null);
    });
    this.plot?.destroy();
    const currentX = Date.parse(`${current}T00:00:00Z`) / 1000;
    this.el.dataset.points = String(xs.length);
    this.plot = new uPlot(
      {
        title,
        width: Math.max(320, this.el.clientWidth),
        height: 380,
        scales: { x: { time: true } },
        axes: [{}, { size: 60, values: (_u, ticks) => ticks.map((t) => compact.format(t)) }],
        series: [
          {},
          { label: 'value', stroke: '#1d4f91', width: 2, points: { show: true } },
          { label: 'reference (12-month median)', stroke: '#555', dash: [6, 4] },
          { label: 'band low', stroke: 'rgba(0,0,0,0)', points: { show: false } },
          { label: 'band high', stroke: 'rgba(0,0,0,0)', points: { show: false } },
        ],
        bands: [{ series: [4, 3], fill: 'rgba(65,182,196,0.18)' }],
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
      [xs, values, medians, lows, highs] as uPlot.AlignedData,
      this.el,
    );
  }

  clear(message: string): void {
    this.plot?.destroy();
    this.plot = null;
    this.el.textContent = message;
  }
}
