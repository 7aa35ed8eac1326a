/**
 * Hostile event files: random bytes and mutated CSV, Parquet, Arrow and GeoJSON
 * never crash the process or hang: a reader yields batches (bad rows reported)
 * or throws an IngestError naming the file.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { Message as FbMessage } from 'apache-arrow/fb/message';
import { MessageHeader as FbMessageHeader } from 'apache-arrow/fb/message-header';
import { RecordBatch as FbRecordBatch } from 'apache-arrow/fb/record-batch';
import { ByteBuffer } from 'flatbuffers';
import { afterAll, describe, expect, it } from 'vitest';
import { IngestError } from '../../server/errors.js';
import { parseRegionLevel } from '../../server/geo/regions.js';
import { openEventSource } from '../../server/ingest/readers/events.js';
import { rng } from '../util/rng.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-fuzz-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const CSV = Buffer.from(
  'msisdn,datetime,cell_id,event_type,outgoing,duration\n' +
    Array.from({ length: 50 }, (_, i) => `2250${i},2016-01-0${1 + (i % 9)} 0${i % 10}:00:00,C${i % 7},${['calls', 'sms', 'mds'][i % 3]},${i % 2 ? 'true' : 'false'},${i}`).join('\n') +
    '\n',
);
const ARROW = Buffer.from(tableToIPC(tableFromArrays({ msisdn: ['a', 'b'], datetime: ['2016-01-01 00:00:00', 'x'], event_type: ['calls', 'sms'] }), 'file'));

/** Flips, drops, repeats or inserts bytes (quotes, newlines, NULs among them). */
function mutate(bytes: Buffer, r: () => number): Buffer {
  const out = Buffer.from(bytes);
  const n = 1 + Math.floor(r() * 12);
  let b = out;
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * b.length);
    const roll = r();
    if (roll < 0.4) b[at] = [0x22, 0x0a, 0x0d, 0x2c, 0x00, 0xff, Math.floor(r() * 256)][Math.floor(r() * 7)]!;
    else if (roll < 0.7) b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + Math.floor(r() * 40)))]);
    else b = Buffer.concat([b.subarray(0, at), Buffer.from('"\n,"""\r\n'.slice(0, 1 + Math.floor(r() * 8))), b.subarray(at)]);
  }
  return b;
}

/**
 * Reads a file to its end, checking the reader's contract on every batch (source.ts RawBatch): every present
 * column holds exactly `length` values, `lines` gives one line per row, rows and bad rows come in file order
 * on lines after the header (text) or from row 1 (binary), and every bad row says what was expected.
 */
async function drain(file: string): Promise<'ok' | 'refused'> {
  const text = /\.csv(\.gz)?$/.test(file);
  let last = text ? 1 : 0;
  try {
    for await (const batch of openEventSource(file)) {
      expect(Number.isInteger(batch.length)).toBe(true);
      for (const [name, values] of Object.entries(batch.columns)) expect(values!.length, name).toBe(batch.length);
      expect(batch.lines.length).toBe(batch.length);
      const lines = [...batch.lines, ...(batch.badRows ?? []).map((b) => b.line)].sort((a, b) => a - b);
      for (const line of lines) {
        expect(line).toBeGreaterThan(last);
        last = line;
      }
      for (const bad of batch.badRows ?? []) expect(bad.reason).toMatch(/^(field \d+: )?expected /);
    }
    return 'ok';
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(IngestError);
    expect((e as Error).message).toContain(path.basename(file));
    return 'refused';
  }
}

describe('reader fuzz', () => {
  it('CSV and gzipped CSV: 400 mutated files read or refused cleanly', async () => {
    const intact = path.join(dir, 'intact.csv');
    fs.writeFileSync(intact, CSV);
    let rows = 0;
    for await (const batch of openEventSource(intact)) rows += batch.length;
    expect(rows).toBe(50);
    const r = rng(7);
    const seen = { ok: 0, refused: 0 };
    for (let i = 0; i < 400; i++) {
      const bytes = mutate(CSV, r);
      const file = path.join(dir, i % 2 ? `f${i}.csv` : `f${i}.csv.gz`);
      fs.writeFileSync(file, i % 2 ? bytes : gzipSync(bytes));
      seen[await drain(file)]++;
    }
    expect(seen.ok).toBeGreaterThan(100);
  }, 60_000);

  // Seed 11's file 133 used to cost 8 s and ~1 GB before it was refused (issue #8): see the regressions below.
  it('Parquet, Arrow and gzip files of random bytes are refused with an IngestError; mutated Arrow files are read within the contract or refused', async () => {
    const r = rng(11);
    const seen = { random: { ok: 0, refused: 0 }, mutated: { ok: 0, refused: 0 } };
    for (let i = 0; i < 150; i++) {
      const ext = ['.parquet', '.arrow', '.arrows', '.csv.gz'][(i >> 1) % 4]!;
      const mutated = i % 2 === 1;
      const body = mutated ? mutate(ARROW, r) : Buffer.from(Array.from({ length: Math.floor(r() * 3000) }, () => Math.floor(r() * 256)));
      const file = path.join(dir, `b${i}${ext}`);
      fs.writeFileSync(file, body);
      const got = await drain(file);
      seen[mutated ? 'mutated' : 'random'][got]++;
    }
    expect(seen.random).toEqual({ ok: 0, refused: 75 });
  }, 180_000);

  it('regression: an Arrow stream whose length prefix runs past the end of the file is refused, not read forever', async () => {
    const file = path.join(dir, 'truncated.arrows');
    const head = Buffer.alloc(8);
    head.writeUInt32LE(0xffffffff, 0);
    head.writeInt32LE(1_000_000, 4);
    fs.writeFileSync(file, Buffer.concat([head, Buffer.from('not a flatbuffer')]));
    const t0 = performance.now();
    expect(await drain(file)).toBe('refused');
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  /** A stream of one record batch (3 dictionary-encoded string columns, 2 rows) and where its metadata lies. */
  function craftedStream(): { bytes: Buffer; nodes: number; rowCount: number } {
    const bytes = Buffer.from(tableToIPC(tableFromArrays({ msisdn: ['a', 'b'], datetime: ['2016-01-01 00:00:00', 'x'], event_type: ['calls', 'sms'] }), 'stream'));
    let nodes = -1;
    let rowCount = -1;
    for (let pos = 0; bytes.readInt32LE(pos + 4) !== 0; ) {
      const length = bytes.readInt32LE(pos + 4);
      const message = FbMessage.getRootAsMessage(new ByteBuffer(bytes.subarray(pos + 8, pos + 8 + length)));
      if (message.headerType() === FbMessageHeader.RecordBatch) {
        const batch = message.header(new FbRecordBatch()) as FbRecordBatch;
        rowCount = pos + 8 + batch.bb_pos + batch.bb!.__offset(batch.bb_pos, 4);
        nodes = pos + 8 + batch.bb!.__vector(batch.bb_pos + batch.bb!.__offset(batch.bb_pos, 6)) - 4;
      }
      pos += 8 + length + Number(message.bodyLength());
    }
    expect(bytes.readBigInt64LE(rowCount)).toBe(2n);
    expect(bytes.readInt32LE(nodes)).toBe(3);
    return { bytes, nodes, rowCount };
  }

  async function refusedQuickly(name: string, bytes: Buffer, reason: RegExp): Promise<void> {
    const file = path.join(dir, name);
    fs.writeFileSync(file, bytes);
    const t0 = performance.now();
    await expect(drain(file)).resolves.toBe('refused');
    await expect((async () => { for await (const _ of openEventSource(file)); })()).rejects.toThrow(reason);
    expect(performance.now() - t0).toBeLessThan(5000); // a bound for a hang, not a benchmark: it was 8 s (or forever)
  }

  it('regression (#8): a record batch whose node count claims 16M entries is refused before apache-arrow builds them (was ~1 GB and 8 s)', async () => {
    const { bytes, nodes } = craftedStream();
    bytes.writeInt32LE(1 << 24, nodes);
    await refusedQuickly('node-count.arrows', bytes, /corrupt metadata: a list of 16777216 entries/);
  });

  it('regression (#8): a record batch claiming 2^40 rows in buffers of 2 is refused, not looped over', async () => {
    const { bytes, rowCount } = craftedStream();
    bytes.writeBigInt64LE(1n << 40n, rowCount);
    await refusedQuickly('row-count.arrows', bytes, /claims 1099511627776 rows/);
  });

  it('regression (#8): an IPC file whose footer claims 2 GiB is refused before that is allocated', async () => {
    const bytes = Buffer.from(tableToIPC(tableFromArrays({ msisdn: ['a', 'b'] }), 'file'));
    bytes.writeInt32LE(0x7fffffff, bytes.length - 10);
    await refusedQuickly('footer.arrow', bytes, /corrupt footer: it claims 2147483647 bytes/);
  });

  it('regression: mutated Parquet pages that make the WebAssembly decoder trap are refused with an IngestError, and the next file still reads', async () => {
    const parquet = createRequire(import.meta.url)('parquetjs-lite');
    const good = path.join(dir, 'good.parquet');
    const column = (type: string) => ({ type, optional: true, statistics: false, compression: 'SNAPPY' });
    const writer = await parquet.ParquetWriter.openFile(new parquet.ParquetSchema({ msisdn: column('UTF8'), datetime: column('UTF8'), event_type: column('UTF8') }), good);
    for (let i = 0; i < 300; i++) await writer.appendRow({ msisdn: `s${i % 37}`, datetime: '2016-01-01 00:00:00', event_type: 'calls' });
    await writer.close();
    const bytes = fs.readFileSync(good);
    const r = rng(13);
    const seen = { ok: 0, refused: 0 };
    for (let i = 0; i < 30; i++) {
      const bad = Buffer.from(bytes);
      for (let k = 0; k < 1 + Math.floor(r() * 6); k++) bad[4 + Math.floor(r() * (bad.length - 12))] = Math.floor(r() * 256);
      const file = path.join(dir, `mutated${i}.parquet`);
      fs.writeFileSync(file, bad);
      seen[await drain(file)]++;
    }
    expect(seen.refused).toBeGreaterThan(10);
    let rows = 0;
    for await (const batch of openEventSource(good)) rows += batch.length;
    expect(rows).toBe(300);
  }, 60_000);

  /** What later stages rely on in a parsed level (regions.ts): a p-code, closed rings of WGS84 positions, their bbox. */
  function expectWellFormed(level: ReturnType<typeof parseRegionLevel>, text: string): void {
    expect([level.level, level.unit]).toEqual([1, 'admin1']);
    for (const region of level.regions) {
      expect(typeof region.pcod === 'string' && region.pcod.length > 0, text).toBe(true);
      const positions = region.polygons.flat(1).flatMap((ring) => {
        expect(ring.length, text).toBeGreaterThanOrEqual(4);
        expect(ring.at(-1), text).toEqual(ring[0]);
        return ring;
      });
      for (const [lon, lat] of positions) expect(Math.abs(lon!) <= 180 && Math.abs(lat!) <= 90, text).toBe(true);
      const lons = positions.map((q) => q[0]!);
      const lats = positions.map((q) => q[1]!);
      expect(region.bbox, text).toEqual([Math.min(...lons), Math.min(...lats), Math.max(...lons), Math.max(...lats)]);
      // Finite, not necessarily >= 0: a hole reaching outside its outer ring is accepted today and gives a negative area.
      expect(Number.isFinite(region.areaKm2), text).toBe(true);
    }
  }

  /** Parses `text`: a well-formed level, or an IngestError naming the file. */
  function parseOrRefuse(text: string): 'ok' | 'refused' {
    let level: ReturnType<typeof parseRegionLevel>;
    try {
      level = parseRegionLevel(text, 'admin1.geojson', 1);
    } catch (e) {
      expect(e, text).toBeInstanceOf(IngestError);
      expect((e as Error).message).toContain('admin1.geojson');
      return 'refused';
    }
    expectWellFormed(level, text);
    return 'ok';
  }

  const square = () => [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]], [[0.5, 0.5], [0.5, 1], [1, 1], [1, 0.5], [0.5, 0.5]]];
  const collection = () => ({
    type: 'FeatureCollection',
    features: [
      { type: 'Feature', properties: { ADM1_PCODE: 'X1', ADM1_EN: 'One' }, geometry: { type: 'Polygon', coordinates: square() } },
      { type: 'Feature', properties: { ADM1_PCODE: 'X2' }, geometry: { type: 'MultiPolygon', coordinates: [square().map((ring) => ring.map(([x, y]) => [x! + 3, y!]))] } },
    ],
  });

  it('GeoJSON: the intact file parses into its regions, rings closed and bboxes exact', () => {
    const level = parseRegionLevel(JSON.stringify(collection()), 'admin1.geojson', 1);
    expect(level.regions.map((g) => [g.pcod, g.name, g.bbox])).toEqual([['X1', 'One', [0, 0, 2, 2]], ['X2', 'X2', [3, 0, 5, 2]]]);
    expect(level.regions[0]!.polygons).toEqual([square()]);
  });

  it('GeoJSON: byte-mutated boundaries parse into well-formed regions or are refused with an IngestError naming the file', () => {
    const r = rng(3);
    const good = JSON.stringify(collection());
    const seen = { ok: 0, refused: 0 };
    for (let i = 0; i < 500; i++) seen[parseOrRefuse(mutate(Buffer.from(good), r).toString('latin1'))]++;
    expect(seen.refused).toBeGreaterThan(0);
  });

  it('GeoJSON: structurally edited boundaries (positions moved, dropped or unclosed, wrong types, renamed properties) parse well-formed or are refused', () => {
    const r = rng(5);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const values = [() => r() * 400 - 200, () => r() * 360 - 180, () => '1', () => null, () => [1, 2], () => 1e308 * 10];
    const seen = { ok: 0, refused: 0 };
    for (let i = 0; i < 400; i++) {
      const fc = collection();
      for (let n = 1 + Math.floor(r() * 3); n > 0; n--) {
        // Feature 0 holds a Polygon's rings, feature 1 a MultiPolygon's (whatever type an edit gives them later).
        const f = Math.floor(r() * 2);
        const feature = fc.features[f] as { properties: Record<string, unknown>; geometry: { type: string; coordinates: unknown } };
        const rings = (f === 0 ? feature.geometry.coordinates : (feature.geometry.coordinates as unknown[][])[0]) as unknown[][];
        const ring = pick(rings) as unknown[];
        const edit = Math.floor(r() * 7);
        if (edit === 0 && ring.length > 0) (ring[Math.floor(r() * ring.length)] as unknown[])[Math.floor(r() * 2)] = pick(values)();
        else if (edit === 1) ring.splice(Math.floor(r() * ring.length), 1);
        else if (edit === 2) ring.pop(); // unclosed: closed by the reader when 3 positions remain distinct
        else if (edit === 3) ring.push([r() * 10, r() * 10]);
        else if (edit === 4) feature.geometry.type = pick(['Polygon', 'MultiPolygon', 'Point', 'LineString']);
        else if (edit === 5) feature.properties = { [pick(['adm1_pcode', 'PCODE', 'name', 'ADM2_PCODE'])]: pick(['X9', '', 7, null]) };
        else rings.push(square()[0]!.map(([x, y]) => [x! / 4 + 1.5, y! / 4 + 1.5]));
      }
      seen[parseOrRefuse(JSON.stringify(fc))]++;
    }
    // Both outcomes occur, so both branches' checks ran.
    expect(seen.ok).toBeGreaterThan(50);
    expect(seen.refused).toBeGreaterThan(50);
  });
});
