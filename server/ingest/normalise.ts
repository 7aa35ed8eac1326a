/**
 * Validates raw reader batches against the data contract and turns each good
 * row into typed store values. Every format goes through here, so they all
 * accept and reject exactly the same rows.
 */
import { DIR_SHIFT, NULL_U32 } from '../../kernels/shared/constants.js';
import { Errors } from '../errors.js';
import type { EventSink } from '../store/schema.js';
import type { FileStats, IngestReport } from './report.js';
import type { RawBatch, RawValue } from './source.js';
import type { EventColumn } from '../store/schema.js';
import { parseDateTime, type TimezoneOffsets } from '../util/datetime.js';
import { ANY_DATE, type PlausibleDates } from './dates.js';
import { directionOf, durationOf, eventTypeOf, FAILURE_IMPLAUSIBLE, FAILURES, rechargeOf, rowFailure, timeCode, TIME_IMPLAUSIBLE, TIME_MISSING, timeOfDate } from './fields.js';

/** Maps identifiers to dense indexes (subscribers, cells). */
export interface Dictionary {
  indexOf(id: string): number;
}

const REQUIRED: readonly EventColumn[] = ['msisdn', 'datetime', 'event_type'];

function text(v: RawValue): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v.trim();
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

export interface NormaliserOptions {
  file: string;
  tz: TimezoneOffsets;
  subscribers: Dictionary;
  cells: Dictionary;
  sink: EventSink;
  report: IngestReport;
  stats: FileStats;
  /** The delivery's plausible dates; default: any the store can hold. */
  dates?: PlausibleDates;
  /** Told the line of every row kept, in order (the ingest finds where a duplicated row was: duplicate-lines.ts). */
  onKept?: (line: number) => void;
  /**
   * Ids read with U+FFFD (bytes that were not UTF-8) seen so far, shared by the
   * files of an ingest: each is counted once, in the report's warnings (NON_UTF8).
   */
  nonUtf8?: Set<string>;
}

/** The warning for ids whose bytes were not UTF-8. */
export const NON_UTF8 = 'ids not valid UTF-8 (read with U+FFFD: distinct ids may have become one)';

export class EventNormaliser {
  private checkedColumns = false;

  constructor(private readonly o: NormaliserOptions) {}

  push(batch: RawBatch): void {
    const { file, report, stats } = this.o;
    const cols = batch.columns;
    if (!this.checkedColumns) {
      for (const c of REQUIRED) {
        if (!cols[c]) throw Errors.missingColumn(file, c, batch.header ?? Object.keys(cols));
      }
      this.checkedColumns = true;
    }
    // Rows the reader could not split are reported in line order with the others.
    const unsplit = [...(batch.badRows ?? [])].sort((a, b) => a.line - b.line);
    let u = 0;
    const reportUnsplitBefore = (line: number) => {
      for (; u < unsplit.length && unsplit[u]!.line < line; u++) {
        stats.rows++;
        report.reject(stats, unsplit[u]!.line, 'row', unsplit[u]!.reason);
      }
    };
    for (let i = 0; i < batch.length; i++) {
      const line = Number(batch.lines[i]);
      reportUnsplitBefore(line);
      stats.rows++;
      const failure = this.row(cols, i);
      if (failure === null) {
        stats.kept++;
        this.o.onKept?.(line);
      } else {
        report.reject(stats, line, failure[0], failure[1]);
      }
    }
    reportUnsplitBefore(Infinity);
  }

  /** Appends row i to the sink, or returns [field, reason] when it is invalid. */
  private row(cols: RawBatch['columns'], i: number): readonly [string, string] | null {
    const { tz, subscribers, cells, sink } = this.o;
    const msisdn = text(cols.msisdn![i]);
    const rawTime = cols.datetime![i];
    let t: number;
    if (rawTime instanceof Date) {
      // A typed timestamp without a zone is taken as local wall-clock time.
      t = timeOfDate(rawTime);
    } else {
      const s = text(rawTime);
      t = s === '' ? TIME_MISSING : timeCode(parseDateTime(s, tz));
    }
    const type = eventTypeOf(text(cols.event_type![i]));
    const out = cols.outgoing ? cols.outgoing[i] : undefined;
    const dir = directionOf(typeof out === 'boolean' ? (out ? 'true' : 'false') : text(out));
    const duration = durationOf(cols.duration ? text(cols.duration[i]) : '');
    const recharge = rechargeOf(cols.recharge_amount ? text(cols.recharge_amount[i]) : '');
    const dates = this.o.dates ?? ANY_DATE;
    if (t >= 0 && (t < dates.from || t >= dates.to)) t = TIME_IMPLAUSIBLE;
    const failure = rowFailure(msisdn === '', t, type, dir, duration, recharge);
    if (failure !== 0) return failure === FAILURE_IMPLAUSIBLE ? dates.failure : FAILURES[failure]!;

    const cellText = cols.cell_id ? text(cols.cell_id[i]) : '';
    const cell = cellText === '' ? NULL_U32 : cells.indexOf(cellText);
    const peerText = cols.msisdn_counterpart ? text(cols.msisdn_counterpart[i]) : '';

    // A typed file's strings were decoded by its reader, bytes that are not UTF-8 as U+FFFD (Arrow's
    // utf8Slice, Parquet's binary as text: readers/values.ts): the same ids the CSV parser counts.
    // Subscribers and cells are counted apart, as the CSV parser keeps them.
    if (this.o.nonUtf8) {
      if (msisdn.includes('\uFFFD')) this.nonUtf8(`s${msisdn}`);
      if (peerText.includes('\uFFFD')) this.nonUtf8(`s${peerText}`);
      if (cellText.includes('\uFFFD')) this.nonUtf8(`c${cellText}`);
    }

    // Ids are hashed last: a rejected row must not add subscribers to the store.
    const sub = subscribers.indexOf(msisdn);
    const peer = peerText === '' ? NULL_U32 : subscribers.indexOf(peerText);
    sink.append(sub, t, cell, type | (dir << DIR_SHIFT), duration, peer, recharge);
    return null;
  }

  /** Counts an id read with U+FFFD the first time the ingest meets it. */
  private nonUtf8(id: string): void {
    const seen = this.o.nonUtf8!;
    if (seen.has(id)) return;
    seen.add(id);
    this.o.report.warn(NON_UTF8);
  }
}
