/**
 * Cooperative time slicing for the service's main thread. A result of a
 * million rows takes a second or more to shape, redact and serialise; done in
 * one go it holds the event loop that long, and /healthz, every socket and
 * every timer wait behind it (issue #14: 46 s). Long loops instead run as
 * generators that `yield` at cheap points, and a driver returns to the event
 * loop (setImmediate: after pending I/O) whenever a slice has run SLICE_MS.
 * The same generator drained synchronously gives the same answer (the CLI and
 * the indicators use that).
 */

/** The longest a slice runs before it returns to the event loop, in ms. */
export const SLICE_MS = 4;

/** Rows between two looks at the clock in sliced loops (a look costs ~25 ns; a row ~0.1-1 µs). */
export const ROWS_PER_CHECK = 512;

/** A generator that yields (nothing) at points where it may be paused. */
export type Sliced<T> = Generator<void, T, void>;

export class Slicer {
  private started = performance.now();
  constructor(private readonly budgetMs = SLICE_MS) {}

  /** Whether this slice has used its budget. */
  due(): boolean {
    return performance.now() - this.started >= this.budgetMs;
  }

  /** Returns to the event loop once, then starts a new slice. */
  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.started = performance.now();
  }

  /** Pauses if the slice is used up. */
  async tick(): Promise<void> {
    if (this.due()) await this.pause();
  }
}

export function isSliced<T>(v: T | Sliced<T>): v is Sliced<T> {
  return typeof v === 'object' && v !== null && typeof (v as Sliced<T>).next === 'function' && typeof (v as Sliced<T>)[Symbol.iterator] === 'function';
}

/** Runs a sliced computation to the end without pausing. */
export function drain<T>(g: T | Sliced<T>): T {
  if (!isSliced(g)) return g;
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
  }
}

/** Runs a sliced computation, returning to the event loop whenever a slice is used up. */
export async function drainSliced<T>(g: T | Sliced<T>, slicer = new Slicer()): Promise<T> {
  if (!isSliced(g)) return g;
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    await slicer.tick();
  }
}

/** `rows.map(fn)` in slices. */
export function* mapSliced<T, U>(rows: readonly T[], fn: (row: T) => U): Sliced<U[]> {
  const out = new Array<U>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    out[i] = fn(rows[i]!);
    if ((i & (ROWS_PER_CHECK - 1)) === ROWS_PER_CHECK - 1) yield;
  }
  return out;
}

/**
 * A JSON array of `rows` as UTF-8 chunks, stringified ROWS_PER_CHECK rows at a
 * time: byte for byte what JSON.stringify(rows) gives, concatenated.
 */
export function* jsonArrayChunks(rows: readonly unknown[]): Sliced<Buffer[]> {
  if (rows.length === 0) return [Buffer.from('[]')];
  const parts: Buffer[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_CHECK) {
    const s = JSON.stringify(rows.slice(i, i + ROWS_PER_CHECK));
    // Each chunk's own brackets off; commas between chunks.
    parts.push(Buffer.from((i === 0 ? '[' : ',') + s.slice(1, -1)));
    yield;
  }
  parts.push(Buffer.from(']'));
  return parts;
}
