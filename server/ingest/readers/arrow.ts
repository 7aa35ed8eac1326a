/**
 * Arrow IPC reader (.arrow, .arrows, .feather v2): the IPC file format and the
 * stream format both, told apart by apache-arrow from the file's magic bytes.
 * Record batches are cut into batches of at most `batchRows` rows so that a
 * file written as one huge batch still converts in bounded pieces.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { DataType, Precision, RecordBatchReader, Vector, type Data, type Dictionary, type RecordBatch, type Utf8 } from 'apache-arrow';
import { Errors } from '../../errors.js';
import { mapHeader, type RawBatch, type RawValue } from '../source.js';
import type { EventColumn } from '../../store/schema.js';
import { DEFAULT_BATCH_ROWS, readError, type BinaryReaderOptions, type Progress } from './io.js';
import { checkArrowFooter, checkBatchColumns, guardFlatbufferVectors } from './arrow-guard.js';
import { registerArrowCodecs } from './lz4.js';
import { binaryText, int64, timestamp } from './values.js';

export type Convert = ((v: never) => RawValue) | null;

/** Chosen once per column: how its Arrow values become raw values (null = as they are). */
export function converterFor(file: string, column: string, type: DataType): Convert {
  if (DataType.isDictionary(type)) return converterFor(file, column, type.dictionary);
  if (DataType.isUtf8(type) || DataType.isLargeUtf8(type) || DataType.isUtf8View(type)) return null;
  if (DataType.isBool(type) || DataType.isFloat(type) || DataType.isNull(type)) return null;
  if (DataType.isInt(type)) return type.bitWidth === 64 ? (v: bigint) => int64(v) : null;
  if (DataType.isTimestamp(type)) {
    const instant = !!type.timezone;
    return (ms: number) => timestamp(ms, instant);
  }
  if (DataType.isDate(type)) return (ms: number) => timestamp(ms, false);
  if (DataType.isBinary(type) || DataType.isLargeBinary(type) || DataType.isBinaryView(type) || DataType.isFixedSizeBinary(type)) {
    return (v: Uint8Array) => binaryText(v);
  }
  throw Errors.unsupportedColumn(file, column, `Arrow ${type}`);
}

/** Buffer's native decoder, reached without toString()'s argument checks. */
interface Utf8Sliceable {
  utf8Slice(start: number, end: number): string;
}

/**
 * Utf8 values straight from the offsets and bytes: one native decode per value,
 * giving flat strings. Vector.get() goes through TextDecoder and the visitor,
 * which took a third of the Arrow read time.
 */
function utf8Values(data: Data<Utf8>, out: RawValue[], at: number): void {
  const offsets = data.valueOffsets; // already sliced to this Data: offsets[i] .. offsets[i + 1]
  const values = data.values;
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength) as unknown as Utf8Sliceable;
  const valid = validity(data);
  for (let i = 0; i < data.length; i++) {
    out[at + i] = valid && !valid(i) ? null : bytes.utf8Slice(offsets[i]!, offsets[i + 1]!);
  }
}

/**
 * Whether row i of `data` is not null, or null when no row is: Data.getValid()
 * costs a few property lookups per value. The bitmap is never sliced; `offset` is.
 */
function validity(data: Data): ((i: number) => boolean) | null {
  const bitmap = data.nullBitmap;
  if (data.nullCount === 0 || !bitmap || bitmap.length === 0) return null;
  const offset = data.offset;
  return (i) => ((bitmap[(offset + i) >> 3]! >> ((offset + i) & 7)) & 1) === 1;
}

/** Decoded dictionaries, by dictionary vector: batches usually share one. */
const dictionaries = new WeakMap<Vector, RawValue[]>();

function dictionaryValues(data: Data<Dictionary>, convert: Convert, out: RawValue[], at: number): void {
  const dict = data.dictionary!;
  let decoded = dictionaries.get(dict);
  if (!decoded) {
    decoded = columnValues(dict, DataType.isUtf8(dict.type) ? null : convert);
    dictionaries.set(dict, decoded);
  }
  const keys = data.values; // indices, already sliced to this Data
  const valid = validity(data);
  for (let i = 0; i < data.length; i++) {
    out[at + i] = valid && !valid(i) ? null : decoded[Number(keys[i])]!;
  }
}

/** 8- to 32-bit ints, 32/64-bit floats: their typed array holds the values as they are. */
function plainNumbers(type: DataType): boolean {
  return (DataType.isInt(type) && type.bitWidth <= 32) || (DataType.isFloat(type) && type.precision !== Precision.HALF);
}

export function columnValues(vector: Vector, convert: Convert): RawValue[] {
  const out = new Array<RawValue>(vector.length);
  let at = 0;
  for (const data of vector.data) {
    if (DataType.isUtf8(data.type)) utf8Values(data as Data<Utf8>, out, at);
    else if (DataType.isDictionary(data.type)) dictionaryValues(data as Data<Dictionary>, convert, out, at);
    else if (plainNumbers(data.type)) {
      const values = data.values as unknown as ArrayLike<number>; // sliced to this Data
      const valid = validity(data);
      for (let i = 0; i < data.length; i++) out[at + i] = valid && !valid(i) ? null : values[i]!;
    } else {
      const part = new Vector([data]);
      for (let i = 0; i < data.length; i++) {
        const v = part.get(i) as RawValue;
        out[at + i] = v === null || v === undefined ? null : convert ? convert(v as never) : v;
      }
    }
    at += data.length;
  }
  return out;
}

/**
 * A FileHandle that counts the bytes read through it, for progress. apache-arrow
 * recognises a file handle by `fd` and `stat`, and only calls stat/read/close.
 */
function countingHandle(handle: FileHandle, progress: { bytesRead: number }): FileHandle {
  let emptyReads = 0;
  return {
    fd: handle.fd,
    stat: () => handle.stat(),
    close: () => handle.close(),
    read: async (...args: Parameters<FileHandle['read']>) => {
      const result = await (handle.read as (...a: unknown[]) => ReturnType<FileHandle['read']>)(...args);
      progress.bytesRead += result.bytesRead;
      // Regression (fuzz: a corrupt stream's length prefix promised more bytes than the
      // file holds, and apache-arrow kept asking at the end of the file forever): a
      // reader that keeps reading nothing is reading a truncated or corrupt file.
      emptyReads = result.bytesRead === 0 ? emptyReads + 1 : 0;
      if (emptyReads > 2) throw new Error('truncated or corrupt: a message runs past the end of the file');
      return result;
    },
  } as unknown as FileHandle;
}

export class ArrowReader implements AsyncIterable<RawBatch>, Progress {
  bytesRead = 0;
  bytesTotal = 0;

  constructor(
    readonly file: string,
    private readonly opts: BinaryReaderOptions = {},
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<RawBatch> {
    registerArrowCodecs();
    guardFlatbufferVectors();
    const file = this.file;
    const batchRows = this.opts.batchRows ?? DEFAULT_BATCH_ROWS;
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
      this.bytesTotal = (await handle.stat()).size;
    } catch (e) {
      throw readError(file, e);
    }
    let rows = 0;
    try {
      await checkArrowFooter(handle, this.bytesTotal);
      const reader = await RecordBatchReader.from(countingHandle(handle, this));
      let plan: { column: EventColumn; index: number; convert: Convert }[] | null = null;
      for await (const batch of reader) {
        plan ??= planColumns(file, batch);
        checkBatchColumns(batch.numRows, plan.flatMap(({ index }) => batch.getChildAt(index)!.data));
        for (let begin = 0; begin < batch.numRows; begin += batchRows) {
          const piece = batch.slice(begin, Math.min(batch.numRows, begin + batchRows));
          const columns: RawBatch['columns'] = {};
          for (const { column, index, convert } of plan) columns[column] = columnValues(piece.getChildAt(index)!, convert);
          const lines = new Int32Array(piece.numRows);
          for (let i = 0; i < lines.length; i++) lines[i] = rows + i + 1;
          rows += piece.numRows;
          yield { length: piece.numRows, columns, lines, header: batch.schema.fields.map((f) => f.name) };
        }
      }
      this.bytesRead = this.bytesTotal;
    } catch (e) {
      // The consumer's own errors never come back through `yield`: all of these are the file's.
      throw readError(file, e, 'arrow');
    } finally {
      await handle.close().catch(() => {}); // apache-arrow may have closed it already
    }
  }
}

/** Which file columns feed which canonical columns, and how to convert each. */
function planColumns(file: string, batch: RecordBatch): { column: EventColumn; index: number; convert: Convert }[] {
  const fields = batch.schema.fields;
  const plan: { column: EventColumn; index: number; convert: Convert }[] = [];
  mapHeader(fields.map((f) => f.name)).forEach((column, index) => {
    if (column) plan.push({ column, index, convert: converterFor(file, fields[index]!.name, fields[index]!.type) });
  });
  return plan;
}

/** Reads an Arrow IPC file or stream as RawBatches; rows are numbered from 1. */
export function arrowBatches(file: string, opts?: BinaryReaderOptions): ArrowReader {
  return new ArrowReader(file, opts);
}
