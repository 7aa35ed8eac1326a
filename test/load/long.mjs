#!/usr/bin/env node
// The long form of the load tests (`npm run test:load`; the short form runs in
// CI as test/load/service.load.test.ts). The service runs in its own process
// (the built command line, 2 pool threads); this process is the load:
//   - REST: wrk for LOAD_SECONDS (default 60) on GET /api/0/get/<id> with 64
//     connections, while
//   - the stream: LOAD_CLIENTS (default 200) WebSocket clients connect in waves,
//     each subscribing to LOAD_SUBS specs; one in LOAD_SLOW_EVERY (default 10)
//     never reads (its socket is paused). Every fast client must get the final
//     frame of every subscription; slow ones must be closed (1013) or simply
//     left behind, never making the server grow: its RSS is sampled every 200 ms.
//   - a slow partner query (flows between the modal locations of two weeks of
//     daily most-common locations, admin3) runs through REST /run, while
//   - a probe asks GET /healthz every 50 ms (issue #14: it waited 45.6 s behind
//     such a query); at the end the service's /metrics gives the main thread's
//     longest stall (perf_hooks monitorEventLoopDelay, opalite_event_loop_delay_max_seconds).
// Prints the figures and exits 1 if a fast client was not served, a REST answer
// was not 200, the peak RSS passed LOAD_MAX_RSS_MIB (default 1024), or the
// /healthz p99 passed LOAD_HEALTHZ_P99_MS (default 50).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decode, encode } from '@msgpack/msgpack';
import WebSocket from 'ws';

const env = (name, dflt) => Number(process.env[name] ?? dflt);
const SECONDS = env('LOAD_SECONDS', 60);
const CLIENTS = env('LOAD_CLIENTS', 200);
const HEALTHZ_P99_MS = env('LOAD_HEALTHZ_P99_MS', 50);
const SLOW_EVERY = env('LOAD_SLOW_EVERY', 10);
const SUBS = env('LOAD_SUBS', 3);
const MAX_RSS_MIB = env('LOAD_MAX_RSS_MIB', 1024);
const CLI = path.resolve('dist/server/cli/main.js');

try {
  execFileSync('wrk', ['--version'], { stdio: 'ignore' });
} catch (e) {
  // wrk prints its version and exits 1; only a missing binary is a problem.
  if (e.code === 'ENOENT') {
    console.error('test:load: expected wrk on the PATH (apt-get install -y wrk), found none');
    process.exit(2);
  }
}
if (!fs.existsSync(CLI)) {
  console.error('test:load: expected a build (npm run build)');
  process.exit(2);
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-load-'));
// A small stream bound, so that the slow clients reach it within the run.
const config = path.join(root, 'opalite.json');
fs.writeFileSync(config, JSON.stringify({ stream: { maxQueuedBytes: 256 * 1024, maxBackpressure: 256 * 1024, maxSubscriptions: 16 }, limits: { maxQueuedQueries: 256 } }));
const server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--threads', '2', '--config', config, '--store', path.join(root, 'store'), '--data', path.resolve('data/sample')], {
  env: { ...process.env, OPALITE_HOME: path.join(root, 'home'), OPALITE_LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let stdout = '';
server.stdout.on('data', (d) => (stdout += d));
const stop = () => {
  server.kill('SIGTERM');
  fs.rmSync(root, { recursive: true, force: true });
};
process.on('exit', () => server.exitCode === null && server.kill('SIGKILL'));

const base = await new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error(`no address in 120 s: ${stdout}`)), 120_000);
  server.stdout.on('data', () => {
    const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
    if (m && /partner\s+\S+/.test(stdout)) {
      clearTimeout(t);
      resolve(m[1]);
    }
  });
  server.on('exit', (code) => reject(new Error(`the service exited ${code}: ${stdout}`)));
});
const token = /partner\s+(\S+)/.exec(stdout)[1];
const api = `${base}/api/0`;
const headers = { Authorization: `Bearer ${token}` };

// Memory of the service process, sampled all along.
const rssMiB = () => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${server.pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
};
const baseline = rssMiB();
let peak = baseline;
const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 200);

// One finished result for wrk to fetch.
const daily = (unit, date) => ({ query_kind: 'spatial_aggregate', locations: { query_kind: 'daily_location', date, method: 'last', aggregation_unit: unit } });
const run = await fetch(`${api}/run`, { method: 'POST', headers, body: JSON.stringify(daily('admin3', '2016-01-03')) });
const { query_id } = await run.json();
for (let i = 0; (await fetch(`${api}/poll/${query_id}`, { headers, redirect: 'manual' })).status !== 303; i++) {
  if (i > 600) throw new Error('the first query did not finish in 60 s');
  await new Promise((r) => setTimeout(r, 100));
}

// The slow partner query, and the /healthz probe beside everything else.
// A kind the service releases under its default privacy mode (location_event_counts and cell-level flows are
// refused there): flows between the modal locations of two weeks of daily most-common locations, at admin3.
const mostCommon = (d) => ({ query_kind: 'daily_location', date: `2016-01-${String(d).padStart(2, '0')}`, method: 'most-common', aggregation_unit: 'admin3' });
const modal = (from) => ({ query_kind: 'modal_location', locations: Array.from({ length: 7 }, (_, i) => mostCommon(from + i)) });
const slowSpec = { query_kind: 'flows', from_location: modal(1), to_location: modal(8) };
const slowStarted = performance.now();
const slowRun = await (await fetch(`${api}/run`, { method: 'POST', headers, body: JSON.stringify(slowSpec) })).json();
if (!slowRun.query_id) console.log(`slow query refused: ${JSON.stringify(slowRun).slice(0, 300)}`);
const slowDone = (async () => {
  for (;;) {
    const r = await fetch(`${api}/poll/${slowRun.query_id}`, { headers, redirect: 'manual' });
    if (r.status !== 202) return { status: r.status, seconds: (performance.now() - slowStarted) / 1000 };
    await new Promise((res) => setTimeout(res, 250));
  }
})();
const healthz = [];
let probing = true;
const probe = (async () => {
  while (probing) {
    const t = performance.now();
    const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(10_000) }).catch(() => null);
    healthz.push(r?.status === 200 ? performance.now() - t : Infinity);
    await new Promise((res) => setTimeout(res, 50));
  }
})();

const wrk = new Promise((resolve) => {
  const p = spawn('wrk', ['-t2', '-c64', `-d${SECONDS}s`, '--latency', '-H', `Authorization: Bearer ${token}`, `${api}/get/${query_id}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  p.on('exit', () => resolve(out));
});

// The stream clients, in waves over the first half of the run.
const days = ['2016-01-02', '2016-01-04', '2016-01-06', '2016-01-08', '2016-01-10', '2016-01-12'];
const units = ['admin3', 'cell', 'lon-lat'];
const stats = { fast: 0, slow: 0, fastServed: 0, fastFailed: 0, slowClosed1013: 0, slowOther: 0, frames: 0 };
const failures = [];
function client(i) {
  const slow = i % SLOW_EVERY === SLOW_EVERY - 1;
  stats[slow ? 'slow' : 'fast']++;
  return new Promise((resolve) => {
    const ws = new WebSocket(`${api.replace(/^http/, 'ws')}/stream`, { headers });
    const finals = new Set();
    let done = false;
    const finish = (ok, why) => {
      if (done) return;
      done = true;
      if (!slow) {
        if (ok) stats.fastServed++;
        else {
          stats.fastFailed++;
          if (failures.length < 5) failures.push(`client ${i}: ${why}`);
        }
      }
      ws.terminate();
      resolve();
    };
    const timer = setTimeout(() => finish(false, `no finals in 120 s (${finals.size}/${SUBS})`), 120_000);
    ws.on('open', () => {
      // A slow client asks for as much as it may (16 subscriptions at the finest units) and reads none of it.
      const n = slow ? 16 : SUBS;
      for (let s = 0; s < n; s++) {
        const unit = slow ? units[1 + (s % 2)] : units[(i + s) % units.length];
        ws.send(encode({ op: 'subscribe', id: s, spec: daily(unit, days[(i * 7 + s) % days.length]) }));
      }
      if (slow) ws._socket.pause(); // never reads again
    });
    ws.on('message', (data) => {
      stats.frames++;
      const f = decode(data);
      if (f.op === 'error') finish(false, `error ${f.code}: ${f.message}`);
      if (f.op === 'final' && f.last) finals.add(f.id);
      if (finals.size === SUBS) {
        clearTimeout(timer);
        finish(true);
      }
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      if (slow) stats[code === 1013 ? 'slowClosed1013' : 'slowOther']++;
      finish(false, `closed ${code}`);
    });
    ws.on('error', () => {});
    // A slow client that the server never had to close is let go at the end of the run.
    if (slow) setTimeout(() => finish(true), SECONDS * 1000);
  });
}
const waves = 10;
const streamDone = [];
for (let w = 0; w < waves; w++) {
  for (let i = Math.floor((w * CLIENTS) / waves); i < Math.floor(((w + 1) * CLIENTS) / waves); i++) streamDone.push(client(i));
  await new Promise((r) => setTimeout(r, (SECONDS * 500) / waves));
}
await Promise.all(streamDone);
const wrkOut = await wrk;
clearInterval(sampler);
const slow = await slowDone;
probing = false;
await probe;
const health = (await fetch(`${base}/healthz`)).status;
const metricsToken = execFileSync(process.execPath, [CLI, 'token', '--tier', 'partner', '--sub', 'load', '--scope', 'metrics:read'], {
  env: { ...process.env, OPALITE_HOME: path.join(root, 'home') },
  encoding: 'utf8',
}).trim().split('\n').at(-1);
const metrics = await (await fetch(`${base}/metrics`, { headers: { Authorization: `Bearer ${metricsToken}` } })).text();
const stallMs = Number(/^opalite_event_loop_delay_max_seconds (\S+)/m.exec(metrics)?.[1]) * 1000;
stop();

const num = (re) => (re.exec(wrkOut) ?? [])[1];
const rps = Number(num(/Requests\/sec:\s+([\d.]+)/));
const non2xx = Number(num(/Non-2xx or 3xx responses:\s+(\d+)/) ?? 0);
const socketErrors = num(/Socket errors:([^\n]+)/);
console.log(`REST  wrk ${SECONDS} s, 64 connections, GET /get: ${rps.toFixed(0)} requests/s, latency p50 ${num(/50%\s+(\S+)/)} p99 ${num(/99%\s+(\S+)/)}, non-2xx ${non2xx}${socketErrors ? `, socket errors${socketErrors}` : ''}`);
console.log(`stream ${CLIENTS} clients (${stats.fast} fast, ${stats.slow} slow), ${SUBS} subscriptions each: fast served ${stats.fastServed}/${stats.fast}, slow closed 1013 ${stats.slowClosed1013}, frames ${stats.frames}`);
console.log(`memory service RSS: ${baseline.toFixed(0)} MiB at start, peak ${peak.toFixed(0)} MiB (bound ${MAX_RSS_MIB} MiB); healthz after: ${health}`);
healthz.sort((a, b) => a - b);
const pct = (q) => healthz[Math.min(healthz.length - 1, Math.floor(q * healthz.length))];
const healthzP99 = pct(0.99);
console.log(`slow   flows between two weeks' modal locations (admin3): poll ${slow.status} after ${slow.seconds.toFixed(1)} s`);
console.log(`health /healthz every 50 ms: ${healthz.length} probes, p50 ${pct(0.5).toFixed(1)} ms, p99 ${healthzP99.toFixed(1)} ms (target < ${HEALTHZ_P99_MS}), max ${healthz.at(-1).toFixed(1)} ms`);
console.log(`loop   the service's longest event-loop stall: ${stallMs.toFixed(0)} ms (monitorEventLoopDelay, 10 ms resolution)`);
for (const f of failures) console.log(`  ${f}`);
const ok = stats.fastServed === stats.fast && non2xx === 0 && rps > 0 && peak <= MAX_RSS_MIB && health === 200 && slow.status === 303 && healthzP99 < HEALTHZ_P99_MS;
console.log(ok ? 'load: ok' : 'load: FAILED');
process.exit(ok ? 0 : 1);
