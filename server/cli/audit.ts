/** `opalite audit verify FILE`: check the audit log's hash chain. */
import { Command } from 'commander';
import { verifyAuditLog } from '../service/audit.js';
import { reportSetupErrors } from './serve.js';

export function auditCommand(): Command {
  const audit = new Command('audit').description("the service's hash-chained audit log");
  audit
    .command('verify')
    .description('check every entry of an audit log: reports the first line that was edited, removed, moved or cut')
    .argument('<file>', 'audit log (JSON lines)')
    .action(reportSetupErrors((file: string) => {
      const v = verifyAuditLog(file);
      if (v.ok) {
        process.stdout.write(`${file}: ok, ${v.entries} entries, chain head ${v.head}\n`);
      } else {
        process.stdout.write(`${file}: line ${v.line}: ${v.reason} (${v.entries} entries verified before it)\n`);
        process.exitCode = 1;
      }
    }));
  return audit;
}
