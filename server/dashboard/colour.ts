/**
 * Colour scales for the choropleth: seven classes of equal width between the
 * bounds of the values shown; sequential for values, diverging around zero
 * for differences, percent changes and abnormality scores. Colours are
 * ColorBrewer's (YlGnBu, RdBu), written out: nothing is fetched.
 */
const SEQUENTIAL = ['#ffffcc', '#c7e9b4', '#7fcdbb', '#41b6c4', '#1d91c0', '#225ea8', '#0c2c84'];
const DIVERGING = ['#b2182b', '#ef8a62', '#fddbc7', '#f7f7f7', '#d1e5f0', '#67a9cf', '#2166ac'];

export interface ColourScale {
  diverging: boolean;
  /** Bounds of the values shown. */
  min: number;
  max: number;
  /** Class edges, length colours + 1, ascending. */
  edges: number[];
  colours: string[];
  colour(v: number): string;
}

export function colourScale(values: readonly number[], diverging: boolean): ColourScale {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (values.length === 0) min = max = 0;
  const colours = diverging ? DIVERGING : SEQUENTIAL;
  const m = Math.max(Math.abs(min), Math.abs(max)) || 1;
  const [lo, hi] = diverging ? [-m, m] : min === max ? [min - 1, max + 1] : [min, max];
  const step = (hi - lo) / colours.length;
  const edges = colours.map((_, i) => lo + i * step).concat(hi);
  return {
    diverging,
    min,
    max,
    edges,
    colours,
    colour: (v) => colours[Math.min(colours.length - 1, Math.max(0, Math.floor((v - lo) / step)))]!,
  };
}
