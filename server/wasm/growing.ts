/**
 * A hash table in the kernels' heap that doubles itself: the host side of
 * kernels/table.ts's pattern. A counting kernel stops at the table's load
 * limit and says how many rows it took; the table is rehashed into one twice
 * the size and the call resumes at the row where it stopped, so no row counts
 * twice. Each kernel family's table (locations, visits, key sets, contacts,
 * meaningful scores) says only how it is sized, cleared and rehashed.
 */
import type { Allocator } from './arena.js';
import type { Ptr } from './memory.js';

/** One kind of table's layout, as its kernels define it; each throws a KernelError on a bad status. */
export interface TableOps {
  bytes(capacity: number): number;
  clear(ptr: Ptr, capacity: number): void;
  rehash(src: Ptr, srcCapacity: number, dst: Ptr, dstCapacity: number): void;
}

export class GrowingTable {
  protected ptr: Ptr;
  protected cap: number;

  constructor(protected readonly heap: Allocator, private readonly ops: TableOps, initialCapacity: number) {
    this.cap = initialCapacity;
    this.ptr = heap.alloc(ops.bytes(initialCapacity));
    try {
      ops.clear(this.ptr, initialCapacity);
    } catch (err) {
      heap.release(this.ptr);
      throw err;
    }
  }

  get capacity(): number {
    return this.cap;
  }

  release(): void {
    this.heap.release(this.ptr);
  }

  /** Rehashes into a table twice the size. The arena frees in stack order: the old table's space returns when the task ends. */
  protected grow(): void {
    const capacity = this.cap * 2;
    const ptr = this.heap.alloc(this.ops.bytes(capacity));
    try {
      this.ops.rehash(this.ptr, this.cap, ptr, capacity);
    } catch (err) {
      this.heap.release(ptr);
      throw err;
    }
    this.heap.release(this.ptr);
    this.ptr = ptr;
    this.cap = capacity;
  }

  /** Runs `call` over rows [done, n) until all are in, growing whenever it stops short; `call` returns the rows it took. */
  protected rows(n: number, call: (done: number) => number): void {
    let done = 0;
    while (done < n) {
      done += call(done);
      if (done < n) this.grow();
    }
  }
}
