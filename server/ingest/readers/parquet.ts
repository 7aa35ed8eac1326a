/**
 * Parquet reader, one row group at a time, only the mapped columns. The
 * footer (schema, physical and logical types, row groups) is read with
 * parquetjs-lite; the pages are decoded by parquet-wasm (the Rust parquet
 * crate compiled to WebAssembly) on a worker thread (parquet-worker.ts) into
 * Arrow record batches, then converted like an Arrow file's. parquet-wasm decodes 2M bench events about 4x faster
 * than parquetjs-lite's page decoder did and reads every codec (ZSTD on Node
 * 20 too, which node:zlib lacks there); hyparquet, measured beside both, was
 * 1.6x faster than parquetjs-lite. Types the Arrow mapping loses are taken
 * from the footer: INT96 is an instant (Spark), DECIMAL a scaled number.
 * Values follow values.ts.
 *
 * Memory is bounded by one row group of the mapped columns (pyarrow writes up
 * to 1Mi rows per group by default): the file is read through a Blob, range
 * by range (except a file whose page index parquet-rs refuses, as
 * parquetjs-lite writes it with statistics: that one is read whole).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { DataType, RecordBatchReader, util, type Vector } from 'apache-arrow';
import { Errors } from '../../errors.js';
import { mapHeader, type RawBatch, type RawValue } from '../source.js';
import type { EventColumn } from '../../store/schema.js';
import { checkBatchColumns, guardFlatbufferVectors } from './arrow-guard.js';
import { columnValues, converterFor as arrowConverter, type Convert as ArrowConvert } from './arrow.js';
import { DEFAULT_BATCH_ROWS, readError, type BinaryReaderOptions, type Progress } from './io.js';
import type { RowGroupResult, RowGroupTask } from './parquet-worker.js';
import { timestamp } from './values.js';

const require = createRequire(import.meta.url);

// The parts of parquetjs-lite used here (it ships no types).
interface Field {
  name: string;
  primitiveType?: string;
  isNested?: boolean;
  repeated?: boolean;
  dLevelMax: number;
}
interface SchemaElement {
  name: string;
  num_children?: number | null;
  converted_type?: number | null;
  scale?: number | null;
  logicalType?: {
    TIMESTAMP?: { isAdjustedToUTC: boolean; unit: { MILLIS: object | null; MICROS: object | null } } | null;
    DATE?: object | null;
  } | null;
}
interface ColumnChunk {
  meta_data: { path_in_schema: string[]; codec: number };
}
interface RowGroup {
  num_rows: unknown; // a thrift Int64: use Number(+x)
  columns: ColumnChunk[];
}
interface FileMetaData {
  version: number;
  num_rows: unknown;
  schema: SchemaElement[];
  row_groups: RowGroup[];
}
interface EnvelopeReader {
  readHeader(): Promise<void>;
  readFooter(): Promise<FileMetaData>;
  close(): Promise<void>;
  fileSize: number;
}
interface ParquetLib {
  ParquetEnvelopeReader: { openFile(file: string): Promise<EnvelopeReader> };
  ParquetReader: new (md: FileMetaData, env: EnvelopeReader, opts: object) => { schema: { fields: Record<string, Field> } };
}

/**
 * How a column's Arrow values (as parquet-wasm decodes them) become raw values:
 * `null` to follow the Arrow type (arrow.ts), or a function for what the
 * footer knows better than the Arrow type.
 */
type Convert = ArrowConvert;

/** Rows per decoded Arrow batch (parquet-wasm's default, 1024, costs a batch's overhead every 1024 rows). */
const DECODE_BATCH_ROWS = 1 << 16;

/** Parquet's ConvertedType enum, by number (parquet-format's parquet.thrift). */
const CONVERTED_TYPES = [
  'UTF8', 'MAP', 'MAP_KEY_VALUE', 'LIST', 'ENUM', 'DECIMAL', 'DATE', 'TIME_MILLIS', 'TIME_MICROS',
  'TIMESTAMP_MILLIS', 'TIMESTAMP_MICROS', 'UINT_8', 'UINT_16', 'UINT_32', 'UINT_64',
  'INT_8', 'INT_16', 'INT_32', 'INT_64', 'JSON', 'BSON', 'INTERVAL',
] as const;

/**
 * Chosen once per column from its physical, converted and logical types, as
 * the footer gives them. Arrow times arrive as epoch milliseconds.
 */
function converterFor(file: string, field: Field, el: SchemaElement, converted: string | undefined): Convert {
  const physical = field.primitiveType ?? '';
  const ts = el.logicalType?.TIMESTAMP;
  if (ts || converted === 'TIMESTAMP_MILLIS' || converted === 'TIMESTAMP_MICROS') {
    // The legacy converted types are UTC-normalised instants (parquet-format LogicalTypes.md).
    const instant = ts ? !!ts.isAdjustedToUTC : true;
    return (ms: number) => timestamp(ms, instant);
  }
  if (physical === 'INT96') return (ms: number) => timestamp(ms, true); // Spark writes instants; Arrow calls them naive
  if (converted === 'DECIMAL') {
    if (physical !== 'INT32' && physical !== 'INT64') throw Errors.unsupportedColumn(file, field.name, `Parquet DECIMAL stored as ${physical}`);
    const scale = 10 ** (el.scale ?? 0);
    return (v: Uint32Array) => Number(util.bigNumToBigInt(v as never)) / scale;
  }
  if (converted === 'DATE' || el.logicalType?.DATE) return null;
  if (['BYTE_ARRAY', 'FIXED_LEN_BYTE_ARRAY', 'BOOLEAN', 'INT32', 'FLOAT', 'DOUBLE', 'INT64'].includes(physical)) return null;
  throw Errors.unsupportedColumn(file, field.name, `Parquet ${physical || 'group'}`);
}

/** The top-level elements of a flattened Parquet schema, by name. */
function topLevelElements(schema: SchemaElement[]): Map<string, SchemaElement> {
  const out = new Map<string, SchemaElement>();
  let i = 1; // schema[0] is the root
  const skip = (): void => {
    const el = schema[i++]!;
    for (let c = 0; c < (el.num_children ?? 0); c++) skip();
  };
  while (i < schema.length) {
    out.set(schema[i]!.name, schema[i]!);
    skip();
  }
  return out;
}

interface PlannedColumn {
  column: EventColumn;
  name: string;
  field: Field;
  convert: Convert;
}

export class ParquetReader implements AsyncIterable<RawBatch>, Progress {
  bytesRead = 0;
  bytesTotal = 0;

  constructor(
    readonly file: string,
    private readonly opts: BinaryReaderOptions = {},
  ) {}

  async *[Symbol.asyncIterator](): AsyncGenerator<RawBatch> {
    guardFlatbufferVectors();
    const file = this.file;
    const batchRows = this.opts.batchRows ?? DEFAULT_BATCH_ROWS;
    const parquet = require('parquetjs-lite') as ParquetLib;
    let env: EnvelopeReader | null = null;
    try {
      env = await parquet.ParquetEnvelopeReader.openFile(file);
      this.bytesTotal = env.fileSize;
      await env.readHeader();
      const md = await env.readFooter();
      // It rejects format 2 files ("invalid parquet version"), pyarrow's default; the footer is the same.
      if (md.version === 2) md.version = 1;
      // Logical types are interpreted here (converterFor), so the library sees physical types only:
      // it rejects files with types it does not know (DECIMAL, ...) and its TIMESTAMP conversions
      // throw on the bigints it decodes, even when only decoding page statistics.
      const converted = new Map<SchemaElement, string | undefined>();
      for (const el of md.schema) {
        converted.set(el, el.converted_type == null ? undefined : CONVERTED_TYPES[el.converted_type]);
        el.converted_type = null;
      }
      const { schema } = new parquet.ParquetReader(md, env, { rawStatistics: true });
      const plan = this.plan(schema.fields, md, converted);
      const names = Object.keys(schema.fields);
      await env.close();
      env = null;
      const totalRows = Number(md.num_rows as number);
      const groups = rowGroupDecoder(file, plan.map((c) => c.name));
      try {
        let rows = 0;
        for (let g = 0; g < md.row_groups.length; g++) {
          const n = Number(md.row_groups[g]!.num_rows as number);
          const batches = RecordBatchReader.from(await groups.read(g));
          let begin = 0;
          for (const batch of batches) {
            checkBatchColumns(batch.numRows, plan.flatMap((c) => batch.getChild(c.name)?.data ?? []));
            const full = plan.map((c) => values(file, c, batch.getChild(c.name)));
            for (let at = 0; at < batch.numRows; at += batchRows) {
              const end = Math.min(batch.numRows, at + batchRows);
              const columns: RawBatch['columns'] = {};
              plan.forEach((c, j) => (columns[c.column] = at === 0 && end === batch.numRows ? full[j]! : full[j]!.slice(at, end)));
              const lines = new Int32Array(end - at);
              for (let i = 0; i < lines.length; i++) lines[i] = rows + begin + at + i + 1;
              yield { length: end - at, columns, lines, header: names };
            }
            begin += batch.numRows;
          }
          if (begin !== n) throw Errors.fileUnreadable(file, `parquet: row group ${g}: expected ${n} rows, found ${begin}`);
          rows += n;
          this.bytesRead = totalRows > 0 ? Math.round((this.bytesTotal * rows) / totalRows) : this.bytesTotal;
        }
      } finally {
        groups.free();
      }
      this.bytesRead = this.bytesTotal;
    } catch (e) {
      throw readError(file, e, 'parquet');
    } finally {
      await env?.close().catch(() => {});
    }
  }

  /** Maps top-level columns to canonical ones; checks their types and codecs before any data is read. */
  private plan(fields: Record<string, Field>, md: FileMetaData, converted: Map<SchemaElement, string | undefined>): PlannedColumn[] {
    const file = this.file;
    const names = Object.keys(fields);
    const elements = topLevelElements(md.schema);
    const plan: PlannedColumn[] = [];
    mapHeader(names).forEach((column, i) => {
      if (!column) return;
      const name = names[i]!;
      const field = fields[name]!;
      if (field.isNested || field.repeated) throw Errors.unsupportedColumn(file, name, 'a nested or repeated Parquet column');
      const el = elements.get(name)!;
      plan.push({ column, name, field, convert: converterFor(file, field, el, converted.get(el)) });
    });
    return plan;
  }
}

/** One decoded column to one raw value per row, by the footer's converter or else by its Arrow type. */
function values(file: string, c: PlannedColumn, vector: Vector | null): RawValue[] {
  if (!vector) throw Errors.fileUnreadable(file, `parquet: column '${c.name}' is missing from the decoded row group`);
  return columnValues(vector, c.convert ?? arrowConverter(file, c.name, vector.type as DataType));
}


/**
 * Decodes row groups to Arrow IPC on a worker thread (parquet-worker.ts), one
 * at a time in order. The worker dying (a decoder trap on a hostile file) or
 * failing is this file's error, never the process's.
 */
function rowGroupDecoder(file: string, columns: string[]): { read(g: number): Promise<Uint8Array>; free(): void } {
  const worker = new Worker(parquetWorkerFile(), { workerData: { file } });
  let pending: { resolve: (ipc: Uint8Array) => void; reject: (e: Error) => void } | null = null;
  let failure: Error | null = null;
  const fail = (e: Error) => {
    failure ??= e;
    pending?.reject(e);
    pending = null;
  };
  worker.on('message', (r: RowGroupResult) => {
    const p = pending;
    pending = null;
    if ('ipc' in r) p?.resolve(r.ipc);
    else p?.reject(new Error(r.error));
  });
  worker.on('error', (e) => fail(new Error(`the decoder failed: ${e.message}`)));
  worker.on('exit', (code) => fail(new Error(`the decoder stopped (exit code ${code})`)));
  return {
    read(group) {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
        worker.postMessage({ group, columns, batchSize: DECODE_BATCH_ROWS } satisfies RowGroupTask);
      });
    },
    free() {
      failure ??= new Error('closed');
      void worker.terminate();
    },
  };
}

function parquetWorkerFile(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'parquet-worker.js');
  return fs.existsSync(beside) ? beside : path.join(here, '..', '..', '..', 'dist', 'server', 'ingest', 'readers', 'parquet-worker.js');
}

/** Reads a Parquet file as RawBatches; rows are numbered from 1. */
export function parquetBatches(file: string, opts?: BinaryReaderOptions): ParquetReader {
  return new ParquetReader(file, opts);
}
