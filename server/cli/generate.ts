/** `opalite generate`: writes a synthetic CDR dataset folder, deterministic from a seed. */
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { OpaliteError } from '../errors.js';
import { SCENARIOS } from '../generate/scenario.js';
import { FORMATS } from '../generate/writers/sink.js';
import { bytes, count, rate } from './format.js';

interface Flags {
  out: string;
  subscribers: number;
  days: number;
  start: string;
  seed: string;
  scenario: (typeof SCENARIOS)[number];
  format: (typeof FORMATS)[number];
  files: number;
  disasterDate?: string;
}

export function generateCommand(): Command {
  return new Command('generate')
    .description('write a synthetic CDR dataset (events, cells.csv, regions, dataset.json); same options give identical files')
    .requiredOption('--out <dir>', 'output dataset folder (created; older events files there are replaced)')
    .option('--subscribers <n>', 'number of subscribers', integer, 1000)
    .option('--days <d>', 'number of days', integer, 7)
    .option('--start <date>', 'first day, YYYY-MM-DD (timezone Africa/Abidjan, UTC+0)', '2016-01-01')
    .option('--seed <s>', 'random seed (any string or integer)', '1')
    .addOption(
      new Option('--scenario <name>', 'displacement: 40% of one coastal admin2 move to neighbouring admin2s mid-period')
        .choices(SCENARIOS)
        .default('none'),
    )
    .addOption(new Option('--format <fmt>', 'events file format').choices(FORMATS).default('csv'))
    .option('--files <n>', 'split the events over N files, contiguous in time', integer, 1)
    .option('--disaster-date <date>', 'with --scenario displacement: the disaster day, YYYY-MM-DD, after the first day (default: the middle day)')
    .action(async (flags: Flags) => {
      const [{ SLICES_PER_DAY }, { generate }, { progressBar }] = await Promise.all([
        import('../generate/events.js'),
        import('../generate/index.js'),
        import('./progress.js'),
      ]);
      const bar = progressBar(flags.days * SLICES_PER_DAY, 'generate |{bar}| {percentage}% | quarter-hour {value}/{total} | ETA {eta}s');
      let summary;
      try {
        summary = await generate({ ...flags, onProgress: (p) => bar.update(p.done) });
      } finally {
        bar.stop();
      }
      const files = summary.files.length === 1 ? summary.files[0] : `${summary.files.length} files`;
      process.stdout.write(
        `generated ${count(summary.events)} events (${files}, ${bytes(summary.bytes)}) in ${summary.seconds.toFixed(1)} s, ` +
          `${rate(summary.events, summary.seconds)} -> ${summary.out}\n`,
      );
      if (summary.disaster) {
        const d = summary.disaster;
        process.stdout.write(`displacement: ${count(d.displaced)} subscribers left ${d.pcod} on ${d.date}\n`);
      }
    });
}

function integer(text: string): number {
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError('expected a positive integer');
  return Number(text);
}

// Runnable on its own (node dist/server/cli/generate.js ...), for building the
// sample and benchmark data without the rest of the command line.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  generateCommand()
    .parseAsync(process.argv)
    .catch((e: unknown) => {
      const where = e instanceof OpaliteError ? `${e.name} ${e.code}: ` : '';
      process.stderr.write(`generate: ${where}${(e as Error).message}\n`);
      process.exitCode = 2;
    });
}
