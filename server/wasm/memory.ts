/**
 * The host side of the one shared WebAssembly memory that holds every loaded
 * column and all kernel scratch. Kernels never allocate: this allocator, on the
 * thread that owns the memory, hands out 16-byte-aligned byte ranges, and the
 * kernels (in any worker) receive their offsets.
 *
 * First fit over an address-ordered free list, coalescing on release, with a
 * bump frontier that grows the memory when nothing free fits. Allocation
 * happens per batch (a day's columns, a table), never per row, so a linear
 * free-list walk is cheap enough and easy to check.
 */
import { KernelError } from '../errors.js';

export type Ptr = number;

export const PAGE_BYTES = 65536;
export const ALIGN = 16;
/** The module declares `env.memory` with at least this many pages (asconfig.json initialMemory). */
export const MIN_PAGES = 16;
/** wasm32 addresses reach 4 GiB; the module declares this maximum (asconfig.json maximumMemory). */
export const MAX_PAGES = 65536;
/**
 * Bytes below which nothing is allocated: offset 0 stays an invalid pointer,
 * and a kernel bug writing near it corrupts nothing the host owns.
 */
export const RESERVED_BYTES = PAGE_BYTES;

export interface HeapOptions {
  /** Initial size in 64 KiB pages, >= 16. */
  initialPages?: number;
  /** Limit in 64 KiB pages, <= 65536. Shared memories reserve address space for all of it up front. */
  maximumPages?: number;
}

interface Block {
  ptr: Ptr;
  bytes: number;
}

export class Heap {
  readonly memory: WebAssembly.Memory;
  private readonly maximumPages: number;
  /** Live allocations: offset -> size in bytes (rounded up to ALIGN). */
  private readonly live = new Map<Ptr, number>();
  /** Free ranges below `top`, in address order, never adjacent to each other. */
  private free: Block[] = [];
  /** End of the highest range ever handed out and not given back. */
  private top = RESERVED_BYTES;

  constructor(options: HeapOptions = {}) {
    const initial = options.initialPages ?? MIN_PAGES;
    const maximum = options.maximumPages ?? MAX_PAGES;
    if (!(Number.isInteger(initial) && initial >= MIN_PAGES && Number.isInteger(maximum) && maximum >= initial && maximum <= MAX_PAGES)) {
      throw new RangeError(
        `expected ${MIN_PAGES} <= initialPages <= maximumPages <= ${MAX_PAGES}, found initialPages ${initial}, maximumPages ${maximum}`,
      );
    }
    this.maximumPages = maximum;
    this.memory = new WebAssembly.Memory({ initial, maximum, shared: true });
  }

  /** Reserves `bytes` (contents undefined) and returns the offset, a multiple of 16. */
  alloc(bytes: number): Ptr {
    if (!(Number.isInteger(bytes) && bytes >= 0)) throw new RangeError(`expected a byte count, found ${bytes}`);
    const size = Math.max(ALIGN, roundUp(bytes, ALIGN));
    for (let i = 0; i < this.free.length; i++) {
      const block = this.free[i];
      if (block.bytes < size) continue;
      const ptr = block.ptr;
      if (block.bytes === size) this.free.splice(i, 1);
      else this.free[i] = { ptr: ptr + size, bytes: block.bytes - size };
      this.live.set(ptr, size);
      return ptr;
    }
    const ptr = this.top;
    this.ensure(ptr + size);
    this.top = ptr + size;
    this.live.set(ptr, size);
    return ptr;
  }

  /** Gives back a range from alloc; its contents may be reused at once. */
  release(ptr: Ptr): void {
    const size = this.live.get(ptr);
    if (size === undefined) throw new RangeError(`expected a live allocation, found offset ${ptr}`);
    this.live.delete(ptr);
    let block: Block = { ptr, bytes: size };
    // Index of the first free block after this one.
    let i = 0;
    while (i < this.free.length && this.free[i].ptr < ptr) i++;
    const before = this.free[i - 1];
    if (before && before.ptr + before.bytes === ptr) {
      block = { ptr: before.ptr, bytes: before.bytes + size };
      this.free.splice(--i, 1);
    }
    const after = this.free[i];
    if (after && block.ptr + block.bytes === after.ptr) {
      block = { ptr: block.ptr, bytes: block.bytes + after.bytes };
      this.free.splice(i, 1);
    }
    // A block that reaches the frontier lowers it instead of joining the list.
    if (block.ptr + block.bytes === this.top) this.top = block.ptr;
    else this.free.splice(i, 0, block);
  }

  /** Size in bytes of a live allocation (its request rounded up to 16). */
  sizeOf(ptr: Ptr): number {
    const size = this.live.get(ptr);
    if (size === undefined) throw new RangeError(`expected a live allocation, found offset ${ptr}`);
    return size;
  }

  /**
   * Bytes held by live allocations, bytes free below the frontier, the frontier
   * (end of the highest live allocation) and the memory's current size.
   * live + free = frontier - RESERVED_BYTES.
   */
  stats(): { live: number; free: number; frontier: number; memory: number } {
    let live = 0;
    for (const size of this.live.values()) live += size;
    const free = this.free.reduce((sum, b) => sum + b.bytes, 0);
    return { live, free, frontier: this.top, memory: this.memory.buffer.byteLength };
  }

  // Views. Each reads memory.buffer afresh: after a grow the old SharedArrayBuffer
  // object still works but only covers the old length.
  u8(ptr: Ptr, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }
  u32(ptr: Ptr, length: number): Uint32Array {
    return new Uint32Array(this.memory.buffer, ptr, length);
  }
  i32(ptr: Ptr, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }
  f64(ptr: Ptr, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, length);
  }

  /** Allocates room for `values` and copies them in; returns the offset. */
  put(values: Uint8Array | Uint32Array | Int32Array | Float64Array): Ptr {
    const ptr = this.alloc(values.byteLength);
    this.u8(ptr, values.byteLength).set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    return ptr;
  }

  /** Sets `bytes` bytes at `ptr` to `value` (0-255). */
  fill(ptr: Ptr, bytes: number, value = 0): void {
    this.u8(ptr, bytes).fill(value);
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE_BYTES);
    if (have / PAGE_BYTES + pages > this.maximumPages) {
      throw new KernelError(
        'OUT_OF_MEMORY',
        `shared memory: expected room for ${end - have} more bytes within ${this.maximumPages} pages, found ${have / PAGE_BYTES} pages in use`,
      );
    }
    this.memory.grow(pages);
  }
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
