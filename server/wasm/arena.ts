/**
 * Scratch for one task: a bump allocator inside one block of the shared memory
 * that the main thread's Heap handed out. Workers allocate from their task's
 * arena only, so no two threads ever hand out the same bytes. A full arena
 * throws ArenaFull; the engine retries the task with a larger one.
 */
import { KernelError } from '../errors.js';
import { ALIGN, type Ptr } from './memory.js';

/** What kernels' host code needs from an allocator: the Heap and an Arena both are one. */
export interface Allocator {
  readonly memory: WebAssembly.Memory;
  alloc(bytes: number): Ptr;
  release(ptr: Ptr): void;
}

export const ARENA_FULL = 'ARENA_FULL';

export class Arena implements Allocator {
  private top: number;
  private readonly end: number;
  /** Live allocations in address order; released ones are popped once they are the latest. */
  private readonly stack: { ptr: Ptr; live: boolean }[] = [];

  constructor(readonly memory: WebAssembly.Memory, readonly base: Ptr, readonly bytes: number) {
    this.top = base;
    this.end = base + bytes;
  }

  alloc(bytes: number): Ptr {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    if (this.top + size > this.end) {
      throw new KernelError(ARENA_FULL, `task scratch: expected ${size} more bytes, found ${this.end - this.top} of ${this.bytes} left`);
    }
    const ptr = this.top;
    this.top += size;
    this.stack.push({ ptr, live: true });
    return ptr;
  }

  /** Space comes back when every later allocation has been released too (a stack, as tasks use it). */
  release(ptr: Ptr): void {
    const entry = this.stack.find((e) => e.ptr === ptr && e.live);
    if (!entry) throw new RangeError(`expected a live arena allocation, found offset ${ptr}`);
    entry.live = false;
    while (this.stack.length > 0 && !this.stack[this.stack.length - 1]!.live) this.top = this.stack.pop()!.ptr;
  }

  get used(): number {
    return this.top - this.base;
  }
}
