import { describe, expect, it } from 'vitest';
import { ByteStringIndex, digitsKey, digitsOfKey, IntPairIndex, StringIndex } from '../../server/util/string-index.js';

describe('StringIndex', () => {
  it('agrees with a Map on 200k ids, through many growths, with colliding-looking keys', () => {
    const index = new StringIndex(4);
    const map = new Map<string, number>();
    for (let i = 0; i < 200_000; i++) {
      const key = `2250${(i * 7919) % 150_000}`.padStart(13, '0');
      if (!map.has(key)) map.set(key, map.size);
      expect(index.add(key)).toBe(map.get(key));
    }
    expect(index.size).toBe(map.size);
    for (const [key, value] of map) expect(index.get(key)).toBe(value);
    expect(index.get('not there')).toBe(-1);
    expect(index.get('')).toBe(-1);
    expect(index.add('')).toBe(map.size);
  });
});

describe('ByteStringIndex', () => {
  it('agrees with a Map on 50k byte keys read from the middle of buffers, through many growths', () => {
    const index = new ByteStringIndex(4);
    const map = new Map<string, number>();
    const got: number[] = [];
    const want: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      const key = `2250${(i * 7919) % 40_000}`.slice(0, 1 + (i % 14));
      if (!map.has(key)) map.set(key, map.size);
      const buf = Buffer.from(`,,${key},`);
      got.push(index.add(buf, 2, 2 + key.length));
      want.push(map.get(key)!);
    }
    expect(got).toEqual(want);
    expect(index.size).toBe(map.size);
    const back = [...map.keys()].map((key) => [index.get(Buffer.from(key), 0, key.length), Buffer.from(index.key(map.get(key)!)).toString()]);
    expect(back).toEqual([...map.entries()].map(([key, value]) => [value, key]));
    expect(index.get(Buffer.from('x'), 0, 1)).toBe(-1);
    expect(index.get(Buffer.from('x'), 0, 0)).toBe(-1);
  });
});

describe('IntPairIndex', () => {
  it('agrees with a Map on 50k pairs, through many growths, including negative and zero halves', () => {
    const index = new IntPairIndex(4);
    const map = new Map<string, number>();
    const got: number[] = [];
    const want: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      const hi = ((i * 7919) % 3000) - 1500;
      const lo = (i * 104729) % 7000;
      const key = `${hi}:${lo}`;
      if (!map.has(key)) map.set(key, map.size);
      got.push(index.getOrAdd(hi, lo, index.size));
      want.push(map.get(key)!);
    }
    expect(got).toEqual(want);
    expect(index.size).toBe(map.size);
  });
});

describe('digitsOfKey', () => {
  it('gives back the exact digits digitsKey packed: every length 1-14, leading zeros, nines', () => {
    const key = new Int32Array(2);
    const out = new Uint8Array(14);
    const ids = ['0', '7', '00', '0123', '123456789', '0000000000', '1234567890', '00000000000001', '99999999999999', '22507123456', '10000000000000'];
    for (let n = 1; n <= 14; n++) ids.push(Array.from({ length: n }, (_, i) => String((i * 7 + n) % 10)).join(''));
    for (const id of ids) {
      const bytes = Buffer.from(id, 'latin1');
      expect(digitsKey(bytes, 0, bytes.length, key), id).toBe(true);
      expect(key[0], id).not.toBe(0);
      const n = digitsOfKey(key[0]!, key[1]!, out);
      expect(Buffer.from(out.subarray(0, n)).toString('latin1')).toBe(id);
    }
  });
});
