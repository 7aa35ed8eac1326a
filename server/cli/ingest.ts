/** `opalite ingest DATASET --store DIR` */
import { Command } from 'commander';
import type { IngestOptions, IngestSummary } from '../ingest/ingest.js';
import { bytes, count, rate } from './format.js';
import type { progressBar } from './progress.js';

export function ingestCommand(): Command {
  return new Command('ingest')
    .description('ingest a dataset folder (cells.csv, regions/, events/) into a store, pseudonymising subscriber ids')
    .argument('<dataset>', 'dataset folder, as described in docs/DATA.md')
    .requiredOption('--store <dir>', 'store folder (created when absent)')
    .option('--key-file <file>', 'pseudonymisation key file (default: $OPALITE_PSEUDONYM_KEY or the development key)')
    .option('--replace-cells', "let the delivery's cells.csv replace the whole stored cell table (default: it is laid over it, so stored days keep their locations)")
    .option('--earliest <date>', "first plausible event date, YYYY-MM-DD (default: a year before the store's oldest day; 20 years before today for a new store)")
    .option('--latest <date>', 'last plausible event date, YYYY-MM-DD (default: tomorrow)')
    .option('--drop-duplicates', 'drop event rows equal in every column to an earlier row of the delivery (default: keep and count them, as FlowKit keeps what is delivered)')
    .action(async (dataset: string, o: { store: string; keyFile?: string; replaceCells?: boolean; earliest?: string; latest?: string; dropDuplicates?: boolean }) => {
      const summary = await runIngest(dataset, o.store, o.keyFile, {
        replaceCells: o.replaceCells,
        dates: { earliest: o.earliest, latest: o.latest },
        dropDuplicates: o.dropDuplicates,
      });
      printIngestSummary(summary);
    });
}

/** Runs an ingest with a progress bar and Ctrl-C handling (the store stays as it was). */
export async function runIngest(dataset: string, store: string, keyFile?: string, more: Pick<IngestOptions, 'replaceCells' | 'dates' | 'dropDuplicates'> = {}): Promise<IngestSummary> {
  const [{ ingest }, { diskFullError }, { progressBar }] = await Promise.all([
    import('../ingest/ingest.js'),
    import('../store/fsutil.js'),
    import('./progress.js'),
  ]);
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = performance.now();
  let bar: ReturnType<typeof progressBar> | null = null;
  try {
    return await ingest({
      dataset,
      store,
      keyFile,
      ...more,
      signal: abort.signal,
      onProgress: (p) => {
        bar ??= progressBar(p.bytesTotal, 'ingest |{bar}| {percentage}% | {done} of {all} | file {file} | {rows} rows | {rate}');
        const secs = (performance.now() - started) / 1000;
        bar.update(p.bytesDone, {
          done: bytes(p.bytesDone),
          all: bytes(p.bytesTotal),
          file: `${p.filesDone + 1}/${p.files}`,
          rows: count(p.rows),
          rate: `${rate(p.rows, secs)} rows`,
        });
      },
    });
  } catch (e) {
    throw diskFullError(e, store); // a full disk anywhere in the ingest, said as such
  } finally {
    (bar as ReturnType<typeof progressBar> | null)?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export function printIngestSummary(s: IngestSummary): void {
  const out = process.stdout;
  out.write(`ingested ${count(s.kept)} of ${count(s.rows)} rows from ${s.files.length - 1} event file(s), ${bytes(s.bytesIn)}, in ${s.seconds.toFixed(1)} s (${rate(s.rows, s.seconds)})\n`);
  out.write(`store version ${s.version}: ${s.days.length} day(s) written (${s.days[0] ?? '-'} .. ${s.days.at(-1) ?? '-'}), ${count(s.subscribers)} subscribers, ${count(s.cells)} cells\n`);
  // Every file's rejects, the cell table's too: a rejected cell row loses that cell's location.
  const bad = s.files.filter((f) => f.rejected > 0);
  if (bad.length > 0) {
    out.write(`rejected rows (report: ${s.report}):\n`);
    for (const f of bad) out.write(`  ${count(f.rejected).padStart(10)} of ${count(f.rows)} in ${f.file}\n`);
    out.write('most common reasons:\n');
    for (const [reason, n] of s.topReasons) out.write(`  ${count(n).padStart(10)}  ${reason}\n`);
  }
  const d = s.duplicates;
  if (s.warnings.length > 0 || (d.count > 0 && !d.dropped)) {
    out.write('accepted, but check:\n');
    for (const [what, n] of s.warnings) out.write(`  ${count(n).padStart(10)}  ${what}\n`);
  }
  if (d.count > 0) {
    // Under "accepted, but check" when kept; said on its own when dropped. The report names each example with the line it repeats.
    const what = d.dropped
      ? `dropped ${count(d.count)} fully duplicated event row(s), each equal in every column to an earlier row (report: ${s.report}):`
      : `  ${count(d.count).padStart(10)}  fully duplicated event rows, each equal in every column to an earlier row, kept (--drop-duplicates drops them; report: ${s.report}):`;
    out.write(`${what}\n`);
    for (const f of d.files) {
      const lines = f.examples.map((e) => e.line).join(', ');
      const more = f.count > f.examples.length ? ', ...' : '';
      out.write(`  ${''.padStart(d.dropped ? 0 : 12)}${count(f.count).padStart(10)} in ${f.file} (line${f.examples.length > 1 ? 's' : ''} ${lines}${more})\n`);
    }
  }
}
