/**
 * Finished query results on disk, so that a restart keeps them: /poll and
 * /get of an id from before the restart still answer, and running the same
 * spec again is a cache hit. One file per query id (the content hash of the
 * normalised spec and the store version), stamped with the store it was
 * computed on (version and manifest time, so a store rebuilt from scratch
 * does not inherit results), checksummed; a file that is cut, altered or
 * written for another store is ignored and removed. The folder is bounded in
 * bytes: the least recently used results go first.
 *
 * File: one header line `opalite-result/1 <sha256 of body> <body bytes>`,
 * then the body: JSON {id, stamp, json, result}, where `json` is the spec as
 * submitted (re-parsed on load, and its id checked against the file's).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { QueryResult } from '../engine/engine.js';
import { drainSliced, jsonArrayChunks, Slicer } from '../util/slices.js';

const FORMAT = 'opalite-result/1';
const ID = /^[0-9a-f]{64}$/;

export interface KeptResult {
  /** The spec as it was submitted. */
  json: unknown;
  result: QueryResult;
}

export class ResultStore {
  constructor(
    readonly dir: string,
    private readonly maxBytes: number,
    /** Called when a result cannot be kept or a kept one is unreadable: the cache is an optimisation, never fatal. */
    private readonly onProblem: (message: string, e?: unknown) => void = () => {},
  ) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  private file(id: string): string {
    return path.join(this.dir, `${id}.result`);
  }

  /** The result kept for `id` on the store `stamp`, or undefined (absent, another store's, or corrupt: then removed). */
  get(id: string, stamp: string): KeptResult | undefined {
    if (!ID.test(id)) return undefined;
    const file = this.file(id);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      return undefined;
    }
    const why = checkFile(bytes, id, stamp);
    if (typeof why === 'string') {
      this.onProblem(`${file}: ${why}; ignored and removed`);
      fs.rmSync(file, { force: true });
      return undefined;
    }
    // Recently used: eviction goes by modification time.
    const now = new Date();
    fs.utimes(file, now, now, () => {});
    return why;
  }

  /** Keeps a finished result (atomically: a temporary file, then a rename). Never rejects: a full disk only costs the cache. */
  async put(id: string, stamp: string, json: unknown, result: QueryResult): Promise<void> {
    if (!ID.test(id)) return;
    // The rows in slices of the event loop (a million rows is a second of JSON.stringify); the same JSON as
    // JSON.stringify({id, stamp, json, result}) but for the order of result's keys (rows last).
    const slicer = new Slicer();
    const { rows, ...rest } = result;
    const head = JSON.stringify({ id, stamp, json, result: rest });
    const parts = [Buffer.from(`${head.slice(0, -2)},"rows":`), ...(await drainSliced(jsonArrayChunks(rows), slicer)), Buffer.from('}}')];
    const hash = crypto.createHash('sha256');
    let bodyBytes = 0;
    for (const part of parts) {
      hash.update(part);
      bodyBytes += part.length;
      await slicer.tick();
    }
    const header = Buffer.from(`${FORMAT} ${hash.digest('hex')} ${bodyBytes}\n`);
    if (header.length + bodyBytes > this.maxBytes) return;
    const body = parts;
    const file = this.file(id);
    const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    try {
      await fs.promises.writeFile(tmp, Readable.from([header, ...body]), { mode: 0o600 });
      await fs.promises.rename(tmp, file);
      await this.evict();
    } catch (e) {
      await fs.promises.rm(tmp, { force: true });
      this.onProblem(`${file}: could not keep the result`, e);
    }
  }

  /** Removes the least recently used results until the folder holds at most maxBytes. */
  private async evict(): Promise<void> {
    const entries: { file: string; bytes: number; used: number }[] = [];
    for (const name of await fs.promises.readdir(this.dir)) {
      if (!name.endsWith('.result')) continue;
      const file = path.join(this.dir, name);
      try {
        const st = await fs.promises.stat(file);
        entries.push({ file, bytes: st.size, used: st.mtimeMs });
      } catch {
        // Removed meanwhile.
      }
    }
    let total = entries.reduce((n, e) => n + e.bytes, 0);
    entries.sort((a, b) => a.used - b.used);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      await fs.promises.rm(e.file, { force: true });
      total -= e.bytes;
    }
  }
}

/** The kept result in `bytes`, or why it cannot be used. */
function checkFile(bytes: Buffer, id: string, stamp: string): KeptResult | string {
  const nl = bytes.indexOf(0x0a);
  if (nl < 0) return 'no header line (cut)';
  const [format, sha, length] = bytes.subarray(0, nl).toString('latin1').split(' ');
  if (format !== FORMAT) return `expected format ${FORMAT}, found ${JSON.stringify(format?.slice(0, 40))}`;
  const body = bytes.subarray(nl + 1);
  if (body.length !== Number(length)) return `expected ${length} bytes of body, found ${body.length} (cut or appended to)`;
  if (crypto.createHash('sha256').update(body).digest('hex') !== sha) return 'its checksum does not match (the file was altered)';
  let parsed: { id?: unknown; stamp?: unknown; json?: unknown; result?: unknown };
  try {
    parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
  } catch {
    return 'its body is not JSON';
  }
  if (parsed.id !== id) return `expected the result of ${id}, found ${String(parsed.id).slice(0, 64)}`;
  if (parsed.stamp !== stamp) return 'computed on another version of the store';
  if (parsed.result === null || typeof parsed.result !== 'object') return 'no result in it';
  return { json: parsed.json, result: parsed.result as QueryResult };
}
