import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { keyFingerprint, pseudonym, SubscriberDictionary } from '../../server/ingest/pseudonymise.js';
import { digitsKey } from '../../server/util/string-index.js';

const keyA = Buffer.alloc(32, 1);
const keyB = Buffer.alloc(32, 2);

describe('pseudonym', () => {
  it('is HMAC-SHA-256 of the trimmed id under the key', () => {
    const expected = crypto.createHmac('sha256', keyA).update('22507123456').digest('hex');
    expect(pseudonym(keyA, ' 22507123456 ').toString('hex')).toBe(expected);
  });
  it('gives the same id for the same key and another for another key', () => {
    expect(pseudonym(keyA, 'x').equals(pseudonym(keyA, 'x'))).toBe(true);
    expect(pseudonym(keyA, 'x').equals(pseudonym(keyB, 'x'))).toBe(false);
    expect(keyFingerprint(keyA)).not.toBe(keyFingerprint(keyB));
  });
});

describe('SubscriberDictionary', () => {
  it('assigns dense indexes in first-seen order and survives serialisation', () => {
    const d = new SubscriberDictionary(keyA);
    expect([d.indexOf('a'), d.indexOf('b'), d.indexOf('a'), d.indexOf('c')]).toEqual([0, 1, 0, 2]);
    const bytes = d.serialise();
    expect(bytes.length).toBe(3 * 32);
    expect(bytes.equals(Buffer.concat(['a', 'b', 'c'].map((id) => pseudonym(keyA, id))))).toBe(true);
    const again = new SubscriberDictionary(keyA, bytes);
    expect([again.indexOf('c'), again.indexOf('d'), again.indexOf('a')]).toEqual([2, 3, 0]);
    expect(again.hashOf(1)).toBe(pseudonym(keyA, 'b').toString('hex'));
  });
});

describe('SubscriberDictionary by hash', () => {
  it('agrees with a Map of hex hashes through many growths, and with indexOf on the raw ids', () => {
    const d = new SubscriberDictionary(keyA);
    const byRaw = new SubscriberDictionary(keyA);
    const map = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const id = `2250${(i * 7919) % 9_000}`;
      const h = pseudonym(keyA, id);
      const hex = h.toString('hex');
      if (!map.has(hex)) map.set(hex, map.size);
      const padded = Buffer.concat([Buffer.alloc(3), h]);
      expect(d.indexOfHash(padded, 3)).toBe(map.get(hex));
      expect(byRaw.indexOf(id)).toBe(map.get(hex));
    }
    expect(d.size).toBe(map.size);
    expect(d.serialise().equals(byRaw.serialise())).toBe(true);
    expect(d.serialise().equals(Buffer.from([...map.keys()].join(''), 'hex'))).toBe(true);
  });
});

describe('SubscriberDictionary numeric ids', () => {
  it('keeps leading zeros, lengths 1-16 and non-ASCII digits apart, each under its own HMAC', () => {
    const d = new SubscriberDictionary(keyA);
    const ids = ['123', '0123', '00123', '7', '0', '12345678901234', '123456789012345', '1234567890123456', '١٢٣', '12a3', '٠123', '99999999999999'];
    const indexes = ids.map((id) => d.indexOf(id));
    expect(indexes).toEqual(ids.map((_, i) => i));
    expect(ids.map((id) => d.indexOf(id))).toEqual(indexes);
    ids.forEach((id, i) => expect(d.hashOf(i), id).toBe(pseudonym(keyA, id).toString('hex')));
  });
});

describe('SubscriberDictionary by digits key', () => {
  it('gives the index indexOf gives, hashing the rebuilt digits, whichever of the two meets an id first', () => {
    const ids = ['123', '0123', '00123', '7', '0', '12345678901234', '99999999999999', '22507123456'];
    const key = new Int32Array(2);
    const byKey = (d: SubscriberDictionary, id: string) => {
      expect(digitsKey(Buffer.from(id), 0, id.length, key)).toBe(true);
      return d.indexOfDigitsKey(key[0]!, key[1]!);
    };
    const d = new SubscriberDictionary(keyA);
    expect(ids.map((id, i) => (i % 2 === 0 ? byKey(d, id) : d.indexOf(id)))).toEqual(ids.map((_, i) => i));
    expect(ids.map((id) => byKey(d, id))).toEqual(ids.map((_, i) => i));
    expect(ids.map((id) => d.indexOf(id))).toEqual(ids.map((_, i) => i));
    ids.forEach((id, i) => expect(d.hashOf(i), id).toBe(pseudonym(keyA, id).toString('hex')));
    // a dictionary read back from its bytes has not met the keys: it hashes them again and finds the same indexes
    const again = new SubscriberDictionary(keyA, d.serialise());
    expect(ids.map((id) => byKey(again, id))).toEqual(ids.map((_, i) => i));
    expect(again.size).toBe(ids.length);
  });

  it('adds a batch of new parser ids (indexesOf) exactly as one call per id would, digit keys and pseudonyms interleaved', () => {
    const one = new SubscriberDictionary(keyA);
    const many = new SubscriberDictionary(keyA);
    for (const d of [one, many]) d.indexOf('225070000001'); // met before the batch
    const ids = ['225070000002', 'x-1', '225070000001', '0000', '7', 'x-2', ...Array.from({ length: 40 }, (_, i) => `22507${1000 + i * 37}`)];
    const keys = new Int32Array(2 * ids.length);
    const pseudonyms: Buffer[] = [];
    const key = new Int32Array(2);
    ids.forEach((id, j) => {
      if (digitsKey(Buffer.from(id), 0, id.length, key)) keys.set(key, 2 * j);
      else pseudonyms.push(pseudonym(keyA, id));
    });
    const out = new Uint32Array(ids.length + 3);
    many.indexesOf(keys, Buffer.concat(pseudonyms), out, 3);
    expect([...out.subarray(3)]).toEqual(ids.map((id) => one.indexOf(id)));
    expect(many.serialise().equals(one.serialise())).toBe(true);
  });
});
