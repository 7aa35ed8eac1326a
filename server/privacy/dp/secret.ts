/**
 * The DP noise secret: noise is keyed by it, so whoever holds it can remove
 * the noise. It lives in a file of mode 0600 (never in the configuration or a
 * log): at least 32 bytes, raw or as hex. Without one configured, a development
 * secret is created once in `devHome` (like the development signing key).
 */
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export class SecretError extends Error {
  override name = 'SecretError';
}

export function readSecret(file: string): Buffer {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch {
    throw new SecretError(`${file}: expected the DP secret file (32 bytes or more, raw or hex), found no readable file`);
  }
  const text = raw.toString('utf8').trim();
  const secret = /^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0 ? Buffer.from(text, 'hex') : raw;
  if (secret.length < 32) throw new SecretError(`${file}: expected a DP secret of at least 32 bytes, found ${secret.length}`);
  return secret;
}

/** The configured secret file, else the development one under `devHome` (created on first use). */
export function dpSecret(file: string, devHome: string): Buffer {
  if (file) return readSecret(file);
  const dev = path.join(devHome, 'dp-secret.hex');
  if (!fs.existsSync(dev)) {
    fs.mkdirSync(devHome, { recursive: true, mode: 0o700 });
    try {
      fs.writeFileSync(dev, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return readSecret(dev);
}

/**
 * A short public name of the secret (HMAC of a fixed label: it tells nothing of the secret), for the budget
 * ledger: a charge is for one draw of noise, and a new secret draws new noise for the same query id or
 * publication, so the ledger keys a charge by both. Without it, a rotated secret (or one lost and
 * regenerated) gave every query and publication already paid for a second, independent draw for free
 * (test/privacy/attack-rotation.test.ts).
 */
export function secretFingerprint(secret: Uint8Array): string {
  return createHmac('sha256', secret).update('opalite dp secret fingerprint').digest('hex').slice(0, 16);
}
