/**
 * Arrow IPC file writer (apache-arrow's RecordBatchFileWriter). Column buffers
 * are filled directly from the text tables (Utf8 is offsets plus bytes), so
 * no JS string is made per value. Strings for ids and datetimes, bool
 * outgoing, int32 duration, float64 recharge_amount; absent values are nulls.
 */
import {
  Bool,
  Field,
  Float64,
  Int32,
  makeData,
  RecordBatch,
  RecordBatchFileWriter,
  Schema,
  Struct,
  Utf8,
  type Data,
} from 'apache-arrow';
import { EventBatch, NO_DIRECTION, NONE, OUTGOING } from '../batch.js';
import { MSISDN_LENGTH } from '../msisdn.js';
import { DATETIME_LENGTH, RowText, type ByteTable } from '../text.js';
import { RowGrouper } from './grouping.js';
import { FileOut } from './output.js';
import { EVENT_COLUMNS } from '../../store/schema.js';
import type { EventWriter } from './sink.js';

const ROWS_PER_BATCH = 1 << 17;

const SCHEMA = new Schema([
  new Field(EVENT_COLUMNS[0], new Utf8(), false),
  new Field(EVENT_COLUMNS[1], new Utf8(), false),
  new Field(EVENT_COLUMNS[2], new Utf8(), true),
  new Field(EVENT_COLUMNS[3], new Utf8(), false),
  new Field(EVENT_COLUMNS[4], new Bool(), true),
  new Field(EVENT_COLUMNS[5], new Int32(), true),
  new Field(EVENT_COLUMNS[6], new Utf8(), true),
  new Field(EVENT_COLUMNS[7], new Float64(), true),
]);

/** Exposes how many bytes the writer has produced, to wait for the file to catch up. */
class CountingWriter extends RecordBatchFileWriter {
  get produced(): number {
    return this._position;
  }
}

export async function openArrow(path: string, text: RowText): Promise<EventWriter> {
  return new ArrowSink(new FileOut(path), text);
}

class ArrowSink implements EventWriter {
  private readonly writer = new CountingWriter();
  private readonly grouper: RowGrouper;
  private consumed = 0;
  private wake: (() => void) | null = null;
  private readonly pump: Promise<void>;

  constructor(
    private readonly out: FileOut,
    private readonly text: RowText,
  ) {
    this.grouper = new RowGrouper(ROWS_PER_BATCH, (group) => this.writeGroup(group));
    // Moves the writer's bytes to the file as they are produced.
    this.pump = (async () => {
      for await (const chunk of this.writer) {
        await this.out.write(chunk);
        this.consumed += chunk.byteLength;
        this.wake?.();
      }
    })();
    this.pump.catch(() => this.wake?.());
  }

  write(batch: EventBatch): Promise<void> {
    return this.grouper.add(batch);
  }

  async close(): Promise<number> {
    await this.grouper.flush();
    // An empty file still needs its schema: write a zero-row batch.
    if (this.writer.produced === 0) this.writer.write(toRecordBatch(new EventBatch(1), this.text));
    this.writer.close();
    await this.pump;
    return this.out.close();
  }

  private async writeGroup(group: EventBatch): Promise<void> {
    this.writer.write(toRecordBatch(group, this.text));
    // Backpressure: wait until the file has taken what the writer produced.
    while (this.consumed < this.writer.produced) {
      await Promise.race([new Promise<void>((r) => (this.wake = r)), this.pump]);
    }
  }
}

/** One record batch from an event batch. */
export function toRecordBatch(b: EventBatch, text: RowText): RecordBatch {
  const n = b.length;
  const party = fixedWidth(n, MSISDN_LENGTH, () => true, (out, at, i) => text.party(out, at, b.party[i]!));
  const datetime = fixedWidth(n, DATETIME_LENGTH, () => true, (out, at, i) => text.datetime(out, at, b.day, b.sec[i]!));
  const cell = fromTable(n, text.cells, (i) => b.cell[i]!);
  const type = fromTable(n, text.types, (i) => b.type[i]!);
  const counterpart = fixedWidth(n, MSISDN_LENGTH, (i) => b.counterpart[i] !== NONE, (out, at, i) =>
    text.counterpart(out, at, b.counterpart[i]!),
  );

  const outgoingValid = new Uint8Array((n + 7) >> 3);
  const outgoingBits = new Uint8Array((n + 7) >> 3);
  const durationValid = new Uint8Array((n + 7) >> 3);
  const amountValid = new Uint8Array((n + 7) >> 3);
  const amount = new Float64Array(n);
  let outgoingNulls = 0;
  let durationNulls = 0;
  let amountNulls = 0;
  for (let i = 0; i < n; i++) {
    const bit = 1 << (i & 7);
    const dir = b.outgoing[i]!;
    if (dir === NO_DIRECTION) outgoingNulls++;
    else {
      outgoingValid[i >> 3] |= bit;
      if (dir === OUTGOING) outgoingBits[i >> 3] |= bit;
    }
    if (b.duration[i] === NONE) durationNulls++;
    else durationValid[i >> 3] |= bit;
    if (b.amount[i] === NONE) amountNulls++;
    else {
      amountValid[i >> 3] |= bit;
      amount[i] = b.amount[i]!;
    }
  }
  const children: Data[] = [
    party,
    datetime,
    cell,
    type,
    makeData({ type: new Bool(), length: n, nullCount: outgoingNulls, nullBitmap: outgoingValid, data: outgoingBits }),
    makeData({ type: new Int32(), length: n, nullCount: durationNulls, nullBitmap: durationValid, data: b.duration.slice(0, n) }),
    counterpart,
    makeData({ type: new Float64(), length: n, nullCount: amountNulls, nullBitmap: amountValid, data: amount }),
  ];
  return new RecordBatch(SCHEMA, makeData({ type: new Struct(SCHEMA.fields), length: n, nullCount: 0, children }));
}

/** A Utf8 column whose present values all have `width` bytes. */
function fixedWidth(
  n: number,
  width: number,
  present: (i: number) => boolean,
  write: (out: Uint8Array, at: number, i: number) => void,
): Data<Utf8> {
  const offsets = new Int32Array(n + 1);
  const valid = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  let size = 0;
  for (let i = 0; i < n; i++) {
    if (present(i)) {
      valid[i >> 3] |= 1 << (i & 7);
      size += width;
    } else nulls++;
    offsets[i + 1] = size;
  }
  const bytes = new Uint8Array(size);
  for (let i = 0; i < n; i++) if (offsets[i + 1]! > offsets[i]!) write(bytes, offsets[i]!, i);
  return makeData({ type: new Utf8(), length: n, nullCount: nulls, nullBitmap: nulls ? valid : undefined, valueOffsets: offsets, data: bytes });
}

/** A Utf8 column of entries of a byte table; code NONE is null. */
function fromTable(n: number, table: ByteTable, code: (i: number) => number): Data<Utf8> {
  const offsets = new Int32Array(n + 1);
  const valid = new Uint8Array((n + 7) >> 3);
  let nulls = 0;
  let size = 0;
  for (let i = 0; i < n; i++) {
    const c = code(i);
    if (c === NONE) nulls++;
    else {
      valid[i >> 3] |= 1 << (i & 7);
      size += table.offsets[c + 1]! - table.offsets[c]!;
    }
    offsets[i + 1] = size;
  }
  const bytes = new Uint8Array(size);
  for (let i = 0; i < n; i++) {
    const c = code(i);
    if (c !== NONE) RowText.entry(table, bytes, offsets[i]!, c);
  }
  return makeData({ type: new Utf8(), length: n, nullCount: nulls, nullBitmap: nulls ? valid : undefined, valueOffsets: offsets, data: bytes });
}
