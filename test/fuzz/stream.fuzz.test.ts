/**
 * Hostile stream clients: random and mutated MessagePack messages (wrong types,
 * huge numbers, deep nesting, garbage bytes) get error frames or a close with a
 * reason; the server never crashes, and a well-behaved client keeps being served.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, sampleStore, specs, startHarness, StreamClient } from '../service/helpers.js';
import { rng } from '../util/rng.js';

let h: Harness;
let wsUrl: string;
beforeAll(async () => {
  h = await startHarness(await sampleStore());
  wsUrl = h.api.replace(/^http/, 'ws') + '/stream';
}, 120_000);
afterAll(async () => {
  await h.close();
  fs.rmSync(h.root, { recursive: true, force: true });
});

function randomValue(r: () => number, depth = 0): unknown {
  const roll = r();
  if (depth > 3 || roll < 0.3) return [null, true, -1, 2 ** 53 + 1, 1e308, 'x'.repeat(Math.floor(r() * 300)), 'subscribe', 'auth', '__proto__'][Math.floor(r() * 9)];
  if (roll < 0.6) return Array.from({ length: Math.floor(r() * 5) }, () => randomValue(r, depth + 1));
  const o: Record<string, unknown> = {};
  for (const k of ['op', 'id', 'spec', 'token', 'indicator', 'constructor'].filter(() => r() < 0.6)) o[k] = randomValue(r, depth + 1);
  return o;
}

/** n nested one-element arrays in raw MessagePack (0x91 = fixarray of 1), deeper than encoders allow. */
function nested(n: number): Buffer {
  return Buffer.concat([Buffer.alloc(n, 0x91), Buffer.from([0x01])]);
}

describe('stream fuzz', () => {
  it('survives 600 hostile messages over several sockets and keeps serving a good client', async () => {
    const r = rng(99);
    const token = await h.token('partner');
    let sent = 0;
    for (let s = 0; s < 6; s++) {
      const c = await StreamClient.open(wsUrl);
      try {
        if (s % 2 === 0) {
          c.send({ op: 'auth', token });
          await c.until((f) => f.some((x) => x.op === 'auth'));
        }
        for (let i = 0; i < 100 && !c.closed; i++, sent++) {
          const roll = r();
          if (roll < 0.1) c.ws.send(Buffer.from(Array.from({ length: 1 + Math.floor(r() * 64) }, () => Math.floor(r() * 256))));
          else if (roll < 0.15) c.ws.send(nested(1 + Math.floor(r() * 20_000)));
          else if (roll < 0.25) c.send({ op: 'subscribe', id: i, spec: randomValue(r) });
          else if (roll < 0.3) c.send({ op: 'subscribe', id: i, indicator: randomValue(r) });
          else c.send(randomValue(r));
        }
        await new Promise((res) => setTimeout(res, 50));
      } finally {
        c.close();
      }
    }
    expect(sent).toBeGreaterThan(100);

    const good = await StreamClient.open(wsUrl);
    try {
      good.send({ op: 'auth', token });
      await good.until((f) => f.some((x) => x.op === 'auth'));
      good.send({ op: 'subscribe', id: 'ok', spec: specs.daily('admin1') });
      const frames = await good.until((f) => f.some((x) => x.id === 'ok' && x.op === 'final' && x.last === true), 30_000);
      expect(frames.some((x) => x.op === 'final')).toBe(true);
    } finally {
      good.close();
    }
    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
  }, 120_000);
});
