/**
 * `opalite audit verify FILE [--checkpoints F ...] [--public-key P ...]`: check
 * the audit log's hash chain, and against checkpoints (audit-anchor.ts) that
 * show a cut tail or a recomputed chain. `opalite audit checkpoint FILE --key K
 * --out F`: append a signed checkpoint of the log's head, run by a user whose
 * key the service user cannot read.
 * `opalite audit budget [FILE]`: each token subject's privacy spending per period, and the publisher's on
 * indicator publications per data period, unit and publication, from the budget ledger.
 */
import fs from 'node:fs';
import { Command } from 'commander';
import { reportSetupErrors } from './setup.js';

/** What the audit commands run, imported when one runs (not for --help). */
const modules = () => Promise.all([import('../service/audit.js'), import('../service/audit-anchor.js'), import('../service/keys.js')]);

const many = (v: string, prev: string[] = []) => [...prev, v];

export function auditCommand(): Command {
  const audit = new Command('audit').description("the service's hash-chained audit log");
  audit
    .command('verify')
    .description('check every entry of an audit log: reports the first line that was edited, removed, moved or cut; with checkpoints, also a cut tail or a recomputed chain')
    .argument('<file>', 'audit log (JSON lines)')
    .option('--checkpoints <file>', 'checkpoints: a file `opalite audit checkpoint` appends to, or the service log (journalctl -u opalite -o cat); repeatable', many)
    .option('--public-key <pem>', 'Ed25519 public key the checkpoints must be signed with (repeatable); unsigned checkpoints are then refused', many)
    .action(reportSetupErrors(async (file: string, o: { checkpoints?: string[]; publicKey?: string[] }) => {
      const [{ verifyAuditLog }, { readCheckpoints, verifyWithCheckpoints }, { loadPublicKey }] = await modules();
      if (!o.checkpoints?.length) {
        const v = verifyAuditLog(file);
        if (v.ok) {
          process.stdout.write(`${file}: ok, ${v.entries} entries, chain head ${v.head} (no checkpoints given: a cut tail or a recomputed chain would not show)\n`);
        } else {
          process.stdout.write(`${file}: line ${v.line}: ${v.reason} (${v.entries} entries verified before it)\n`);
          process.exitCode = 1;
        }
        return;
      }
      const cps = o.checkpoints.flatMap((f) => readCheckpoints(f).map((c) => ({ ...c, source: f })));
      const keys = o.publicKey?.map(loadPublicKey);
      const v = verifyWithCheckpoints(file, cps, keys);
      if (v.ok) {
        process.stdout.write(`${file}: ok, ${v.entries} entries, chain head ${v.head}, agrees with ${v.checkpoints} checkpoint(s)${keys ? ', every one signed' : ''}\n`);
      } else {
        process.stdout.write(`${file}: ${v.reason}\n`);
        process.exitCode = 1;
      }
    }));
  audit
    .command('checkpoint')
    .description("verify the log's chain and append a checkpoint of its head, signed with an Ed25519 key, to a file (run it as a user other than the service's, e.g. from a root timer)")
    .argument('<file>', 'audit log (JSON lines)')
    .requiredOption('--key <pem>', 'Ed25519 private key the service user cannot read')
    .requiredOption('--out <file>', 'checkpoints file to append to (kept where the service user cannot write)')
    .action(reportSetupErrors(async (file: string, o: { key: string; out: string }) => {
      const [, { headCheckpoint, signCheckpoint }, { loadSigningKey }] = await modules();
      const cp = signCheckpoint(loadSigningKey(o.key), headCheckpoint(file));
      fs.appendFileSync(o.out, JSON.stringify(cp) + '\n', { mode: 0o644 });
      process.stdout.write(`${o.out}: checkpoint of ${file} at entry ${cp.seq}, head ${cp.head}\n`);
    }));
  audit
    .command('budget')
    .description("each token subject's privacy spending (zCDP rho) per period, and the publisher's on indicators, for the oversight committee")
    .argument('[file]', "the budget ledger (default: the configuration's, budget.jsonl beside the audit log)")
    .option('--config <file>', 'service configuration (default: OPALITE_CONFIG)')
    .option('--json', 'JSON lines instead of a table')
    .action(reportSetupErrors(async (file: string | undefined, o: { config?: string; json?: boolean }) => {
      const [{ ledgerSummary, publisherSummary }, { ConfigError, ledgerFile, loadConfig }] = await Promise.all([import('../privacy/dp/accountant.js'), import('../service/config.js')]);
      const ledger = file ?? ledgerFile(loadConfig({ file: o.config }));
      if (!fs.existsSync(ledger)) throw new ConfigError(`${ledger}: expected a budget ledger (JSON lines), found no file (no DP query was answered yet?)`);
      const rows = ledgerSummary(ledger);
      // The publisher's own spending on indicator publications, per data period, unit and publication.
      const published = publisherSummary(ledger);
      if (o.json) {
        for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
        for (const r of published) process.stdout.write(JSON.stringify({ publisher: true, ...r }) + '\n');
        return;
      }
      const print = (table: string[][], left: number) => {
        const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
        for (const row of table) process.stdout.write(row.map((c, i) => (i >= left ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ') + '\n');
      };
      print([['subject', 'tier', 'period', 'queries', 'rho spent'], ...rows.map((r) => [r.sub, r.tier, r.period, String(r.queries), r.rho.toFixed(4)])], 3);
      if (published.length > 0) {
        process.stdout.write('\nindicator publications (the publisher\'s own spending)\n');
        print(
          [
            ['data period', 'unit', 'publication', 'publications', 'rho spent', 'period total'],
            ...published.map((r) => [r.period, r.unit, r.family, String(r.publications), r.rho.toFixed(4), r.periodRho.toFixed(4)]),
          ],
          3,
        );
      }
    }));
  return audit;
}
