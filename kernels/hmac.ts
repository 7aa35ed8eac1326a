// HMAC-SHA-256 of many short messages under one key, four at a time: each
// 32-bit lane of a v128 carries one message's SHA-256 state, so one pass of
// the compression function hashes four. Ingest pseudonymises every new
// subscriber id this way (server/ingest/hmac.ts, KeyedHash.digestMany).
//
// With the key fixed, the inner and outer pads' first blocks are compressed
// once by the host (their midstates); a message of at most 55 bytes then
// needs exactly two compressions, its own padded block and the outer one.
//
// Context at `ctx` (the host's, 16-byte aligned): u32 inner[8], outer[8]
// midstates and K[64] round constants, written by the host; then scratch:
// 16 v128 block words, 64 v128 schedule words, 8 v128 state words.
//
// see: RFC 2104 (HMAC), FIPS 180-4 (SHA-256)

const CTX_INNER: usize = 0;
const CTX_OUTER: usize = 32;
const CTX_K: usize = 64;
const CTX_BLOCK: usize = 320;
const CTX_W: usize = CTX_BLOCK + 16 * 16;
const CTX_STATE: usize = CTX_W + 64 * 16;
const CTX_BYTES: usize = CTX_STATE + 8 * 16;
const MAX_MESSAGE: u32 = 55;

export function hmacContextBytes(): usize {
  return CTX_BYTES;
}

@inline
function rotr(x: v128, n: i32): v128 {
  return v128.or(i32x4.shr_u(x, n), i32x4.shl(x, 32 - n));
}

/** Advances the four lanes' states (8 v128 words at `state`) by their block words at CTX_BLOCK. */
@inline
function compress4(ctx: usize, state: usize): void {
  const w = ctx + CTX_W;
  const k = ctx + CTX_K;
  for (let i: usize = 0; i < 16; i++) v128.store(w + (i << 4), v128.load(ctx + CTX_BLOCK + (i << 4)));
  for (let i: usize = 16; i < 64; i++) {
    const w15 = v128.load(w + ((i - 15) << 4));
    const w2 = v128.load(w + ((i - 2) << 4));
    const s0 = v128.xor(v128.xor(rotr(w15, 7), rotr(w15, 18)), i32x4.shr_u(w15, 3));
    const s1 = v128.xor(v128.xor(rotr(w2, 17), rotr(w2, 19)), i32x4.shr_u(w2, 10));
    v128.store(w + (i << 4), i32x4.add(i32x4.add(v128.load(w + ((i - 16) << 4)), s0), i32x4.add(v128.load(w + ((i - 7) << 4)), s1)));
  }
  let a = v128.load(state);
  let b = v128.load(state, 16);
  let c = v128.load(state, 32);
  let d = v128.load(state, 48);
  let e = v128.load(state, 64);
  let f = v128.load(state, 80);
  let g = v128.load(state, 96);
  let h = v128.load(state, 112);
  for (let i: usize = 0; i < 64; i++) {
    const S1 = v128.xor(v128.xor(rotr(e, 6), rotr(e, 11)), rotr(e, 25));
    const ch = v128.xor(v128.and(e, f), v128.andnot(g, e));
    const t1 = i32x4.add(i32x4.add(i32x4.add(h, S1), i32x4.add(ch, i32x4.splat(load<i32>(k + (i << 2))))), v128.load(w + (i << 4)));
    const S0 = v128.xor(v128.xor(rotr(a, 2), rotr(a, 13)), rotr(a, 22));
    const maj = v128.xor(v128.xor(v128.and(a, b), v128.and(a, c)), v128.and(b, c));
    const t2 = i32x4.add(S0, maj);
    h = g;
    g = f;
    f = e;
    e = i32x4.add(d, t1);
    d = c;
    c = b;
    b = a;
    a = i32x4.add(t1, t2);
  }
  v128.store(state, i32x4.add(v128.load(state), a));
  v128.store(state, i32x4.add(v128.load(state, 16), b), 16);
  v128.store(state, i32x4.add(v128.load(state, 32), c), 32);
  v128.store(state, i32x4.add(v128.load(state, 48), d), 48);
  v128.store(state, i32x4.add(v128.load(state, 64), e), 64);
  v128.store(state, i32x4.add(v128.load(state, 80), f), 80);
  v128.store(state, i32x4.add(v128.load(state, 96), g), 96);
  v128.store(state, i32x4.add(v128.load(state, 112), h), 112);
}

/** Every lane of the 8 state words at `state` set to the midstate at `from`. */
@inline
function startState(state: usize, from: usize): void {
  for (let i: usize = 0; i < 8; i++) v128.store(state + (i << 4), i32x4.splat(load<i32>(from + (i << 2))));
}

/**
 * Writes the 32-byte HMAC of each of `n` messages to out + 32 * i. Message i
 * is bytes [msgs + bounds[2i], msgs + bounds[2i + 1]) (u32 pairs at `bounds`),
 * at most 55 bytes. Returns the index of the first longer message (the host
 * hashes those itself), or n.
 */
export function hmacMany(ctx: usize, msgs: usize, bounds: usize, n: u32, out: usize): u32 {
  const state = ctx + CTX_STATE;
  for (let i: u32 = 0; i < n; i++) if (load<u32>(bounds + 8 * i + 4) - load<u32>(bounds + 8 * i) > MAX_MESSAGE) return i;
  const block = ctx + CTX_BLOCK;
  for (let first: u32 = 0; first < n; first += 4) {
    // The lanes' padded blocks, transposed: word j of lane l at block + 16 j + 4 l.
    memory.fill(block, 0, 256);
    for (let l: u32 = 0; l < 4; l++) {
      const m = first + l < n ? first + l : first; // a short last group repeats its first message
      const s = load<u32>(bounds + 8 * m);
      const len = load<u32>(bounds + 8 * m + 4) - s;
      for (let i: u32 = 0; i <= len; i++) {
        const byte: u32 = i < len ? <u32>load<u8>(msgs + s + i) : 0x80;
        const at = block + (<usize>(i >> 2) << 4) + (<usize>l << 2);
        store<u32>(at, load<u32>(at) | (byte << (24 - 8 * (i & 3))));
      }
      store<u32>(block + (15 << 4) + (<usize>l << 2), (64 + len) * 8);
    }
    startState(state, ctx + CTX_INNER);
    compress4(ctx, state);
    // The outer message is the inner digest, padded into one block.
    for (let i: usize = 0; i < 8; i++) v128.store(block + (i << 4), v128.load(state + (i << 4)));
    v128.store(block + (8 << 4), i32x4.splat(0x80000000));
    for (let i: usize = 9; i < 15; i++) v128.store(block + (i << 4), i32x4.splat(0));
    v128.store(block + (15 << 4), i32x4.splat((64 + 32) * 8));
    startState(state, ctx + CTX_OUTER);
    compress4(ctx, state);
    for (let l: u32 = 0; l < 4 && first + l < n; l++) {
      const to = out + 32 * <usize>(first + l);
      for (let i: usize = 0; i < 8; i++) store<u32>(to + (i << 2), bswap<u32>(load<u32>(state + (i << 4) + (<usize>l << 2))));
    }
  }
  return n;
}
