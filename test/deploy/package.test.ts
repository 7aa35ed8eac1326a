/**
 * The README's deployment path: `npm run package` makes a tarball that, unpacked
 * in an empty folder, serves the embedded sample with `node` alone (no npm, no
 * node_modules, no checkout, no network beyond loopback) from one bundled
 * entry: a query runs on the pool's worker threads over the WebAssembly
 * kernels, the uWebSockets.js addon is the native one, and SIGTERM stops it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../server/engine/engine.js';
import { readSecret } from '../../server/privacy/dp/secret.js';
import { DEFAULT_TIERS } from '../../server/service/config.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-package-'));
let server: ChildProcess | null = null;
afterAll(() => {
  server?.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

describe('the deliverable', () => {
  it('unpacks in an empty folder and serves the sample with node alone', async () => {
    expect(fs.existsSync('dist/server/cli/main.js'), 'run npm run build first').toBe(true);
    const out = path.join(root, 'out');
    execFileSync(process.execPath, ['deploy/package.mjs', out], { stdio: 'pipe' });
    const tarball = fs.readdirSync(out).find((f) => f.endsWith('.tar.gz'))!;
    const empty = path.join(root, 'opt');
    fs.mkdirSync(empty);
    execFileSync('tar', ['-xzf', path.join(out, tarball), '-C', empty]);
    const dir = path.join(empty, tarball.replace(/\.tar\.gz$/, ''));
    expect(fs.existsSync(path.join(dir, 'node_modules'))).toBe(false); // everything is in the bundle
    expect(fs.readdirSync(path.join(dir, 'dist', 'server', 'cli')).filter((f) => f.endsWith('.js')).sort()).toEqual(['csv-worker.js', 'main.js', 'parquet-worker.js', 'piscina-worker.js', 'worker.js']);
    expect(fs.existsSync(path.join(dir, 'dist', 'kernels', 'opalite.wasm'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'opalite.service'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'dist', 'dashboard'))).toBe(fs.existsSync('dist/dashboard'));

    // Only node on the PATH: no npm, no build tools.
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    // Two worker threads: the query below runs through the bundled pool worker and the kernels.
    server = spawn(path.join(bin, 'node'), ['dist/server/cli/main.js', 'serve', '--port', '0', '--threads', '2'], {
      cwd: dir,
      env: { PATH: bin, OPALITE_HOME: path.join(root, 'home'), HOME: root },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    server.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    server.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no address within 60 s; output: ${stdout}`)), 60_000);
      server!.stdout!.on('data', () => {
        const m = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout);
        if (m && /premium\s+(\S+)/.test(stdout)) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      server!.on('exit', (code) => reject(new Error(`exited ${code}; output: ${stdout}`)));
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const token = /premium\s+(\S+)/.exec(stdout)![1]!;
    const dates = await fetch(`${url}/api/0/available_dates`, { headers: { Authorization: `Bearer ${token}` } });
    expect(dates.status).toBe(200);
    // The sample's 94 days, 2016-01-01 .. 2016-04-03 (31 + 29 + 31 + 3; data/sample/dataset.json).
    expect(((await dates.json()) as { available_dates: { calls: string[] } }).available_dates.calls).toHaveLength(94);

    // A query end to end, against the same spec run in this process by the unbundled engine on the store the
    // package ingested: the bundled pool worker and kernels must give the same rows, and, the premium tier being
    // DP-protected by default, the same noise from the development secret the service created.
    const spec = { query_kind: 'spatial_aggregate', locations: { query_kind: 'daily_location', date: '2016-01-03', method: 'last', aggregation_unit: 'admin1' } };
    const auth = { Authorization: `Bearer ${token}` };
    const run = await fetch(`${url}/api/0/run`, { method: 'POST', headers: auth, body: JSON.stringify(spec) });
    expect(run.status).toBe(202);
    const { query_id } = (await run.json()) as { query_id: string };
    let poll: Response;
    for (;;) {
      poll = await fetch(`${url}/api/0/poll/${query_id}`, { headers: auth, redirect: 'manual' });
      if (poll.status !== 202) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(poll.status).toBe(303);
    const rows = ((await (await fetch(`${url}/api/0/get/${query_id}`, { headers: auth })).json()) as { query_result: { value: number }[] }).query_result;
    const reference = Engine.open(path.join(dir, '.opalite', 'sample-store'), { threads: 0 });
    try {
      expect(rows.length).toBeGreaterThan(0);
      const privacy = DEFAULT_TIERS.premium!.privacy as { rho: number; delta: number };
      const secret = readSecret(path.join(root, 'home', 'service', 'dp-secret.hex'));
      expect(rows).toEqual((await reference.run(spec, { protection: { mode: 'dp', secret, rho: privacy.rho, k: 15, delta: privacy.delta } })).rows);
    } finally {
      await reference.close();
    }
    // Parquet goes through parquetjs-lite, the dependency the bundle had to patch.
    const parquet = Buffer.from(await (await fetch(`${url}/api/0/get/${query_id}.parquet`, { headers: auth })).arrayBuffer());
    expect(parquet.subarray(0, 4).toString()).toBe('PAR1');
    expect(stderr).not.toMatch(/Falling back to a NodeJS implementation/); // the native addon loaded
    if (fs.existsSync('dist/dashboard/index.html')) {
      // The bundled server finds the dashboard's assets the package carries.
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toBe(fs.readFileSync(path.join(dir, 'dist', 'dashboard', 'index.html'), 'utf8'));
    }

    // Ingest runs on worker threads of its own (CSV parsing, Parquet page decoding): the bundle must carry them.
    const cli = (...args: string[]) => execFileSync(path.join(bin, 'node'), ['dist/server/cli/main.js', ...args], { cwd: dir, env: { PATH: bin, HOME: root }, stdio: 'pipe' }).toString();
    for (const format of ['csv', 'parquet']) {
      const ds = path.join(root, `ds-${format}`);
      cli('generate', '--out', ds, '--subscribers', '300', '--days', '2', '--format', format);
      expect(cli('ingest', ds, '--store', path.join(root, `store-${format}`))).toMatch(/ingested (\d[\d,]*) of \1 rows/);
    }

    const exited = new Promise<number | null>((resolve) => server!.on('exit', resolve));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    server = null;
  }, 180_000);
});
