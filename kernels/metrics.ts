// Per-subscriber metrics: FlowKit's joinable metrics (radius_of_gyration,
// event_count, nocturnal_events, unique_location_counts, subscriber_degree,
// pareto_interactions, total_active_periods, topup_amount, displacement), as
// docs/QUERIES.md defines them.
//
// Rows, filters and location tables are as in locate.ts: each call scans one
// (day, partition) range, rows chronological with ingest-order ties, ranges
// called in date order; an event qualifies by type, window [tStart, tEnd) and
// hour. Some kernels also take direction bits (dirMask: bit d keeps direction
// code d, so 2 = out, 4 = in, 7 = both) and the optional columns, in row order:
// peer u32 (the counterpart's GLOBAL subscriber index, 0xFFFFFFFF none) and
// recharge f64 (NaN none).
//
// Distances use the day's cell coordinates: lon and lat f64 per cell key, NaN
// when the cell has no valid version that day. A qualifying event on a cell >=
// nCells (0xFFFFFFFF included) is dropped as drops[1] (no cell), one on a cell
// without coordinates as drops[2] (unknown / no valid version); drops is u32[4].
// Distances are great-circle (haversine) kilometres on a sphere of radius
// 6371.0088 km.
//
// A metric accumulates across calls in per-subscriber state the host
// allocates (`...Bytes(nSubs)`) and zero-fills, then a finish kernel writes
// the metric to `out`, f64 per local subscriber, which the host initialises to
// NaN: a subscriber with no qualifying event stays NaN (absent). Statistics
// over per-event values (displacement, topup_amount) are emitted as (sub,
// value) pairs for the group kernels of stats.ts, with group = sub.

import { DIR_SHIFT, NULL_U32, SECONDS_PER_DAY, STATUS_BAD_ARGUMENT, STATUS_CAPACITY, STATUS_OK, TYPE_MASK } from './shared/constants';
import { keptKinds, nextRun, runEnd, runStart, typeKept } from './scan';
import { EMPTY, clearTable, consumedOf, finishTable, loadLimit, probe, rehashTable, slotOf, tableBytesOf, usedOf, validTable } from './table';
import { sortRange } from './stats';

const DAY: u32 = SECONDS_PER_DAY;
const HOUR: u32 = 3600;
const MAX_GROUP_SUBS: u32 = 0x7fffffff; // pair groups are i32

/** Earth's mean radius, km (docs/QUERIES.md). */
const R_KM: f64 = 6371.0088;
/** Degrees to radians: pi / 180. */
const RAD: f64 = 0.017453292519943295;

/** Whether the event's direction code (bits 2-3 of kind) has its bit in dirMask. */
@inline
function directionKept(kind: u32, dirMask: u32): bool {
  return ((dirMask >> ((kind >> DIR_SHIFT) & 3)) & 1) != 0;
}

/** Whether the cell has coordinates on the table's day; if not, counts the drop. */
@inline
function hasCoords(cell: u32, lonPtr: usize, latPtr: usize, nCells: u32, dropPtr: usize): bool {
  let code: usize = 1; // no cell
  if (cell < nCells) {
    const at = <usize>cell << 3;
    if (!isNaN(load<f64>(lonPtr + at)) && !isNaN(load<f64>(latPtr + at))) return true;
    code = 2;
  }
  const counter = dropPtr + (code << 2);
  store<u32>(counter, load<u32>(counter) + 1);
  return false;
}

// sin and cos without AssemblyScript's Math.sin / Math.cos, whose reduction of
// huge arguments brings mutable globals and a data segment (a table of 2/pi)
// into the module, which must have neither (see index.ts). Our arguments are
// angles of at most a few turns, so a Cody-Waite reduction by pi/2 in two or
// three parts is exact enough, followed by fdlibm's kernels on [-pi/4, pi/4].
// Accurate to about 1 ulp for |x| < 2^20 * pi/2 (coordinates within 10^7
// degrees); beyond that the reduction loses precision.
// see: musl src/math/__sin.c, __cos.c, __rem_pio2.c (from FreeBSD msun, SunPro's
// fdlibm: "Permission to use, copy, modify, and distribute this software is
// freely granted, provided that this notice is preserved.")

const PIO4_HI: u32 = 0x3fe921fb; // high word of pi/4
const INV_PIO2: f64 = 6.36619772367581382433e-01;
const PIO2_1: f64 = 1.57079632673412561417e+00; // first 33 bits of pi/2
const PIO2_1T: f64 = 6.07710050650619224932e-11; // pi/2 - PIO2_1
const PIO2_2: f64 = 6.07710050630396597660e-11; // second 33 bits
const PIO2_2T: f64 = 2.02226624879595063154e-21; // pi/2 - (PIO2_1 + PIO2_2)

const S1: f64 = -1.66666666666666324348e-01;

/** sin(x + y) for |x + y| <= pi/4, y the tail of x; tail false: y = 0 (fdlibm's two forms). */
@inline
function kernelSin(x: f64, y: f64, tail: bool): f64 {
  const z = x * x;
  const w = z * z;
  const r = 8.33333333332248946124e-03 + z * (-1.98412698298579493134e-04 + z * 2.75573137070700676789e-06) +
    z * w * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10);
  const v = z * x;
  if (!tail) return x + v * (S1 + z * r);
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

/** cos(x + y) for |x + y| <= pi/4. */
@inline
function kernelCos(x: f64, y: f64): f64 {
  const z = x * x;
  const w = z * z;
  const r = z * (4.16666666666666019037e-02 + z * (-1.38888888888741095749e-03 + z * 2.48015872894767294178e-05)) +
    w * w * (-2.75573143513906633035e-07 + z * (2.08757232129817482790e-09 + z * -1.13596475577881948265e-11));
  const hz = 0.5 * z;
  const one = 1.0 - hz;
  return one + (((1.0 - one) - hz) + (z * r - x * y));
}

@inline
function highWord(x: f64): u32 {
  return <u32>(reinterpret<u64>(x) >> 32) & 0x7fffffff;
}

/**
 * sin (cosine = false) or cos (cosine = true) of x, |x| < 2^20 * pi/2: x = n * pi/2 + (y0 + y1)
 * with |y0 + y1| <= pi/4, then the kernel n selects.
 */
@inline
function sinCos(x: f64, cosine: bool): f64 {
  const ix = highWord(x);
  if (ix <= PIO4_HI) return cosine ? kernelCos(x, 0) : kernelSin(x, 0, false);
  const n = Math.round(x * INV_PIO2); // ties are immaterial: either n leaves |y| <= pi/4 + ulps
  let r = x - n * PIO2_1; // exact: n has at most 20 bits, PIO2_1 33
  let w = n * PIO2_1T;
  let y0 = r - w;
  // Near a multiple of pi/2 the subtraction cancels: take 33 more bits of pi/2.
  if (<i32>(ix >> 20) - <i32>(highWord(y0) >> 20) > 16) {
    const t = r;
    w = n * PIO2_2;
    r = t - w;
    w = n * PIO2_2T - ((t - r) - w);
    y0 = r - w;
  }
  const y1 = (r - y0) - w;
  const q = (<i32>n + (cosine ? 1 : 0)) & 3; // cos(x) = sin(x + pi/2)
  const v = q & 1 ? kernelCos(y0, y1) : kernelSin(y0, y1, true);
  return q & 2 ? -v : v;
}

@inline
function sin(x: f64): f64 {
  return sinCos(x, false);
}

@inline
function cos(x: f64): f64 {
  return sinCos(x, true);
}

/**
 * Great-circle distance in km from (lon1, lat1) to (lon2, lat2), degrees, by the
 * haversine formula; cosLat1 = cos(lat1 in radians), passed so a fixed end point
 * pays for its cosine once. The host reference evaluates the same expression.
 * see: R. W. Sinnott, Virtues of the Haversine, Sky and Telescope 68(2), 1984
 */
@inline
function haversineKm(lon1: f64, lat1: f64, cosLat1: f64, lon2: f64, lat2: f64): f64 {
  const sLat = sin((lat2 - lat1) * RAD * 0.5);
  const sLon = sin((lon2 - lon1) * RAD * 0.5);
  let a = sLat * sLat + cosLat1 * cos(lat2 * RAD) * sLon * sLon;
  if (a > 1) a = 1;
  return 2.0 * R_KM * Math.asin(Math.sqrt(a));
}

// ---------------------------------------------------------------------------
// event_count: state u32 per sub, events.

/** Bytes of countEvents state: 4 * nSubs (u32 events per sub), zero-filled by the host. */
export function eventCountBytes(nSubs: u32): usize {
  return <usize>nSubs << 2;
}

/** state[sub] += qualifying events with a dirMask direction (sub < nSubs). Status. */
export function countEvents(
  n: u32, subPtr: usize, tPtr: usize, kindPtr: usize,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32, dirMask: u32,
  nSubs: u32, state: usize,
): i32 {
  const keep = keptKinds(typeMask, dirMask);
  for (let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask); runStart(run) < n; run = nextRun(tPtr, runEnd(run), n, tStart, tEnd, hourMask)) {
    // Branch-free per row: a row adds 1 if its type and direction are kept, else 0, so
    // a filter keeping about half the rows (calls and sms of four types) costs no mispredictions.
    const kindEnd = kindPtr + <usize>runEnd(run);
    let sub = subPtr + (<usize>runStart(run) << 2);
    for (let kind = kindPtr + <usize>runStart(run); kind < kindEnd; kind++, sub += 4) {
      const add = (keep >> <u32>load<u8>(kind)) & 1;
      const s = load<u32>(sub);
      if (s >= nSubs) return STATUS_BAD_ARGUMENT;
      const slot = state + (<usize>s << 2);
      store<u32>(slot, load<u32>(slot) + add);
    }
  }
  return STATUS_OK;
}

/** out[sub] (f64, NaN-initialised) = events, for subs with at least one. Status. */
export function finishEventCount(state: usize, nSubs: u32, out: usize): i32 {
  for (let s: u32 = 0; s < nSubs; s++) {
    const events = load<u32>(state + (<usize>s << 2));
    if (events > 0) store<f64>(out + (<usize>s << 3), <f64>events);
  }
  return STATUS_OK;
}

// ---------------------------------------------------------------------------
// nocturnal_events: state per sub, 8 bytes: +0 u32 events, +4 u32 night events.

/** Bytes of countNocturnal state: 8 * nSubs (u32 events, u32 night events per sub), zero-filled by the host. */
export function nocturnalBytes(nSubs: u32): usize {
  return <usize>nSubs << 3;
}

/** Adds qualifying events with a dirMask direction per sub (< nSubs), and those whose local hour h has bit h in nightMask. Status. */
export function countNocturnal(
  n: u32, subPtr: usize, tPtr: usize, kindPtr: usize,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32, dirMask: u32, nightMask: u32,
  nSubs: u32, state: usize,
): i32 {
  for (let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask); runStart(run) < n; run = nextRun(tPtr, runEnd(run), n, tStart, tEnd, hourMask)) {
    for (let i = runStart(run), end = runEnd(run); i < end; i++) {
      const at = <usize>i << 2;
      const t = load<u32>(tPtr + at);
      const kind = <u32>load<u8>(kindPtr + i);
      if (!typeKept(kind, typeMask) || !directionKept(kind, dirMask)) continue;
      const sub = load<u32>(subPtr + at);
      if (sub >= nSubs) return STATUS_BAD_ARGUMENT;
      const s = state + (<usize>sub << 3);
      store<u32>(s, load<u32>(s) + 1);
      store<u32>(s + 4, load<u32>(s + 4) + ((nightMask >> ((t % DAY) / HOUR)) & 1));
    }
  }
  return STATUS_OK;
}

/** out[sub] (f64, NaN-initialised) = 100 * night events / events, in [0, 100], for subs with events. Status. */
export function finishNocturnal(state: usize, nSubs: u32, out: usize): i32 {
  for (let s: u32 = 0; s < nSubs; s++) {
    const at = state + (<usize>s << 3);
    const events = load<u32>(at);
    if (events > 0) store<f64>(out + (<usize>s << 3), (100.0 * <f64>load<u32>(at + 4)) / <f64>events);
  }
  return STATUS_OK;
}

// ---------------------------------------------------------------------------
// total_active_periods: state per sub, 8 bytes: +0 u32 latest active period + 1
// (0 = none yet), +4 u32 active periods. Rows are chronological, so a period
// differs from the latest one seen only when it is new.

/** Bytes of countActivePeriods state: 8 * nSubs, zero-filled by the host. */
export function activePeriodsBytes(nSubs: u32): usize {
  return <usize>nSubs << 3;
}

/**
 * Counts per sub (< nSubs) the distinct periods [tStart + i * periodSeconds, +periodSeconds)
 * holding a qualifying event; the window [tStart, tEnd) spans the periods. Rows must be
 * chronological per subscriber across calls. Status: BAD_ARGUMENT also for periodSeconds 0
 * or rows out of time order.
 */
export function countActivePeriods(
  n: u32, subPtr: usize, tPtr: usize, kindPtr: usize,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32, periodSeconds: u32,
  nSubs: u32, state: usize,
): i32 {
  if (periodSeconds == 0) return STATUS_BAD_ARGUMENT;
  for (let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask); runStart(run) < n; run = nextRun(tPtr, runEnd(run), n, tStart, tEnd, hourMask)) {
    for (let i = runStart(run), end = runEnd(run); i < end; i++) {
      const at = <usize>i << 2;
      const t = load<u32>(tPtr + at);
      if (!typeKept(<u32>load<u8>(kindPtr + i), typeMask)) continue;
      const sub = load<u32>(subPtr + at);
      if (sub >= nSubs) return STATUS_BAD_ARGUMENT;
      const s = state + (<usize>sub << 3);
      const period = (t - tStart) / periodSeconds + 1; // t >= tStart, so no wrap; < 2^32
      const latest = load<u32>(s);
      if (period == latest) continue;
      if (period < latest) return STATUS_BAD_ARGUMENT;
      store<u32>(s, period);
      store<u32>(s + 4, load<u32>(s + 4) + 1);
    }
  }
  return STATUS_OK;
}

/** out[sub] (f64, NaN-initialised) = active periods, for subs with at least one. Status. */
export function finishActivePeriods(state: usize, nSubs: u32, out: usize): i32 {
  for (let s: u32 = 0; s < nSubs; s++) {
    const periods = load<u32>(state + (<usize>s << 3) + 4);
    if (periods > 0) store<f64>(out + (<usize>s << 3), <f64>periods);
  }
  return STATUS_OK;
}

// ---------------------------------------------------------------------------
// radius_of_gyration, in two passes over the same ranges: gyrationSums
// accumulates each subscriber's lon and lat, gyrationCentroids turns the sums
// into the centroid, gyrationSpread accumulates squared distances from it.
// A subscriber's events mostly repeat the position just before (the same cell),
// and the distance (two sines, a cosine, an arcsine) was most of the kernel's
// time, so the spread pass keeps the last position and its squared distance per
// sub and reuses it while the position repeats: the same value, fewer trig calls.
// State per sub, 64 bytes (one cache line):
//   +0  f64 lon      sum of event longitudes, then their mean
//   +8  f64 lat      sum of event latitudes, then their mean
//   +16 f64 cosLat   cos(mean latitude), set by gyrationCentroids
//   +24 f64 sumSq    sum of squared distances to the centroid, km^2
//   +32 u32 events   located qualifying events
//   +36 u32 phase    0 summing, 1 centroid set (each kernel checks it)
//   +40 f64 lastLon  position of the sub's previous event in pass 2 (NaN: none yet)
//   +48 f64 lastLat
//   +56 f64 lastSq   its squared distance to the centroid, km^2

const GY_BYTES: usize = 64;
const GY_LON: usize = 0;
const GY_LAT: usize = 8;
const GY_COS: usize = 16;
const GY_SUMSQ: usize = 24;
const GY_EVENTS: usize = 32;
const GY_PHASE: usize = 36;
const GY_LAST_LON: usize = 40;
const GY_LAST_LAT: usize = 48;
const GY_LAST_SQ: usize = 56;

/** Bytes of radius-of-gyration state: 64 * nSubs, zero-filled by the host. */
export function gyrationBytes(nSubs: u32): usize {
  return <usize>nSubs * GY_BYTES;
}

/** Pass 1: adds each located qualifying event's cell lon and lat to its sub (< nSubs); counts drops. Status. */
export function gyrationSums(
  n: u32, subPtr: usize, tPtr: usize, cellPtr: usize, kindPtr: usize,
  lonPtr: usize, latPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32,
  nSubs: u32, state: usize, dropPtr: usize,
): i32 {
  for (let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask); runStart(run) < n; run = nextRun(tPtr, runEnd(run), n, tStart, tEnd, hourMask)) {
    for (let i = runStart(run), end = runEnd(run); i < end; i++) {
      const at = <usize>i << 2;
      if (!typeKept(<u32>load<u8>(kindPtr + i), typeMask)) continue;
      const cell = load<u32>(cellPtr + at);
      if (!hasCoords(cell, lonPtr, latPtr, nCells, dropPtr)) continue;
      const sub = load<u32>(subPtr + at);
      if (sub >= nSubs) return STATUS_BAD_ARGUMENT;
      const s = state + <usize>sub * GY_BYTES;
      if (load<u32>(s + GY_PHASE) != 0) return STATUS_BAD_ARGUMENT;
      const c = <usize>cell << 3;
      store<f64>(s + GY_LON, load<f64>(s + GY_LON) + load<f64>(lonPtr + c));
      store<f64>(s + GY_LAT, load<f64>(s + GY_LAT) + load<f64>(latPtr + c));
      store<u32>(s + GY_EVENTS, load<u32>(s + GY_EVENTS) + 1);
    }
  }
  return STATUS_OK;
}

/** Between the passes: each sub's sums become its centroid (plain mean of lon and lat). Status: BAD_ARGUMENT if already done. */
export function gyrationCentroids(state: usize, nSubs: u32): i32 {
  for (let sub: u32 = 0; sub < nSubs; sub++) {
    const s = state + <usize>sub * GY_BYTES;
    const events = load<u32>(s + GY_EVENTS);
    if (events == 0) continue;
    if (load<u32>(s + GY_PHASE) != 0) return STATUS_BAD_ARGUMENT;
    const lat = load<f64>(s + GY_LAT) / <f64>events;
    store<f64>(s + GY_LON, load<f64>(s + GY_LON) / <f64>events);
    store<f64>(s + GY_LAT, lat);
    store<f64>(s + GY_COS, cos(lat * RAD));
    store<f64>(s + GY_LAST_LON, NaN); // NaN equals nothing: the first event computes its distance
    store<u32>(s + GY_PHASE, 1);
  }
  return STATUS_OK;
}

/** Pass 2, over the same ranges and filter as pass 1: adds each located qualifying event's squared distance (km^2) to its sub's centroid. Drops are not counted again. Status. */
export function gyrationSpread(
  n: u32, subPtr: usize, tPtr: usize, cellPtr: usize, kindPtr: usize,
  lonPtr: usize, latPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32,
  nSubs: u32, state: usize,
): i32 {
  for (let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask); runStart(run) < n; run = nextRun(tPtr, runEnd(run), n, tStart, tEnd, hourMask)) {
    for (let i = runStart(run), end = runEnd(run); i < end; i++) {
      const at = <usize>i << 2;
      if (!typeKept(<u32>load<u8>(kindPtr + i), typeMask)) continue;
      const cell = load<u32>(cellPtr + at);
      if (cell >= nCells) continue;
      const c = <usize>cell << 3;
      const lon = load<f64>(lonPtr + c);
      const lat = load<f64>(latPtr + c);
      if (isNaN(lon) || isNaN(lat)) continue;
      const sub = load<u32>(subPtr + at);
      if (sub >= nSubs) return STATUS_BAD_ARGUMENT;
      const s = state + <usize>sub * GY_BYTES;
      if (load<u32>(s + GY_PHASE) != 1) return STATUS_BAD_ARGUMENT; // no centroid: not the rows of pass 1
      let sq = load<f64>(s + GY_LAST_SQ);
      if (lon != load<f64>(s + GY_LAST_LON) || lat != load<f64>(s + GY_LAST_LAT)) {
        const d = haversineKm(load<f64>(s + GY_LON), load<f64>(s + GY_LAT), load<f64>(s + GY_COS), lon, lat);
        sq = d * d;
        store<f64>(s + GY_LAST_LON, lon);
        store<f64>(s + GY_LAST_LAT, lat);
        store<f64>(s + GY_LAST_SQ, sq);
      }
      store<f64>(s + GY_SUMSQ, load<f64>(s + GY_SUMSQ) + sq);
    }
  }
  return STATUS_OK;
}

/** out[sub] (f64, NaN-initialised) = sqrt(sumSq / events) in km, for subs with located events. Status. */
export function finishGyration(state: usize, nSubs: u32, out: usize): i32 {
  for (let sub: u32 = 0; sub < nSubs; sub++) {
    const s = state + <usize>sub * GY_BYTES;
    const events = load<u32>(s + GY_EVENTS);
    if (events == 0) continue;
    if (load<u32>(s + GY_PHASE) != 1) return STATUS_BAD_ARGUMENT;
    store<f64>(out + (<usize>sub << 3), Math.sqrt(load<f64>(s + GY_SUMSQ) / <f64>events));
  }
  return STATUS_OK;
}

// ---------------------------------------------------------------------------
// Per-event values for statistics (stats.ts groups them by sub).

/**
 * displacement: for each located qualifying event of a sub (< nSubs < 2^31) with a
 * reference location (refLon, refLat: f64 per sub, NaN none), writes the sub and the
 * km distance from the reference to the event's cell to outSub (i32) and outValue
 * (f64), room for n each; counts drops. Returns the pairs written, or -1 on a bad argument.
 */
export function displacementValues(
  n: u32, subPtr: usize, tPtr: usize, cellPtr: usize, kindPtr: usize,
  lonPtr: usize, latPtr: usize, nCells: u32,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32,
  refLon: usize, refLat: usize, nSubs: u32, outSub: usize, outValue: usize, dropPtr: usize,
): i32 {
  if (nSubs > MAX_GROUP_SUBS) return -1;
  let k: usize = 0;
  for (let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask); runStart(run) < n; run = nextRun(tPtr, runEnd(run), n, tStart, tEnd, hourMask)) {
    for (let i = runStart(run), end = runEnd(run); i < end; i++) {
      const at = <usize>i << 2;
      if (!typeKept(<u32>load<u8>(kindPtr + i), typeMask)) continue;
      const cell = load<u32>(cellPtr + at);
      if (!hasCoords(cell, lonPtr, latPtr, nCells, dropPtr)) continue;
      const sub = load<u32>(subPtr + at);
      if (sub >= nSubs) return -1;
      const lon0 = load<f64>(refLon + (<usize>sub << 3));
      const lat0 = load<f64>(refLat + (<usize>sub << 3));
      if (isNaN(lon0) || isNaN(lat0)) continue;
      const c = <usize>cell << 3;
      const d = haversineKm(lon0, lat0, cos(lat0 * RAD), load<f64>(lonPtr + c), load<f64>(latPtr + c));
      store<i32>(outSub + (k << 2), <i32>sub);
      store<f64>(outValue + (k << 3), d);
      k++;
    }
  }
  return <i32>k;
}

/**
 * topup_amount: for each qualifying event with a recharge amount (f64, NaN none) of a
 * sub (< nSubs < 2^31), writes the sub and the amount to outSub (i32) and outValue
 * (f64), room for n each. Returns the pairs written, or -1 on a bad argument.
 */
export function topupValues(
  n: u32, subPtr: usize, tPtr: usize, kindPtr: usize, rechargePtr: usize,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32,
  nSubs: u32, outSub: usize, outValue: usize,
): i32 {
  if (nSubs > MAX_GROUP_SUBS) return -1;
  let k: usize = 0;
  for (let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask); runStart(run) < n; run = nextRun(tPtr, runEnd(run), n, tStart, tEnd, hourMask)) {
    for (let i = runStart(run), end = runEnd(run); i < end; i++) {
      const at = <usize>i << 2;
      if (!typeKept(<u32>load<u8>(kindPtr + i), typeMask)) continue;
      const amount = load<f64>(rechargePtr + (<usize>i << 3));
      if (isNaN(amount)) continue;
      const sub = load<u32>(subPtr + at);
      if (sub >= nSubs) return -1;
      store<i32>(outSub + (k << 2), <i32>sub);
      store<f64>(outValue + (k << 3), amount);
      k++;
    }
  }
  return <i32>k;
}

// ---------------------------------------------------------------------------
// unique_location_counts: countLocations (locate.ts) fills the (sub, location)
// table, tableKeys lists its pairs; each pair is one distinct location.

/** out[sub] (f64, NaN-initialised) += 1 per entry of subs (u32[n], each < nSubs): distinct locations, given the sub column of tableKeys. Status. */
export function countPerSub(n: u32, subPtr: usize, nSubs: u32, out: usize): i32 {
  for (let i: u32 = 0; i < n; i++) {
    const sub = load<u32>(subPtr + (<usize>i << 2));
    if (sub >= nSubs) return STATUS_BAD_ARGUMENT;
    const o = out + (<usize>sub << 3);
    const v = load<f64>(o);
    store<f64>(o, isNaN(v) ? 1 : v + 1);
  }
  return STATUS_OK;
}

// ---------------------------------------------------------------------------
// subscriber_degree and pareto_interactions: an open-addressing table of
// (local sub, peer) contacts with their event counts: table.ts's table with
// 16-byte slots:
//   +0  u32 sub     partition-local subscriber; 0xFFFFFFFF = empty slot
//   +4  u32 peer    the counterpart's global subscriber index   ((sub, peer) is the u64 key)
//   +8  u32 events  qualifying events between them
//   +12 u32         reserved

const C_SLOT_BYTES: usize = 16;
const C_MAX_CAPACITY: u32 = 1 << 26;
const C_SUB: usize = 0;
const C_EVENTS: usize = 8;

/** Bytes a contact table of `capacity` slots occupies: 32 + 16 * capacity. */
export function contactTableBytes(capacity: u32): usize {
  return tableBytesOf(capacity, C_SLOT_BYTES);
}

/** Empties the contact table; capacity: slots, a power of two in [8, 2^26]. Status. */
export function contactTableClear(table: usize, capacity: u32): i32 {
  return clearTable(table, capacity, C_SLOT_BYTES, C_MAX_CAPACITY);
}

/** Occupied slots of the contact table. */
export function contactTableUsed(table: usize): u32 {
  return usedOf(table);
}

/** Rows the last countContacts call consumed, [0, n]. */
export function contactTableConsumed(table: usize): u32 {
  return consumedOf(table);
}

/** Copies every entry of `src` into `dst` (cleared here). Status: CAPACITY if dst cannot hold them. */
export function contactTableRehash(src: usize, srcCapacity: u32, dst: usize, dstCapacity: u32): i32 {
  return rehashTable(src, srcCapacity, dst, dstCapacity, C_SLOT_BYTES, C_MAX_CAPACITY);
}

@inline
function contactSlot(table: usize, index: u32): usize {
  return slotOf(table, index, C_SLOT_BYTES);
}

/**
 * Adds the rows' qualifying events with a dirMask direction and a counterpart to the
 * contact table per (sub < nSubs, peer); with excludeSelf != 0, events whose peer is
 * the sub itself (globalOf: u32 global index per local sub) are skipped. Status;
 * CAPACITY: rows [0, contactTableConsumed) are in (grow, rehash, resume there).
 */
export function countContacts(
  n: u32, subPtr: usize, tPtr: usize, kindPtr: usize, peerPtr: usize,
  typeMask: u32, tStart: u32, tEnd: u32, hourMask: u32, dirMask: u32,
  excludeSelf: u32, globalOf: usize, nSubs: u32, table: usize, capacity: u32,
): i32 {
  if (!validTable(table, capacity)) return STATUS_BAD_ARGUMENT;
  const mask = capacity - 1;
  const limit = loadLimit(capacity);
  let used = usedOf(table);
  let status = STATUS_OK;
  let i: u32 = 0;
  let run = nextRun(tPtr, 0, n, tStart, tEnd, hourMask);
  while (runStart(run) < n) {
    const end = runEnd(run);
    for (i = runStart(run); i < end; i++) {
      const kind = <u32>load<u8>(kindPtr + i);
      if (!typeKept(kind, typeMask) || !directionKept(kind, dirMask)) continue;
      const at = <usize>i << 2;
      const peer = load<u32>(peerPtr + at);
      if (peer == NULL_U32) continue;
      const sub = load<u32>(subPtr + at);
      if (sub >= nSubs) { status = STATUS_BAD_ARGUMENT; break; }
      if (excludeSelf != 0 && peer == load<u32>(globalOf + (<usize>sub << 2))) continue;
      const key = (<u64>peer << 32) | <u64>sub;
      const slot = probe(table, mask, key, C_SLOT_BYTES, 0);
      if (load<u32>(slot + C_SUB) == EMPTY) {
        if (used >= limit) { status = STATUS_CAPACITY; break; }
        store<u64>(slot, key);
        store<u64>(slot + C_EVENTS, 0);
        used++;
      }
      store<u32>(slot + C_EVENTS, load<u32>(slot + C_EVENTS) + 1);
    }
    if (status != STATUS_OK) break;
    run = nextRun(tPtr, end, n, tStart, tEnd, hourMask);
  }
  finishTable(table, used, 0, status == STATUS_OK ? n : i);
  return status;
}

/** subscriber_degree: out[sub] (f64, NaN-initialised) = distinct counterparts of each sub (< nSubs) in the contact table. Status. */
export function finishDegree(table: usize, capacity: u32, nSubs: u32, out: usize): i32 {
  if (!validTable(table, capacity)) return STATUS_BAD_ARGUMENT;
  for (let i: u32 = 0; i < capacity; i++) {
    const slot = contactSlot(table, i);
    const sub = load<u32>(slot + C_SUB);
    if (sub == EMPTY) continue;
    if (sub >= nSubs) return STATUS_BAD_ARGUMENT;
    const o = out + (<usize>sub << 3);
    const v = load<f64>(o);
    store<f64>(o, isNaN(v) ? 1 : v + 1);
  }
  return STATUS_OK;
}

/** Bytes of finishPareto scratch: 4 * (nSubs + 1) + 4 * used (used = contactTableUsed). */
export function paretoScratchBytes(nSubs: u32, used: u32): usize {
  return ((<usize>nSubs + 1) << 2) + (<usize>used << 2);
}

/**
 * pareto_interactions: out[sub] (f64, NaN-initialised) = k / contacts, where k is the
 * fewest of the sub's contacts, taken by most events first, whose events reach
 * ceil(events * numerator / denominator) (the proportion as an exact fraction,
 * numerator <= denominator, denominator in 1..2^30, computed in integers), and at
 * least 1. scratch: paretoScratchBytes(nSubs, used). Status.
 */
export function finishPareto(table: usize, capacity: u32, nSubs: u32, numerator: u32, denominator: u32, scratch: usize, out: usize): i32 {
  if (!validTable(table, capacity)) return STATUS_BAD_ARGUMENT;
  if (denominator == 0 || denominator > (1 << 30) || numerator > denominator) return STATUS_BAD_ARGUMENT;
  // Group the contacts' event counts by sub with a counting sort: counts of sub s
  // end up in counts[end(s - 1) .. end(s)), end(s) = offsets[s] after the scatter.
  const offsets = scratch;
  const counts = scratch + ((<usize>nSubs + 1) << 2);
  memory.fill(offsets, 0, (<usize>nSubs + 1) << 2);
  for (let i: u32 = 0; i < capacity; i++) {
    const sub = load<u32>(contactSlot(table, i) + C_SUB);
    if (sub == EMPTY) continue;
    if (sub >= nSubs) return STATUS_BAD_ARGUMENT;
    const o = offsets + ((<usize>sub + 1) << 2);
    store<u32>(o, load<u32>(o) + 1);
  }
  let sum: u32 = 0;
  for (let s: u32 = 0; s <= nSubs; s++) {
    const o = offsets + (<usize>s << 2);
    sum += load<u32>(o);
    store<u32>(o, sum);
  }
  for (let i: u32 = 0; i < capacity; i++) {
    const slot = contactSlot(table, i);
    const sub = load<u32>(slot + C_SUB);
    if (sub == EMPTY) continue;
    const o = offsets + (<usize>sub << 2);
    const at = load<u32>(o);
    store<u32>(o, at + 1);
    store<u32>(counts + (<usize>at << 2), load<u32>(slot + C_EVENTS));
  }
  let start: u32 = 0;
  for (let s: u32 = 0; s < nSubs; s++) {
    const end = load<u32>(offsets + (<usize>s << 2));
    const contacts = end - start;
    if (contacts > 0) {
      const run = counts + (<usize>start << 2);
      sortRange<u32>(run, contacts); // ascending: the busiest contacts are last
      let events: u64 = 0;
      for (let j: u32 = 0; j < contacts; j++) events += <u64>load<u32>(run + (<usize>j << 2));
      const target = (events * <u64>numerator + <u64>denominator - 1) / <u64>denominator;
      let k: u32 = 0;
      let reached: u64 = 0;
      do {
        k++;
        reached += <u64>load<u32>(run + (<usize>(contacts - k) << 2));
      } while (reached < target && k < contacts);
      store<f64>(out + (<usize>s << 3), <f64>k / <f64>contacts);
    }
    start = end;
  }
  return STATUS_OK;
}
