/** `opalite info --store DIR` */
import { Command } from 'commander';
import type { StoreSummary } from '../store/summary.js';
import { bytes, count } from './format.js';

export function infoCommand(): Command {
  return new Command('info')
    .description('summarise a store: days, rows per event type, subscribers, cells, regions, bytes per event')
    .requiredOption('--store <dir>', 'store folder')
    .option('--json', 'print the summary as JSON')
    .action(async (o: { store: string; json?: boolean }) => {
      const [{ Store }, { summarise }] = await Promise.all([import('../store/reader.js'), import('../store/summary.js')]);
      const summary = summarise(Store.open(o.store));
      process.stdout.write(o.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary));
    });
}

export function formatSummary(s: StoreSummary): string {
  const lines = [
    `store version ${s.version}${s.name ? ` (${s.name})` : ''}, timezone ${s.timezone}`,
    `${count(s.rows)} events over ${s.days.length} day(s), ${bytes(s.bytes)} (${s.bytesPerEvent.toFixed(1)} bytes/event)`,
    // The dictionary holds every pseudonymised id the events name: their subscribers and the counterparts of their
    // calls and SMS (msisdn_counterpart), so it counts more ids than a dataset has subscribers of its own.
    `${count(s.subscribers)} pseudonymised ids (subscribers and the counterparts of their calls and SMS), ${count(s.cells)} cells (${count(s.cellVersions)} versions)`,
    ...s.levels.map((l) => `${l.unit}: ${count(l.regions)} regions, ${count(l.cellsUnlocated)} cell versions outside every region`),
    '',
    'date         events      calls        sms        mds     topups  no cell',
    ...s.days.map((d) =>
      [d.date, d.rows, d.calls, d.sms, d.mds, d.topups, d.unlocated]
        .map((v, i) => (i === 0 ? String(v) : count(v as number).padStart(i === 1 ? 10 : 10)))
        .join(' '),
    ),
  ];
  return lines.join('\n') + '\n';
}
