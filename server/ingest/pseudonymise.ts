/**
 * Pseudonymisation at ingest: every subscriber id (and counterpart) becomes a
 * keyed hash, HMAC-SHA-256 under a deployment secret, before anything is stored.
 * The raw id lives only in this process's memory, as a cache key, while a file
 * is read; it never reaches the store, a log or an error message.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IngestError } from '../errors.js';
import { StringIndex } from '../util/string-index.js';

export const HASH_BYTES = 32;

/** The pseudonymisation key: from OPALITE_PSEUDONYM_KEY, a key file, or a generated development key. */
export interface PseudonymKey {
  key: Buffer;
  /** Where it came from, for messages (never the key itself). */
  source: string;
}

/** Default home for development secrets: outside any repository. */
export function opaliteHome(): string {
  return process.env.OPALITE_HOME ?? path.join(os.homedir(), '.config', 'opalite');
}

/**
 * Resolves the key: the environment variable (hex or base64, at least 32 bytes)
 * wins, then `keyFile`, then a development key generated once under
 * opaliteHome() with mode 0600.
 */
export function loadPseudonymKey(keyFile?: string): PseudonymKey {
  const fromEnv = process.env.OPALITE_PSEUDONYM_KEY;
  if (fromEnv) return { key: decodeKey(fromEnv, 'OPALITE_PSEUDONYM_KEY'), source: 'OPALITE_PSEUDONYM_KEY' };
  const file = keyFile ?? path.join(opaliteHome(), 'pseudonym.key');
  if (!fs.existsSync(file)) {
    if (keyFile) throw new IngestError('KEY_MISSING', `${file}: pseudonymisation key file does not exist`);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return { key: decodeKey(fs.readFileSync(file, 'utf8').trim(), file), source: file };
}

function decodeKey(text: string, source: string): Buffer {
  const key = /^[0-9a-fA-F]+$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length < 32) {
    throw new IngestError('KEY_TOO_SHORT', `${source}: expected a key of at least 32 bytes, found ${key.length}`);
  }
  return key;
}

/** A public identifier of the key, so a store refuses ids hashed under another key. */
export function keyFingerprint(key: Buffer): string {
  return crypto.createHmac('sha256', key).update('opalite/key-fingerprint/v1').digest('hex').slice(0, 16);
}

/** HMAC-SHA-256 of one identifier. Ids are trimmed first so ` 123` and `123` are one subscriber. */
export function pseudonym(key: Buffer, id: string): Buffer {
  return crypto.createHmac('sha256', key).update(id.trim(), 'utf8').digest();
}

/**
 * Dense subscriber indexes: index i is the i-th distinct pseudonym the store has
 * seen, so kernels address per-subscriber state with plain arrays. Persisted as
 * the concatenation of the 32-byte hashes in index order.
 */
export class SubscriberDictionary {
  private readonly byHash = new Map<string, number>();
  private readonly hashes: Buffer[] = [];
  /** Raw id -> index, only for this process's lifetime: saves one HMAC per row. */
  private readonly rawCache = new StringIndex();
  /** rawCache slot -> subscriber index. */
  private readonly rawIndex: number[] = [];

  constructor(private readonly key: Buffer, persisted?: Buffer) {
    if (persisted) {
      if (persisted.length % HASH_BYTES !== 0) throw new Error('subscriber dictionary length is not a multiple of 32');
      for (let i = 0; i < persisted.length; i += HASH_BYTES) {
        const h = persisted.subarray(i, i + HASH_BYTES);
        this.byHash.set(h.toString('base64'), this.hashes.length);
        this.hashes.push(h);
      }
    }
  }

  get size(): number {
    return this.hashes.length;
  }

  /** The index of a raw identifier, adding it when new. */
  indexOf(rawId: string): number {
    const slot = this.rawCache.get(rawId);
    if (slot >= 0) return this.rawIndex[slot]!;
    const h = pseudonym(this.key, rawId);
    const k = h.toString('base64');
    let index = this.byHash.get(k);
    if (index === undefined) {
      index = this.hashes.length;
      this.byHash.set(k, index);
      this.hashes.push(h);
    }
    this.rawIndex[this.rawCache.add(rawId)] = index;
    return index;
  }

  /** The pseudonym of an index, hex, as results that need a stable id would show it. */
  hashOf(index: number): string {
    return this.hashes[index]!.toString('hex');
  }

  serialise(): Buffer {
    return Buffer.concat(this.hashes);
  }
}
