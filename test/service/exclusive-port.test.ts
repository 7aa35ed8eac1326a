/**
 * Two servers on one port: uWebSockets.js listens with SO_REUSEPORT by
 * default, so a second `opalite serve` on a busy port started and the kernel
 * shared connections between the two (different stores, tokens refused at
 * random, the audit log split). The service listens exclusively and refuses
 * to start on a port another process holds. The other listener is a second
 * process (SO_REUSEPORT shares a port between processes of one user; within
 * one process uWS refuses anyway), a bare uWS app listening the default way,
 * as the service itself used to.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../server/engine/engine.js';
import { ConfigError } from '../../server/service/config.js';
import { startServer } from '../../server/service/server.js';
import { type Harness, sampleStore, startHarness } from './helpers.js';

const UWS = path.dirname(createRequire(import.meta.url).resolve('uWebSockets.js/package.json'));

/** A second process listening on 127.0.0.1:port with uWS's default options; resolves with whether it got the port. */
function otherListener(port: number): Promise<{ bound: boolean; child: ChildProcess }> {
  const script = `const uWS = require(${JSON.stringify(UWS)});
uWS.App().get('/*', (res) => res.end('the other server')).listen('127.0.0.1', ${port}, (s) => { process.stdout.write(s ? 'bound\\n' : 'refused\\n'); if (!s) process.exit(0); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve({ bound: out.startsWith('bound'), child });
    });
    child.on('error', reject);
  });
}

/** A port nobody listens on now (a port uWS was given as port 0 is never shared, so the tests name one). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

let root: string;
let h: Harness;
const children: ChildProcess[] = [];
beforeAll(async () => {
  root = await sampleStore();
  const port = await freePort();
  h = await startHarness(root, { tweak: (c) => (c.port = port) });
}, 120_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await h?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('one port, one server', () => {
  it('a second listener on the service port is refused while the service runs', async () => {
    const other = await otherListener(h.server.port);
    children.push(other.child);
    expect(other.bound).toBe(false);
    expect(await (await fetch(`${h.base}/healthz`)).json()).toMatchObject({ status: 'ok' });
  });

  it('the service refuses to start on a port another process holds, with "address in use"', async () => {
    const free = await freePort();
    const other = await otherListener(free);
    children.push(other.child);
    expect(other.bound).toBe(true);
    const engine = Engine.open(h.config.store, { partitions: 8, threads: 0 });
    try {
      const config = { ...structuredClone(h.config), port: free, audit: { ...h.config.audit, file: path.join(root, 'second-audit.jsonl') } };
      const started = startServer({ config, engine, log: pino({ level: 'silent' }) });
      await expect(started).rejects.toThrow(ConfigError);
      await expect(started).rejects.toThrow(`listen 127.0.0.1:${free}: address in use`);
      const got = await started.catch((e: unknown) => e);
      if (!(got instanceof Error)) await got.close();
    } finally {
      await engine.close();
    }
  });

  const built = fs.existsSync(path.resolve('dist/server/cli/main.js'));
  it.skipIf(!built)('opalite serve on a busy port exits non-zero saying "address in use"', async () => {
    const free = await freePort();
    const other = await otherListener(free);
    children.push(other.child);
    expect(other.bound).toBe(true);
    const child = spawn(process.execPath, [path.resolve('dist/server/cli/main.js'), 'serve', '--store', h.config.store, '--port', String(free), '--host', '127.0.0.1', '--threads', '1'], {
      env: { ...process.env, OPALITE_HOME: path.join(root, 'home'), OPALITE_LOG_LEVEL: 'warn', OPALITE_CONFIG: '', OPALITE_AUDIT_LOG: path.join(root, 'cli-audit.jsonl') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(stderr).toContain(`listen 127.0.0.1:${free}: address in use`);
    expect(code).toBe(2);
  }, 30_000);
});
