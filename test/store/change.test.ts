import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { changeTouches, storeChange, watchManifest } from '../../server/store/change.js';
import { paths } from '../../server/store/layout.js';
import type { DayEntry, Manifest } from '../../server/store/manifest.js';

const day = (dir: string): DayEntry => ({ dir, rows: 1, columns: {}, types: [1, 0, 0, 0], unlocated: 0 });
const manifest = (days: Record<string, string>, dimsHash = 'h1'): Manifest =>
  ({ days: Object.fromEntries(Object.entries(days).map(([d, dir]) => [d, day(dir)])), dims: 'dims-1', dimsHash }) as unknown as Manifest;
const utc = (d: string) => Date.parse(`${d}T00:00:00Z`);

describe('storeChange', () => {
  it('names the days added, replaced (a new folder) and removed, sorted, and nothing else', () => {
    const before = manifest({ '2016-01-01': 'a', '2016-01-02': 'b', '2016-01-03': 'c' });
    const after = manifest({ '2016-01-02': 'b', '2016-01-03': 'c2', '2016-01-05': 'e' });
    expect(storeChange(before, after)).toEqual({ all: false, days: ['2016-01-01', '2016-01-03', '2016-01-05'] });
  });

  it('is everything when the cell or region tables changed', () => {
    const before = manifest({ '2016-01-01': 'a' }, 'h1');
    expect(storeChange(before, manifest({ '2016-01-01': 'a' }, 'h2'))).toEqual({ all: true, days: [] });
  });
});

describe('changeTouches', () => {
  const change = { all: false, days: ['2016-01-03'] };
  it('is true only for a window [start, end) that a changed UTC day overlaps', () => {
    expect(changeTouches(change, [utc('2016-01-01'), utc('2016-01-03')])).toBe(false); // ends where the day begins
    expect(changeTouches(change, [utc('2016-01-01'), utc('2016-01-03') + 1])).toBe(true);
    expect(changeTouches(change, [utc('2016-01-04'), utc('2016-01-09')])).toBe(false); // starts where the day ends
    expect(changeTouches(change, [utc('2016-01-04') - 1, utc('2016-01-09')])).toBe(true);
    expect(changeTouches({ all: true, days: [] }, [utc('2020-01-01'), utc('2020-01-02')])).toBe(true);
  });
});

describe('watchManifest', () => {
  it('calls back when the manifest is replaced by a rename, and not after close', async () => {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-watch-'));
    try {
      const file = paths.manifest(store);
      fs.writeFileSync(file, '{"version":1}');
      let calls = 0;
      const watch = watchManifest(store, () => calls++, 20);
      await new Promise((r) => setTimeout(r, 60));
      fs.writeFileSync(`${file}.tmp`, '{"version":2,"longer":true}');
      fs.renameSync(`${file}.tmp`, file);
      for (let i = 0; i < 100 && calls === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(calls).toBe(1);
      watch.close();
      fs.writeFileSync(`${file}.tmp`, '{"version":3}');
      fs.renameSync(`${file}.tmp`, file);
      await new Promise((r) => setTimeout(r, 100));
      expect(calls).toBe(1);
    } finally {
      fs.rmSync(store, { recursive: true, force: true });
    }
  });
});
