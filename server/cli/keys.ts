/** `opalite keys --out DIR`: create a signing key pair for the service. */
import { Command, Option } from 'commander';
import { reportSetupErrors } from './setup.js';

export function keysCommand(): Command {
  return new Command('keys')
    .description('create a key pair to sign service tokens with (signing.pem and public.pem, mode 0600; never overwrites)')
    .requiredOption('--out <dir>', 'folder for the two PEM files (keep it out of any repository)')
    .addOption(new Option('--alg <alg>', 'signature algorithm').choices(['EdDSA', 'RS256']).default('EdDSA'))
    .action(reportSetupErrors(async (o: { out: string; alg: 'EdDSA' | 'RS256' }) => {
      const { createKeyPair } = await import('../service/keys.js');
      const k = createKeyPair(o.out, o.alg);
      process.stdout.write(
        `private key ${k.privateKey}\npublic key  ${k.publicKey}\nkey id      ${k.kid}\n` +
          `configure the service with keys.publicKeys: ["${k.publicKey}"] (or OPALITE_PUBLIC_KEYS), and mint tokens with opalite token --key ${k.privateKey}\n`,
      );
    }));
}
