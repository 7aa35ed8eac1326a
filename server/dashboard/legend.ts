/**
 * The choropleth's legend: its title (what, in which unit, where, when), the
 * colour classes labelled by the values really in them, and the hatched
 * swatch with why regions are not shown. With nothing published it says so,
 * and shows no classes.
 */
import type { ColourScale } from './colour.js';

export interface LegendSpec {
  title: string;
  scale: ColourScale | null;
  /** Formats a value as the map shows it (thousands separators, "%", a sign for differences). */
  format: (v: number) => string;
  /** Regions not shown, by reason ("15 or fewer subscribers": 3). */
  hidden: ReadonlyMap<string, number>;
}

export function renderLegend(el: HTMLElement, spec: LegendSpec): void {
  el.replaceChildren();
  const head = document.createElement('strong');
  head.textContent = spec.title;
  el.append(head);
  const { scale } = spec;
  if (scale) {
    el.dataset.min = String(scale.min);
    el.dataset.max = String(scale.max);
    el.dataset.classes = String(scale.classes.length);
    for (const c of scale.classes) {
      const item = document.createElement('span');
      item.className = 'class';
      item.innerHTML = `<span class="swatch" style="background:${c.colour}"></span>`;
      const range = c.label ?? (c.min === c.max ? spec.format(c.min) : `${spec.format(c.min)} to ${spec.format(c.max)}`);
      item.append(`${range} (${c.count})`);
      el.append(item);
    }
  } else {
    delete el.dataset.min;
    delete el.dataset.max;
    el.dataset.classes = '0';
    const none = document.createElement('span');
    none.className = 'nothing';
    none.textContent = 'nothing published for this selection';
    el.append(none);
  }
  let total = 0;
  for (const [why, n] of spec.hidden) {
    total += n;
    const w = document.createElement('span');
    w.className = 'hidden-reason';
    w.innerHTML = '<span class="swatch withheld"></span>';
    w.append(`${why} (${n})`);
    el.append(w);
  }
  el.dataset.withheld = String(total);
}
