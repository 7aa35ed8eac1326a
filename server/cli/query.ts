/** `opalite query --store DIR --spec FILE_OR_JSON`: run one aggregate and print it. */
import fs from 'node:fs';
import { Command, Option } from 'commander';
import { SpecError } from '../errors.js';
import { FORMATS, type Format } from '../format/names.js';
import { count } from './format.js';

/** The spec is inline JSON when it starts with `{`, else a file holding it. */
export function readSpecArgument(arg: string): unknown {
  const text = arg.trimStart().startsWith('{') ? arg : readSpecFile(arg);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SpecError('BAD_JSON', `spec: expected JSON, found text that does not parse (${(e as Error).message})`);
  }
}

function readSpecFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    throw new SpecError('BAD_SPEC_FILE', `${file}: expected a JSON query spec file (or inline JSON starting with '{'), found no such file`);
  }
}

export function queryCommand(): Command {
  return new Command('query')
    .description('run a FlowKit query spec against a store; redacted rows to stdout, withheld and dropped counts to stderr')
    .requiredOption('--store <dir>', 'store folder')
    .requiredOption('--spec <file-or-json>', 'query spec: a JSON file, or inline JSON')
    .addOption(new Option('--format <format>', 'output format').choices(FORMATS).default('csv'))
    .option('--out <file>', 'write the result here instead of stdout')
    .option('--threads <n>', 'worker threads (0 = run on the main thread)', (v) => Number(v), 0)
    .option('--resident-bytes <n>', 'most bytes of day columns held in memory at once; a query whose window needs more is refused (default 3 GiB)', (v) => Number(v))
    .action(async (o: { store: string; spec: string; format: Format; out?: string; threads: number; residentBytes?: number }) => {
      const spec = readSpecArgument(o.spec);
      const [{ Engine }, { serialise }] = await Promise.all([import('../engine/engine.js'), import('../format/formats.js')]);
      // Only the days and columns the query reads are read from the store.
      const engine = Engine.open(o.store, { threads: o.threads, residentBytes: o.residentBytes });
      try {
        const result = await engine.run(spec);
        const body = await serialise(result, o.format);
        if (o.out) fs.writeFileSync(o.out, body);
        else process.stdout.write(body);
        // The operator's CLI is exact (threshold redaction), so its dropped counts are always there.
        const d = result.dropped!;
        process.stderr.write(
          `${result.query_kind} ${result.query_id.slice(0, 12)}: ${count(result.rows.length)} rows, ${count(result.withheld)} withheld (k = ${engine.threshold}); ` +
            `events dropped: ${count(d.noCell)} without cell, ${count(d.unknownCell)} unknown cell or no valid version, ${count(d.outsideRegion)} outside every region\n`,
        );
      } finally {
        await engine.close();
      }
    });
}
