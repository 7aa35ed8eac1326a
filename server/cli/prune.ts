/** `opalite prune --store DIR --keep-days N`: the retention policy, applied atomically. */
import { Command } from 'commander';

export function pruneCommand(): Command {
  return new Command('prune')
    .description('drop the days older than the newest N (retention), counted from the newest day not after tomorrow, atomically; a running service picks up the new version')
    .requiredOption('--store <dir>', 'store folder')
    .requiredOption('--keep-days <n>', 'how many of the newest days to keep', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--keep-days: expected a whole number of days >= 1, found ${v}`);
      return n;
    })
    .action(async (o: { store: string; keepDays: number }) => {
      const { futureDays, pruneBefore, retentionHorizon } = await import('../store/retention.js');
      const from = retentionHorizon(o.store, o.keepDays);
      if (from === null) {
        process.stdout.write('the store holds no day\n');
        return;
      }
      const future = futureDays(o.store);
      if (future.length > 0) {
        process.stderr.write(`warning: ${future.length} stored day(s) dated after tomorrow (${future[0]} .. ${future.at(-1)}): not counted from, not removed\n`);
      }
      const { removed, version } = pruneBefore(o.store, from);
      process.stdout.write(
        removed.length === 0
          ? `nothing to prune: every day is on or after ${from}\n`
          : `removed ${removed.length} day(s) (${removed[0]} .. ${removed.at(-1)}); store version ${version} keeps ${from} onwards\n`,
      );
    });
}
