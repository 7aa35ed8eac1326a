/** `opalite demo`: the README's first command: ingest the embedded sample, then summarise the store. */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { formatSummary } from './info.js';
import { printIngestSummary, runIngest } from './ingest.js';

/** The repository (or package) root: dist/server/cli -> ../../.. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SAMPLE_DATASET = path.join(PACKAGE_ROOT, 'data', 'sample');

export function demoCommand(): Command {
  return new Command('demo')
    .description('ingest the embedded sample dataset (data/sample) into a store and summarise it')
    .option('--store <dir>', 'store folder', path.join(PACKAGE_ROOT, '.opalite', 'sample-store'))
    .option('--fresh', 'rebuild the store even when it exists')
    .action(async (o: { store: string; fresh?: boolean }) => {
      const [{ Store }, { summarise }] = await Promise.all([import('../store/reader.js'), import('../store/summary.js')]);
      if (o.fresh) fs.rmSync(o.store, { recursive: true, force: true });
      if (!fs.existsSync(path.join(o.store, 'store.json'))) {
        process.stdout.write(`ingesting the embedded sample ${path.relative(process.cwd(), SAMPLE_DATASET) || '.'} into ${o.store}\n`);
        printIngestSummary(await runIngest(SAMPLE_DATASET, o.store));
        process.stdout.write('\n');
      }
      process.stdout.write(formatSummary(summarise(Store.open(o.store))));
    });
}
