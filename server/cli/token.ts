/** `opalite token --tier T --sub S`: mint a signed JWT for the service. */
import { Command } from 'commander';
import { reportSetupErrors } from './setup.js';

export function tokenCommand(): Command {
  return new Command('token')
    .description('mint a token (JWT signed with EdDSA or RS256) for a tier; printed to stdout')
    .requiredOption('--tier <tier>', 'tier the token grants (a tier of the configuration)')
    .requiredOption('--sub <subject>', 'who the token is for (recorded in the audit log)')
    .option('--ttl <duration>', 'lifetime: 90s, 15m, 12h, 7d', '1h')
    .option('--key <file>', 'PEM signing key (default: keys.signingKey of the configuration, else the development key)')
    .option('--aud <audience>', "audience (default: the configuration's)")
    .option('--scope <scope...>', "FlowKit-style scopes narrowing the tier, e.g. 'admin2:flows:*' or audit:read")
    .option('--config <file>', 'JSON configuration file (default: $OPALITE_CONFIG)')
    .action(reportSetupErrors(async (o: { tier: string; sub: string; ttl: string; key?: string; aud?: string; scope?: string[]; config?: string }) => {
      const [{ ConfigError, loadConfig }, { developmentKeys, loadSigningKey, mintToken, parseTtl }] = await Promise.all([
        import('../service/config.js'),
        import('../service/keys.js'),
      ]);
      const cfg = loadConfig({ file: o.config });
      if (!Object.hasOwn(cfg.tiers, o.tier)) {
        throw new ConfigError(`--tier: expected one of ${Object.keys(cfg.tiers).join(', ')}, found ${JSON.stringify(o.tier)}`);
      }
      const keyFile = o.key ?? cfg.keys.signingKey ?? developmentKeys().privateKey;
      const token = await mintToken(loadSigningKey(keyFile), {
        sub: o.sub,
        tier: o.tier,
        aud: o.aud ?? cfg.audience,
        ttl: parseTtl(o.ttl),
        scopes: o.scope,
      });
      process.stdout.write(token + '\n');
    }));
}
