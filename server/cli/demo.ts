/** `opalite demo`: the README's first command: ingest the embedded sample, then summarise the store. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { storeFromDataset } from './dataset-store.js';
import { formatSummary } from './info.js';
import { printIngestSummary, runIngest } from './ingest.js';

/** The repository (or package) root: dist/server/cli -> ../../.. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SAMPLE_DATASET = path.join(PACKAGE_ROOT, 'data', 'sample');
/** The sample's own store, which follows data/sample. */
export const SAMPLE_STORE = path.join(PACKAGE_ROOT, '.opalite', 'sample-store');

export function demoCommand(): Command {
  return new Command('demo')
    .description('ingest the embedded sample dataset (data/sample) into a store and summarise it')
    .option('--store <dir>', 'store folder', SAMPLE_STORE)
    .option('--fresh', 'rebuild the store even when it exists')
    .action(async (o: { store: string; fresh?: boolean }) => {
      const [{ Store }, { summarise }] = await Promise.all([import('../store/reader.js'), import('../store/summary.js')]);
      if (o.fresh) fs.rmSync(o.store, { recursive: true, force: true });
      const sample = path.relative(process.cwd(), SAMPLE_DATASET) || '.';
      const ingestInto = async (into: string, moved: (p: string) => string = (p) => p) => {
        process.stdout.write(`ingesting the embedded sample ${sample} into ${o.store}\n`);
        const summary = await runIngest(SAMPLE_DATASET, into);
        printIngestSummary({ ...summary, report: summary.report && moved(summary.report) });
        process.stdout.write('\n');
      };
      if (o.store === SAMPLE_STORE) {
        // The default store is the sample's own: it follows data/sample (dataset-store.ts).
        await storeFromDataset(SAMPLE_DATASET, o.store, (_from, into, moved) => ingestInto(into, moved));
      } else if (!fs.existsSync(path.join(o.store, 'store.json'))) {
        await ingestInto(o.store);
      }
      process.stdout.write(formatSummary(summarise(Store.open(o.store))));
    });
}
