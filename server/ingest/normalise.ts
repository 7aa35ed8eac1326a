/**
 * Validates raw reader batches against the data contract and turns each good
 * row into typed store values. Every format goes through here, so they all
 * accept and reject exactly the same rows.
 */
import { DIR_IN, DIR_OUT, DIR_SHIFT, DIR_UNKNOWN, NULL_U32, TYPE_CALLS, TYPE_MDS, TYPE_SMS, TYPE_TOPUPS } from '../../kernels/shared/constants.js';
import { Errors } from '../errors.js';
import type { FileStats, IngestReport } from './report.js';
import type { EventColumn, RawBatch, RawValue } from './source.js';
import { parseDateTime, type TimezoneOffsets } from './datetime.js';

/** Where good rows go: one call per row, in file order. */
export interface EventSink {
  append(sub: number, t: number, cell: number, kind: number, duration: number, peer: number, recharge: number): void;
}

/** Maps identifiers to dense indexes (subscribers, cells). */
export interface Dictionary {
  indexOf(id: string): number;
}

/** A Map, not an object literal: `constructor` or `__proto__` must not name an event type. */
const EVENT_TYPES = new Map<string, number>([
  ['calls', TYPE_CALLS],
  ['call', TYPE_CALLS],
  ['voice', TYPE_CALLS],
  ['sms', TYPE_SMS],
  ['mds', TYPE_MDS],
  ['data', TYPE_MDS],
  ['topups', TYPE_TOPUPS],
  ['topup', TYPE_TOPUPS],
  ['recharge', TYPE_TOPUPS],
]);

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
}

export class EventNormaliser {
  private checkedColumns = false;

  constructor(private readonly o: NormaliserOptions) {}

  push(batch: RawBatch): void {
    const { file, report, stats } = this.o;
    const cols = batch.columns;
    if (!this.checkedColumns) {
      for (const c of REQUIRED) {
        if (!cols[c]) throw Errors.missingColumn(file, c, Object.keys(cols));
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
      } else {
        report.reject(stats, line, failure[0], failure[1]);
      }
    }
    reportUnsplitBefore(Infinity);
  }

  /** Appends row i to the sink, or returns [field, reason] when it is invalid. */
  private row(cols: RawBatch['columns'], i: number): [string, string] | null {
    const { tz, subscribers, cells, sink } = this.o;
    const msisdn = text(cols.msisdn![i]);
    if (msisdn === '') return ['msisdn', 'missing'];

    const rawTime = cols.datetime![i];
    let t: number;
    if (rawTime instanceof Date) {
      // A typed timestamp without a zone is taken as local wall-clock time.
      t = Math.floor(rawTime.getTime() / 1000);
      if (!(t >= 0 && t < 2 ** 32)) return ['datetime', 'outside [1970, 2106)'];
    } else {
      const s = text(rawTime);
      if (s === '') return ['datetime', 'missing'];
      t = parseDateTime(s, tz);
      if (Number.isNaN(t)) return ['datetime', 'expected an ISO 8601 time like 2016-01-01 08:15:02'];
    }

    const rawType = text(cols.event_type![i]);
    // Exact spelling first: lower-casing every row would allocate a string per row.
    const type = EVENT_TYPES.get(rawType) ?? EVENT_TYPES.get(rawType.toLowerCase());
    const typeText = rawType;
    if (type === undefined) {
      return ['event_type', typeText === '' ? 'missing' : 'expected calls, sms, mds or topups'];
    }

    let dir = DIR_UNKNOWN;
    const out = cols.outgoing ? cols.outgoing[i] : undefined;
    const outRaw = typeof out === 'boolean' ? (out ? 'true' : 'false') : text(out);
    const outText = outRaw === 'true' || outRaw === 'false' || outRaw.length <= 1 ? outRaw : outRaw.toLowerCase();
    if (outText === 'true' || outText === '1' || outText === 't') dir = DIR_OUT;
    else if (outText === 'false' || outText === '0' || outText === 'f') dir = DIR_IN;
    else if (outText !== '') return ['outgoing', 'expected true, false, 1 or 0'];
    else if (type === TYPE_CALLS || type === TYPE_SMS) return ['outgoing', 'missing (required for calls and sms)'];

    let duration = NULL_U32;
    const durText = cols.duration ? text(cols.duration[i]) : '';
    if (durText !== '') {
      const d = Number(durText);
      if (!Number.isFinite(d) || d < 0 || d >= NULL_U32) return ['duration', 'expected a non-negative number of seconds'];
      duration = Math.round(d);
    }

    let recharge = NaN;
    const amountText = cols.recharge_amount ? text(cols.recharge_amount[i]) : '';
    if (amountText !== '') {
      recharge = Number(amountText);
      if (!Number.isFinite(recharge)) return ['recharge_amount', 'expected a number'];
    } else if (type === TYPE_TOPUPS) {
      return ['recharge_amount', 'missing (required for topups)'];
    }

    const cellText = cols.cell_id ? text(cols.cell_id[i]) : '';
    const cell = cellText === '' ? NULL_U32 : cells.indexOf(cellText);
    const peerText = cols.msisdn_counterpart ? text(cols.msisdn_counterpart[i]) : '';

    // Ids are hashed last: a rejected row must not add subscribers to the store.
    const sub = subscribers.indexOf(msisdn);
    const peer = peerText === '' ? NULL_U32 : subscribers.indexOf(peerText);
    sink.append(sub, t, cell, type | (dir << DIR_SHIFT), duration, peer, recharge);
    return null;
  }
}
