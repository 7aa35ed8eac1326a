/**
 * Bounds on what a corrupt or hostile Arrow IPC file can make apache-arrow do
 * before it is refused (issue #8). apache-arrow trusts the file's metadata:
 *
 * - a flatbuffer vector's length (a record batch's node or buffer count, a
 *   schema's field count) is read and looped over as given, so 4 bytes of a
 *   1.5 KB file made it build ~10^8 FieldNode objects: ~1 GB and 8 s;
 * - the IPC file footer's length is read as given and `readAt` allocates that
 *   many bytes (up to 2 GiB) before finding the file is shorter;
 * - a record batch's row count is believed even when its buffers hold fewer
 *   values, and this reader would loop over the missing rows.
 *
 * Each is checked against the bytes actually there before apache-arrow (or
 * this reader) acts on it, so a bad file costs at most its own size.
 */
import type { FileHandle } from 'node:fs/promises';
import { DataType, type Data } from 'apache-arrow';
import { ByteBuffer } from 'flatbuffers';

let installed = false;

/**
 * Makes every flatbuffer vector read check its length against the message
 * holding it (each element takes at least one byte). apache-arrow reads all
 * its metadata through this one ByteBuffer class, so this covers schema,
 * footer, record batch and dictionary messages alike.
 */
export function guardFlatbufferVectors(): void {
  if (installed) return;
  installed = true;
  const proto = ByteBuffer.prototype;
  const vectorLength = proto.__vector_len;
  proto.__vector_len = function (this: ByteBuffer, offset: number): number {
    const n = vectorLength.call(this, offset);
    const first = offset + this.readInt32(offset) + 4;
    const room = this.capacity() - first;
    if (n < 0 || n > room) throw new Error(`corrupt metadata: a list of ${n} entries in ${Math.max(0, room)} bytes`);
    return n;
  };
}

const MAGIC = Buffer.from('ARROW1');
/** Magic and padding at the start, footer length and magic at the end. */
const FILE_OVERHEAD = 8 + 4 + 6;

/**
 * For the IPC file format (it starts with ARROW1), checks that the footer
 * the file's last bytes announce fits in the file. The stream format has no
 * footer; its messages are bounded by the file size as they are read.
 */
export async function checkArrowFooter(handle: FileHandle, size: number): Promise<void> {
  const head = Buffer.alloc(6);
  await handle.read(head, 0, 6, 0);
  if (size < 6 || !head.equals(MAGIC)) return;
  if (size < FILE_OVERHEAD) throw new Error(`truncated: an Arrow IPC file of ${size} bytes has no room for a footer`);
  const tail = Buffer.alloc(10);
  await handle.read(tail, 0, 10, size - 10);
  if (!tail.subarray(4).equals(MAGIC)) throw new Error('truncated or corrupt: the file does not end with the Arrow footer magic');
  const footer = tail.readInt32LE(0);
  if (footer <= 0 || footer > size - FILE_OVERHEAD) {
    throw new Error(`corrupt footer: it claims ${footer} bytes, the file has room for ${size - FILE_OVERHEAD}`);
  }
}

/** How many values the buffers of a flat column hold (Infinity when the type stores none, e.g. Null). */
function capacity(data: Data): number {
  const type = data.type;
  if (DataType.isNull(type)) return 0;
  if (DataType.isUtf8(type) || DataType.isBinary(type) || DataType.isLargeUtf8(type) || DataType.isLargeBinary(type)) {
    return data.valueOffsets.length - 1;
  }
  if (DataType.isBool(type)) return data.values.length * 8;
  if (DataType.isFixedSizeBinary(type)) return Math.floor(data.values.length / type.byteWidth);
  if (DataType.isDictionary(type) || DataType.isInt(type) || DataType.isFloat(type) || DataType.isDate(type) || DataType.isTimestamp(type)) {
    // Typed arrays of the storage type; 64-bit values may be exposed as pairs of 32-bit words.
    const stride = data.stride || 1;
    return Math.floor(data.values.length / stride);
  }
  return Infinity; // views and nested types: apache-arrow reads those through its own checks
}

/**
 * Checks that a record batch's columns hold the `rows` values it claims, before
 * any is read: a corrupt row count would otherwise be looped over. A batch
 * whose columns all store no values (all Null-typed) cannot be checked and is
 * refused when it claims rows.
 */
export function checkBatchColumns(rows: number, columns: readonly Data[]): void {
  let checked = false;
  for (const data of columns) {
    const room = capacity(data) - data.offset;
    if (room === Infinity) continue;
    if (DataType.isNull(data.type)) continue;
    checked = true;
    if (room < rows) throw new Error(`corrupt record batch: it claims ${rows} rows, a '${data.type}' column holds ${Math.max(0, room)}`);
  }
  if (!checked && rows > 0 && columns.length > 0 && columns.every((d) => DataType.isNull(d.type))) {
    throw new Error(`corrupt record batch: it claims ${rows} rows in columns that hold no values`);
  }
}
