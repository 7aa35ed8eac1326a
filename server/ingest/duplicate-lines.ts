/**
 * Where a fully duplicated row was. The store numbers an ingest's rows only by
 * their order among the rows each file kept (day-writer.ts): the CSV row
 * kernel hands over no line per row, and carrying one for every row would cost
 * every ingest for the rare one with duplicates. So a kept row's line is
 * worked out afterwards: from the lines of the file's rejected rows when every
 * row is one line (always so in Parquet and Arrow, whose "lines" are row
 * numbers; in a CSV file whose line count says so: one pass counting line
 * ends), else by reading the file again through the normaliser, which keeps
 * exactly the rows the ingest kept, in the same order.
 */
import { IngestReport } from './report.js';
import type { EventSink } from '../store/schema.js';
import { EventNormaliser } from './normalise.js';
import type { PlausibleDates } from './dates.js';
import type { TimezoneOffsets } from '../util/datetime.js';
import fs from 'node:fs';
import { createGunzip } from 'node:zlib';
import { eventFormat, openEventSource } from './readers/events.js';

const NO_SINK: EventSink = { append() {}, appendColumns() {} };
const NO_IDS = { indexOf: () => 0 };

/**
 * The line of each kept row `rows` (0-based among the rows the file kept) of
 * `file`: the 1-based physical line of a CSV row, the 1-based row number in a
 * Parquet or Arrow file, as the ingest report counts them. Stops reading once
 * the last one is found.
 */
export async function keptRowLines(
  file: string,
  rows: readonly number[],
  o: { tz: TimezoneOffsets; dates: PlausibleDates; rowsRead: number; rejectedLines: Uint32Array },
): Promise<Map<number, number>> {
  if (rows.length === 0) return new Map();
  if (eventFormat(file) !== 'csv') return new Map(rows.map((k) => [k, lineOfKept(k, 1, o.rejectedLines)]));
  // Header on line 1 and then one line per row read, no blank line: the rows are lines 2, 3, ...
  if ((await physicalLines(file)) === 1 + o.rowsRead) return new Map(rows.map((k) => [k, lineOfKept(k, 2, o.rejectedLines)]));
  return rescan(file, rows, o);
}

/**
 * The line of kept row k when rows are the consecutive lines from `first`
 * and `rejected` (ascending) are the lines that were not kept: the smallest L
 * with k + 1 kept lines in [first, L].
 */
export function lineOfKept(k: number, first: number, rejected: Uint32Array): number {
  const keptUpTo = (line: number) => line - first + 1 - upperBound(rejected, line);
  let lo = first + k;
  let hi = first + k + rejected.length;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (keptUpTo(mid) >= k + 1) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function upperBound(a: Uint32Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Physical lines of a (gzipped) text file: line ends, plus a last line without one. */
async function physicalLines(file: string): Promise<number> {
  const src = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  const bytes: AsyncIterable<Buffer> = /\.gz$/i.test(file) ? src.pipe(createGunzip()) : src;
  let n = 0;
  let last = 0x0a;
  for await (const chunk of bytes) {
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, i + 1)) n++;
    if (chunk.length > 0) last = chunk[chunk.length - 1]!;
  }
  return n + (last === 0x0a ? 0 : 1);
}

/** Reads the file again, in order, until every wanted kept row has been met. */
async function rescan(file: string, rows: readonly number[], o: { tz: TimezoneOffsets; dates: PlausibleDates }): Promise<Map<number, number>> {
  const wanted = new Set(rows);
  const lines = new Map<number, number>();
  let kept = 0;
  const report = new IngestReport(null);
  const normaliser = new EventNormaliser({
    file,
    tz: o.tz,
    subscribers: NO_IDS,
    cells: NO_IDS,
    sink: NO_SINK,
    report,
    stats: report.beginFile(file),
    dates: o.dates,
    onKept: (line) => {
      if (wanted.has(kept)) lines.set(kept, line);
      kept++;
    },
  });
  for await (const batch of openEventSource(file)) {
    normaliser.push(batch);
    if (lines.size === wanted.size) break;
  }
  return lines;
}
