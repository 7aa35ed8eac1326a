/**
 * GrowingTable (server/wasm/growing.ts) with a table that holds `capacity / 2`
 * rows before its "kernel" stops, as the kernels' load limit does: every row
 * goes in exactly once, the capacity doubles each time the call stops short,
 * and a failed clear or rehash gives its memory back.
 */
import { describe, expect, it } from 'vitest';
import type { Allocator } from '../../server/wasm/arena.js';
import { GrowingTable, type TableOps } from '../../server/wasm/growing.js';

class Recorder implements Allocator {
  readonly memory = new WebAssembly.Memory({ initial: 1 });
  next = 16;
  live = new Map<number, number>();
  alloc(bytes: number): number {
    const p = this.next;
    this.next += bytes;
    this.live.set(p, bytes);
    return p;
  }
  release(ptr: number): void {
    if (!this.live.delete(ptr)) throw new Error(`released ${ptr} twice`);
  }
}

/** Rows land in `rows`; the table takes at most capacity / 2 of them, then stops like a kernel at its load limit. */
class Half extends GrowingTable {
  readonly rowsIn: number[] = [];
  constructor(heap: Allocator, ops: TableOps, capacity: number) {
    super(heap, ops, capacity);
  }
  add(values: number[]): void {
    this.rows(values.length, (done) => {
      const room = this.cap / 2 - this.rowsIn.length;
      const take = Math.min(room, values.length - done);
      this.rowsIn.push(...values.slice(done, done + take));
      return take;
    });
  }
}

const ops = (log: string[], fail?: 'clear' | 'rehash'): TableOps => ({
  bytes: (c) => 8 * c,
  clear: (p, c) => {
    log.push(`clear ${c}`);
    if (fail === 'clear') throw new Error('bad capacity');
  },
  rehash: (_s, sc, _d, dc) => {
    log.push(`rehash ${sc}->${dc}`);
    if (fail === 'rehash') throw new Error('no room');
  },
});

describe('GrowingTable', () => {
  it('takes every row once, doubling from 4 to 32 for 11 rows (room 2, 4, 8, 16)', () => {
    const heap = new Recorder();
    const log: string[] = [];
    const t = new Half(heap, ops(log), 4);
    const values = Array.from({ length: 11 }, (_, i) => i);
    t.add(values);
    expect(t.rowsIn).toEqual(values);
    expect(t.capacity).toBe(32);
    expect(log).toEqual(['clear 4', 'rehash 4->8', 'rehash 8->16', 'rehash 16->32']);
    expect([...heap.live.values()]).toEqual([8 * 32]); // only the current table is held
    t.release();
    expect(heap.live.size).toBe(0);
  });

  it('gives the memory back when clearing or rehashing fails', () => {
    const heap = new Recorder();
    expect(() => new Half(heap, ops([], 'clear'), 4)).toThrow('bad capacity');
    expect(heap.live.size).toBe(0);
    const t = new Half(heap, ops([], 'rehash'), 4);
    expect(() => t.add([1, 2, 3])).toThrow('no room');
    expect([...heap.live.values()]).toEqual([8 * 4]); // the old table, still the table's
    expect(t.capacity).toBe(4);
  });
});
