/**
 * The stores `opalite serve` makes for itself from a dataset folder (the
 * embedded sample, or `--data` without `--store`) follow that folder: a
 * marker beside the store holds a digest of the folder's files, and when the
 * folder changes (a newer sample after `git pull`) the store is made again.
 * Before this, a store ingested from an older sample was served as it was,
 * with its old days, until someone deleted it by hand.
 *
 * The new store is built beside the old one and swapped in only once whole,
 * and the marker is written last: a kill at any point leaves either the old
 * store (rebuilt at the next start, since its marker does not match) or none
 * (built at the next start). Stores the operator names (`--store`, the
 * configuration) are never rebuilt behind their back; this module is only
 * called for the ones serve derives itself.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** SHA-256 over the folder's files: their paths relative to it, sizes and bytes, in a fixed order. */
export function datasetDigest(dir: string): string {
  const hash = createHash('sha256');
  const walk = (rel: string): void => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) {
        const bytes = fs.readFileSync(path.join(dir, r));
        // Length-prefixed so that no two folders give the same byte stream.
        hash.update(`${r.length}:${r}:${bytes.length}:`);
        hash.update(bytes);
      }
    }
  };
  walk('');
  return hash.digest('hex');
}

/** The marker file beside a store, naming the digest of the dataset it was made from. */
export const markerOf = (store: string): string => `${store}.source.json`;

/** Writes a new store into an empty folder; `moved` gives, for a path inside that folder, where it is once swapped in. */
export type Ingest = (dataset: string, store: string, moved: (p: string) => string) => Promise<void>;

/**
 * Makes `store` from `dataset` when it is missing or was made from other
 * files; returns what it did. `ingest` writes a new store into an empty folder.
 */
export async function storeFromDataset(dataset: string, store: string, ingest: Ingest): Promise<'kept' | 'built' | 'rebuilt'> {
  const digest = datasetDigest(dataset);
  const exists = fs.existsSync(path.join(store, 'store.json'));
  if (exists && readMarker(store) === digest) return 'kept';
  const building = `${store}.building`;
  const old = `${store}.old`;
  // Left by a kill during an earlier build: never half a store.
  fs.rmSync(building, { recursive: true, force: true });
  fs.rmSync(old, { recursive: true, force: true });
  await ingest(dataset, building, (p) => path.join(store, path.relative(building, p)));
  if (fs.existsSync(store)) fs.renameSync(store, old);
  fs.renameSync(building, store);
  const tmp = `${markerOf(store)}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ dataset: path.resolve(dataset), digest }) + '\n');
  fs.renameSync(tmp, markerOf(store));
  fs.rmSync(old, { recursive: true, force: true });
  return exists ? 'rebuilt' : 'built';
}

function readMarker(store: string): string | null {
  try {
    const m = JSON.parse(fs.readFileSync(markerOf(store), 'utf8')) as { digest?: unknown };
    return typeof m.digest === 'string' ? m.digest : null;
  } catch {
    return null;
  }
}
