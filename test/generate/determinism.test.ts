import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, generateTmp, readTree } from './helpers.js';

afterAll(cleanup);

const SMALL = { subscribers: 300, days: 3, scenario: 'displacement' as const };

describe('generate: determinism', () => {
  for (const format of ['csv', 'csv.gz', 'parquet', 'arrow'] as const) {
    it(`same options give byte-identical files (${format})`, async () => {
      const a = readTree((await generateTmp({ ...SMALL, seed: 7, format })).dir);
      const b = readTree((await generateTmp({ ...SMALL, seed: 7, format })).dir);
      expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
      for (const [name, bytes] of a) expect(bytes.equals(b.get(name)!), name).toBe(true);
    });
  }

  it('a different seed gives a different dataset', async () => {
    const a = readTree((await generateTmp({ ...SMALL, seed: 7 })).dir);
    const b = readTree((await generateTmp({ ...SMALL, seed: 8 })).dir);
    for (const name of ['events/events.csv', 'cells.csv', 'regions/admin3.geojson']) {
      expect(a.get(name)!.equals(b.get(name)!), name).toBe(false);
    }
  });

  it('string seeds work and differ from numeric ones', async () => {
    const a = readTree((await generateTmp({ ...SMALL, seed: 'abc' })).dir);
    const b = readTree((await generateTmp({ ...SMALL, seed: 'abc' })).dir);
    const c = readTree((await generateTmp({ ...SMALL, seed: 1 })).dir);
    expect(a.get('events/events.csv')!.equals(b.get('events/events.csv')!)).toBe(true);
    expect(a.get('events/events.csv')!.equals(c.get('events/events.csv')!)).toBe(false);
  });

  it('the geography does not depend on the number of subscribers or days', async () => {
    const a = readTree((await generateTmp({ subscribers: 50, days: 2, seed: 3 })).dir);
    const b = readTree((await generateTmp({ subscribers: 400, days: 5, seed: 3 })).dir);
    for (const level of [1, 2, 3]) {
      const name = `regions/admin${level}.geojson`;
      expect(a.get(name)!.equals(b.get(name)!), name).toBe(true);
    }
  });
});
