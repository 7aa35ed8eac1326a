/**
 * A full disk under the audit log fails closed: an entry that cannot be
 * written whole is cut back off (the chain stays intact and continues once
 * there is room), REST answers 503 AUDIT_FAILED with nothing of the result,
 * the stream closes the socket instead of sending a frame the log does not
 * record, and /healthz says so. Runs on a real tiny tmpfs when this process
 * may mount one, and always with ENOSPC injected at the log's write calls.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../server/engine/engine.js';
import { AuditLog, type AuditIo, verifyAuditLog } from '../../server/service/audit.js';
import { startServer } from '../../server/service/server.js';
import { enospc, mountTinyDisk } from '../store/tmpfs.js';
import { auth, type Harness, sampleStore, specs, startHarness, StreamClient } from './helpers.js';

/** The node calls, except that while `full` a write stores half its bytes and then fails as a full disk does. */
function fillingDisk(): AuditIo & { full: boolean } {
  return {
    full: false,
    writeSync(fd, data, offset) {
      if (!this.full) return fs.writeSync(fd, data, offset);
      fs.writeSync(fd, data, offset, Math.max(1, (data.length - offset) >> 1));
      throw enospc();
    },
    fdatasyncSync: fs.fdatasyncSync,
    ftruncateSync: fs.ftruncateSync,
  };
}

let root: string;
beforeAll(async () => {
  root = await sampleStore();
}, 120_000);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('the audit log on a full disk', () => {
  it('cuts a partly written entry back off, refuses it, and continues the chain once there is room', () => {
    const file = path.join(root, 'unit-audit.jsonl');
    const io = fillingDisk();
    const log = AuditLog.open(file, { fsync: 'never', io });
    for (let i = 0; i < 3; i++) log.append({ sub: 'a', tier: 'premium', op: 'GET /x', status: 200 });
    const before = fs.readFileSync(file);
    io.full = true;
    expect(() => log.append({ sub: 'a', tier: 'premium', op: 'GET /x', status: 200 })).toThrow(/no space left on the device/);
    expect(log.healthy).toBe(false);
    expect(fs.readFileSync(file)).toEqual(before); // the half-written line is gone
    expect(verifyAuditLog(file)).toMatchObject({ ok: true, entries: 3 });
    io.full = false;
    expect(log.append({ sub: 'b', tier: 'premium', op: 'GET /y', status: 200 }).seq).toBe(4);
    expect(log.healthy).toBe(true);
    log.close();
    expect(verifyAuditLog(file)).toMatchObject({ ok: true, entries: 4 });
    expect(log.failures).toBe(1);
  });

  // Issue #14: /healthz stayed 503 after the disk was freed until some request happened to write the log.
  it('retries on a timer while failing, so that health comes back by itself once there is room', async () => {
    const file = path.join(root, 'retry-audit.jsonl');
    const io = fillingDisk();
    const log = AuditLog.open(file, { fsync: 'never', io, retryMs: 50 });
    const reported: unknown[] = [];
    log.onFailure = (e) => reported.push(e);
    for (let i = 0; i < 3; i++) log.append({ sub: 'a', tier: 'premium', op: 'GET /x', status: 200 });
    io.full = true;
    expect(() => log.append({ sub: 'a', tier: 'premium', op: 'GET /x', status: 200 })).toThrow(/no space left/);
    await new Promise((r) => setTimeout(r, 300));
    // Still full: still unhealthy, the failed retries cut back off, reported once rather than every 50 ms.
    expect(log.healthy).toBe(false);
    expect(verifyAuditLog(file)).toMatchObject({ ok: true, entries: 3 });
    expect(reported).toHaveLength(1);
    io.full = false;
    for (let i = 0; !log.healthy; i++) {
      expect(i).toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 20));
    }
    // The retry wrote one entry, which records the outage in the chain itself.
    const entries = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { op: string; status: string; detail: string });
    expect(entries).toHaveLength(4);
    expect(entries[3]).toMatchObject({ op: 'audit resumed', status: 'ok', detail: expect.stringMatching(/^writes failed from \S+ until now \(no space left on the device\)$/) });
    log.close();
    expect(verifyAuditLog(file)).toMatchObject({ ok: true, entries: 4 });
  });

  /** REST and the stream against a server whose audit log runs out of room while it serves. */
  async function refusesWhileFull(h: Harness, fill: () => void, makeRoom: () => void, file: string): Promise<void> {
    const token = await h.token('premium');
    const spec = specs.daily('admin2');
    const run = await fetch(`${h.api}/run`, { method: 'POST', headers: auth(token), body: JSON.stringify(spec) });
    expect(run.status).toBe(202);
    const { query_id } = (await run.json()) as { query_id: string };
    for (let i = 0; (await fetch(`${h.api}/poll/${query_id}`, { headers: auth(token), redirect: 'manual' })).status !== 303; i++) {
      expect(i).toBeLessThan(500);
      await new Promise((r) => setTimeout(r, 20));
    }
    const stream = await StreamClient.open(`${h.api.replace(/^http/, 'ws')}/stream`, auth(token));
    await stream.until((f) => f.some((x) => x.op === 'auth'));

    fill();
    // A file's last block may still have room for a few entries after the disk is full; the first one that
    // does not fit is refused.
    let refused!: Response;
    for (let i = 0; i < 200; i++) {
      refused = await fetch(`${h.api}/get/${query_id}`, { headers: auth(token) });
      if (refused.status !== 200) break;
      await refused.arrayBuffer();
    }
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('30');
    const body = (await refused.json()) as { code: string; query_result?: unknown };
    expect(body.code).toBe('AUDIT_FAILED');
    expect(body.query_result).toBeUndefined();
    const health = await fetch(`${h.base}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { status: string }).status).toBe('audit log failing');
    stream.send({ op: 'subscribe', id: 1, spec });
    const closed = await stream.closedWithin(10_000);
    expect(closed.code).toBe(1011);
    expect(stream.frames.filter((f) => f.op === 'partial' || f.op === 'final')).toEqual([]);
    expect(verifyAuditLog(file).ok).toBe(true);

    makeRoom();
    // Healthy again without any request writing the log (the log retries on a timer).
    let health2 = 503;
    for (let i = 0; i < 200 && health2 !== 200; i++) {
      await new Promise((r) => setTimeout(r, 50));
      health2 = (await fetch(`${h.base}/healthz`)).status;
    }
    expect(health2).toBe(200);
    const served = await fetch(`${h.api}/get/${query_id}`, { headers: auth(token) });
    expect(served.status).toBe(200);
    expect(((await served.json()) as { query_result: unknown[] }).query_result.length).toBeGreaterThan(0);
    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
    await h.close();
    // Every entry that made it is whole and chained; the served /get is the last one.
    const verdict = verifyAuditLog(file);
    expect(verdict.ok).toBe(true);
    const last = JSON.parse(fs.readFileSync(file, 'utf8').trim().split('\n').at(-1)!) as { op: string; status: number };
    expect(last).toMatchObject({ op: 'GET /api/0/get', status: 200 });
  }

  it('refuses REST and stream requests while an injected ENOSPC lasts', async () => {
    const io = fillingDisk();
    const file = path.join(root, 'injected-audit.jsonl');
    const h = await startHarness(root, { tweak: (c) => (c.audit.file = file) });
    // Replace the harness's server with one whose log writes through the filling disk.
    await h.server.close({ graceMs: 1000 });
    const engine = Engine.open(h.config.store, { partitions: h.config.partitions, threads: 0 });
    const server = await startServer({ config: h.config, engine, log: pino({ level: 'silent' }), audit: AuditLog.open(file, { fsync: 'never', io, retryMs: 100 }) });
    await h.engine.close();
    const harness: Harness = {
      ...h,
      engine,
      server,
      base: server.url,
      api: `${server.url}/api/0`,
      close: async () => {
        await server.close({ graceMs: 5000 });
        await engine.close();
      },
    };
    await refusesWhileFull(harness, () => (io.full = true), () => (io.full = false), file);
  }, 60_000);

  const disk = mountTinyDisk(1 << 20);
  afterAll(() => disk?.unmount());
  it.skipIf(!disk)('refuses REST and stream requests while a real tmpfs is full', async () => {
    const file = path.join(disk!.dir, 'audit.jsonl');
    const h = await startHarness(root, { tweak: (c) => ((c.audit.file = file), (c.audit.fsync = 'always')) });
    await refusesWhileFull(h, () => disk!.fill(0), () => disk!.empty(), file);
  }, 60_000);
});
