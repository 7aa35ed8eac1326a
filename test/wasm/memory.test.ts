/**
 * The host allocator over the shared memory: alignment, reuse, coalescing,
 * growth, and views that see memory added by growth.
 */
import { describe, expect, it } from 'vitest';
import { KernelError } from '../../server/errors.js';
import { ALIGN, Heap, PAGE_BYTES, RESERVED_BYTES } from '../../server/wasm/memory.js';
import { rng } from '../engine/harness.js';

const small = () => new Heap({ initialPages: 16, maximumPages: 64 });

describe('Heap', () => {
  it('hands out 16-byte-aligned, non-overlapping ranges above the reserved page', () => {
    const heap = small();
    const a = heap.alloc(1);
    const b = heap.alloc(17);
    const c = heap.alloc(0);
    expect(a).toBe(RESERVED_BYTES);
    for (const p of [a, b, c]) expect(p % ALIGN).toBe(0);
    expect(b).toBe(a + 16);
    expect(c).toBe(b + 32);
    expect(heap.sizeOf(b)).toBe(32);
  });

  it('reuses released ranges first-fit and coalesces neighbours', () => {
    const heap = small();
    const [a, b, c, d] = [64, 64, 64, 64].map((n) => heap.alloc(n));
    heap.release(b);
    expect(heap.alloc(48)).toBe(b); // fits in b's hole
    heap.release(b);
    heap.release(a);
    heap.release(c); // a, b, c join into one 192-byte block
    expect(heap.stats().free).toBe(192);
    expect(heap.alloc(192)).toBe(a);
    expect(heap.stats().free).toBe(0);
    expect(heap.stats().frontier).toBe(d + 64);
  });

  it('lowers the frontier when the highest range is released, together with free ranges below it', () => {
    const heap = small();
    const a = heap.alloc(100);
    const b = heap.alloc(100);
    const c = heap.alloc(100);
    heap.release(b);
    heap.release(c);
    expect(heap.stats()).toMatchObject({ free: 0, frontier: a + 112 });
    heap.release(a);
    expect(heap.stats()).toMatchObject({ live: 0, free: 0, frontier: RESERVED_BYTES });
  });

  it('grows the memory on demand; earlier data survives and new views cover the new pages', () => {
    const heap = small();
    const a = heap.alloc(16);
    heap.u32(a, 4).set([1, 2, 3, 4]);
    const before = heap.stats().memory;
    const big = heap.alloc(3 * 1024 * 1024);
    expect(heap.stats().memory).toBeGreaterThan(before);
    expect(heap.stats().memory % PAGE_BYTES).toBe(0);
    const view = heap.u8(big, 3 * 1024 * 1024);
    view[view.length - 1] = 7;
    expect(heap.u8(big + 3 * 1024 * 1024 - 1, 1)[0]).toBe(7);
    expect([...heap.u32(a, 4)]).toEqual([1, 2, 3, 4]);
  });

  it('throws OUT_OF_MEMORY past its maximum and rejects bad arguments', () => {
    const heap = small();
    expect(() => heap.alloc(64 * PAGE_BYTES)).toThrow(KernelError);
    expect(() => heap.alloc(-1)).toThrow(RangeError);
    expect(() => heap.release(12345)).toThrow(RangeError);
    expect(() => new Heap({ initialPages: 1 })).toThrow(RangeError);
    expect(() => new Heap({ maximumPages: 65537 })).toThrow(RangeError);
  });

  it('keeps its books straight over a random sequence of allocations and releases', () => {
    const heap = small();
    const r = rng(7);
    const live = new Map<number, number>();
    for (let step = 0; step < 3000; step++) {
      if (live.size > 0 && r() < 0.45) {
        const ptrs = [...live.keys()];
        const ptr = ptrs[Math.floor(r() * ptrs.length)];
        heap.release(ptr);
        live.delete(ptr);
      } else {
        const bytes = Math.floor(r() * 5000);
        const ptr = heap.alloc(bytes);
        expect(ptr % ALIGN).toBe(0);
        live.set(ptr, heap.sizeOf(ptr));
      }
      if (step % 100 === 0) {
        const ranges = [...live.entries()].sort((x, y) => x[0] - y[0]);
        for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThanOrEqual(ranges[i - 1][0] + ranges[i - 1][1]);
        const s = heap.stats();
        expect(s.live + s.free).toBe(s.frontier - RESERVED_BYTES);
      }
    }
  });
});
