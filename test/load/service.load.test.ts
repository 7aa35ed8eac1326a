/**
 * Load from a second process on loopback (short form for CI): a burst of
 * distinct queries is queued up to the bound and refused beyond it with 503 and
 * Retry-After, never left to pile up; 200 stream clients at once are all served.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, sampleStore, specs, startHarness } from '../service/helpers.js';

const run = promisify(execFile);
let h: Harness;
beforeAll(async () => {
  h = await startHarness(await sampleStore(), {
    tweak: (c) => {
      c.limits.maxConcurrentQueries = 1;
      c.limits.maxQueuedQueries = 4;
    },
  });
}, 120_000);
afterAll(async () => {
  await h.close();
  fs.rmSync(h.root, { recursive: true, force: true });
});

/** A load client in its own process: prints a JSON summary of what it saw. */
async function client(script: string, env: Record<string, string>): Promise<Record<string, number>> {
  const file = path.join(h.root, `client-${Math.random().toString(36).slice(2)}.mjs`);
  fs.writeFileSync(file, script);
  const { stdout } = await run(process.execPath, [file], { env: { ...process.env, ...env }, timeout: 120_000, cwd: process.cwd() });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>;
}

describe('service under load', () => {
  it('queues a burst of 40 distinct queries up to its bound and answers the rest 503 with Retry-After', async () => {
    const token = await h.token('partner');
    const days = ['2016-01-01', '2016-01-02', '2016-01-03', '2016-01-04', '2016-01-05', '2016-01-06', '2016-01-07', '2016-01-08'];
    const bodies = days.flatMap((d) => ['admin1', 'admin2', 'admin3', 'cell', 'lon-lat'].map((u) => JSON.stringify(specs.daily(u, d))));
    const seen = await client(
      `const bodies = ${JSON.stringify(bodies)};
       const out = { accepted: 0, busy: 0, busyWithRetry: 0, other: 0 };
       await Promise.all(bodies.map(async (body) => {
         const r = await fetch(process.env.API + '/run', { method: 'POST', headers: { Authorization: 'Bearer ' + process.env.TOKEN, 'Content-Type': 'application/json' }, body });
         await r.arrayBuffer();
         if (r.status === 202) out.accepted++;
         else if (r.status === 503) { out.busy++; if (r.headers.get('retry-after')) out.busyWithRetry++; }
         else out.other++;
       }));
       console.log(JSON.stringify(out));`,
      { API: h.api, TOKEN: token },
    );
    expect(seen.accepted + seen.busy).toBe(40);
    expect(seen.other).toBe(0);
    expect(seen.busy).toBeGreaterThan(0);
    expect(seen.busyWithRetry).toBe(seen.busy);
    expect(h.server.context.jobs.queued).toBeLessThanOrEqual(4);
    expect((await fetch(`${h.base}/healthz`)).status).toBe(200);
  }, 120_000);

  it('serves 200 stream clients at once, every one to its final frame', async () => {
    const token = await h.token('partner');
    const seen = await client(
      `import WebSocket from ${JSON.stringify(path.resolve('node_modules/ws/wrapper.mjs'))};
       import { encode, decode } from ${JSON.stringify(path.resolve('node_modules/@msgpack/msgpack/dist.esm/index.mjs'))};
       const spec = ${JSON.stringify(specs.daily('admin2'))};
       const out = { finals: 0, errors: 0 };
       await Promise.all(Array.from({ length: 200 }, (_, i) => new Promise((resolve) => {
         const ws = new WebSocket(process.env.WS);
         const done = () => { ws.terminate(); resolve(); };
         const timer = setTimeout(() => { out.errors++; done(); }, 60000);
         ws.on('open', () => ws.send(encode({ op: 'auth', token: process.env.TOKEN })));
         ws.on('message', (d) => {
           const m = decode(d);
           if (m.op === 'auth') ws.send(encode({ op: 'subscribe', id: i, spec }));
           if (m.op === 'error') { out.errors++; clearTimeout(timer); done(); }
           if (m.op === 'final' && m.last) { out.finals++; clearTimeout(timer); done(); }
         });
         ws.on('error', () => { out.errors++; clearTimeout(timer); done(); });
       })));
       console.log(JSON.stringify(out));`,
      { WS: h.api.replace(/^http/, 'ws') + '/stream', TOKEN: token },
    );
    expect(seen).toEqual({ finals: 200, errors: 0 });
  }, 120_000);
});
