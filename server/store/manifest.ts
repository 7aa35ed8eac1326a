/** The store manifest (store.json): what the store holds, and where. */
import fs from 'node:fs';
import { z } from 'zod';
import { Errors } from '../errors.js';
import { writeFileAtomic } from './fsutil.js';
import { STORE_FORMAT, paths } from './layout.js';

const ColumnEntry = z.object({ bytes: z.number().int().nonnegative(), sha256: z.string() });

const DayEntry = z.object({
  dir: z.string(),
  rows: z.number().int().nonnegative(),
  columns: z.record(z.string(), ColumnEntry),
  /** Rows per event type code (calls, sms, mds, topups). */
  types: z.array(z.number().int().nonnegative()).length(4),
  /** Rows without a cell. */
  unlocated: z.number().int().nonnegative(),
});

export const ManifestSchema = z.object({
  format: z.literal(STORE_FORMAT),
  /** Increases with every commit; results are cached against it. */
  version: z.number().int().nonnegative(),
  updated: z.string(),
  name: z.string().optional(),
  country: z.string().optional(),
  timezone: z.string(),
  /** Identifies the pseudonymisation key without revealing it. */
  keyFingerprint: z.string(),
  /** Folder under dims/ of the current dimension tables. */
  dims: z.string().nullable(),
  /** SHA-256 of the cell and region tables: unchanged when an ingest brings only new days. */
  dimsHash: z.string().optional(),
  subscribers: z.number().int().nonnegative(),
  cells: z.number().int().nonnegative(),
  days: z.record(z.string(), DayEntry),
});

export type Manifest = z.infer<typeof ManifestSchema>;
export type DayEntry = z.infer<typeof DayEntry>;

export function emptyManifest(timezone: string, keyFingerprint: string): Manifest {
  return {
    format: STORE_FORMAT,
    version: 0,
    updated: new Date(0).toISOString(),
    timezone,
    keyFingerprint,
    dims: null,
    subscribers: 0,
    cells: 0,
    days: {},
  };
}

export function readManifest(store: string): Manifest {
  const file = paths.manifest(store);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw Errors.storeMissing(store);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw Errors.storeCorrupt(file, `not JSON (${(e as Error).message})`);
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw Errors.storeCorrupt(file, `${issue.path.join('.') || 'manifest'}: ${issue.message}`);
  }
  return parsed.data;
}

export function manifestExists(store: string): boolean {
  return fs.existsSync(paths.manifest(store));
}

export function writeManifest(store: string, manifest: Manifest): void {
  writeFileAtomic(paths.manifest(store), JSON.stringify(manifest, null, 1) + '\n');
}

/** Sorted list of the days the store holds. */
export function storedDays(manifest: Manifest): string[] {
  return Object.keys(manifest.days).sort();
}
