/** Finds and checks the parts of a dataset folder (docs/DATA.md) before anything is read. */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { Errors, IngestError } from '../errors.js';
import { TimezoneOffsets } from '../util/datetime.js';

const EVENT_FILE = /\.(csv|csv\.gz|parquet|arrow|arrows|feather)$/i;

const DatasetJson = z.object({
  name: z.string().optional(),
  timezone: z.string().optional(),
  country: z.string().optional(),
}).passthrough();

export interface DatasetLayout {
  dir: string;
  name?: string;
  country?: string;
  timezone: string;
  cells: string;
  regionsDir: string | null;
  /** Event files in ingest order (sorted by path). */
  events: string[];
  /** Total bytes of the event files. */
  bytes: number;
}

/** Checks the folder's shape; throws a clear IngestError naming what is missing. */
export function inspectDataset(dir: string): DatasetLayout {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new IngestError('MISSING_DATASET', `${dir}: expected a dataset folder, found none`);
  }
  let meta: z.infer<typeof DatasetJson> = {};
  const metaFile = path.join(dir, 'dataset.json');
  if (fs.existsSync(metaFile)) {
    let json: unknown;
    try {
      json = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    } catch (e) {
      throw Errors.fileUnreadable(metaFile, `not JSON (${(e as Error).message})`);
    }
    const parsed = DatasetJson.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new IngestError('BAD_DATASET', `${metaFile}: field '${issue.path.join('.')}': ${issue.message}`);
    }
    meta = parsed.data;
  }
  const timezone = meta.timezone ?? 'UTC';
  try {
    TimezoneOffsets.validate(timezone);
  } catch {
    throw new IngestError('BAD_DATASET', `${metaFile}: field 'timezone': expected an IANA timezone like Africa/Abidjan, found ${JSON.stringify(timezone)}`);
  }
  const cells = path.join(dir, 'cells.csv');
  if (!fs.existsSync(cells)) throw Errors.missingFile(cells, 'the cell table cells.csv');
  const eventsDir = path.join(dir, 'events');
  if (!fs.existsSync(eventsDir)) throw Errors.missingFile(eventsDir, 'a folder of event files');
  const events = listFiles(eventsDir).filter((f) => EVENT_FILE.test(f)).sort();
  if (events.length === 0) {
    throw new IngestError('MISSING_FILE', `${eventsDir}: expected event files (*.csv, *.csv.gz, *.parquet, *.arrow), found none`);
  }
  const regionsDir = path.join(dir, 'regions');
  return {
    dir,
    name: meta.name,
    country: meta.country,
    timezone,
    cells,
    regionsDir: fs.existsSync(regionsDir) ? regionsDir : null,
    events,
    bytes: events.reduce((n, f) => n + fs.statSync(f).size, 0),
  };
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p) : e.isFile() ? [p] : [];
  });
}
