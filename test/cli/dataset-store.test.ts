/**
 * The stores serve and demo make for themselves follow their dataset folder:
 * a store made from an older sample is made again (it used to be served with
 * its old days until deleted by hand), an unchanged folder costs no ingest,
 * and a kill in the middle of a rebuild never leaves half a store.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { datasetDigest, markerOf, storeFromDataset } from '../../server/cli/dataset-store.js';
import { ingest } from '../../server/ingest/ingest.js';
import { storedDays } from '../../server/store/manifest.js';
import { Store } from '../../server/store/reader.js';

let root: string;
let keyFile: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-dataset-store-'));
  keyFile = path.join(root, 'key');
  fs.writeFileSync(keyFile, 'cd'.repeat(32));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const REGIONS = {
  type: 'FeatureCollection',
  features: [{ type: 'Feature', properties: { pcod: 'R1', name: 'One' }, geometry: { type: 'Polygon', coordinates: [[[0, 0], [2, 0], [2, 1], [0, 1], [0, 0]]] } }],
};
const CELLS = 'cell_id,lon,lat,valid_from,valid_to\nA,0.5,0.5,,\nB,1.5,0.5,,\n';
const HEADER = 'msisdn,datetime,cell_id,event_type,outgoing';

/** A dataset folder whose events fall on the given days (one call each). */
function dataset(days: string[]): string {
  const dir = path.join(root, 'data');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'events'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'regions'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'regions', 'admin1.geojson'), JSON.stringify(REGIONS));
  fs.writeFileSync(path.join(dir, 'cells.csv'), CELLS);
  const rows = days.map((d, i) => `22500${i},${d} 08:00:00,A,calls,true`);
  fs.writeFileSync(path.join(dir, 'events', 'e.csv'), [HEADER, ...rows].join('\n') + '\n');
  return dir;
}

describe('a store made from a dataset folder', () => {
  const ingests: string[] = [];
  const realIngest = async (from: string, into: string) => {
    ingests.push(into);
    await ingest({ dataset: from, store: into, keyFile });
  };
  beforeEach(() => {
    ingests.length = 0;
  });
  const days = (store: string) => storedDays(Store.open(store).manifest);

  it('is built once, kept while the folder is unchanged, and made again when it changes', async () => {
    const store = path.join(root, 'sample-store');
    const data = dataset(['2016-01-01', '2016-01-02']);
    expect(await storeFromDataset(data, store, realIngest)).toBe('built');
    expect(days(store)).toEqual(['2016-01-01', '2016-01-02']);
    expect(await storeFromDataset(data, store, realIngest)).toBe('kept');
    expect(ingests).toHaveLength(1);

    // A newer sample: other days. The old store's days must not survive.
    dataset(['2016-02-01', '2016-02-02', '2016-02-03']);
    expect(await storeFromDataset(data, store, realIngest)).toBe('rebuilt');
    expect(days(store)).toEqual(['2016-02-01', '2016-02-02', '2016-02-03']);
    expect(ingests).toHaveLength(2);
    expect(JSON.parse(fs.readFileSync(markerOf(store), 'utf8')).digest).toBe(datasetDigest(data));
    expect(fs.readdirSync(root).sort()).toEqual(['data', 'key', 'sample-store', 'sample-store.source.json']);
    // A path the ingest names inside the folder it built is given where it lies once swapped in.
    let named = '';
    dataset(['2016-03-01']);
    await storeFromDataset(data, store, async (from, into, moved) => {
      await realIngest(from, into);
      named = moved(path.join(into, 'reports', 'ingest-v1.csv'));
    });
    expect(named).toBe(path.join(store, 'reports', 'ingest-v1.csv'));
  });

  it('made before markers existed is made again once', async () => {
    const store = path.join(root, 'sample-store');
    const data = dataset(['2016-01-01']);
    await ingest({ dataset: data, store, keyFile });
    expect(await storeFromDataset(data, store, realIngest)).toBe('rebuilt');
    expect(await storeFromDataset(data, store, realIngest)).toBe('kept');
  });

  it('keeps the old store whole when the rebuild dies, and finishes it at the next start', async () => {
    const store = path.join(root, 'sample-store');
    const data = dataset(['2016-01-01']);
    await storeFromDataset(data, store, realIngest);
    dataset(['2016-03-01']);
    const dying = async (from: string, into: string) => {
      await ingest({ dataset: from, store: into, keyFile });
      throw new Error('killed after the ingest, before the swap');
    };
    await expect(storeFromDataset(data, store, dying)).rejects.toThrow(/killed/);
    expect(days(store)).toEqual(['2016-01-01']);
    expect(await storeFromDataset(data, store, realIngest)).toBe('rebuilt');
    expect(days(store)).toEqual(['2016-03-01']);
    expect(fs.existsSync(`${store}.building`)).toBe(false);
  });

  it('digests names and bytes: a renamed file or one changed byte gives another digest', () => {
    const data = dataset(['2016-01-01']);
    const d0 = datasetDigest(data);
    expect(datasetDigest(data)).toBe(d0);
    fs.renameSync(path.join(data, 'events', 'e.csv'), path.join(data, 'events', 'f.csv'));
    const d1 = datasetDigest(data);
    expect(d1).not.toBe(d0);
    const f = path.join(data, 'events', 'f.csv');
    const text = fs.readFileSync(f, 'utf8');
    fs.writeFileSync(f, text.replace('08:00:00', '08:00:01'));
    expect(datasetDigest(data)).not.toBe(d1);
  });
});
