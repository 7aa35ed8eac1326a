/**
 * The delivery tests' world, small enough to reason about by hand: two admin1
 * regions, West the square [0, 1] x [0, 1] and East [1, 2] x [0, 1], and a
 * fresh folder per test holding a pseudonymisation key file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, vi } from 'vitest';

export const square = (x: number) => [[[x, 0], [x + 1, 0], [x + 1, 1], [x, 1], [x, 0]]];

export const REGIONS = {
  type: 'FeatureCollection',
  features: [
    { type: 'Feature', properties: { ADM1_PCODE: 'W', ADM1_EN: 'West' }, geometry: { type: 'Polygon', coordinates: square(0) } },
    { type: 'Feature', properties: { ADM1_PCODE: 'E', ADM1_EN: 'East' }, geometry: { type: 'Polygon', coordinates: square(1) } },
  ],
};

/** Registers hooks giving each test its own folder (`root()`) with a key file (`keyFile()`) of `keyHex`; both gone after the test. */
export function folderPerTest(prefix: string, keyHex: string): { root: () => string; keyFile: () => string } {
  let root = '';
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.writeFileSync(path.join(root, 'key'), keyHex);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    fs.rmSync(root, { recursive: true, force: true });
  });
  return { root: () => root, keyFile: () => path.join(root, 'key') };
}
