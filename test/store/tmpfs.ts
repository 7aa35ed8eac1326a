/**
 * A real full disk for the full-disk tests: a tiny tmpfs, when this process
 * may mount one (root on Linux; CI containers often may not). Callers fall
 * back to an injected ENOSPC at the write layer when it returns null.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TinyDisk {
  dir: string;
  /** Fills the disk with a ballast file until at most `leave` bytes are free. */
  fill(leave: number): void;
  /** Removes the ballast. */
  empty(): void;
  unmount(): void;
}

export function mountTinyDisk(bytes: number): TinyDisk | null {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-tinydisk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${Math.ceil(bytes / 1024)}k`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    fs.rmdirSync(dir);
    return null;
  }
  const ballast = path.join(dir, 'ballast');
  return {
    dir,
    fill(leave) {
      const free = () => {
        const s = fs.statfsSync(dir);
        return s.bavail * s.bsize;
      };
      const fd = fs.openSync(ballast, 'a');
      try {
        const block = Buffer.alloc(4096, 1);
        while (free() > leave) fs.writeSync(fd, block, 0, Math.min(block.length, free() - leave));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
      } finally {
        fs.closeSync(fd);
      }
    },
    empty() {
      fs.rmSync(ballast, { force: true });
    },
    unmount() {
      try {
        execFileSync('umount', [dir], { stdio: 'ignore' });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** An error as the kernel reports a full disk. */
export function enospc(syscall = 'write'): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOSPC: no space left on device, ${syscall}`), { code: 'ENOSPC', errno: -28, syscall });
}
