/**
 * Downloads of what is on screen: CSV and GeoJSON of the regions (or flows)
 * with their values, and the query spec that produced them, so an analyst can
 * rerun it from a script (FlowClient, or curl against the same service).
 */
import type { GeoFeature } from '../service/wire.js';
import { intervalOf } from './privacy.js';
import type { Picture, Shown } from './values.js';

export function save(name: string, type: string, text: string): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

const csvField = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function toCsv(comparison: string, names: ReadonlyMap<string, string>, shown: ReadonlyMap<string, Shown>, picture: Picture): string {
  const lines: unknown[][] = [];
  if (picture.flows) {
    lines.push(['pcod_from', 'pcod_to', 'value']);
    for (const f of picture.flows) lines.push([f.pcod_from, f.pcod_to, f.value]);
  } else {
    // Noised values (differential privacy) carry the half-width of their 95% interval.
    const noised = picture.privacy?.mode === 'dp' && picture.privacy.interval95 !== undefined;
    lines.push(['pcod', 'name', 'value', 'withheld', noised ? 'interval95' : null, comparison === 'value' ? null : comparison, comparison === 'value' ? null : 'reference'].filter((x) => x !== null));
    for (const [pcod, name] of names) {
      const s = shown.get(pcod);
      const row: unknown[] = [pcod, name, s?.value ?? null, s?.value === null ? (s.why ?? 'withheld') : ''];
      if (noised) row.push(s?.value === null ? null : intervalOf(picture.privacy, pcod));
      if (comparison !== 'value') row.push(s?.shown ?? null, s?.reference ?? null);
      lines.push(row);
    }
  }
  return lines.map((l) => l.map(csvField).join(',')).join('\n') + '\n';
}

export function toGeoJson(features: readonly GeoFeature[], comparison: string, shown: ReadonlyMap<string, Shown>, picture: Picture): string {
  return JSON.stringify({
    type: 'FeatureCollection',
    features: features.map((f) => {
      const s = shown.get(f.properties.pcod);
      const t = picture.totals?.get(f.properties.pcod);
      return {
        type: 'Feature',
        geometry: f.geometry,
        properties: {
          pcod: f.properties.pcod,
          name: f.properties.name,
          value: s?.value ?? null,
          withheld: s?.value === null,
          ...(comparison !== 'value' ? { [comparison]: s?.shown ?? null, reference: s?.reference ?? null } : {}),
          ...(t ? { total_in: t.in, total_out: t.out } : {}),
        },
      };
    }),
  });
}
