/**
 * Colour classes for the choropleth, chosen to suit the values shown:
 *
 * - nothing published: no scale at all (null), never a made-up "0 to 0";
 * - values (counts, densities): up to five classes of equal numbers of the
 *   distinct values (quantiles), so one value makes one class and two values
 *   two; each class is labelled by the smallest and largest value really in
 *   it, so a count's labels are whole numbers, as published;
 * - differences, percent changes, net flows: diverging around 0, up to three
 *   classes below, a class of exactly 0, up to three above;
 * - abnormality scores: fixed classes around the usual band (|score| < 2,
 *   where the graph's band lies), then 2 to 5 and beyond 5 either way.
 *
 * Colours are ColorBrewer's (YlGnBu, RdBu), written out: nothing is fetched.
 */
const SEQUENTIAL = ['#ffffcc', '#c7e9b4', '#7fcdbb', '#41b6c4', '#1d91c0', '#225ea8', '#0c2c84'];
const DIVERGING = ['#b2182b', '#ef8a62', '#fddbc7', '#f7f7f7', '#d1e5f0', '#67a9cf', '#2166ac'];
const NEUTRAL = DIVERGING[3]!;

export type ScaleKind = 'sequential' | 'diverging' | 'abnormality';

export interface ColourClass {
  colour: string;
  /** Smallest and largest value shown in the class. */
  min: number;
  max: number;
  /** Regions in the class. */
  count: number;
  /** Fixed classes (abnormality) have a label of their own; others are labelled by min and max. */
  label?: string;
}

export interface ColourScale {
  kind: ScaleKind;
  /** Bounds of the values shown. */
  min: number;
  max: number;
  /** Ascending, none empty. */
  classes: ColourClass[];
  colour(v: number): string;
}

const MAX_SEQUENTIAL = 5;
const MAX_PER_SIDE = 3;

/** Splits sorted distinct values into `n` runs of (nearly) equal length. */
function runs(distinct: readonly number[], n: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < n; i++) out.push(distinct.slice(Math.floor((i * distinct.length) / n), Math.floor(((i + 1) * distinct.length) / n)));
  return out.filter((r) => r.length > 0);
}

/** Palette positions for n classes spread over `palette` from `from` to `to` (inclusive). */
function spread(n: number, from: number, to: number): number[] {
  if (n === 1) return [Math.round((from + to) / 2)];
  return Array.from({ length: n }, (_, i) => Math.round(from + (i * (to - from)) / (n - 1)));
}

function classesOf(groups: number[][], colours: string[], values: readonly number[]): ColourClass[] {
  return groups.map((g, i) => {
    const [min, max] = [g[0]!, g.at(-1)!];
    return { colour: colours[i]!, min, max, count: values.filter((v) => v >= min && v <= max).length };
  });
}

/** The class of `v`: the last whose smallest value is <= v (values between classes go to the lower one). */
function pick(classes: readonly ColourClass[], v: number): string {
  let c = classes[0]!;
  for (const k of classes) if (k.min <= v) c = k;
  return c.colour;
}

function sequential(values: readonly number[], distinct: number[]): ColourClass[] {
  const groups = runs(distinct, Math.min(MAX_SEQUENTIAL, distinct.length));
  // From the second colour: the palest is hard to tell from an empty region.
  return classesOf(groups, spread(groups.length, 1, 6).map((i) => SEQUENTIAL[i]!), values);
}

function diverging(values: readonly number[], distinct: number[]): ColourClass[] {
  const neg = distinct.filter((v) => v < 0);
  const pos = distinct.filter((v) => v > 0);
  const negGroups = runs(neg, Math.min(MAX_PER_SIDE, neg.length));
  const posGroups = runs(pos, Math.min(MAX_PER_SIDE, pos.length));
  // The darkest colour for the class furthest from 0, whatever the number of classes on that side.
  const negColours = [[1], [0, 2], [0, 1, 2]][negGroups.length - 1] ?? [];
  const posColours = [[5], [4, 6], [4, 5, 6]][posGroups.length - 1] ?? [];
  const zero = distinct.includes(0) ? [{ colour: NEUTRAL, min: 0, max: 0, count: values.filter((v) => v === 0).length }] : [];
  return [
    ...classesOf(negGroups, negColours.map((i) => DIVERGING[i]!), values),
    ...zero,
    ...classesOf(posGroups, posColours.map((i) => DIVERGING[i]!), values),
  ];
}

const ABNORMALITY: { colour: string; label: string }[] = [
  { colour: DIVERGING[0]!, label: '−5 or below' },
  { colour: DIVERGING[2]!, label: '−5 to −2' },
  { colour: NEUTRAL, label: 'within ±2 (usual)' },
  { colour: DIVERGING[4]!, label: '2 to 5' },
  { colour: DIVERGING[6]!, label: '5 or above' },
];
/** The band of a score: -2 < score < 2 is usual; the edges belong to the outer classes. */
const bandOf = (v: number) => (v <= -5 ? 0 : v <= -2 ? 1 : v < 2 ? 2 : v < 5 ? 3 : 4);

function abnormality(values: readonly number[]): ColourClass[] {
  return ABNORMALITY.map((b, i) => {
    const inside = values.filter((v) => bandOf(v) === i);
    return { colour: b.colour, label: b.label, count: inside.length, min: Math.min(...inside), max: Math.max(...inside) };
  }).filter((c) => c.count > 0);
}

/** The colour scale of the values shown, or null when none is published. */
export function colourScale(values: readonly number[], kind: ScaleKind): ColourScale | null {
  if (values.length === 0) return null;
  const distinct = [...new Set(values)].sort((a, b) => a - b);
  const classes = kind === 'abnormality' ? abnormality(values) : kind === 'diverging' ? diverging(values, distinct) : sequential(values, distinct);
  const colour =
    kind === 'abnormality'
      ? (v: number) => ABNORMALITY[bandOf(v)]!.colour
      : kind === 'diverging'
        ? (v: number) => (v === 0 ? NEUTRAL : pick(classes.filter((c) => Math.sign(c.min) === Math.sign(v)), v))
        : (v: number) => pick(classes, v);
  return { kind, min: distinct[0]!, max: distinct.at(-1)!, classes, colour };
}
