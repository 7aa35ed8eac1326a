/** The embedded sample: it ingests cleanly, and no raw MSISDN of it reaches any store file. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingest, type IngestSummary } from '../../server/ingest/ingest.js';

const SAMPLE = path.resolve('data/sample');
let root: string;
let summary: IngestSummary;
/** The events file, decompressed once. */
let raw: Buffer;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-sample-'));
  process.env.OPALITE_PSEUDONYM_KEY = '12'.repeat(32);
  summary = await ingest({ dataset: SAMPLE, store: path.join(root, 'store') });
  raw = zlib.gunzipSync(fs.readFileSync(path.join(SAMPLE, 'events', 'events.csv.gz')));
});
afterAll(() => {
  delete process.env.OPALITE_PSEUDONYM_KEY;
  fs.rmSync(root, { recursive: true, force: true });
});

describe('the embedded sample', () => {
  it('ingests every row into its 94 days, 2016-01-01 to 2016-04-03 (data/sample/dataset.json)', () => {
    expect(summary.rejected).toBe(0);
    expect(summary.kept).toBe(summary.rows);
    // Every line of the events file but its header (the file ends with a newline).
    let lines = 0;
    for (let i = raw.indexOf(10); i !== -1; i = raw.indexOf(10, i + 1)) lines++;
    expect(raw.at(-1)).toBe(10);
    expect(summary.rows).toBe(lines - 1);
    // By hand: 31 (January) + 29 (February 2016) + 31 (March) + 3 (April) days.
    expect(summary.days).toHaveLength(94);
    expect([summary.days[0], summary.days.at(-1)]).toEqual(['2016-01-01', '2016-04-03']);
  });

  it('leaves no raw MSISDN in any store file', () => {
    // The ids of the first 14 days (the file is in time order): all 3,000 subscribers and most parties on other
    // networks; the other 80 days would add minutes of parsing, not another kind of id.
    const cut = raw.indexOf(',2016-01-15 ');
    expect(cut).toBeGreaterThan(0);
    const text = raw.subarray(0, raw.lastIndexOf(10, cut)).toString('latin1');
    const ids = new Set<string>();
    for (const line of text.split('\n').slice(1)) {
      const f = line.split(',');
      if (f[0]) ids.add(f[0]);
      if (f[6]) ids.add(f[6]);
    }
    // Every subscriber of the sample (dataset.json: 3,000, numbered 22507 + 8 digits) is among them.
    expect([...ids].filter((id) => id.startsWith('22507'))).toHaveLength(3000);
    const lengths = new Set([...ids].map((id) => id.length));
    const digits = Math.min(...lengths);
    const run = new RegExp(`\\d{${digits},}`, 'g');
    const files = fs.readdirSync(path.join(root, 'store'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.length).toBeGreaterThan(94 * 4);
    for (const e of files) {
      const body = fs.readFileSync(path.join(e.parentPath, e.name)).toString('latin1');
      for (const m of body.match(run) ?? []) {
        for (const n of lengths) {
          for (let i = 0; i + n <= m.length; i++) expect(ids.has(m.slice(i, i + n)), `${e.name} holds a raw MSISDN`).toBe(false);
        }
      }
    }
  });
});
