/** Start and stop: graceful close, and the command line (keys, token, audit verify, serve). */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditCommand } from '../../server/cli/audit.js';
import { keysCommand } from '../../server/cli/keys.js';
import { tokenCommand } from '../../server/cli/token.js';
import { verifyAuditLog } from '../../server/service/audit.js';
import { Verifier } from '../../server/service/auth.js';
import { DEFAULT_TIERS } from '../../server/service/config.js';
import { loadPublicKey } from '../../server/service/keys.js';
import { auth, sampleStore, specs, startHarness, StreamClient } from './helpers.js';

let root: string;
beforeAll(async () => {
  root = await sampleStore();
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

async function printed(run: () => Promise<unknown>): Promise<string> {
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    await run();
    return write.mock.calls.map((c) => String(c[0])).join('');
  } finally {
    write.mockRestore();
  }
}

describe('graceful close', () => {
  it('finishes the running query, closes sockets with a reason, flushes the audit log, stops listening', async () => {
    // On a worker thread, so that the query is still running when close() is called.
    const h = await startHarness(root, { tweak: (c) => (c.threads = 1) });
    const token = await h.token('partner');
    const c = await StreamClient.open(`${h.api.replace('http', 'ws')}/stream`, auth(token));
    await c.until((f) => f.some((x) => x.op === 'auth'));
    const r = await fetch(`${h.api}/run`, { method: 'POST', headers: auth(token), body: JSON.stringify(specs.flows('admin3')) });
    const { query_id } = (await r.json()) as { query_id: string };
    const job = h.server.context.jobs.get(query_id)!;
    expect(job.status).not.toBe('completed');
    await h.server.close({ graceMs: 20_000 });
    expect(job.status).toBe('completed');
    const closed = await c.closedWithin(5000);
    expect(closed).toEqual({ code: 1001, reason: 'server shutting down' });
    expect(verifyAuditLog(h.config.audit.file)).toMatchObject({ ok: true });
    await expect(fetch(`${h.base}/healthz`)).rejects.toThrow();
    await h.engine.close();
  });
});

describe('bounded close (issue #14: SIGTERM during a slow query exited after 70 s)', () => {
  it('refuses new connections at once, abandons a query still running after the grace (SHUTTING_DOWN) and answers its waiters', async () => {
    const h = await startHarness(root);
    const token = await h.token('partner');
    // A query that never finishes on its own: the jobs' engine answers everything but run.
    const engine = h.server.context.engine;
    const stuck = Object.create(engine) as typeof engine;
    stuck.run = () => new Promise(() => {});
    h.server.context.jobs.setEngine(stuck);
    const spec = specs.daily('admin2', '2016-01-09'); // not run by the test above (its result is kept on disk)
    const job = h.server.context.jobs.submit(spec, engine.parse(spec));
    await new Promise((r) => setImmediate(r));
    expect(job.status).toBe('executing');
    // A /series request waiting for the same query.
    const waiting = fetch(`${h.api}/series`, { method: 'POST', headers: auth(token), body: JSON.stringify({ specs: [spec] }) });
    await new Promise((r) => setTimeout(r, 200));

    const t0 = performance.now();
    const closing = h.server.close({ graceMs: 300 });
    await new Promise((r) => setTimeout(r, 50));
    // During the grace: not listening any more, so a new connection is refused, not left hanging.
    await expect(fetch(`${h.base}/healthz`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow(/fetch failed/);
    await closing;
    expect(performance.now() - t0).toBeLessThan(300 + 1000 + 500);
    expect(job.status).toBe('errored');
    expect(job.error?.code).toBe('SHUTTING_DOWN');
    const answer = await waiting;
    expect(answer.status).toBe(500);
    expect(((await answer.json()) as { code: string }).code).toBe('SHUTTING_DOWN');
    expect(verifyAuditLog(h.config.audit.file)).toMatchObject({ ok: true });
    await h.engine.close();
  });
});

describe('the command line', () => {
  it('opalite keys, opalite token, opalite audit verify', async () => {
    const out = path.join(root, 'cli-keys');
    const keysText = await printed(() => keysCommand().parseAsync(['--out', out], { from: 'user' }));
    expect(keysText).toContain(path.join(out, 'public.pem'));
    vi.stubEnv('OPALITE_CONFIG', '');
    const token = (
      await printed(() =>
        tokenCommand().parseAsync(['--tier', 'premium', '--sub', 'analyst', '--ttl', '2h', '--key', path.join(out, 'signing.pem'), '--aud', 'opalite'], { from: 'user' }),
      )
    ).trim();
    const p = await new Verifier([loadPublicKey(path.join(out, 'public.pem'))], 'opalite', DEFAULT_TIERS).verify(token);
    expect(p).toMatchObject({ sub: 'analyst', tierName: 'premium' });
    expect(p.exp - Date.now() / 1000).toBeGreaterThan(7000);
    const saved = process.exitCode;
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await tokenCommand().parseAsync(['--tier', 'gold', '--sub', 'x', '--key', path.join(out, 'signing.pem')], { from: 'user' });
      expect(String(stderr.mock.calls[0]?.[0])).toMatch(/^opalite: ConfigError: --tier: expected one of free, premium, partner/);
      expect(process.exitCode).toBe(2);
      await auditCommand().parseAsync(['verify', path.join(out, 'missing.jsonl')], { from: 'user' });
      expect(String(stderr.mock.calls[1]?.[0])).toMatch(/AuditError: .*no readable file/);
    } finally {
      stderr.mockRestore();
      vi.unstubAllEnvs();
      process.exitCode = saved;
    }

    const h = await startHarness(root);
    await fetch(`${h.api}/available_dates`, { headers: auth(await h.token('free')) });
    await h.close();
    const file = h.config.audit.file;
    expect(await printed(() => auditCommand().parseAsync(['verify', file], { from: 'user' }))).toMatch(/ok, \d+ entries/);
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    fs.writeFileSync(file, [lines[0]!.replace('"free"', '"partner"'), ...lines.slice(1)].join('\n'));
    expect(await printed(() => auditCommand().parseAsync(['verify', file], { from: 'user' }))).toMatch(/line 1: .*edited/);
    expect(process.exitCode).toBe(1);
    process.exitCode = saved;
  });

  it('opalite serve in production (NODE_ENV=production) without configured keys refuses development keys and tokens', async () => {
    const { serveCommand } = await import('../../server/cli/serve.js');
    const home = path.join(root, 'prod-home');
    vi.stubEnv('NODE_ENV', 'production');
    vi.stubEnv('OPALITE_CONFIG', '');
    vi.stubEnv('OPALITE_HOME', home);
    const saved = process.exitCode;
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const out = await printed(() => serveCommand().parseAsync(['--store', path.join(root, 'store'), '--port', '0'], { from: 'user' }));
      expect(String(stderr.mock.calls[0]?.[0])).toMatch(/^opalite: ConfigError: keys.publicKeys: expected .* in production \(NODE_ENV=production\), found none/);
      expect(process.exitCode).toBe(2);
      expect(out).not.toMatch(/development tokens/);
      expect(fs.existsSync(path.join(home, 'service', 'dev-signing.pem'))).toBe(false);
    } finally {
      stderr.mockRestore();
      vi.unstubAllEnvs();
      process.exitCode = saved;
    }
  });

  const built = fs.existsSync(path.resolve('dist/server/cli/serve.js'));
  it.skipIf(!built)('opalite serve: a development key outside the repo, a token per tier, a working service, a clean stop on SIGTERM', async () => {
    const home = path.join(root, 'home');
    const script = `import { serveCommand } from ${JSON.stringify(path.resolve('dist/server/cli/serve.js'))}; await serveCommand().parseAsync(process.argv.slice(1), { from: 'user' });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, '--', '--store', path.join(root, 'store'), '--port', '0', '--host', '127.0.0.1', '--threads', '1'], {
      env: { ...process.env, OPALITE_HOME: home, OPALITE_LOG_LEVEL: 'warn', OPALITE_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!/partner\s+\S+\n/.test(stdout)) {
        if (Date.now() > deadline) throw new Error(`serve did not start: ${stdout}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      const url = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)![1]!;
      const tokens = Object.fromEntries([...stdout.matchAll(/^ {2}(free|premium|partner)\s+(\S+)$/gm)].map((m) => [m[1], m[2]]));
      expect(Object.keys(tokens).sort()).toEqual(['free', 'partner', 'premium']);
      expect(fs.statSync(path.join(home, 'service', 'dev-signing.pem')).mode & 0o777).toBe(0o600);
      expect((await fetch(`${url}/api/0/available_dates`, { headers: auth(tokens.free!) })).status).toBe(200);
      const run = await fetch(`${url}/api/0/run`, { method: 'POST', headers: auth(tokens.partner!), body: JSON.stringify(specs.flows('admin2')) });
      expect(run.status).toBe(202);
      const { query_id } = (await run.json()) as { query_id: string };
      let status = 202;
      while (status === 202 && Date.now() < deadline) {
        status = (await fetch(`${url}/api/0/poll/${query_id}`, { headers: auth(tokens.partner!), redirect: 'manual' })).status;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(status).toBe(303);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stdout).toContain('SIGTERM');
      expect(verifyAuditLog(path.join(home, 'service', 'audit.jsonl'))).toMatchObject({ ok: true });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
