/**
 * The CSV row kernel (kernels/csv.ts) against the parser it speeds up: the
 * same bytes parsed with the kernel on and off must give the same batches,
 * column for column, with the same new ids, pseudonyms, cells and rejects.
 * The rows are mostly ordinary (what the kernel takes) with mutations at each
 * of its edges: dates that do not exist, leap days, the ends of the year
 * range, seconds 60, offsets, ids of 14 and 15 digits, durations of 9 and 10
 * digits, decimals it must read exactly or hand back, memo keys of 1 to 30
 * bytes, spaces and tabs around fields, quotes, non-ASCII bytes, CRLF, blank
 * lines, and rows of the wrong width; fed in pieces of every size, so rows
 * straddle buffers.
 */
import { describe, expect, it } from 'vitest';
import { CsvEventParser, ParserIds, type ParsedEvents } from '../../server/ingest/csv-events.js';
import { TimezoneOffsets } from '../../server/util/datetime.js';
import { KeyedHash } from '../../server/ingest/hmac.js';
import { scanChunks } from '../../server/ingest/readers/csv.js';
import { digitsKey } from '../../server/util/string-index.js';
import { rng } from '../util/rng.js';

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const pad = (n: number, w: number) => String(n).padStart(w, '0');

function mutatedTime(r: () => number): string {
  const y = pick(r, [1969, 1970, 2000, 2016, 2020, 2100, 2105, 2106]);
  const mo = pick(r, [0, 1, 2, 3, 11, 12, 13]);
  const d = pick(r, [0, 1, 28, 29, 30, 31, 32]);
  const date = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}`;
  const time = `${pad(pick(r, [0, 9, 23, 24]), 2)}:${pad(pick(r, [0, 30, 59, 60]), 2)}`;
  return pick(r, [
    date,
    `${date} ${time}`,
    `${date}T${time}`,
    `${date} ${time}:${pad(pick(r, [0, 7, 59, 60, 61]), 2)}`,
    `${date} ${time}:00Z`,
    `${date}T${time}:00+01:00`,
    `${date} ${time}:00.5`,
    `${date}_${time}`,
    `${date} ${time}:0`,
  ]);
}

function ordinaryTime(r: () => number): string {
  const day = 1 + Math.floor(r() * 28);
  return `2016-${pad(1 + Math.floor(r() * 12), 2)}-${pad(day, 2)} ${pad(Math.floor(r() * 24), 2)}:${pad(Math.floor(r() * 60), 2)}:${pad(Math.floor(r() * 60), 2)}`;
}

function csv(seed: number, rows: number, header: string): string {
  const r = rng(seed);
  const columns = header.split(',');
  const msisdns = Array.from({ length: 400 }, (_, i) => `2250${pad(7000000 + i * 7919, 9)}`);
  const cells = Array.from({ length: 60 }, (_, i) => `C${'x'.repeat(i % 30)}${i}`); // 2 to 31 bytes: either side of the memo's 24
  const lines = [header];
  for (let i = 0; i < rows; i++) {
    const mutate = r() < 0.25;
    const value: Record<string, string> = {
      msisdn: pick(r, msisdns),
      datetime: ordinaryTime(r),
      cell_id: pick(r, cells),
      event_type: pick(r, ['calls', 'sms', 'sms', 'mds', 'topups']),
      outgoing: pick(r, ['true', 'false']),
      duration: pick(r, ['', '60', '7']),
      msisdn_counterpart: r() < 0.5 ? pick(r, msisdns) : '',
      recharge_amount: '',
      extra: pick(r, ['', 'x', '12']),
    };
    if (value.event_type === 'topups') value.recharge_amount = pick(r, ['5', '10.25', '0.5']);
    if (mutate) {
      const field = pick(r, columns);
      const mutations: Record<string, string[]> = {
        // Non-digits in each part of a long id (the leading digits, the ninth from last, the last eight), just either side of '0'-'9'.
        msisdn: ['', '0', '00123', '1'.repeat(14), '1'.repeat(15), '22507a', ' 22507 ', '\t22507\t', '+22507', '"22507"', 'é1', '22/0700000001', '2250:00000001', '225070000/001', '2250700000:01', '22507000000a1', '123456789', '0000000000000'],
        datetime: [mutatedTime(r), mutatedTime(r), ' 2016-01-01 00:00:00 ', '', '2016-1-01 00:00:00'],
        cell_id: ['', ' C1 ', 'C'.repeat(24), 'C'.repeat(25), 'ü', '"C1"', 'C""1'],
        event_type: ['SMS', ' calls ', 'Calls', 'voice', 'data', 'recharge', 'fax', '', 'c'.repeat(25)],
        outgoing: ['', 'TRUE', '1', '0', 't', 'f', 'yes', ' false '],
        duration: ['0', '999999999', '1234567890', '12.5', '-1', '1e3', ' 8 ', '007'],
        msisdn_counterpart: ['', '0', '1'.repeat(15), 'abc', ' 22507 '],
        recharge_amount: ['', '5', '-0', '.5', '5.', '-', '1e2', 'NaN', '123456789012345', '1234567890123456', '0.1', '-12.75', ' 3 ', '+3', '1.2.3'],
        extra: ['"q"', 'é'],
      };
      value[field] = pick(r, mutations[field] ?? ['']);
    }
    const roll = r();
    if (roll < 0.01) lines.push('');
    else if (roll < 0.02) lines.push('too,few');
    else if (roll < 0.025) lines.push(columns.map((c) => value[c]).join(',') + ',one too many');
    else lines.push(columns.map((c) => value[c]).join(','));
  }
  return lines.map((l) => l + (r() < 0.1 ? '\r\n' : '\n')).join('');
}

/** Every batch of `text` fed in pieces from `sizes`, through a parser with the kernel on or off. */
async function parseAll(text: string, useKernel: boolean, sizes: number[], batchRows: number): Promise<ParsedEvents[]> {
  const ids = new ParserIds(new KeyedHash(Buffer.alloc(32, 7)));
  const parser = new CsvEventParser('events.csv', new TimezoneOffsets('Africa/Abidjan'), ids, batchRows);
  parser.useKernel = useKernel;
  const bytes = Buffer.from(text);
  async function* pieces() {
    for (let at = 0, k = 0; at < bytes.length; k++) {
      const size = sizes[k % sizes.length]!;
      yield bytes.subarray(at, at + size);
      at += size;
    }
  }
  const batches: ParsedEvents[] = [];
  for await (const batch of scanChunks(pieces(), 'events.csv', parser, () => parser.take())) batches.push(batch);
  return batches;
}

const HEADERS = [
  'msisdn,datetime,cell_id,event_type,outgoing,duration,msisdn_counterpart,recharge_amount',
  'event_type,msisdn,extra,cell_id,datetime,outgoing,recharge_amount,duration,msisdn_counterpart',
  'msisdn,datetime,event_type,cell_id', // no outgoing: calls and sms rows are bad
];

describe('the CSV row kernel', () => {
  // More seeds for a longer search: OPALITE_CSV_FUZZ_SEEDS=50 npx vitest run test/ingest/csv-kernel.test.ts
  const seeds = Number(process.env.OPALITE_CSV_FUZZ_SEEDS ?? 1);
  const cases = HEADERS.flatMap((h, i) => Array.from({ length: seeds }, (_, k) => [i, 100 + i + 1000 * k, h] as const));
  it.each(cases)('gives what the parser alone gives (header %i, seed %i)', async (i, seed, header) => {
    const text = csv(seed, 6000, header);
    const reference = await parseAll(text, false, [1 << 20], 1000);
    const rows = reference.reduce((n, b) => n + b.length, 0);
    const rejects = reference.reduce((n, b) => n + b.rejects.length, 0);
    // The mix is what it means to be: mostly kept rows and some rejects (without outgoing, calls and sms are all rejects).
    expect(rows).toBeGreaterThan(i === 2 ? 800 : 4000);
    expect(rejects).toBeGreaterThan(i === 2 ? 4000 : 200);
    for (const sizes of [[1 << 20], [4096, 1, 777], [64, 65, 66]]) {
      const fast = await parseAll(text, true, sizes, 1000);
      expect(fast).toEqual(reference);
    }
  });

  it('reads the ordinary rows itself, whatever their time format, CRLF and spaces (the parser reads only the rest)', async () => {
    const header = 'msisdn,datetime,cell_id,event_type,outgoing,duration,msisdn_counterpart,recharge_amount';
    const times = ['2016-01-02', '2016-01-02 07:08', '2016-01-02T07:08', '2016-01-02 07:08:09', '2016-01-02T23:59:60'];
    const rows = times.flatMap((t, i) => [
      `22507000000${i},${t},C1,calls,true,60,2250700000099,`,
      ` 2250700000${i}1 ,${t}, C2 ,SMS,FALSE,,,`,
      `2250700000${i}2,${t},${'C'.repeat(24)},topups,,,,12.50\r`,
      `7${i},${t},,mds,1,0,0${i},`,
      `"2250700000${i}3",${t},C1,calls,true,60,,`, // quoted: the parser's
    ]);
    const ids = new ParserIds(new KeyedHash(Buffer.alloc(32, 7)));
    const parser = new CsvEventParser('events.csv', new TimezoneOffsets('UTC'), ids, 1000);
    parser.parse(Buffer.from([header, ...rows].join('\n') + '\n'), 0, true);
    const batch = parser.take()!;
    expect(batch.rejects).toEqual([]);
    expect(batch.length).toBe(rows.length);
    expect(parser.kernelRows).toBe(rows.length - times.length);
  });

  it('carries the store indexes it is told (know, learn) and hands over as new only the subscribers it was not told of', () => {
    const ids = new ParserIds(new KeyedHash(Buffer.alloc(32, 7)));
    const parser = new CsvEventParser('events.csv', new TimezoneOffsets('UTC'), ids, 1000);
    const keyOf = (msisdn: string) => {
      const key = new Int32Array(2);
      expect(digitsKey(Buffer.from(msisdn), 0, msisdn.length, key)).toBe(true);
      return key;
    };
    const rows = (pairs: [string, string][]) =>
      Buffer.from(['msisdn,datetime,event_type,outgoing,msisdn_counterpart', ...pairs.map(([a, b]) => `${a},2016-01-01 10:00:00,sms,true,${b}`)].join('\n') + '\n');
    const TAG = 0x80000000;
    // Another parser brought 2250700000002 to the store as index 41 before this parser met it.
    ids.know(keyOf('2250700000002'), Uint32Array.of(41));
    parser.parse(rows([['2250700000001', '2250700000002'], ['2250700000003', '2250700000001']]), 0, true);
    let batch = parser.take()!;
    expect([...batch.sub]).toEqual([(TAG | 0) >>> 0, (TAG | 1) >>> 0]);
    expect([...batch.peer]).toEqual([41, (TAG | 0) >>> 0]);
    expect([...batch.newSubscriberKeys]).toEqual([...keyOf('2250700000001'), ...keyOf('2250700000003')]);
    // The main thread answers this parser's ids (learn), and tells it of 0000000000004 (know) and again of its own 0000000000003.
    ids.learn(0, Uint32Array.of(7, 9));
    ids.know(Int32Array.from([...keyOf('2250700000004'), ...keyOf('2250700000003')]), Uint32Array.of(50, 9));
    const next = new CsvEventParser('events.csv', new TimezoneOffsets('UTC'), ids, 1000);
    next.parse(rows([['2250700000004', '2250700000003'], ['2250700000001', '2250700000005']]), 0, true);
    batch = next.take()!;
    expect([...batch.sub]).toEqual([50, 7]);
    expect([...batch.peer]).toEqual([9, (TAG | 2) >>> 0]);
    expect([...batch.newSubscriberKeys]).toEqual([...keyOf('2250700000005')]);
  });

  it('counts lines across blank lines and CRLF like the parser alone', async () => {
    const text = 'msisdn,datetime,event_type,outgoing\r\n\r\n\n22507,2016-01-01 00:00:00,sms,true\r\n\n22508,2016-01-01 00:00:01,calls,maybe\n';
    const batches = await parseAll(text, true, [5, 7], 10);
    expect(batches.flatMap((b) => b.rejects)).toEqual([{ line: 6, field: 'outgoing', reason: 'expected true, false, 1 or 0' }]);
    expect(batches.reduce((n, b) => n + b.length, 0)).toBe(1);
  });

  it('reads times by the calendar: every day of 1970-2105 it takes is the parser alone\'s', async () => {
    const r = rng(5);
    const lines = ['msisdn,datetime,event_type,outgoing'];
    for (let y = 1970; y < 2106; y += 1) {
      for (const [mo, d] of [[1, 1], [2, 28], [2, 29], [3, 1], [12, 31], [Math.ceil(r() * 12), Math.ceil(r() * 31)]]) {
        lines.push(`22507,${pad(y, 4)}-${pad(mo!, 2)}-${pad(d!, 2)} 23:59:60,sms,true`);
      }
    }
    const text = lines.join('\n') + '\n';
    const fast = await parseAll(text, true, [1 << 20], 1 << 20);
    expect(fast).toEqual(await parseAll(text, false, [1 << 20], 1 << 20));
    // Which dates exist, by the platform's calendar (Date rolls a missing day over into the next month).
    const missing = lines.slice(1).filter((l) => {
      const [y, mo, d] = l.split(',')[1]!.slice(0, 10).split('-').map(Number) as [number, number, number];
      return new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d || mo > 12;
    });
    expect(missing.filter((l) => l.includes('-02-29'))).toHaveLength(136 - 33); // leap years 1972-2104 but 2100
    expect(fast[0]!.rejects.map((x) => lines[x.line - 1])).toEqual(missing);
    expect(fast[0]!.length).toBe(lines.length - 1 - missing.length);
  });
});
