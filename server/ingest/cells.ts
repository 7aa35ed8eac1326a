/** Reads cells.csv: one row per cell version (docs/DATA.md). Bad rows are reported, never guessed. */
import fs from 'node:fs';
import { Errors, IngestError } from '../errors.js';
import { csvBatches } from './readers/csv.js';
import { dateToDay } from '../util/datetime.js';
import type { IngestReport } from './report.js';
import type { CellTable, CellVersion } from '../store/cells.js';

const ALIASES = {
  cell_id: ['cell_id', 'id', 'location_id', 'cell', 'cellid'],
  site_id: ['site_id', 'site', 'siteid'],
  lon: ['lon', 'longitude', 'lng', 'x'],
  lat: ['lat', 'latitude', 'y'],
  valid_from: ['valid_from', 'date_of_first_service', 'from'],
  valid_to: ['valid_to', 'date_of_last_service', 'to'],
} as const;
type CellColumn = keyof typeof ALIASES;

function findColumns(header: readonly string[]): Partial<Record<CellColumn, number>> {
  const lower = header.map((h) => h.trim().toLowerCase().replace(/^\uFEFF/, ''));
  const found: Partial<Record<CellColumn, number>> = {};
  for (const [column, names] of Object.entries(ALIASES) as [CellColumn, readonly string[]][]) {
    const i = lower.findIndex((h) => names.includes(h));
    if (i >= 0) found[column] = i;
  }
  return found;
}

/**
 * Parses cells.csv into versions keyed through `cells` (which assigns keys to
 * new ids). Throws when the file is missing, lacks a required column, or has
 * no valid row: an empty table would take every stored day's locations away.
 */
export async function readCells(file: string, cells: CellTable, report: IngestReport): Promise<CellVersion[]> {
  if (!fs.existsSync(file)) throw Errors.missingFile(file, 'the cell table cells.csv');
  const stats = report.beginFile(file);
  const versions: CellVersion[] = [];
  let firstReject: string | null = null;
  const reject = (line: number, field: string, reason: string) => {
    firstReject ??= `line ${line}: ${field}: ${reason}`;
    report.reject(stats, line, field, reason);
  };
  let idx: Partial<Record<CellColumn, number>> | null = null;
  for await (const batch of csvBatches(file)) {
    if (idx === null) {
      idx = findColumns(batch.header);
      for (const c of ['cell_id', 'lon', 'lat'] as const) {
        if (idx[c] === undefined) throw Errors.missingColumn(file, c, batch.header);
      }
    }
    for (const bad of batch.badRows ?? []) {
      stats.rows++;
      reject(bad.line, 'row', bad.reason);
    }
    const col = (c: CellColumn, i: number) => (idx![c] === undefined ? '' : batch.columns[idx![c]!]![i]!.trim());
    for (let i = 0; i < batch.length; i++) {
      stats.rows++;
      const line = batch.lines[i]!;
      const id = col('cell_id', i);
      if (id === '') {
        reject(line, 'cell_id', 'missing');
        continue;
      }
      const lon = Number(col('lon', i));
      const lat = Number(col('lat', i));
      if (col('lon', i) === '' || !Number.isFinite(lon) || lon < -180 || lon > 180) {
        reject(line, 'lon', 'expected a longitude in [-180, 180]');
        continue;
      }
      if (col('lat', i) === '' || !Number.isFinite(lat) || lat < -90 || lat > 90) {
        reject(line, 'lat', 'expected a latitude in [-90, 90]');
        continue;
      }
      const fromText = col('valid_from', i).slice(0, 10);
      const toText = col('valid_to', i).slice(0, 10);
      const from = fromText === '' ? null : dateToDay(fromText);
      const to = toText === '' ? null : dateToDay(toText);
      if (from === -1) {
        reject(line, 'valid_from', 'expected a date YYYY-MM-DD or empty');
        continue;
      }
      if (to === -1) {
        reject(line, 'valid_to', 'expected a date YYYY-MM-DD or empty');
        continue;
      }
      if (from !== null && to !== null && to < from) {
        reject(line, 'valid_to', 'expected a date on or after valid_from');
        continue;
      }
      versions.push({ cell: cells.indexOf(id), site: col('site_id', i), lon, lat, from, to });
      stats.kept++;
    }
  }
  if (versions.length === 0) {
    throw new IngestError(
      'EMPTY_CELLS',
      stats.rows === 0
        ? `${file}: expected at least one cell row, found none (an empty table would take every stored day's locations away; the store is unchanged)`
        : `${file}: expected at least one valid cell row, found none among ${stats.rows} (first: ${firstReject}); the store is unchanged`,
    );
  }
  return versions;
}
