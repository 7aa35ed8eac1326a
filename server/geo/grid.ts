/**
 * Uniform-grid spatial index over a packed level, for assigning many points
 * (cell towers) to regions. Two ideas keep every lookup short:
 *
 * - Cells the boundary of a polygon does not touch lie wholly inside or wholly
 *   outside it, so the index records "inside p" for them and nothing at all
 *   for "outside": most points are answered without a polygon test.
 * - Where a boundary does cross a cell, the point is tested against a *band*:
 *   the edges of that polygon whose latitude range meets the cell's row. The
 *   crossing test only ever counts edges spanning the point's latitude, and
 *   every such edge is in the band, so the band test gives exactly the answer
 *   of the full polygon test at a fraction of the cost.
 *
 * Layout (CSR, like packed.ts; maps onto linear memory unchanged):
 *
 *   cell c = row * nx + col -> items cellItems[cellStart[c] .. cellStart[c + 1])
 *   item >= 0: band b; the point is in polygon bandPoly[b] if the crossing test
 *              over edges bandEdges[bandEdgeStart[b] .. bandEdgeStart[b + 1]) says so
 *              (each entry is a position v; the edge joins positions v and v + 1)
 *   item < 0:  the cell lies wholly inside polygon ~item
 *
 * Items of a cell are in polygon order and nothing follows an "inside" item,
 * so the first hit is the first region in file order, as in the brute force.
 */

import { crossesRight, type PackedLevel } from './packed.js';

export interface GridIndex {
  packed: PackedLevel;
  nx: number;
  ny: number;
  /** Grid extent: the level's bbox, WGS84 degrees. */
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  /** Cells per degree of longitude and of latitude. */
  invW: number;
  invH: number;
  /** nx * ny + 1. */
  cellStart: Int32Array;
  cellItems: Int32Array;
  /** nBands: polygon of each band. */
  bandPoly: Int32Array;
  /** nBands + 1. */
  bandEdgeStart: Int32Array;
  /** Position index v of each band edge (v, v + 1). */
  bandEdges: Int32Array;
}

export interface GridOptions {
  /** Target number of cells; default two per polygon edge, within [1, 2^22]. */
  cells?: number;
}

const MAX_CELLS = 1 << 22;

/** A growable Int32 column, so the build allocates O(log n) times, not per item. */
class IntList {
  buf = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) this.reserve(1);
    this.buf[this.length++] = v;
  }
  /** Makes room for `n` more entries. */
  reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Int32Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  toArray(): Int32Array {
    return this.buf.slice(0, this.length);
  }
}

const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);

export function buildGridIndex(pk: PackedLevel, opts: GridOptions = {}): GridIndex {
  const { coords, polyBbox, nPolys } = pk;
  const [minX, minY, maxX, maxY] = pk.bbox;
  // Margin that absorbs floating-point error in cell arithmetic and in the
  // crossing test (a few ulps of a degree, ~1e-14); 1e-9 degree is 0.1 mm.
  const eps = 1e-9 * Math.max(1, Math.abs(minX), Math.abs(minY), Math.abs(maxX), Math.abs(maxY));
  const w = Math.max(maxX - minX, eps);
  const h = Math.max(maxY - minY, eps);
  const nEdges = pk.nPositions - pk.nRings;
  const target = clamp(Math.round(opts.cells ?? 2 * nEdges), 1, MAX_CELLS);
  // Square-ish cells in degrees: as many columns as the aspect ratio asks.
  const nx = clamp(Math.round(Math.sqrt((target * w) / h)), 1, target);
  const ny = clamp(Math.round(target / nx), 1, Math.floor(MAX_CELLS / nx));
  const invW = nx / w;
  const invH = ny / h;
  const cellW = w / nx;
  const cellH = h / ny;
  const colOf = (x: number) => clamp(Math.floor((x - minX) * invW), 0, nx - 1);
  const rowOf = (y: number) => clamp(Math.floor((y - minY) * invH), 0, ny - 1);

  const nCells = nx * ny;
  const stamp = new Int32Array(nCells).fill(-1); // stamp[c] === p: p's boundary touches cell c
  const fullOwner = new Int32Array(nCells).fill(-1); // first polygon wholly containing cell c
  const pairCell = new IntList();
  const pairItem = new IntList();
  const bandPoly = new IntList();
  const bandEdgeStart = new IntList();
  const bandEdges = new IntList();
  const rowBand = new Int32Array(ny); // band of (row, current polygon), -1 when none
  const rowFill = new Int32Array(ny); // per row: edge count, then next free slot, then end of its band

  /** Stamps every cell whose eps-expanded rectangle the edge may touch (conservative). */
  const stampEdge = (p: number, x0: number, y0: number, x1: number, y1: number) => {
    const lx = Math.min(x0, x1);
    const hx = Math.max(x0, x1);
    const c1 = colOf(hx + eps);
    for (let cc = colOf(lx - eps); cc <= c1; cc++) {
      let ya = y0;
      let yb = y1;
      if (hx > lx) {
        // The edge's latitude range within this column (widened by eps).
        const xa = Math.max(lx, minX + cc * cellW - eps);
        const xb = Math.min(hx, minX + (cc + 1) * cellW + eps);
        const ta = clamp((xa - x0) / (x1 - x0), 0, 1);
        const tb = clamp((xb - x0) / (x1 - x0), 0, 1);
        ya = y0 + ta * (y1 - y0);
        yb = y0 + tb * (y1 - y0);
      }
      const r1 = rowOf(Math.max(ya, yb) + eps);
      for (let rr = rowOf(Math.min(ya, yb) - eps); rr <= r1; rr++) stamp[rr * nx + cc] = p;
    }
  };

  for (let p = 0; p < nPolys; p++) {
    const c0 = colOf(polyBbox[4 * p]);
    const r0 = rowOf(polyBbox[4 * p + 1]);
    const c1 = colOf(polyBbox[4 * p + 2]);
    const r1 = rowOf(polyBbox[4 * p + 3]);

    // 1. Bands: count, per row, the non-horizontal edges spanning it (horizontal
    //    edges never cross a ray), then lay them out contiguously.
    rowFill.fill(0, r0, r1 + 1);
    forEachEdge(pk, p, (v) => {
      const ya = coords[2 * v + 1];
      const yb = coords[2 * v + 3];
      if (ya === yb) return;
      const hi = rowOf(Math.max(ya, yb));
      for (let rr = rowOf(Math.min(ya, yb)); rr <= hi; rr++) rowFill[rr]++;
    });
    let at = bandEdges.length;
    for (let rr = r0; rr <= r1; rr++) {
      const count = rowFill[rr];
      rowBand[rr] = count > 0 ? bandPoly.length : -1;
      if (count === 0) continue;
      bandPoly.push(p);
      bandEdgeStart.push(at);
      rowFill[rr] = at;
      at += count;
    }
    bandEdges.reserve(at - bandEdges.length);
    bandEdges.length = at;
    forEachEdge(pk, p, (v) => {
      const ya = coords[2 * v + 1];
      const yb = coords[2 * v + 3];
      if (ya === yb) return;
      const hi = rowOf(Math.max(ya, yb));
      for (let rr = rowOf(Math.min(ya, yb)); rr <= hi; rr++) bandEdges.buf[rowFill[rr]++] = v;
    });

    // 2. Boundary cells.
    forEachEdge(pk, p, (v) => stampEdge(p, coords[2 * v], coords[2 * v + 1], coords[2 * v + 2], coords[2 * v + 3]));

    // 3. Items. Along a row, consecutive unstamped cells form a boundary-free
    //    strip, all inside or all outside: one test of a cell centre decides it.
    for (let rr = r0; rr <= r1; rr++) {
      let state = -1; // -1 unknown, 0 outside, 1 inside, for the current strip
      const band = rowBand[rr];
      for (let cc = c0; cc <= c1; cc++) {
        const c = rr * nx + cc;
        if (stamp[c] === p) {
          state = -1;
          // No band: no edge spans this row, so no point of it is inside p.
          if (band >= 0 && fullOwner[c] < 0) {
            pairCell.push(c);
            pairItem.push(band);
          }
          continue;
        }
        if (state < 0) {
          // The row's band holds every edge the centre's crossing test can count.
          const cx = minX + (cc + 0.5) * cellW;
          const cy = minY + (rr + 0.5) * cellH;
          state = band >= 0 && bandContains(pk, bandEdges.buf, bandEdgeStart.buf[band], rowFill[rr], cx, cy) ? 1 : 0;
        }
        if (state === 1 && fullOwner[c] < 0) {
          pairCell.push(c);
          pairItem.push(~p);
          fullOwner[c] = p;
        }
      }
    }
  }
  bandEdgeStart.push(bandEdges.length);

  // Group items by cell; a stable counting sort keeps polygon order in each cell.
  const cellStart = new Int32Array(nCells + 1);
  for (let i = 0; i < pairCell.length; i++) cellStart[pairCell.buf[i] + 1]++;
  for (let c = 0; c < nCells; c++) cellStart[c + 1] += cellStart[c];
  const cellItems = new Int32Array(pairCell.length);
  const fill = cellStart.slice(0, nCells);
  for (let i = 0; i < pairCell.length; i++) cellItems[fill[pairCell.buf[i]]++] = pairItem.buf[i];

  return {
    packed: pk,
    nx,
    ny,
    minX,
    minY,
    maxX,
    maxY,
    invW,
    invH,
    cellStart,
    cellItems,
    bandPoly: bandPoly.toArray(),
    bandEdgeStart: bandEdgeStart.toArray(),
    bandEdges: bandEdges.toArray(),
  };
}

/** Crossing test of (x, y) over band edges bandEdges[start .. end). */
function bandContains(
  pk: PackedLevel,
  bandEdges: Int32Array,
  start: number,
  end: number,
  x: number,
  y: number,
): boolean {
  const { coords } = pk;
  let inside = false;
  for (let e = start; e < end; e++) {
    const v = 2 * bandEdges[e];
    if (crossesRight(coords[v], coords[v + 1], coords[v + 2], coords[v + 3], x, y)) inside = !inside;
  }
  return inside;
}

/** Calls `fn(v)` for each edge (v, v + 1) of every ring of polygon `p`. */
function forEachEdge(pk: PackedLevel, p: number, fn: (v: number) => void): void {
  for (let q = pk.polyRingStart[p]; q < pk.polyRingStart[p + 1]; q++) {
    const end = pk.ringStart[q + 1] - 1;
    for (let v = pk.ringStart[q]; v < end; v++) fn(v);
  }
}

/**
 * Region index of each point (lon[i], lat[i]), or -1 when no polygon of the
 * level contains it (also for NaN coordinates). Writes into `out` if given.
 */
export function locate(
  ix: GridIndex,
  lon: Float64Array,
  lat: Float64Array,
  out = new Int32Array(lon.length),
): Int32Array {
  const { nx, ny, minX, minY, maxX, maxY, invW, invH, cellStart, cellItems, bandPoly, bandEdgeStart, bandEdges } = ix;
  const { polyRegion } = ix.packed;
  const n = lon.length;
  for (let i = 0; i < n; i++) {
    const x = lon[i];
    const y = lat[i];
    out[i] = -1;
    // Outside the level's bbox no polygon can contain the point; the negated
    // test also sends NaN here.
    if (!(x >= minX && x <= maxX && y >= minY && y <= maxY)) continue;
    let col = ((x - minX) * invW) | 0;
    let row = ((y - minY) * invH) | 0;
    if (col >= nx) col = nx - 1;
    if (row >= ny) row = ny - 1;
    const c = row * nx + col;
    for (let j = cellStart[c], end = cellStart[c + 1]; j < end; j++) {
      const item = cellItems[j];
      if (item < 0) {
        out[i] = polyRegion[~item];
        break;
      }
      if (bandContains(ix.packed, bandEdges, bandEdgeStart[item], bandEdgeStart[item + 1], x, y)) {
        out[i] = polyRegion[bandPoly[item]];
        break;
      }
    }
  }
  return out;
}
