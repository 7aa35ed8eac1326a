/**
 * Issue #14: the hash chain alone verified "ok" after whole lines were cut off
 * its end, and after one user's entries were deleted and every hash after them
 * recomputed. Checkpoints kept outside the log (the service's own log lines,
 * journald's; signed checkpoints appended by another user) make both fail.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { auditCommand } from '../../server/cli/audit.js';
import { Engine } from '../../server/engine/engine.js';
import { type AuditEntry, AuditLog, entryHash, GENESIS, verifyAuditLog } from '../../server/service/audit.js';
import { headCheckpoint, readCheckpoints, signCheckpoint, verifyWithCheckpoints } from '../../server/service/audit-anchor.js';
import { createKeyPair, loadPublicKey, loadSigningKey } from '../../server/service/keys.js';
import { startServer } from '../../server/service/server.js';
import { auth, sampleStore, startHarness } from './helpers.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-anchor-'));
  file = path.join(dir, 'audit.jsonl');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const entries = () => fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditEntry);
/** What an attacker with write access does: rewrite the entries and recompute seq, prev and hash from the start. */
function rewrite(kept: AuditEntry[]): void {
  let prev = GENESIS;
  const out = kept.map((e, i) => {
    const { hash: _h, ...body } = { ...e, seq: i + 1, prev };
    const hash = entryHash(prev, body);
    prev = hash;
    return JSON.stringify({ ...body, hash });
  });
  fs.writeFileSync(file, out.map((l) => l + '\n').join(''));
}
function fill(log: AuditLog, n: number, from = 0): void {
  for (let i = from; i < from + n; i++) log.append({ sub: `user${i % 3}`, tier: 'premium', op: 'GET /api/0/get', status: 200, rows: i });
}

describe('checkpoints anchor the audit chain', () => {
  it('the service log checkpoints its chain (a second sink) while entries are added and on close', async () => {
    const log = AuditLog.open(file, { fsync: 'never', checkpointMs: 30 });
    const cps: { seq: number; head: string; time: string }[] = [];
    log.onCheckpoint = (cp) => cps.push(cp);
    fill(log, 10);
    await new Promise((r) => setTimeout(r, 120));
    fill(log, 5, 10);
    log.close();
    expect(cps.map((c) => c.seq)).toEqual([10, 15]);
    const all = entries();
    expect(cps.map((c) => c.head)).toEqual([all[9]!.hash, all[14]!.hash]);
  });

  it('a cut tail and a recomputed chain verify without anchors, and fail against the checkpoints', () => {
    const log = AuditLog.open(file, { fsync: 'never' });
    const cps: { line: number; cp: { seq: number; head: string; time: string }; source: string }[] = [];
    log.onCheckpoint = (cp) => cps.push({ line: cps.length + 1, cp, source: 'journal' });
    fill(log, 30);
    log.checkpoint();
    fill(log, 20, 30);
    log.close();
    const intact = fs.readFileSync(file);
    expect(verifyWithCheckpoints(file, cps)).toMatchObject({ ok: true, entries: 50, checkpoints: 2 });

    // Tail truncation: the last 5 entries gone.
    rewrite(entries().slice(0, 45));
    expect(verifyAuditLog(file)).toMatchObject({ ok: true, entries: 45 });
    expect(verifyWithCheckpoints(file, cps)).toEqual({
      ok: false,
      reason: expect.stringMatching(/^journal:2: the checkpoint of \S+ saw 50 entries, the log ends at entry 45 \(entries were removed from the end\)$/),
    });

    // One user's entries deleted and the chain recomputed (then padded back to 50 entries, to hide the count).
    fs.writeFileSync(file, intact);
    const others = entries().filter((e) => e.sub !== 'user1');
    rewrite([...others, ...others.slice(0, 50 - others.length)]);
    expect(verifyAuditLog(file)).toMatchObject({ ok: true, entries: 50 });
    const v = verifyWithCheckpoints(file, cps);
    expect(v).toMatchObject({ ok: false, reason: expect.stringMatching(/^journal:1: the checkpoint of \S+ expects entry 30 to have hash [0-9a-f]{64}, the log has [0-9a-f]{64} \(the chain was rewritten at or before entry 30\)$/) });
  });

  it('signed checkpoints: a forged one (the service user cannot sign) is refused, a genuine one verifies', () => {
    const keys = createKeyPair(path.join(dir, 'anchor-keys'));
    const signing = loadSigningKey(keys.privateKey);
    const log = AuditLog.open(file, { fsync: 'never' });
    fill(log, 12);
    log.close();
    const out = path.join(dir, 'checkpoints.jsonl');
    fs.appendFileSync(out, JSON.stringify(signCheckpoint(signing, headCheckpoint(file))) + '\n');
    const pub = [loadPublicKey(keys.publicKey)];
    const read = () => readCheckpoints(out).map((c) => ({ ...c, source: out }));
    expect(verifyWithCheckpoints(file, read(), pub)).toMatchObject({ ok: true, entries: 12, checkpoints: 1 });

    // The attacker drops user1's entries, recomputes the chain and appends a checkpoint of the new head.
    rewrite(entries().filter((e) => e.sub !== 'user1'));
    const forged = { ...headCheckpoint(file), kid: signing.kid, sig: Buffer.alloc(64).toString('base64url') };
    fs.appendFileSync(out, JSON.stringify(forged) + '\n');
    expect(verifyWithCheckpoints(file, read(), pub)).toEqual({ ok: false, reason: `${out}:2: the checkpoint's signature does not verify (a forged or edited checkpoint)` });
    // Without the forgery, the genuine checkpoint catches the rewrite.
    fs.writeFileSync(out, fs.readFileSync(out, 'utf8').split('\n')[0] + '\n');
    expect(verifyWithCheckpoints(file, read(), pub)).toMatchObject({ ok: false, reason: expect.stringMatching(/the log ends at entry 8/) });
  });

  it('opalite audit checkpoint and audit verify --checkpoints --public-key', async () => {
    const keys = createKeyPair(path.join(dir, 'anchor-keys'));
    const log = AuditLog.open(file, { fsync: 'never' });
    fill(log, 9);
    log.close();
    const out = path.join(dir, 'checkpoints.jsonl');
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const saved = process.exitCode;
    try {
      await auditCommand().parseAsync(['checkpoint', file, '--key', keys.privateKey, '--out', out], { from: 'user' });
      expect(String(write.mock.calls.at(-1)?.[0])).toMatch(/checkpoint of .* at entry 9/);
      await auditCommand().parseAsync(['verify', file, '--checkpoints', out, '--public-key', keys.publicKey], { from: 'user' });
      expect(String(write.mock.calls.at(-1)?.[0])).toMatch(/ok, 9 entries, chain head [0-9a-f]{64}, agrees with 1 checkpoint\(s\), every one signed/);
      rewrite(entries().slice(0, 7));
      await auditCommand().parseAsync(['verify', file], { from: 'user' });
      expect(String(write.mock.calls.at(-1)?.[0])).toMatch(/ok, 7 entries/);
      await auditCommand().parseAsync(['verify', file, '--checkpoints', out, '--public-key', keys.publicKey], { from: 'user' });
      expect(String(write.mock.calls.at(-1)?.[0])).toMatch(/saw 9 entries, the log ends at entry 7/);
      expect(process.exitCode).toBe(1);
    } finally {
      write.mockRestore();
      process.exitCode = saved;
    }
  });

  it('the running service writes its checkpoints to its log, which verify reads as journald keeps it', async () => {
    const root = await sampleStore();
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(...chunk.toString().trim().split('\n')), cb()) });
    const h = await startHarness(root);
    try {
      await h.server.close({ graceMs: 1000 });
      const engine = Engine.open(h.config.store, { partitions: 8, threads: 0 });
      const auditFile = path.join(root, 'served-audit.jsonl');
      const server = await startServer({ config: h.config, engine, log: pino({ level: 'info' }, sink), audit: AuditLog.open(auditFile, { fsync: 'never' }) });
      const token = await h.token('free');
      for (let i = 0; i < 4; i++) await (await fetch(`${server.url}/api/0/available_dates`, { headers: auth(token) })).arrayBuffer();
      await server.close({ graceMs: 1000 });
      await engine.close();
      const journal = path.join(root, 'journal.jsonl');
      fs.writeFileSync(journal, lines.join('\n') + '\n');
      expect(readCheckpoints(journal).map((c) => c.cp.seq)).toEqual([4]);
      expect(verifyWithCheckpoints(auditFile, readCheckpoints(journal).map((c) => ({ ...c, source: journal })))).toMatchObject({ ok: true, entries: 4 });
      const kept = fs.readFileSync(auditFile, 'utf8').split('\n').slice(0, 3);
      fs.writeFileSync(auditFile, kept.join('\n') + '\n');
      expect(verifyAuditLog(auditFile)).toMatchObject({ ok: true, entries: 3 });
      expect(verifyWithCheckpoints(auditFile, readCheckpoints(journal).map((c) => ({ ...c, source: journal })))).toMatchObject({ ok: false, reason: expect.stringMatching(/saw 4 entries, the log ends at entry 3/) });
    } finally {
      await h.engine.close().catch(() => {});
      fs.rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});
