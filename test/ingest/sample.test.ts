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

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-sample-'));
  process.env.OPALITE_PSEUDONYM_KEY = '12'.repeat(32);
  summary = await ingest({ dataset: SAMPLE, store: path.join(root, 'store') });
});
afterAll(() => {
  delete process.env.OPALITE_PSEUDONYM_KEY;
  fs.rmSync(root, { recursive: true, force: true });
});

describe('the embedded sample', () => {
  it('ingests every row into 14 days', () => {
    expect(summary.rejected).toBe(0);
    expect(summary.kept).toBe(summary.rows);
    expect(summary.rows).toBeGreaterThan(100_000);
    expect(summary.days).toHaveLength(14);
  });

  it('leaves no raw MSISDN in any store file', () => {
    const text = zlib.gunzipSync(fs.readFileSync(path.join(SAMPLE, 'events', 'events.csv.gz'))).toString('latin1');
    const ids = new Set<string>();
    for (const line of text.split('\n').slice(1)) {
      const f = line.split(',');
      if (f[0]) ids.add(f[0]);
      if (f[6]) ids.add(f[6]);
    }
    expect(ids.size).toBeGreaterThan(3000);
    const lengths = new Set([...ids].map((id) => id.length));
    const digits = Math.min(...lengths);
    const run = new RegExp(`\\d{${digits},}`, 'g');
    const files = fs.readdirSync(path.join(root, 'store'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    expect(files.length).toBeGreaterThan(14 * 4);
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
