import { describe, expect, it } from 'vitest';
import { StringIndex } from '../../server/util/string-index.js';

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
