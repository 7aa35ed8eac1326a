/** The choropleth's legend: its title, the colour classes with their bounds, and the "withheld" swatch. */
import type { ColourScale } from './colour.js';

const fmt = (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en') : String(Math.round(v * 100) / 100));

/** `hatched` names what a hatched region means: withheld values, or (flows) no published flow. */
export function renderLegend(el: HTMLElement, title: string, scale: ColourScale | null, withheld: number, hatched = 'withheld'): void {
  el.replaceChildren();
  const head = document.createElement('strong');
  head.textContent = title;
  el.append(head);
  if (scale) {
    el.dataset.min = String(scale.min);
    el.dataset.max = String(scale.max);
    const bounds = document.createElement('span');
    bounds.className = 'bounds';
    bounds.textContent = `from ${fmt(scale.min)} to ${fmt(scale.max)}`;
    el.append(bounds);
    scale.colours.forEach((c, i) => {
      const item = document.createElement('span');
      item.innerHTML = `<span class="swatch" style="background:${c}"></span>`;
      item.append(`${fmt(scale.edges[i]!)} – ${fmt(scale.edges[i + 1]!)}`);
      el.append(item);
    });
  } else {
    delete el.dataset.min;
    delete el.dataset.max;
  }
  const w = document.createElement('span');
  w.innerHTML = '<span class="swatch withheld"></span>';
  w.append(`${hatched} (${withheld})`);
  el.append(w);
  el.dataset.withheld = String(withheld);
}
