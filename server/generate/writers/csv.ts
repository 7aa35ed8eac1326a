/**
 * CSV (optionally gzip) events writer. Rows are encoded straight into large
 * byte chunks from the prepared text tables: no string per row or per field.
 * Values never contain commas or quotes, so no field needs quoting.
 */
import { EventBatch, NO_DIRECTION, NONE, OUTGOING } from '../batch.js';
import { DATETIME_LENGTH, RowText, writeUint } from '../text.js';
import { FileOut } from './output.js';
import { EVENT_COLUMNS } from '../../store/schema.js';
import type { EventWriter } from './sink.js';

/** Longest possible row: numbers, datetime, cell id, type, "false", two integers, separators. */
const MAX_ROW_BYTES = 160;
const COMMA = 0x2c;
const NEWLINE = 0x0a;
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');

export async function openCsv(path: string, text: RowText, gzip: boolean): Promise<EventWriter> {
  return new CsvSink(new FileOut(path, gzip), text);
}

class CsvSink implements EventWriter {
  private chunk: Buffer;
  private pos = 0;

  constructor(
    private readonly out: FileOut,
    private readonly text: RowText,
  ) {
    this.chunk = out.takeChunk();
    this.pos = this.chunk.write(`${EVENT_COLUMNS.join(',')}\n`, 'latin1');
  }

  async write(batch: EventBatch): Promise<void> {
    let row = 0;
    while (row < batch.length) {
      row = this.encode(batch, row);
      if (row < batch.length) await this.flush();
    }
  }

  async close(): Promise<number> {
    await this.flush();
    return this.out.close();
  }

  /** Hands the filled part of the chunk to the file and goes on in another chunk. */
  private async flush(): Promise<void> {
    if (this.pos === 0) return;
    const full = this.chunk;
    const length = this.pos;
    this.chunk = this.out.takeChunk();
    this.pos = 0;
    await this.out.writeChunk(full, length);
  }

  /** Encodes rows from `row` on until the batch ends or the chunk is full; returns the next row. */
  private encode(b: EventBatch, row: number): number {
    const out = this.chunk;
    const text = this.text;
    const cells = text.cells;
    const types = text.types;
    const limit = out.length - MAX_ROW_BYTES;
    let p = this.pos;
    for (; row < b.length && p <= limit; row++) {
      text.party(out, p, b.party[row]!);
      p += 13;
      out[p++] = COMMA;
      text.datetime(out, p, b.day, b.sec[row]!);
      p += DATETIME_LENGTH;
      out[p++] = COMMA;
      const cell = b.cell[row]!;
      if (cell !== NONE) p += RowText.entry(cells, out, p, cell);
      out[p++] = COMMA;
      p += RowText.entry(types, out, p, b.type[row]!);
      out[p++] = COMMA;
      const dir = b.outgoing[row]!;
      if (dir !== NO_DIRECTION) {
        const word = dir === OUTGOING ? TRUE : FALSE;
        for (let k = 0; k < word.length; k++) out[p + k] = word[k]!;
        p += word.length;
      }
      out[p++] = COMMA;
      const duration = b.duration[row]!;
      if (duration !== NONE) p += writeUint(out, p, duration);
      out[p++] = COMMA;
      const cp = b.counterpart[row]!;
      if (cp !== NONE) {
        text.counterpart(out, p, cp);
        p += 13;
      }
      out[p++] = COMMA;
      const amount = b.amount[row]!;
      if (amount !== NONE) p += writeUint(out, p, amount);
      out[p++] = NEWLINE;
    }
    this.pos = p;
    return row;
  }
}
