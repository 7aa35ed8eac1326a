/**
 * Slow stream readers, on loopback: a client that subscribes and never reads
 * is closed (1013) once the frames waiting for it pass the configured bound,
 * the server never holds much more than that bound for it, and another
 * client keeps receiving meanwhile. A reader that pauses and resumes before
 * the bound gets every frame, in order (drain).
 */
import fs from 'node:fs';
import { encode } from '@msgpack/msgpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, type Frame, type Harness, sampleStore, specs, startHarness, StreamClient } from './helpers.js';

let root: string;
beforeAll(async () => {
  root = await sampleStore();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const BOUND = 256 * 1024;
/** A spec whose four frames (admin1, admin2, admin3, lon-lat) weigh about 15 KB. */
const HEAVY = specs.usc('lon-lat');

function gauge(h: Harness, name: string): number {
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(h.server.context.metrics.render());
  return Number(m?.[1] ?? NaN);
}

/** Sends subscriptions without waiting: the client does not read their frames. */
function flood(c: StreamClient, from: number, n: number): void {
  for (let i = from; i < from + n; i++) c.ws.send(encode({ op: 'subscribe', id: i, spec: HEAVY }));
}

/** Room for every flooded subscription: they stay open (no unsubscribe could overtake their frames). */
const MANY = 100_000;

const pause = (c: StreamClient) => (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;

describe('a slow reader', () => {
  it('is closed at its bound; the server holds at most bound + two frames for it; others keep receiving', async () => {
    const h = await startHarness(root, {
      tweak: (c) => {
        c.stream.maxQueuedBytes = BOUND;
        c.stream.maxBackpressure = BOUND;
        c.stream.maxSubscriptions = MANY;
      },
    });
    try {
      const url = `${h.api.replace('http', 'ws')}/stream`;
      const slow = await StreamClient.open(url, auth(await h.token('partner', { sub: 'slow' })));
      await slow.until((f) => f.some((x) => x.op === 'auth'));
      // Warm the cache, and learn the largest frame.
      slow.send({ op: 'subscribe', id: 'warm', spec: HEAVY });
      await slow.until((f) => f.some((x) => x.last === true));
      // The largest frame as the server encoded it, plus the WebSocket header uWS adds (at most 14 bytes).
      const largest = Math.max(...slow.sizes) + 14;
      slow.send({ op: 'unsubscribe', id: 'warm' });
      await slow.until((f) => f.some((x) => x.op === 'unsubscribed'));
      pause(slow).pause();

      const other = await StreamClient.open(url, auth(await h.token('partner', { sub: 'other' })));
      const rss0 = process.memoryUsage().rss;
      const latencies: number[] = [];
      try {
        let sent = 0;
        let round = 0;
        const deadline = Date.now() + 60_000;
        while (h.server.context.metrics.slowClosed.get() === 0) {
          expect(Date.now()).toBeLessThan(deadline);
          flood(slow, sent, 200);
          sent += 200;
          // The other client subscribes to something fresh and must get its final promptly.
          const t0 = performance.now();
          const id = `o${round++}`;
          other.send({ op: 'subscribe', id, spec: specs.usc('admin2', `2016-01-0${1 + (round % 9)}`, `2016-01-1${round % 5}`) });
          await other.until((f) => f.some((x) => x.id === id && x.last === true), 10_000);
          latencies.push(performance.now() - t0);
          other.send({ op: 'unsubscribe', id });
          await new Promise((r) => setTimeout(r, 10));
        }
        // The server keeps serving the other client after the slow one is gone.
        other.send({ op: 'subscribe', id: 'after', spec: specs.flows('admin2') });
        await other.until((f) => f.some((x) => x.id === 'after' && x.last === true), 10_000);
        expect(gauge(h, 'opalite_stream_clients')).toBe(1);
        expect(sent).toBeGreaterThan(0);
      } finally {
        other.close();
      }
      const peak = gauge(h, 'opalite_stream_client_bytes_peak');
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(BOUND + 2 * largest);
      expect(Math.max(...latencies)).toBeLessThan(5_000);
      // Loose: the whole test process (client and server) grew by far less than what was flooded.
      expect(process.memoryUsage().rss - rss0).toBeLessThan(256 * 1024 * 1024);
      // The slow client, reading again, finds the close with its reason after the frames it was sent.
      pause(slow).resume();
      const closed = await slow.closedWithin(15_000);
      expect([1013, 1006]).toContain(closed.code);
      if (closed.code === 1013) expect(closed.reason).toMatch(/slow consumer/);
    } finally {
      await h.close();
    }
  });

  it('that resumes before its bound receives every frame, in order', async () => {
    const h = await startHarness(root, {
      tweak: (c) => {
        c.stream.maxQueuedBytes = 256 * 1024 * 1024;
        c.stream.maxBackpressure = BOUND;
        c.stream.maxSubscriptions = MANY;
      },
    });
    try {
      const url = `${h.api.replace('http', 'ws')}/stream`;
      const c = await StreamClient.open(url, auth(await h.token('partner')));
      await c.until((f) => f.some((x) => x.op === 'auth'));
      pause(c).pause();
      const N = 1200;
      flood(c, 0, N);
      // Wait until the server had to queue (the kernel buffers are full), then read again.
      const deadline = Date.now() + 30_000;
      while (gauge(h, 'opalite_stream_bytes_buffered') < BOUND) {
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 20));
      }
      pause(c).resume();
      const finals = (f: Frame[]) => f.filter((x) => x.op === 'final');
      const frames = finals(await c.until((f) => finals(f).length === 4 * N, 30_000));
      // Every subscription's four finals, coarse to fine (subscriptions may interleave with each other).
      const byId = new Map<unknown, unknown[]>();
      for (const f of frames) byId.set(f.id, [...(byId.get(f.id) ?? []), f.tier]);
      expect(byId.size).toBe(N);
      for (const tiers of byId.values()) expect(tiers).toEqual(['admin1', 'admin2', 'admin3', 'lon-lat']);
      expect(c.closed).toBeNull();
      await new Promise((r) => setTimeout(r, 100));
      expect(gauge(h, 'opalite_stream_bytes_buffered')).toBe(0);
      c.close();
    } finally {
      await h.close();
    }
  });
});
