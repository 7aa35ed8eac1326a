/**
 * Hostile event files: random bytes and mutated CSV, Parquet, Arrow and GeoJSON
 * never crash the process or hang: a reader yields batches (bad rows reported)
 * or throws an IngestError naming the file.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
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

async function drain(file: string): Promise<'ok' | 'refused'> {
  try {
    for await (const batch of openEventSource(file)) expect(batch.length).toBeGreaterThanOrEqual(0);
    return 'ok';
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(IngestError);
    expect((e as Error).message).toContain(path.basename(file));
    return 'refused';
  }
}

describe('reader fuzz', () => {
  it('CSV and gzipped CSV: 400 mutated files read or refused cleanly', async () => {
    const r = rng(7);
    const seen = { ok: 0, refused: 0 };
    for (let i = 0; i < 400; i++) {
      const file = path.join(dir, `f${i}.csv`);
      fs.writeFileSync(file, mutate(CSV, r));
      seen[await drain(file)]++;
    }
    expect(seen.ok).toBeGreaterThan(100);
  }, 60_000);

  // Seed 11's file 133 used to cost 8 s and ~1 GB before it was refused (issue #8): see the regressions below.
  it('Parquet, Arrow and gzip files of random or mutated bytes are refused with an IngestError', async () => {
    const r = rng(11);
    for (let i = 0; i < 150; i++) {
      const ext = ['.parquet', '.arrow', '.arrows', '.csv.gz'][i % 4]!;
      const body = i % 2 ? mutate(ARROW, r) : Buffer.from(Array.from({ length: Math.floor(r() * 3000) }, () => Math.floor(r() * 256)));
      const file = path.join(dir, `b${i}${ext}`);
      fs.writeFileSync(file, body);
      await drain(file);
    }
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

  it('GeoJSON: mutated boundaries parse or are refused with an IngestError naming the file', () => {
    const r = rng(3);
    const good = JSON.stringify({
      type: 'FeatureCollection',
      features: [{ type: 'Feature', properties: { ADM1_PCODE: 'X1' }, geometry: { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] } }],
    });
    for (let i = 0; i < 500; i++) {
      const text = mutate(Buffer.from(good), r).toString('latin1');
      try {
        parseRegionLevel(text, 'admin1.geojson', 1);
      } catch (e) {
        expect(e).toBeInstanceOf(IngestError);
        expect((e as Error).message).toContain('admin1.geojson');
      }
    }
  });
});
