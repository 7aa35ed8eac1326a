/** npm start builds only what changed (issue #14: it rebuilt kernels, TypeScript and dashboard every time). */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types
import { stale } from '../../deploy/build-changed.mjs';

describe('build-changed', () => {
  it('builds a target without a stamp, skips it when no input is newer than the stamp, builds it again after an edit', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-build-'));
    try {
      const input = path.join(dir, 'src', 'a.ts');
      const skipped = path.join(dir, 'src', 'other', 'b.ts');
      fs.mkdirSync(path.dirname(skipped), { recursive: true });
      fs.writeFileSync(input, '1');
      fs.writeFileSync(skipped, '1');
      const target = { name: 't', inputs: [path.join(dir, 'src')], skip: [path.join(dir, 'src', 'other')] };
      const stamps = path.join(dir, 'dist');
      expect(stale(target, stamps)).toBe(true);
      fs.mkdirSync(stamps);
      const stamp = path.join(stamps, '.built-t');
      fs.writeFileSync(stamp, '');
      const t0 = Date.now() / 1000;
      fs.utimesSync(input, t0 - 60, t0 - 60);
      fs.utimesSync(skipped, t0 + 60, t0 + 60); // in a skipped folder: ignored
      fs.utimesSync(stamp, t0, t0);
      expect(stale(target, stamps)).toBe(false);
      fs.utimesSync(input, t0 + 1, t0 + 1);
      expect(stale(target, stamps)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
