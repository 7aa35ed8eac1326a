#!/usr/bin/env node
/**
 * The `opalite` command line: one sub-command per job, each with --help. The command
 * modules import only commander at load; each action imports what it runs (the engine,
 * the service, Arrow, Parquet) when it runs, so `opalite --help` or `opalite token`
 * loads none of that (issue #16: --help took 0.96 s).
 */
import { Command } from 'commander';
import { OpaliteError } from '../errors.js';
import { auditCommand } from './audit.js';
import { demoCommand } from './demo.js';
import { generateCommand } from './generate.js';
import { infoCommand } from './info.js';
import { ingestCommand } from './ingest.js';
import { keysCommand } from './keys.js';
import { pruneCommand } from './prune.js';
import { queryCommand } from './query.js';
import { serveCommand } from './serve.js';
import { tokenCommand } from './token.js';

const program = new Command('opalite')
  .description('Privacy-safe mobility statistics from Call Detail Records')
  .version('0.1.0')
  .showHelpAfterError();

program.addCommand(demoCommand(), { isDefault: true });
program.addCommand(ingestCommand());
program.addCommand(infoCommand());
program.addCommand(generateCommand());
program.addCommand(queryCommand());
program.addCommand(pruneCommand());
program.addCommand(serveCommand());
program.addCommand(tokenCommand());
program.addCommand(keysCommand());
program.addCommand(auditCommand());

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof OpaliteError) {
    process.stderr.write(`opalite: ${e.name} ${e.code}: ${e.message}\n`);
  } else {
    process.stderr.write(`opalite: ${(e as Error)?.stack ?? String(e)}\n`);
  }
  process.exitCode = process.exitCode || 2;
});
