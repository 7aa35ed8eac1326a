/**
 * Parquet reader on parquetjs-lite, one row group at a time, only the mapped
 * columns. It reads column chunks directly (readRowGroup) rather than through
 * the library's row cursor: that gives columns, as RawBatch wants, without
 * building an object per row, and skips the library's value conversions, some
 * of which are broken (see parquet-compat.ts). Values follow values.ts.
 *
 * Memory is bounded by one row group of the mapped columns (pyarrow writes up
 * to 1Mi rows per group by default).
 */
import { createRequire } from 'node:module';
import { Errors } from '../../errors.js';
import { mapHeader, type EventColumn, type RawBatch, type RawValue } from '../source.js';
import { DEFAULT_BATCH_ROWS, readError, type BinaryReaderOptions, type Progress } from './io.js';
import { applyParquetFixes, CODEC_NAMES, SUPPORTED_CODECS } from './parquet-compat.js';
import { binaryText, int64, timestamp } from './values.js';

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
interface ColumnData {
  dlevels: number[];
  values: unknown[];
  count: number;
}
interface EnvelopeReader {
  readHeader(): Promise<void>;
  readFooter(): Promise<FileMetaData>;
  readRowGroup(schema: unknown, group: RowGroup, columns: string[][]): Promise<{ columnData: Record<string, ColumnData> }>;
  close(): Promise<void>;
  fileSize: number;
}
interface ParquetLib {
  ParquetEnvelopeReader: { openFile(file: string): Promise<EnvelopeReader> };
  ParquetReader: new (md: FileMetaData, env: EnvelopeReader, opts: object) => { schema: { fields: Record<string, Field> } };
}

type Convert = (v: unknown) => RawValue;

const toBigInt = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(v as string | number));
const toNumber = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

/** Parquet's ConvertedType enum, by number (parquet-format's parquet.thrift). */
const CONVERTED_TYPES = [
  'UTF8', 'MAP', 'MAP_KEY_VALUE', 'LIST', 'ENUM', 'DECIMAL', 'DATE', 'TIME_MILLIS', 'TIME_MICROS',
  'TIMESTAMP_MILLIS', 'TIMESTAMP_MICROS', 'UINT_8', 'UINT_16', 'UINT_32', 'UINT_64',
  'INT_8', 'INT_16', 'INT_32', 'INT_64', 'JSON', 'BSON', 'INTERVAL',
] as const;

/**
 * Chosen once per column from its physical, converted and logical types.
 * Dictionary-encoded values arrive from parquetjs-lite as strings (it
 * stringifies dictionaries), hence the string cases below.
 */
function converterFor(file: string, field: Field, el: SchemaElement, converted: string | undefined): Convert {
  const physical = field.primitiveType ?? '';
  const ts = el.logicalType?.TIMESTAMP;
  if (ts || converted === 'TIMESTAMP_MILLIS' || converted === 'TIMESTAMP_MICROS') {
    const unit = ts ? (ts.unit.MILLIS ? 1n : ts.unit.MICROS ? 1000n : 1_000_000n) : converted === 'TIMESTAMP_MILLIS' ? 1n : 1000n;
    // The legacy converted types are UTC-normalised instants (parquet-format LogicalTypes.md).
    const instant = ts ? !!ts.isAdjustedToUTC : true;
    return (v) => timestamp(Number(toBigInt(v) / unit), instant);
  }
  if (physical === 'INT96') return (v) => timestamp(Number(toBigInt(v) / 1_000_000n), true); // Spark writes instants
  if (converted === 'DATE' || el.logicalType?.DATE) return (v) => timestamp(toNumber(v) * 86_400_000, false);
  if (converted === 'DECIMAL') {
    if (physical !== 'INT32' && physical !== 'INT64') throw Errors.unsupportedColumn(file, field.name, `Parquet DECIMAL stored as ${physical}`);
    const scale = 10 ** (el.scale ?? 0);
    return (v) => Number(toBigInt(v)) / scale;
  }
  switch (physical) {
    case 'BYTE_ARRAY':
    case 'FIXED_LEN_BYTE_ARRAY':
      return (v) => (typeof v === 'string' ? v : binaryText(v as Uint8Array));
    case 'BOOLEAN':
      return (v) => (typeof v === 'boolean' ? v : v === 'true');
    case 'INT32':
    case 'FLOAT':
    case 'DOUBLE':
      return toNumber;
    case 'INT64':
      return (v) => int64(toBigInt(v));
  }
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
    applyParquetFixes();
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
      const totalRows = Number(md.num_rows as number);
      const columnList = plan.map((c) => [c.name]);
      let rows = 0;
      for (const group of md.row_groups) {
        const n = Number(group.num_rows as number);
        const data = await env.readRowGroup(schema, group, columnList);
        const full = plan.map((c) => expand(file, c, data.columnData[c.name], n));
        for (let begin = 0; begin < n; begin += batchRows) {
          const end = Math.min(n, begin + batchRows);
          const columns: RawBatch['columns'] = {};
          plan.forEach((c, j) => (columns[c.column] = begin === 0 && end === n ? full[j]! : full[j]!.slice(begin, end)));
          const lines = new Int32Array(end - begin);
          for (let i = 0; i < lines.length; i++) lines[i] = rows + begin + i + 1;
          yield { length: end - begin, columns, lines };
        }
        rows += n;
        this.bytesRead = totalRows > 0 ? Math.round((this.bytesTotal * rows) / totalRows) : this.bytesTotal;
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
    const wanted = new Set(plan.map((c) => c.name));
    for (const group of md.row_groups) {
      for (const chunk of group.columns) {
        const name = chunk.meta_data.path_in_schema.join('.');
        const codec = CODEC_NAMES[chunk.meta_data.codec] ?? `codec #${chunk.meta_data.codec}`;
        if (wanted.has(name) && !SUPPORTED_CODECS.has(codec)) {
          throw Errors.fileUnreadable(
            file,
            `parquet: column '${name}' is compressed with ${codec}; this reader decompresses ${[...SUPPORTED_CODECS].join(', ')} (rewrite the file with compression='snappy')`,
          );
        }
      }
    }
    return plan;
  }
}

/** One column chunk to one value per row: nulls where the definition level says so, then converted. */
function expand(file: string, c: PlannedColumn, data: ColumnData | undefined, rows: number): RawValue[] {
  if (!data || data.count !== rows) {
    throw Errors.fileUnreadable(file, `parquet: column '${c.name}': expected ${rows} values in the row group, found ${data?.count ?? 0}`);
  }
  const out = new Array<RawValue>(rows);
  const { dlevels, values } = data;
  const max = c.field.dLevelMax;
  const convert = c.convert;
  let k = 0;
  for (let i = 0; i < rows; i++) {
    out[i] = dlevels[i] === max ? convert(values[k++]) : null;
  }
  return out;
}

/** Reads a Parquet file as RawBatches; rows are numbered from 1. */
export function parquetBatches(file: string, opts?: BinaryReaderOptions): ParquetReader {
  return new ParquetReader(file, opts);
}
