/**
 * The audit log: one JSON line per request, append-only and hash-chained.
 * Each entry carries `prev` (the previous entry's hash) and `hash` =
 * sha256(prev + canonical JSON of the entry without its hash), and `seq`
 * counts from 1, so an edited, removed, reordered or cut line breaks the chain
 * at a line that verifyAuditLog names.
 *
 * Durability: every entry is written with one write(2) on a file opened with
 * O_APPEND before the response it records is sent, so it survives a crash of
 * the process. fsync policy (config audit.fsync): `always` fdatasyncs after
 * every entry (survives a power cut, costs a disk flush per request);
 * `interval` (the default) fdatasyncs at most every fsyncIntervalMs while
 * entries are pending, so a power cut loses at most that much; `never` leaves
 * it to the OS. close() always flushes.
 *
 * A full disk fails closed: an entry that cannot be written whole is cut back
 * off the file (so the chain stays intact and the next entry continues it)
 * and append throws AUDIT_FAILED, which the REST edge and the stream turn into
 * a refusal: nothing is served that the log does not record. While failing,
 * the log retries on a timer (retryMs) by appending an `audit resumed` entry
 * that names when the failures began: health (/healthz) comes back by itself
 * once the operator has made room, not only when a request happens to write,
 * and the outage is recorded in the chain.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../engine/spec.js';
import { type FsyncPolicy, SetupError } from './config.js';

export const GENESIS = '0'.repeat(64);

/** What the service records of one request or stream operation. */
export interface AuditRecord {
  sub: string | null;
  tier: string | null;
  /** The route or stream operation: 'POST /run', 'GET /get', 'stream subscribe', ... */
  op: string;
  /** HTTP status, or the stream outcome ('ok', an error code). */
  status: number | string;
  /** The normalised spec (never a raw one: a bad spec could hold anything). */
  spec?: unknown;
  query_id?: string;
  /** Rows returned and rows withheld by redaction. */
  rows?: number;
  withheld?: number;
  /** Format, unit, error code, subscription id: what else tells what was returned. */
  detail?: string;
  /** DP tiers: the privacy budget after the request (charged: whether it spent rho), for the oversight committee. */
  budget?: { charged: boolean; spent: number; remaining: number; period: string };
}

export interface AuditEntry extends AuditRecord {
  seq: number;
  time: string;
  prev: string;
  hash: string;
}

export function entryHash(prev: string, body: Omit<AuditEntry, 'hash'>): string {
  return crypto.createHash('sha256').update(prev).update(canonicalJson(body)).digest('hex');
}

export class AuditError extends SetupError {
  override name = 'AuditError';
  readonly code = 'AUDIT_FAILED';
}

/** The file calls the log writes through; tests substitute a disk that fills up. */
export interface AuditIo {
  writeSync(fd: number, data: Uint8Array, offset: number): number;
  fdatasyncSync(fd: number): void;
  ftruncateSync(fd: number, len: number): void;
}
const nodeIo: AuditIo = {
  writeSync: (fd, data, offset) => fs.writeSync(fd, data, offset),
  fdatasyncSync: fs.fdatasyncSync,
  ftruncateSync: fs.ftruncateSync,
};

export class AuditLog {
  private fd: number;
  private seq: number;
  private prev: string;
  private dirty = false;
  private timer: NodeJS.Timeout | null = null;
  /** Bytes of whole entries in the file: where a failed write is cut back to. */
  private size: number;
  /** False from a failed write or flush until the next one succeeds (/healthz reports it). */
  healthy = true;
  /** Writes and flushes that failed, since start (/metrics). */
  failures = 0;
  /** Called with each failure, for the server log (the timer's retries are not reported again). */
  onFailure?: (e: unknown) => void;
  /**
   * Called with the chain's state {seq, head, time} at most every checkpointMs
   * while entries are added, and on close: the server writes it to a second
   * sink (its own log, journald) that anchors the chain (audit-anchor.ts).
   */
  onCheckpoint?: (cp: { seq: number; head: string; time: string }) => void;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private checkpointed = -1;
  /** While unhealthy: the retry timer, when the failures began, and why. */
  private retry: NodeJS.Timeout | null = null;
  private failingSince: { time: string; why: string } | null = null;

  private constructor(
    readonly file: string,
    private readonly policy: FsyncPolicy,
    private readonly intervalMs: number,
    head: { seq: number; hash: string },
    private readonly io: AuditIo,
    private readonly retryMs: number,
    private readonly checkpointMs: number,
  ) {
    this.seq = head.seq;
    this.prev = head.hash;
    this.fd = fs.openSync(file, 'a', 0o600);
    this.size = fs.fstatSync(this.fd).size;
  }

  /** Opens (or creates) the log and continues its chain; refuses a log whose last line is cut or altered. */
  static open(file: string, opts: { fsync?: FsyncPolicy; fsyncIntervalMs?: number; io?: AuditIo; retryMs?: number; checkpointMs?: number } = {}): AuditLog {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    return new AuditLog(file, opts.fsync ?? 'interval', opts.fsyncIntervalMs ?? 1000, readHead(file), opts.io ?? nodeIo, opts.retryMs ?? 5000, opts.checkpointMs ?? 60_000);
  }

  /** Hands the chain's state to onCheckpoint, once per state. */
  checkpoint(): void {
    if (this.seq === this.checkpointed || !this.onCheckpoint) return;
    this.checkpointed = this.seq;
    this.onCheckpoint({ seq: this.seq, head: this.prev, time: new Date().toISOString() });
  }

  get entries(): number {
    return this.seq;
  }

  private failed(e: unknown, doing: string): AuditError {
    const why = (e as NodeJS.ErrnoException).code === 'ENOSPC' ? 'no space left on the device' : ((e as Error).message ?? String(e));
    this.healthy = false;
    this.failures++;
    if (!this.retrying) this.onFailure?.(e);
    this.failingSince ??= { time: new Date().toISOString(), why };
    this.scheduleRetry();
    return new AuditError(`${this.file}: ${doing}: ${why}; requests are refused until it can be written`);
  }

  private retrying = false;

  /** While unhealthy, tries every retryMs to write (and flush) an entry recording the outage; stops once one succeeds. */
  private scheduleRetry(): void {
    if (this.retry || this.fd < 0) return;
    this.retry = setTimeout(() => {
      this.retry = null;
      if (this.healthy || this.fd < 0 || !this.failingSince) return;
      this.retrying = true;
      try {
        const since = this.failingSince;
        this.append({ sub: null, tier: null, op: 'audit resumed', status: 'ok', detail: `writes failed from ${since.time} until now (${since.why})` });
        this.flush();
      } catch {
        // Still failing: failed() has scheduled the next try.
      } finally {
        this.retrying = false;
      }
    }, this.retryMs);
    this.retry.unref();
  }

  /** Writes the whole line or nothing: a partial write is cut back off, so the chain on disk stays intact. */
  private writeLine(line: Buffer): void {
    let off = 0;
    try {
      while (off < line.length) off += this.io.writeSync(this.fd, line, off);
    } catch (e) {
      // Cut back even when no write reported progress: a failing write may still have stored part of its bytes.
      try {
        this.io.ftruncateSync(this.fd, this.size);
      } catch (cut) {
        this.onFailure?.(cut);
      }
      throw this.failed(e, 'could not append an entry');
    }
    this.size += line.length;
  }

  append(r: AuditRecord): AuditEntry {
    if (this.fd < 0) throw new AuditError(`${this.file}: the audit log is closed`);
    const body: Omit<AuditEntry, 'hash'> = {
      seq: this.seq + 1,
      time: new Date().toISOString(),
      sub: r.sub,
      tier: r.tier,
      op: r.op,
      status: r.status,
      ...(r.spec !== undefined ? { spec: r.spec } : {}),
      ...(r.query_id !== undefined ? { query_id: r.query_id } : {}),
      ...(r.rows !== undefined ? { rows: r.rows } : {}),
      ...(r.withheld !== undefined ? { withheld: r.withheld } : {}),
      ...(r.detail !== undefined ? { detail: r.detail } : {}),
      ...(r.budget !== undefined ? { budget: r.budget } : {}),
      prev: this.prev,
    };
    const entry: AuditEntry = { ...body, hash: entryHash(this.prev, body) };
    this.writeLine(Buffer.from(JSON.stringify(entry) + '\n'));
    this.seq = entry.seq;
    this.prev = entry.hash;
    this.dirty = true;
    if (this.policy === 'always') this.flush();
    else if (this.policy === 'interval' && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        try {
          this.flush();
        } catch {
          // Recorded by flush (healthy = false, the log line); a timer must not throw.
        }
      }, this.intervalMs);
      this.timer.unref();
    }
    this.healthy = true;
    this.failingSince = null;
    if (!this.checkpointTimer && this.onCheckpoint) {
      this.checkpointTimer = setTimeout(() => {
        this.checkpointTimer = null;
        this.checkpoint();
      }, this.checkpointMs);
      this.checkpointTimer.unref();
    }
    return entry;
  }

  flush(): void {
    if (this.fd >= 0 && this.dirty) {
      try {
        this.io.fdatasyncSync(this.fd);
      } catch (e) {
        throw this.failed(e, 'could not flush to disk');
      }
      this.dirty = false;
    }
  }

  /** Flushes and closes; a flush that fails is reported (onFailure) but the file is closed all the same. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = null;
    if (this.fd < 0) return;
    try {
      this.flush();
    } catch {
      // Reported by flush.
    }
    this.checkpoint();
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** The last entry's seq and hash (0 and GENESIS for an empty log), checked. */
function readHead(file: string): { seq: number; hash: string } {
  if (!fs.existsSync(file)) return { seq: 0, hash: GENESIS };
  const size = fs.statSync(file).size;
  if (size === 0) return { seq: 0, hash: GENESIS };
  const fd = fs.openSync(file, 'r');
  try {
    let chunk = 64 * 1024;
    for (;;) {
      const len = Math.min(size, chunk);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      if (buf[len - 1] !== 0x0a) {
        throw new AuditError(`${file}: the last line is cut (no final newline); run \`opalite audit verify ${file}\` before appending to it`);
      }
      const start = buf.lastIndexOf(0x0a, len - 2);
      if (start < 0 && len < size) {
        chunk *= 4;
        continue;
      }
      const line = buf.subarray(start + 1, len - 1).toString('utf8');
      const e = parseEntry(line);
      if (typeof e === 'string' || e.hash !== entryHash(e.prev, withoutHash(e))) {
        throw new AuditError(`${file}: the last line is not an intact entry; run \`opalite audit verify ${file}\``);
      }
      return { seq: e.seq, hash: e.hash };
    }
  } finally {
    fs.closeSync(fd);
  }
}

function withoutHash(e: AuditEntry): Omit<AuditEntry, 'hash'> {
  const { hash: _hash, ...body } = e;
  return body;
}

/** The entry on a line, or why it is not one. */
function parseEntry(line: string): AuditEntry | string {
  let e: unknown;
  try {
    e = JSON.parse(line);
  } catch {
    return 'not JSON (edited or cut)';
  }
  const x = e as Partial<AuditEntry>;
  if (x === null || typeof x !== 'object' || typeof x.seq !== 'number' || typeof x.prev !== 'string' || typeof x.hash !== 'string') {
    return 'not an audit entry (no seq, prev or hash)';
  }
  return x as AuditEntry;
}

export type AuditVerdict =
  | { ok: true; entries: number; head: string }
  | { ok: false; entries: number; line: number; reason: string };

/**
 * Checks the whole chain, reading the file in chunks. Reports the first bad
 * line (1-based): an edited line fails its own hash; a removed, inserted or
 * reordered line breaks seq or prev there; a cut last line has no newline.
 * An edit that also recomputes the line's hash is caught at the next line.
 */
export function verifyAuditLog(file: string, opts: { onEntry?: (seq: number, hash: string) => void } = {}): AuditVerdict {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    throw new AuditError(`${file}: expected an audit log, found no readable file`);
  }
  let lineNo = 0;
  let prev = GENESIS;
  let seq = 0;
  const check = (line: string): string | null => {
    if (line.length === 0) return 'an empty line';
    const e = parseEntry(line);
    if (typeof e === 'string') return e;
    if (e.hash !== entryHash(e.prev, withoutHash(e))) return 'its hash does not match its content (the line was edited)';
    if (e.seq !== seq + 1) return `expected entry ${seq + 1}, found entry ${e.seq} (a line was removed, inserted or moved)`;
    if (e.prev !== prev) {
      return lineNo === 1
        ? 'expected the first entry of a chain, found one that follows another (lines were removed from the start)'
        : `its prev does not match line ${lineNo - 1}'s hash (a line was removed, moved or rewritten)`;
    }
    prev = e.hash;
    seq = e.seq;
    opts.onEntry?.(seq, prev);
    return null;
  };
  try {
    const buf = Buffer.alloc(1 << 20);
    let carry = Buffer.alloc(0);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      let data = Buffer.concat([carry, buf.subarray(0, n)]);
      let from = 0;
      for (let nl = data.indexOf(0x0a, from); nl >= 0; nl = data.indexOf(0x0a, from)) {
        lineNo++;
        const why = check(data.subarray(from, nl).toString('utf8'));
        if (why) return { ok: false, entries: seq, line: lineNo, reason: why };
        from = nl + 1;
      }
      carry = Buffer.from(data.subarray(from));
      data = Buffer.alloc(0);
    }
    if (carry.length > 0) {
      return { ok: false, entries: seq, line: lineNo + 1, reason: 'the last line is cut (no final newline: the file was truncated)' };
    }
    return { ok: true, entries: seq, head: prev };
  } finally {
    fs.closeSync(fd);
  }
}
