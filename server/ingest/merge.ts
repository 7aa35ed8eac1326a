/**
 * The main thread's half of CSV ingest: batches parsed on any thread
 * (ParsedEvents, with parser-local ids) become store rows. Batches are merged
 * in file order, so store indexes are handed out in first-seen order exactly
 * as a single sequential pass would, whatever thread parsed which part.
 */
import { NULL_U32 } from '../../kernels/shared/constants.js';
import { CSV_LOCAL_TAG } from '../../kernels/shared/csv-layout.js';
import { Errors } from '../errors.js';
import type { CellTable } from '../store/cells.js';
import { presentColumns, type ParsedEvents } from './csv-events.js';
import type { EventSink } from '../store/schema.js';
import { NON_UTF8 } from './normalise.js';
import type { SubscriberDictionary } from './pseudonymise.js';
import type { FileStats, IngestReport } from './report.js';
import type { EventColumn } from '../store/schema.js';

const REQUIRED: readonly EventColumn[] = ['msisdn', 'datetime', 'event_type'];

/**
 * Marks a parser-local subscriber id in a batch (ParsedEvents.sub, peer) whose
 * store index its thread did not know yet: the id was new to the store when
 * the batch was parsed (see IdMap.onLearn).
 */
const LOCAL_TAG = CSV_LOCAL_TAG;


/** One parser's local ids -> store indexes, grown as its batches introduce ids. */
export class IdMap {
  subscribers: Uint32Array = new Uint32Array(1 << 12);
  subscriberCount = 0;
  cells: Uint32Array = new Uint32Array(1 << 10);
  cellCount = 0;
  /**
   * Told the store indexes of the parser's local ids [from, from + indexes.length)
   * once a batch's new ids have them, to pass them to the parser's thread: its
   * later batches carry those store indexes, so this thread looks up only ids
   * new to the store. `indexes` is this map's own array: copy it to keep it.
   */
  onLearn: (from: number, indexes: Uint32Array) => void = () => {};
  /**
   * Told the digit keys (i32 pairs) and store indexes of the all-digit subscribers
   * a batch of this parser's was the first to bring to the store, to pass them to
   * the other parsers' threads (ParserIds.know), which then do not hand them over
   * again. The arrays are this call's own.
   */
  onNewToStore: (keys: Int32Array, indexes: Uint32Array) => void = () => {};
  /** Given each batch once merged: its columns are free for the parser's thread to fill again (recycleColumns). */
  onMerged: (p: ParsedEvents) => void = () => {};
}

/** Calls ids.onNewToStore with the all-digit ids among `keys` whose `indexes` are new to the store (>= storeSize). */
function shareNewToStore(keys: Int32Array, indexes: Uint32Array, storeSize: number, ids: IdMap): void {
  let n = 0;
  for (let j = 0; j < indexes.length; j++) if (indexes[j]! >= storeSize && keys[2 * j] !== 0) n++;
  if (n === 0) return;
  const newKeys = new Int32Array(2 * n);
  const newIndexes = new Uint32Array(n);
  for (let j = 0, k = 0; j < indexes.length; j++) {
    if (indexes[j]! < storeSize || keys[2 * j] === 0) continue;
    newKeys[2 * k] = keys[2 * j]!;
    newKeys[2 * k + 1] = keys[2 * j + 1]!;
    newIndexes[k++] = indexes[j]!;
  }
  ids.onNewToStore(newKeys, newIndexes);
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

  private readonly present: readonly EventColumn[];

  /** `header`: the file's header row as found (the message for a missing column lists it). */
  constructor(
    private readonly o: MergeTarget,
    private readonly header: readonly string[],
  ) {
    this.present = presentColumns(header);
  }

  /** Appends a batch's good rows to the sink and its rejects to the report; `lineOffset` turns its lines into the file's. */
  merge(p: ParsedEvents, ids: IdMap, lineOffset: number): void {
    const { file, subscribers, cells, sink, report, stats } = this.o;
    if (!this.checkedColumns && p.rows > 0) {
      for (const c of REQUIRED) if (!this.present.includes(c)) throw Errors.missingColumn(file, c, this.header);
      this.checkedColumns = true;
    }
    // New ids in id order: an all-digit one by its key (hashed by the dictionary when new to the store), else by its pseudonym.
    const keys = p.newSubscriberKeys;
    const newSubs = keys.length / 2;
    ids.subscribers = ensure(ids.subscribers, ids.subscriberCount + newSubs);
    const from = ids.subscriberCount;
    const storeSize = subscribers.size;
    subscribers.indexesOf(keys, p.newSubscribers, ids.subscribers, from);
    ids.subscriberCount += newSubs;
    if (newSubs > 0) {
      ids.onLearn(from, ids.subscribers.subarray(from, from + newSubs));
      shareNewToStore(keys, ids.subscribers.subarray(from, from + newSubs), storeSize, ids);
    }
    ids.cells = ensure(ids.cells, ids.cellCount + p.newCells.length);
    for (const cell of p.newCells) ids.cells[ids.cellCount++] = cells.indexOf(cell);

    report.warn(NON_UTF8, p.nonUtf8Ids);
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
    ids.onMerged(p);
  }
}
