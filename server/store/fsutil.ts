/** Durable file operations: the store's atomicity rests on these. */
import fs from 'node:fs';
import path from 'node:path';
import { StoreError } from '../errors.js';

/**
 * The calls through which the store writes its bytes (column files, the
 * manifest). One object so that a test can make a write fail the way a full
 * disk does (ENOSPC) where no small filesystem can be mounted; nothing else
 * replaces these.
 */
export const storeFs = {
  openSync: fs.openSync,
  writeSync: fs.writeSync as (fd: number, data: Uint8Array | string, offset?: number) => number,
  fsyncSync: fs.fsyncSync,
  closeSync: fs.closeSync,
};

/** A write the device refused for want of space (or of quota). */
export function isDiskFull(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * `e` as the error an operator can act on when it is a full disk: DISK_FULL,
 * naming the file being written and saying the store was left as it was
 * (every store write goes to staging or a temporary file until the manifest
 * rename, which needs no space). Any other error is returned unchanged.
 */
export function diskFullError(e: unknown, context: string): unknown {
  if (!isDiskFull(e) || e instanceof StoreError) return e;
  const file = (e as NodeJS.ErrnoException).path;
  return new StoreError(
    'DISK_FULL',
    `${context}: no space left on the device${file ? ` writing ${file}` : ''}; the ingest stopped and the store is unchanged (free space, then ingest again)`,
  );
}

/** fsync a directory so that a rename inside it survives a power cut. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Writes `data` to `file` via a temporary sibling, fsync and rename: all or nothing; a failed write leaves no temporary behind. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSynced(tmp, data);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.renameSync(tmp, file);
  fsyncDir(path.dirname(file));
}

/** Writes `data` to a new `file` and fsyncs it (files of a staged folder, renamed into place later); errors name the file. */
export function writeFileSynced(file: string, data: string | Uint8Array): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  try {
    const fd = storeFs.openSync(file, 'w');
    try {
      for (let off = 0; off < bytes.length; ) off += storeFs.writeSync(fd, bytes, off);
      storeFs.fsyncSync(fd);
    } finally {
      storeFs.closeSync(fd);
    }
  } catch (e) {
    throw withPath(e, file);
  }
}

/** Errors from a write by descriptor carry no path; the operator needs it. */
export function withPath(e: unknown, file: string): unknown {
  const err = e as NodeJS.ErrnoException | null;
  if (err && typeof err === 'object' && typeof err.code === 'string' && err.path === undefined) err.path = file;
  return e;
}

export function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
