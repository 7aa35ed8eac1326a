import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyedHash, ONE_BLOCK_MAX } from '../../server/ingest/hmac.js';
import { rng } from '../util/rng.js';

describe('KeyedHash', () => {
  it('equals node:crypto HMAC-SHA-256 for every message length 0..120, for short, block-sized and long keys', () => {
    const r = rng(5);
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
    for (const keyLength of [32, 64, 65, 100]) {
      const key = bytes(keyLength);
      const keyed = new KeyedHash(key);
      for (let n = 0; n <= 120; n++) {
        const msg = bytes(n + 7);
        const out = Buffer.alloc(40);
        keyed.digestInto(msg, 3, 3 + n, out, 5);
        const expected = crypto.createHmac('sha256', key).update(msg.subarray(3, 3 + n)).digest();
        expect(out.subarray(5, 37).toString('hex'), `key ${keyLength}, message ${n}`).toBe(expected.toString('hex'));
      }
    }
    expect(ONE_BLOCK_MAX).toBe(55);
  });
});
