/** The audit log's hash chain: any edited, removed, reordered or cut line is found, by line number. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditLog, verifyAuditLog } from '../../server/service/audit.js';

let dir: string;
let file: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-audit-'));
  file = path.join(dir, 'audit.jsonl');
  const log = AuditLog.open(file, { fsync: 'always' });
  for (let i = 0; i < 10; i++) {
    log.append({
      sub: `user${i % 3}`,
      tier: 'premium',
      op: 'POST /api/0/run',
      status: 202,
      spec: { query_kind: 'unique_subscriber_counts', start_date: '2016-01-01', end_date: '2016-01-08', aggregation_unit: 'admin2' },
      query_id: String(i).repeat(64).slice(0, 64),
      rows: i,
      withheld: 10 - i,
    });
  }
  log.close();
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const lines = () => fs.readFileSync(file, 'utf8').split('\n').slice(0, -1);
const write = (ls: string[]) => fs.writeFileSync(file, ls.map((l) => l + '\n').join(''));

describe('the audit chain', () => {
  it('verifies an intact log', () => {
    expect(verifyAuditLog(file)).toMatchObject({ ok: true, entries: 10 });
    const first = JSON.parse(lines()[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ seq: 1, sub: 'user0', tier: 'premium', op: 'POST /api/0/run', status: 202, rows: 0, withheld: 10 });
    expect(first.prev).toBe('0'.repeat(64));
  });

  it('finds an edited line', () => {
    const ls = lines();
    ls[4] = ls[4]!.replace('"rows":4', '"rows":40');
    write(ls);
    expect(verifyAuditLog(file)).toMatchObject({ ok: false, line: 5, entries: 4, reason: expect.stringMatching(/edited/) });
  });

  it('finds an edit whose hash was recomputed, at the next line', async () => {
    const { entryHash } = await import('../../server/service/audit.js');
    const ls = lines();
    const e = JSON.parse(ls[4]!) as Record<string, unknown>;
    e.sub = 'someone-else';
    delete e.hash;
    e.hash = entryHash(e.prev as string, e as never);
    ls[4] = JSON.stringify(e);
    write(ls);
    expect(verifyAuditLog(file)).toMatchObject({ ok: false, line: 6 });
  });

  it('finds a removed line, in the middle or at the start', () => {
    const ls = lines();
    write([...ls.slice(0, 6), ...ls.slice(7)]);
    expect(verifyAuditLog(file)).toMatchObject({ ok: false, line: 7, reason: expect.stringMatching(/removed/) });
    write(ls.slice(1));
    expect(verifyAuditLog(file)).toMatchObject({ ok: false, line: 1 });
  });

  it('finds reordered lines', () => {
    const ls = lines();
    [ls[2], ls[3]] = [ls[3]!, ls[2]!];
    write(ls);
    expect(verifyAuditLog(file)).toMatchObject({ ok: false, line: 3 });
  });

  it('finds a cut last line, and refuses to append to it', () => {
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.slice(0, -20));
    expect(verifyAuditLog(file)).toMatchObject({ ok: false, line: 10, reason: expect.stringMatching(/cut/) });
    expect(() => AuditLog.open(file)).toThrow(/cut/);
  });

  it('continues the chain across restarts', () => {
    const log = AuditLog.open(file);
    expect(log.entries).toBe(10);
    log.append({ sub: 'x', tier: 'free', op: 'GET /api/0/available_dates', status: 200 });
    log.close();
    expect(verifyAuditLog(file)).toMatchObject({ ok: true, entries: 11 });
  });

  it('creates the file with mode 0600', () => {
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
});
