/**
 * HMAC-SHA-256 of short messages (subscriber ids) under one fixed key, in
 * plain JavaScript. node:crypto's createHmac costs a native object and about
 * 2.5 us per call; an id is hashed once per distinct subscriber, and a
 * national file has millions of them. With the key fixed, the inner and
 * outer pads' first blocks are compressed once (their "midstates"), so an id
 * of at most 55 bytes costs exactly two SHA-256 compressions (measured 3.4x
 * faster than createHmac). Longer ids go through node:crypto.
 *
 * see: RFC 2104 (HMAC), FIPS 180-4 (SHA-256)
 */
import crypto from 'node:crypto';
import { Heap, type Ptr } from '../wasm/memory.js';
import { loadKernelModuleLazily } from '../wasm/module.js';

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = Int32Array.from([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const BLOCK = 64;
/** The longest message whose padding fits the same block: 64 - 1 (0x80) - 8 (length). */
export const ONE_BLOCK_MAX = 55;

/** The SHA-256 compression function: folds the 16 big-endian words of `block` into `state`. */
function compress(state: Int32Array, block: Int32Array, w: Int32Array): void {
  for (let i = 0; i < 16; i++) w[i] = block[i]!;
  for (let i = 16; i < 64; i++) {
    const w15 = w[i - 15]!;
    const w2 = w[i - 2]!;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** Below this many messages, digestMany hashes them one by one here: the kernel call is not worth it. */
const MANY = 16;

interface RawHmacKernel {
  hmacContextBytes(): number;
  hmacMany(ctx: Ptr, msgs: Ptr, bounds: Ptr, n: number, out: Ptr): number;
}

/** The SIMD kernel of kernels/hmac.ts on a memory of its own, with the key's midstates and the round constants in its context. */
class HmacLanes {
  private readonly heap = new Heap({ initialPages: 16 });
  private readonly raw: RawHmacKernel;
  private readonly ctx: Ptr;
  private capacity = 0;
  private msgs: Ptr = 0;
  private msgBytes = 0;
  private bounds: Ptr = 0;
  private out: Ptr = 0;

  constructor(inner: Int32Array, outer: Int32Array) {
    const instance = new WebAssembly.Instance(loadKernelModuleLazily(), { env: { memory: this.heap.memory } });
    this.raw = instance.exports as unknown as RawHmacKernel;
    this.ctx = this.heap.alloc(this.raw.hmacContextBytes());
    const words = this.heap.i32(this.ctx, 80);
    words.set(inner, 0);
    words.set(outer, 8);
    words.set(K, 16);
  }

  digest(msgs: Uint8Array, bounds: Uint32Array, n: number, out: Uint8Array): void {
    const h = this.heap;
    if (n > this.capacity) {
      if (this.bounds) h.release(this.bounds), h.release(this.out);
      this.capacity = Math.max(n, 2 * this.capacity);
      this.bounds = h.alloc(8 * this.capacity);
      this.out = h.alloc(32 * this.capacity);
    }
    const bytes = bounds[2 * n - 1]!;
    if (bytes > this.msgBytes) {
      if (this.msgs) h.release(this.msgs);
      this.msgBytes = Math.max(bytes, 2 * this.msgBytes);
      this.msgs = h.alloc(this.msgBytes);
    }
    h.u8(this.msgs, bytes).set(msgs.subarray(0, bytes));
    h.u32(this.bounds, 2 * n).set(bounds.subarray(0, 2 * n));
    const done = this.raw.hmacMany(this.ctx, this.msgs, this.bounds, n, this.out);
    if (done !== n) throw new Error(`hmacMany stopped at message ${done} of ${n}`);
    out.set(h.u8(this.out, 32 * n));
  }
}

/** HMAC-SHA-256 under one key; not thread-safe (scratch is reused), one per thread. */
export class KeyedHash {
  private readonly inner = new Int32Array(8);
  private readonly outer = new Int32Array(8);
  private readonly state = new Int32Array(8);
  private readonly block = new Int32Array(16);
  private readonly w = new Int32Array(64);

  constructor(private readonly key: Uint8Array) {
    // RFC 2104: a key longer than the block is hashed first; a shorter one is zero-padded.
    const k = key.length > BLOCK ? crypto.createHash('sha256').update(key).digest() : key;
    for (const [pad, into] of [[0x36, this.inner], [0x5c, this.outer]] as const) {
      const bytes = new Uint8Array(BLOCK).fill(pad);
      for (let i = 0; i < k.length; i++) bytes[i] = bytes[i]! ^ k[i]!;
      into.set(IV);
      for (let i = 0; i < 16; i++) this.block[i] = (bytes[4 * i]! << 24) | (bytes[4 * i + 1]! << 16) | (bytes[4 * i + 2]! << 8) | bytes[4 * i + 3]!;
      compress(into, this.block, this.w);
    }
  }

  /** Writes the 32-byte HMAC of bytes [start, end) of `msg` into `out` at `at`. */
  digestInto(msg: Uint8Array, start: number, end: number, out: Uint8Array, at: number): void {
    const n = end - start;
    if (n > ONE_BLOCK_MAX) {
      out.set(crypto.createHmac('sha256', this.key).update(msg.subarray(start, end)).digest(), at);
      return;
    }
    const { block, state, w } = this;
    block.fill(0);
    for (let i = 0; i < n; i++) block[i >> 2] |= msg[start + i]! << (24 - 8 * (i & 3));
    block[n >> 2] |= 0x80 << (24 - 8 * (n & 3));
    block[15] = (BLOCK + n) * 8;
    state.set(this.inner);
    compress(state, block, w);
    // The outer message is the inner digest: 32 bytes, padded into one block.
    for (let i = 0; i < 8; i++) block[i] = state[i]!;
    block[8] = 0x80000000;
    for (let i = 9; i < 15; i++) block[i] = 0;
    block[15] = (BLOCK + 32) * 8;
    state.set(this.outer);
    compress(state, block, w);
    for (let i = 0; i < 8; i++) {
      const v = state[i]!;
      out[at + 4 * i] = v >>> 24;
      out[at + 4 * i + 1] = (v >>> 16) & 0xff;
      out[at + 4 * i + 2] = (v >>> 8) & 0xff;
      out[at + 4 * i + 3] = v & 0xff;
    }
  }

  /**
   * The HMACs of `n` messages laid end to end in `msgs`, message i being bytes
   * [bounds[2i], bounds[2i + 1]), written to `out` at 32 * i: four at a time by the SIMD kernel
   * (kernels/hmac.ts) when there are enough of them and all fit one block.
   */
  digestMany(msgs: Uint8Array, bounds: Uint32Array, n: number, out: Uint8Array): void {
    let short = n >= MANY;
    for (let i = 0; i < n && short; i++) short = bounds[2 * i + 1]! - bounds[2 * i]! <= ONE_BLOCK_MAX;
    if (short) {
      this.lanes ??= new HmacLanes(this.inner, this.outer);
      this.lanes.digest(msgs, bounds, n, out);
      return;
    }
    for (let i = 0; i < n; i++) this.digestInto(msgs, bounds[2 * i]!, bounds[2 * i + 1]!, out, 32 * i);
  }

  private lanes: HmacLanes | null = null;

  /** The HMAC of a whole message, as a new Buffer. */
  digest(msg: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(32);
    this.digestInto(msg, 0, msg.length, out, 0);
    return out;
  }
}
