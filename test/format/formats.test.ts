/** The service's sliced serialisation gives the bytes the CLI's one-go serialisation gives, in every format. */
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { serialise, serialiseSliced, type Deliverable } from '../../server/format/formats.js';
import { ROWS_PER_CHECK } from '../../server/util/slices.js';

const result = (n: number): Deliverable => ({
  query_id: 'q"1',
  columns: ['pcod', 'date', 'hour', 'value'],
  rows: Array.from({ length: n }, (_, i) => ({ pcod: i % 7 === 0 ? `a,"b"${i}` : `XX${i}`, date: '2016-01-01', hour: i % 24, value: i % 5 === 0 ? null : i * 1.5 })),
});

describe('serialiseSliced', () => {
  for (const n of [0, 1, 3 * ROWS_PER_CHECK + 5]) {
    it(`JSON and CSV are byte for byte serialise's (${n} rows)`, async () => {
      for (const format of ['json', 'csv'] as const) {
        const plain = await serialise(result(n), format);
        expect((await serialiseSliced(result(n), format)).toString('utf8')).toBe(plain);
      }
    });
  }

  it('Arrow holds the same table as serialise’s', async () => {
    const r = result(2 * ROWS_PER_CHECK + 1);
    const plain = tableFromIPC(await serialise(r, 'arrow') as Uint8Array);
    const sliced = tableFromIPC(await serialiseSliced(r, 'arrow'));
    expect(sliced.toArray().map((row) => row.toJSON())).toEqual(plain.toArray().map((row) => row.toJSON()));
    expect(sliced.numRows).toBe(r.rows.length);
  });
});
