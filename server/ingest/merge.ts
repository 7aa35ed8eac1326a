/**
 * The main thread's half of CSV ingest: batches parsed on any thread
 * (ParsedEvents, with parser-local ids) become store rows. Batches are merged
 * in file order, so store indexes are handed out in first-seen order exactly
 * as a single sequential pass would, whatever thread parsed which part.
 */
import { NULL_U32 } from '../../kernels/shared/constants.js';
import { Errors } from '../errors.js';
import type { CellTable } from '../store/cells.js';
import type { ParsedEvents } from './csv-events.js';
import type { EventSink } from './normalise.js';
import type { SubscriberDictionary } from './pseudonymise.js';
import type { FileStats, IngestReport } from './report.js';
import type { EventColumn } from './source.js';

const REQUIRED: readonly EventColumn[] = ['msisdn', 'datetime', 'event_type'];

/**
 * Marks a parser-local subscriber id in a batch (ParsedEvents.sub, peer) that
 * its thread could not map to a store index itself: the id was new to the
 * store when the batch was parsed.
 */
export const LOCAL_TAG = 0x80000000;

/**
 * A parser's local subscriber ids -> store indexes, as its thread reads them
 * (both arrays on SharedArrayBuffers): entries below published[0] are written.
 * A larger map comes with a new `published`, so a thread still holding the
 * old pair never reads past what was written into the old array.
 */
export interface SharedIdMap {
  subscribers: Uint32Array;
  published: Int32Array;
}

/** One parser's local ids -> store indexes, grown as its batches introduce ids. */
export class IdMap {
  subscribers = sharedU32(1 << 12);
  private published = new Int32Array(new SharedArrayBuffer(4));
  subscriberCount = 0;
  cells: Uint32Array = new Uint32Array(1 << 10);
  cellCount = 0;
  /** Told of each new pair, to hand it to the parser's thread. */
  onShare: (map: SharedIdMap) => void = () => {};

  get shared(): SharedIdMap {
    return { subscribers: this.subscribers, published: this.published };
  }

  /** Room for `n` more subscribers. */
  reserve(n: number): void {
    if (this.subscriberCount + n <= this.subscribers.length) return;
    const grown = sharedU32(Math.max(this.subscriberCount + n, 2 * this.subscribers.length));
    grown.set(this.subscribers.subarray(0, this.subscriberCount));
    this.subscribers = grown;
    this.published = new Int32Array(new SharedArrayBuffer(4));
    this.onShare(this.shared);
  }

  /** Lets the parser's thread map the ids written so far. */
  publish(): void {
    Atomics.store(this.published, 0, this.subscriberCount);
  }
}

function sharedU32(n: number): Uint32Array {
  return new Uint32Array(new SharedArrayBuffer(4 * n));
}

/**
 * What the parser's thread does before handing a batch over: each local id
 * in `ids` (NULL_U32 left alone) becomes its store index where `map` has it,
 * else LOCAL_TAG | id. The main thread then looks up only the ids new to the
 * store, not every row's.
 */
export function toStoreIds(ids: Uint32Array, map: SharedIdMap): void {
  const mapped = Math.min(Atomics.load(map.published, 0), map.subscribers.length);
  const m = map.subscribers;
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i]!;
    if (v === NULL_U32) continue;
    ids[i] = v < mapped ? m[v]! : (v | LOCAL_TAG) >>> 0;
  }
}

function ensure(a: Uint32Array, n: number): Uint32Array {
  if (n <= a.length) return a;
  const grown = new Uint32Array(Math.max(n, a.length * 2));
  grown.set(a);
  return grown;
}

export interface MergeTarget {
  file: string;
  subscribers: SubscriberDictionary;
  cells: Pick<CellTable, 'indexOf'>;
  sink: EventSink;
  report: IngestReport;
  stats: FileStats;
}

/** Merges one file's batches, in order. */
export class EventMerger {
  private checkedColumns = false;

  /** `present`: the canonical columns of the file's header, in header order. */
  constructor(
    private readonly o: MergeTarget,
    private readonly present: readonly EventColumn[],
  ) {}

  /** Appends a batch's good rows to the sink and its rejects to the report; `lineOffset` turns its lines into the file's. */
  merge(p: ParsedEvents, ids: IdMap, lineOffset: number): void {
    const { file, subscribers, cells, sink, report, stats } = this.o;
    if (!this.checkedColumns && p.rows > 0) {
      for (const c of REQUIRED) if (!this.present.includes(c)) throw Errors.missingColumn(file, c, this.present);
      this.checkedColumns = true;
    }
    // New ids in id order: an all-digit one by its key (hashed by the dictionary when new to the store), else by its pseudonym.
    const keys = p.newSubscriberKeys;
    const newSubs = keys.length / 2;
    ids.reserve(newSubs);
    subscribers.indexesOf(keys, p.newSubscribers, ids.subscribers, ids.subscriberCount);
    ids.subscriberCount += newSubs;
    ids.publish();
    ids.cells = ensure(ids.cells, ids.cellCount + p.newCells.length);
    for (const cell of p.newCells) ids.cells[ids.cellCount++] = cells.indexOf(cell);

    stats.rows += p.rows;
    stats.kept += p.length;
    for (const r of p.rejects) report.reject(stats, r.line + lineOffset, r.field, r.reason);

    // The ids the parser's thread left local, and every cell, to store indexes in place (the batch is ours); then the rows go in by columns.
    const subMap = ids.subscribers;
    const cellMap = ids.cells;
    const { sub, peer, cell } = p;
    for (let i = 0; i < p.length; i++) {
      const s = sub[i]!;
      if (s >= LOCAL_TAG) sub[i] = subMap[s - LOCAL_TAG]!;
      const q = peer[i]!;
      if (q !== NULL_U32 && q >= LOCAL_TAG) peer[i] = subMap[q - LOCAL_TAG]!;
      const c = cell[i]!;
      if (c !== NULL_U32) cell[i] = cellMap[c]!;
    }
    sink.appendColumns(p);
  }
}
