/**
 * The ingest report: every rejected row with its file, line, field and reason,
 * never its values (they may hold a raw MSISDN). Written as CSV as rows arrive,
 * so a bad file with millions of rejects costs no memory.
 */
import { storeFs, withPath } from '../store/fsutil.js';

export interface FileStats {
  file: string;
  rows: number;
  kept: number;
  rejected: number;
}

export class IngestReport {
  private fd: number | null = null;
  readonly files: FileStats[] = [];
  readonly reasons = new Map<string, number>();
  /** Accepted but suspicious: what -> count (printed in the summary, not rows of the report). */
  readonly warnings = new Map<string, number>();
  rejected = 0;

  /** `out` null keeps counts only (used when nothing should be written). */
  constructor(private readonly out: string | null) {}

  beginFile(file: string): FileStats {
    const stats = { file, rows: 0, kept: 0, rejected: 0 };
    this.files.push(stats);
    return stats;
  }

  reject(stats: FileStats, line: number, field: string, reason: string): void {
    stats.rejected++;
    this.rejected++;
    this.keepLine(stats, line);
    const key = `${field}: ${reason}`;
    this.reasons.set(key, (this.reasons.get(key) ?? 0) + 1);
    this.note(stats, line, field, reason);
  }

  /** Writes a row of the report for a row that was not rejected (an example of a warning: a duplicated row). */
  note(stats: FileStats, line: number, field: string, reason: string): void {
    if (this.out === null) return;
    try {
      if (this.fd === null) {
        this.fd = storeFs.openSync(this.out, 'w');
        storeFs.writeSync(this.fd, 'file,line,field,reason\n');
      }
      storeFs.writeSync(this.fd, `${csvField(stats.file)},${line},${csvField(field)},${csvField(reason)}\n`);
    } catch (e) {
      throw withPath(e, this.out); // a full disk here must name the report, as everywhere else
    }
  }

  /** The lines of each file's rejected rows (4 bytes each): where its kept rows are not (duplicate-lines.ts). */
  private readonly lines = new Map<FileStats, { lines: Uint32Array; n: number }>();

  private keepLine(stats: FileStats, line: number): void {
    let l = this.lines.get(stats);
    if (!l) this.lines.set(stats, (l = { lines: new Uint32Array(64), n: 0 }));
    if (l.n === l.lines.length) {
      const grown = new Uint32Array(2 * l.n);
      grown.set(l.lines);
      l.lines = grown;
    }
    l.lines[l.n++] = line;
  }

  /** The lines of a file's rejected rows, ascending. */
  rejectedLines(stats: FileStats): Uint32Array {
    const l = this.lines.get(stats);
    return l ? l.lines.slice(0, l.n).sort() : new Uint32Array(0);
  }

  warn(what: string, n = 1): void {
    if (n > 0) this.warnings.set(what, (this.warnings.get(what) ?? 0) + n);
  }

  /** Path of the written report, or null when it has no row (nothing rejected or noted). */
  close(): string | null {
    if (this.fd === null) return null;
    storeFs.closeSync(this.fd);
    this.fd = null;
    return this.out;
  }

  /** The most common reasons, most frequent first. */
  topReasons(n = 10): [string, number][] {
    return [...this.reasons.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
  }
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
