/**
 * The map: one SVG, one layer per unit. A unit's region outlines are
 * projected once, when its geography arrives, in slices that yield to the
 * browser between them (so no task runs long); after that a frame only
 * changes fills, classes and data attributes. Flows are arcs between the
 * regions' centroids, drawn thickest first so thin ones stay visible on top.
 */
import { geoArea, geoMercator, geoPath, type GeoProjection } from 'd3-geo';
import type { ColourScale } from './colour.js';
import type { FlowValue, GeoFeature, Geography } from '../service/wire.js';
import type { Shown } from './values.js';

const SVG = 'http://www.w3.org/2000/svg';
const SLICE = 16;

/** Yields to the browser so that input and rendering run between slices of work. */
export const yieldToBrowser = () => new Promise<void>((r) => setTimeout(r, 0));

/**
 * d3-geo reads polygons on the sphere, with the exterior ring clockwise;
 * GeoJSON (RFC 7946) winds it the other way. A ring wound "wrongly" covers
 * the rest of the globe, so reverse every ring of a polygon whose area is
 * more than a hemisphere.
 */
function forD3(f: GeoFeature): GeoFeature {
  const g = f.geometry;
  if (!g) return f;
  const polys = (g.type === 'Polygon' ? [g.coordinates] : g.coordinates) as number[][][][];
  const fixed = polys.map((rings) => (geoArea({ type: 'Polygon', coordinates: rings }) > 2 * Math.PI ? rings.map((r) => [...r].reverse()) : rings));
  return { ...f, geometry: { type: 'MultiPolygon', coordinates: fixed } };
}

interface Layer {
  g: SVGGElement;
  paths: Map<string, SVGPathElement>;
  names: Map<string, string>;
  centroids: Map<string, [number, number]>;
}

export class MapView {
  private projection: GeoProjection | null = null;
  private readonly layers = new Map<string, Layer>();
  private readonly flowLayer: SVGGElement;
  private shownUnit: string | null = null;
  private selected: string | null = null;
  onSelect: (pcod: string) => void = () => {};

  constructor(private readonly svg: SVGSVGElement) {
    svg.innerHTML =
      '<defs><pattern id="hatch" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">' +
      '<rect width="6" height="6" fill="#e4e7ec"/><line x1="0" y1="0" x2="0" y2="6" stroke="#9aa3b0" stroke-width="2"/></pattern>' +
      '<marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="2.5" markerHeight="2.5" orient="auto" markerUnits="strokeWidth">' +
      '<path d="M0,0L10,5L0,10z" fill="#c0392b"/></marker></defs>';
    this.flowLayer = document.createElementNS(SVG, 'g');
    this.flowLayer.setAttribute('class', 'flows');
    svg.append(this.flowLayer);
    svg.addEventListener('click', (e) => {
      const pcod = (e.target as Element).getAttribute('data-pcod');
      if (pcod) this.onSelect(pcod);
    });
  }

  has(unit: string): boolean {
    return this.layers.has(unit);
  }

  names(unit: string): Map<string, string> {
    return this.layers.get(unit)?.names ?? new Map();
  }

  regions(unit: string): string[] {
    return [...(this.layers.get(unit)?.paths.keys() ?? [])];
  }

  centroid(unit: string, pcod: string): [number, number] | undefined {
    return this.layers.get(unit)?.centroids.get(pcod);
  }

  /**
   * Projects a unit's geography once. The projection is fitted to the first
   * geography added; every level of a country covers the same land, so the
   * layers line up when the map sharpens from coarse to fine.
   */
  async addGeography(unit: string, geo: Geography): Promise<void> {
    if (this.layers.has(unit)) return;
    const features = geo.features.filter((f) => f.geometry).map(forD3);
    const { width, height } = this.svg.getBoundingClientRect();
    if (!this.projection) this.svg.setAttribute('viewBox', `0 0 ${Math.round(width)} ${Math.round(height)}`);
    this.projection ??= geoMercator().fitExtent(
      [
        [10, 10],
        [width - 10, height - 10],
      ],
      { type: 'FeatureCollection', features } as never,
    );
    const path = geoPath(this.projection);
    const g = document.createElementNS(SVG, 'g');
    g.setAttribute('class', 'unit');
    g.setAttribute('data-unit', unit);
    g.setAttribute('hidden', '');
    const layer: Layer = { g, paths: new Map(), names: new Map(), centroids: new Map() };
    for (let i = 0; i < features.length; i += SLICE) {
      for (const f of features.slice(i, i + SLICE)) {
        const p = document.createElementNS(SVG, 'path');
        const { pcod, name, centroid_lon, centroid_lat } = f.properties;
        p.setAttribute('d', path(f as never) ?? '');
        p.setAttribute('class', 'region pending');
        p.setAttribute('data-pcod', pcod);
        p.setAttribute('fill', '#f1f3f6');
        const title = document.createElementNS(SVG, 'title');
        title.textContent = `${name} (${pcod})`;
        p.append(title);
        g.append(p);
        layer.paths.set(pcod, p);
        layer.names.set(pcod, name);
        const c = this.projection([centroid_lon, centroid_lat]);
        if (c) layer.centroids.set(pcod, c);
      }
      await yieldToBrowser();
    }
    this.svg.insertBefore(g, this.flowLayer);
    this.layers.set(unit, layer);
    // The view box is the country's own box, not the window's at first draw: the map then fills whatever box the
    // SVG has later (a phone turned, a window resized) as well as its shape allows, without projecting again.
    if (this.layers.size === 1) {
      g.removeAttribute('hidden');
      const b = g.getBBox();
      if (this.shownUnit !== unit) g.setAttribute('hidden', '');
      if (b.width > 0 && b.height > 0) this.svg.setAttribute('viewBox', `${(b.x - 6).toFixed(1)} ${(b.y - 6).toFixed(1)} ${(b.width + 12).toFixed(1)} ${(b.height + 12).toFixed(1)}`);
    }
  }

  /** Shows `unit`'s layer with each region's fill: a colour, "withheld" (hatched), or pending. */
  paint(unit: string, shown: ReadonlyMap<string, Shown>, scale: ColourScale | null): void {
    const layer = this.layers.get(unit);
    if (!layer) return;
    if (this.shownUnit !== unit) {
      for (const [u, l] of this.layers) l.g.toggleAttribute('hidden', u !== unit);
      this.shownUnit = unit;
    }
    for (const [pcod, p] of layer.paths) {
      const s = shown.get(pcod);
      const value = s?.shown ?? null;
      const state = !s ? 'pending' : value === null ? 'withheld' : 'shown';
      p.setAttribute('class', `region ${state}${pcod === this.selected ? ' selected' : ''}`);
      p.setAttribute('fill', state === 'shown' && scale ? scale.colour(value!) : state === 'withheld' ? 'url(#hatch)' : '#f1f3f6');
      p.setAttribute('data-state', state);
      if (value === null) p.removeAttribute('data-shown');
      else p.setAttribute('data-shown', String(value));
      if (s?.value === null || s?.value === undefined) p.removeAttribute('data-value');
      else p.setAttribute('data-value', String(s.value));
      const title = p.firstElementChild!;
      const label = `${layer.names.get(pcod)} (${pcod}): `;
      title.textContent = label + (state === 'shown' ? value!.toLocaleString('en') : state === 'withheld' ? `withheld (${s!.why})` : 'waiting');
    }
  }

  select(pcod: string | null): void {
    this.selected = pcod;
    for (const l of this.layers.values()) for (const [k, p] of l.paths) p.classList.toggle('selected', k === pcod);
  }

  /** Arcs for the flows of at least `threshold`, thickest first, width by the square root of the count. */
  drawFlows(unit: string, flows: readonly FlowValue[] | null, threshold: number): number {
    this.flowLayer.replaceChildren();
    if (!flows) return 0;
    const drawn = flows.filter((f) => f.value >= threshold).sort((a, b) => b.value - a.value);
    const max = drawn[0]?.value ?? 1;
    const frag = document.createDocumentFragment();
    for (const f of drawn) {
      const a = this.centroid(unit, f.pcod_from);
      const b = this.centroid(unit, f.pcod_to);
      if (!a || !b) continue;
      // A quadratic curve bent to the left of the direction of travel: A->B and B->A stay apart.
      const [mx, my] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
      const [dx, dy] = [b[0] - a[0], b[1] - a[1]];
      const c = [mx + dy * 0.2, my - dx * 0.2];
      const p = document.createElementNS(SVG, 'path');
      p.setAttribute('class', 'flow');
      p.setAttribute('marker-end', 'url(#arrow)');
      p.setAttribute('d', `M${a[0].toFixed(1)},${a[1].toFixed(1)}Q${c[0]!.toFixed(1)},${c[1]!.toFixed(1)} ${b[0].toFixed(1)},${b[1].toFixed(1)}`);
      p.setAttribute('stroke-width', (1 + 11 * Math.sqrt(f.value / max)).toFixed(2));
      p.setAttribute('data-from', f.pcod_from);
      p.setAttribute('data-to', f.pcod_to);
      p.setAttribute('data-value', String(f.value));
      frag.append(p);
    }
    this.flowLayer.append(frag);
    return drawn.length;
  }
}
