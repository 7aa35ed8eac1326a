/**
 * Where the pseudonymisation key comes from. In development a missing key is
 * generated once under OPALITE_HOME; in production (NODE_ENV=production) that
 * fallback would silently hash the ids under a key nobody keeps, so that the
 * next delivery, ingested with the real key, counts every subscriber twice:
 * an ingest without the configured key is refused (issue #14).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ingest } from '../../server/ingest/ingest.js';
import { loadPseudonymKey } from '../../server/ingest/pseudonymise.js';

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-key-'));
  vi.stubEnv('OPALITE_HOME', home);
  vi.stubEnv('OPALITE_PSEUDONYM_KEY', '');
});
afterEach(() => {
  vi.unstubAllEnvs();
  fs.rmSync(home, { recursive: true, force: true });
});

describe('the pseudonymisation key', () => {
  it('outside production, a missing key is generated once under OPALITE_HOME (0600) and reused', () => {
    vi.stubEnv('NODE_ENV', 'development');
    const a = loadPseudonymKey();
    expect(a.source).toBe(path.join(home, 'pseudonym.key'));
    expect(fs.statSync(a.source).mode & 0o777).toBe(0o600);
    expect(loadPseudonymKey().key.equals(a.key)).toBe(true);
  });

  it('in production, no key configured is refused, and nothing is generated', () => {
    vi.stubEnv('NODE_ENV', 'production');
    expect(() => loadPseudonymKey()).toThrow(/OPALITE_PSEUDONYM_KEY.*production.*found none/);
    expect(fs.existsSync(path.join(home, 'pseudonym.key'))).toBe(false);
    // A development key left over from before does not count either: production takes only a configured key.
    fs.writeFileSync(path.join(home, 'pseudonym.key'), 'ab'.repeat(32));
    expect(() => loadPseudonymKey()).toThrow(/production/);
  });

  it('in production, the environment variable or an explicit key file is taken', () => {
    vi.stubEnv('NODE_ENV', 'production');
    const file = path.join(home, 'configured.key');
    fs.writeFileSync(file, 'cd'.repeat(32), { mode: 0o600 });
    expect(loadPseudonymKey(file).key.toString('hex')).toBe('cd'.repeat(32));
    vi.stubEnv('OPALITE_PSEUDONYM_KEY', 'ef'.repeat(32));
    expect(loadPseudonymKey().source).toBe('OPALITE_PSEUDONYM_KEY');
  });

  it('an ingest in production without the key fails before it writes a store', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    const store = path.join(home, 'store');
    await expect(ingest({ dataset: path.resolve('data/sample'), store })).rejects.toMatchObject({ code: 'KEY_MISSING' });
    expect(fs.existsSync(path.join(store, 'store.json'))).toBe(false);
  });
});
