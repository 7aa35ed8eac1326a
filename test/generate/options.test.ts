import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecError, StoreError } from '../../server/errors.js';
import { generate } from '../../server/generate/index.js';
import { resolveOptions } from '../../server/generate/options.js';

describe('generate: options', () => {
  it('applies the documented defaults', () => {
    expect(resolveOptions({ out: '/tmp/x' })).toEqual({
      out: '/tmp/x',
      subscribers: 1000,
      days: 7,
      start: '2016-01-01',
      seed: '1',
      scenario: 'none',
      format: 'csv',
      files: 1,
    });
  });

  it.each([
    [{ subscribers: 0 }, '--subscribers'],
    [{ days: 1.5 }, '--days'],
    [{ start: '2016-02-30' }, '--start'],
    [{ format: 'xlsx' }, '--format'],
    [{ scenario: 'flood' }, '--scenario'],
    [{ files: 0 }, '--files'],
    [{ days: 1, files: 97 }, '--files'],
    [{ scenario: 'displacement', disasterDate: '2016-01-01' }, '--disaster-date'],
    [{ scenario: 'displacement', days: 7, disasterDate: '2016-01-08' }, '--disaster-date'],
    [{ scenario: 'displacement', disasterDate: '2016-1-3' }, '--disaster-date'],
    [{ scenario: 'none', disasterDate: '2016-01-03' }, '--disaster-date'],
  ])('rejects %j naming %s', (bad, flag) => {
    try {
      resolveOptions({ out: '/tmp/x', ...(bad as object) });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SpecError);
      expect((e as SpecError).code).toBe('BAD_OPTION');
      expect((e as SpecError).path).toBe(flag);
      expect((e as SpecError).message).toContain(flag);
    }
  });

  it('takes a disaster date from the second day to the last of the period', () => {
    const base = { out: '/tmp/x', scenario: 'displacement' as const, days: 7 };
    expect(resolveOptions({ ...base, disasterDate: '2016-01-02' }).disasterDate).toBe('2016-01-02');
    expect(resolveOptions({ ...base, disasterDate: '2016-01-07' }).disasterDate).toBe('2016-01-07');
  });

  it('reports an output folder it cannot write as StoreError WRITE_FAILED', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-gen-'));
    const file = path.join(dir, 'not-a-folder');
    fs.writeFileSync(file, '');
    try {
      const failure = await generate({ out: file, subscribers: 10, days: 1 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(StoreError);
      expect((failure as StoreError).code).toBe('WRITE_FAILED');
      expect((failure as StoreError).message).toContain(file);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
