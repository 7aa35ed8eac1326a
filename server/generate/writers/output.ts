/**
 * A file being written, with backpressure: writes resolve once the stream can
 * take more, so the generator never runs ahead of the disk by more than the
 * stream's buffer. Optionally gzip-compressed on the way.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import { pipeline } from 'node:stream';
import { finished } from 'node:stream/promises';
import zlib from 'node:zlib';
import { GenerateErrors } from '../errors.js';

const HIGH_WATER_MARK = 8 << 20;

export class FileOut {
  private readonly file: fs.WriteStream;
  /** Where bytes go in: the gzip stream, or the file itself. */
  private readonly head: NodeJS.WritableStream;
  private failure: Error | null = null;
  /** Chunks the stream is done with, ready to be filled again. */
  private readonly pool: Buffer[] = [];

  constructor(
    readonly path: string,
    gzip = false,
    /** Size of the chunks handed out by takeChunk(). */
    readonly chunkBytes = 4 << 20,
  ) {
    this.file = fs.createWriteStream(path, { highWaterMark: HIGH_WATER_MARK });
    this.file.on('error', (e) => (this.failure ??= e));
    if (gzip) {
      const z = zlib.createGzip({ level: 6, chunkSize: 1 << 20 });
      // pipeline() destroys the gzip stream too when the file fails, so no one waits forever for 'drain'.
      pipeline(z, this.file, (e) => {
        if (e) this.failure ??= e;
      });
      this.head = z;
    } else {
      this.head = this.file;
    }
  }

  /**
   * A buffer of `chunkBytes` to fill, reused once the stream is done with it.
   * Reuse matters: fresh multi-megabyte Buffers count as external memory and
   * make V8 run a full GC every few hundred milliseconds.
   */
  takeChunk(): Buffer {
    return this.pool.pop() ?? Buffer.allocUnsafeSlow(this.chunkBytes);
  }

  /** Queues the first `length` bytes of a chunk from takeChunk(); the chunk goes back to the pool once written. */
  async writeChunk(chunk: Buffer, length: number): Promise<void> {
    this.check();
    const ready = this.head.write(chunk.subarray(0, length), (e) => {
      if (!e) this.pool.push(chunk);
    });
    if (!ready) await once(this.head as NodeJS.EventEmitter, 'drain');
    this.check();
  }

  /** Queues bytes that the caller will not modify afterwards. */
  async write(bytes: Uint8Array): Promise<void> {
    this.check();
    if (!this.head.write(bytes)) await once(this.head as NodeJS.EventEmitter, 'drain');
    this.check();
  }

  /** Flushes and closes; resolves with the size of the file in bytes. */
  async close(): Promise<number> {
    this.head.end();
    try {
      await finished(this.file);
    } catch (e) {
      this.failure ??= e as Error;
    }
    this.check();
    return this.file.bytesWritten;
  }

  private check(): void {
    if (this.failure) throw GenerateErrors.writeFailed(this.path, this.failure.message);
  }
}
