/**
 * Everything in the dataset folder but the events: dataset.json, cells.csv
 * and one GeoJSON file per administrative level (docs/DATA.md), with OCHA COD-AB
 * property names and a census `population` on every feature.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Country, Region } from './country.js';
import type { Polygon } from './geometry.js';
import { boundText } from './network.js';
import type { World } from './world.js';

export const TIMEZONE = 'Africa/Abidjan';
/** Bumped when the same options would give different files. */
export const GENERATOR_VERSION = 1;

export interface DatasetMeta {
  seed: string;
  subscribers: number;
  days: number;
  start: string;
  scenario: string;
}

export function writeDatasetJson(dir: string, world: World, meta: DatasetMeta): void {
  const { country, network, census, displacement } = world;
  const d = displacement?.disaster;
  const json = {
    name: `Opalite synthetic CDR (seed ${meta.seed})`,
    timezone: TIMEZONE,
    country: country.code,
    generator: {
      version: GENERATOR_VERSION,
      seed: /^\d{1,15}$/.test(meta.seed) ? Number(meta.seed) : meta.seed,
      subscribers: meta.subscribers,
      days: meta.days,
      start: meta.start,
      end: world.calendar.end,
      scenario: meta.scenario,
      disaster: d
        ? { date: d.date, level: d.level, pcod: d.pcod, name: d.name, share: d.share, residents: d.residents, displaced: d.displaced }
        : null,
      country_name: country.name,
      cities: census.cities.map((c) => ({ name: c.name, pcod: country.admin3[c.admin3]!.pcode, population: c.population })),
      // Cells that no polygon of any level contains, by design.
      unlocated_cells: {
        lake: network.cellIds[network.siteCellStart[network.lakeSite]!]!,
        offshore: network.cellIds[network.siteCellStart[network.offshoreSite]!]!,
      },
    },
  };
  fs.writeFileSync(path.join(dir, 'dataset.json'), `${JSON.stringify(json, null, 2)}\n`);
}

export function writeCellsCsv(dir: string, world: World): void {
  const { network, calendar } = world;
  const lines = ['cell_id,site_id,lon,lat,valid_from,valid_to'];
  for (const v of network.versions) {
    lines.push(
      [
        network.cellIds[v.cell],
        network.siteIds[network.cellSite[v.cell]!],
        v.lon.toFixed(6),
        v.lat.toFixed(6),
        boundText(calendar, v.from),
        boundText(calendar, v.to),
      ].join(','),
    );
  }
  fs.writeFileSync(path.join(dir, 'cells.csv'), `${lines.join('\n')}\n`);
}

export function writeRegions(dir: string, country: Country): void {
  fs.mkdirSync(path.join(dir, 'regions'), { recursive: true });
  const levels = [country.admin1, country.admin2, country.admin3];
  levels.forEach((regions, k) => {
    const features = regions.map((r) => JSON.stringify(feature(r, country)));
    const text = `{"type":"FeatureCollection","name":"admin${k + 1}","features":[\n${features.join(',\n')}\n]}\n`;
    fs.writeFileSync(path.join(dir, 'regions', `admin${k + 1}.geojson`), text);
  });
}

/** COD-AB properties, finest level first as in OCHA's files, then the census count. */
function feature(r: Region, country: Country): object {
  const props: Record<string, string | number> = {};
  const chain: Region[] = [r];
  for (let p = r; p.parent >= 0; ) {
    p = (p.level === 3 ? country.admin2 : country.admin1)[p.parent]!;
    chain.push(p);
  }
  for (const x of chain) {
    props[`ADM${x.level}_EN`] = x.name;
    props[`ADM${x.level}_PCODE`] = x.pcode;
  }
  props['ADM0_EN'] = country.name;
  props['ADM0_PCODE'] = country.code;
  props['population'] = r.population;
  return { type: 'Feature', properties: props, geometry: geometry(r.polygons) };
}

function geometry(polygons: Polygon[]): object {
  return polygons.length === 1
    ? { type: 'Polygon', coordinates: polygons[0] }
    : { type: 'MultiPolygon', coordinates: polygons };
}
