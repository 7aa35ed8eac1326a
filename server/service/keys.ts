/**
 * Signing keys and tokens. A deployment signs its tokens with an Ed25519
 * (EdDSA) or RSA (RS256) private key; the service verifies with the public
 * halves. Keys are PEM files written with mode 0600; a development pair is
 * generated once under OPALITE_HOME, never inside the repository.
 */
import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';
import { serviceHome, SetupError } from './config.js';

export type KeyAlgorithm = 'EdDSA' | 'RS256';

export interface VerifyKey {
  kid: string;
  alg: KeyAlgorithm;
  key: KeyObject;
  file: string;
}

export interface SigningKey {
  kid: string;
  alg: KeyAlgorithm;
  key: KeyObject;
}

export interface KeyPairFiles {
  privateKey: string;
  publicKey: string;
  kid: string;
}

export class KeyError extends SetupError {
  override name = 'KeyError';
}

/** The algorithm a key signs with, from its type; other key types are refused. */
function algorithmOf(key: KeyObject, file: string): KeyAlgorithm {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new KeyError(`${file}: expected an RSA key of at least 2048 bits, found ${bits}`);
    return 'RS256';
  }
  throw new KeyError(`${file}: expected an Ed25519 or RSA key, found ${key.asymmetricKeyType ?? 'a symmetric key'}`);
}

/** A short public identifier of a key: the first 16 base64url characters of the SHA-256 of its SPKI. */
export function keyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return crypto.createHash('sha256').update(der).digest('base64url').slice(0, 16);
}

function readPem(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    throw new KeyError(`${file}: expected a PEM ${what}, found no readable file`);
  }
}

export function loadPublicKey(file: string): VerifyKey {
  let key: KeyObject;
  try {
    key = crypto.createPublicKey(readPem(file, 'public key'));
  } catch (e) {
    if (e instanceof KeyError) throw e;
    throw new KeyError(`${file}: expected a PEM public key, found something else`);
  }
  return { kid: keyId(key), alg: algorithmOf(key, file), key, file };
}

export function loadSigningKey(file: string): SigningKey {
  let key: KeyObject;
  try {
    key = crypto.createPrivateKey(readPem(file, 'private key'));
  } catch (e) {
    // Never echo the file's content: it is a secret.
    if (e instanceof KeyError) throw e;
    throw new KeyError(`${file}: expected a PEM private key, found something else`);
  }
  return { kid: keyId(crypto.createPublicKey(key)), alg: algorithmOf(key, file), key };
}

/** Writes a new key pair into `dir` (signing.pem, public.pem, both 0600); refuses to overwrite. */
export function createKeyPair(dir: string, alg: KeyAlgorithm = 'EdDSA', names = { privateKey: 'signing.pem', publicKey: 'public.pem' }): KeyPairFiles {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey, publicKey } =
    alg === 'EdDSA' ? crypto.generateKeyPairSync('ed25519') : crypto.generateKeyPairSync('rsa', { modulusLength: 3072 });
  const files = { privateKey: path.join(dir, names.privateKey), publicKey: path.join(dir, names.publicKey) };
  for (const f of Object.values(files)) {
    if (fs.existsSync(f)) throw new KeyError(`${f}: expected no file (keys are never overwritten), found one`);
  }
  fs.writeFileSync(files.privateKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  fs.writeFileSync(files.publicKey, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  return { ...files, kid: keyId(publicKey) };
}

/** The development key pair under OPALITE_HOME/service, created on first use. */
export function developmentKeys(home = serviceHome()): KeyPairFiles {
  const names = { privateKey: 'dev-signing.pem', publicKey: 'dev-public.pem' };
  const privateKey = path.join(home, names.privateKey);
  const publicKey = path.join(home, names.publicKey);
  if (fs.existsSync(privateKey) && fs.existsSync(publicKey)) return { privateKey, publicKey, kid: loadPublicKey(publicKey).kid };
  return createKeyPair(home, 'EdDSA', names);
}

/** '90s', '15m', '12h', '7d' or plain seconds -> seconds. */
export function parseTtl(text: string): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new KeyError(`ttl: expected a duration like 90s, 15m, 12h or 7d, found ${JSON.stringify(text)}`);
  const n = Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  if (n <= 0) throw new KeyError(`ttl: expected a positive duration, found ${JSON.stringify(text)}`);
  return n;
}

export interface TokenClaims {
  sub: string;
  tier: string;
  aud: string;
  /** Lifetime in seconds. */
  ttl: number;
  /** FlowKit-style scope strings narrowing the tier further. */
  scopes?: string[];
  iss?: string;
}

/**
 * A signed JWT with sub, aud, iat, exp, tier (and scopes when given). `identity` repeats
 * sub: FlowClient's Connection reads the user's name from that claim (FlowAuth's tokens of
 * flask-jwt-extended 3 carried it), and refuses a token without it before any request.
 */
export async function mintToken(signing: SigningKey, c: TokenClaims): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ tier: c.tier, identity: c.sub, ...(c.scopes?.length ? { scopes: c.scopes } : {}) })
    .setProtectedHeader({ alg: signing.alg, typ: 'JWT', kid: signing.kid })
    .setSubject(c.sub)
    .setAudience(c.aud)
    .setIssuedAt(now)
    .setExpirationTime(now + c.ttl);
  if (c.iss) jwt.setIssuer(c.iss);
  return jwt.sign(signing.key);
}
