/**
 * The README's deployment path: `npm run package` makes a tarball that, unpacked
 * in an empty folder, serves the embedded sample with `node` alone (no npm, no
 * checkout, no network beyond loopback), and stops cleanly on SIGTERM.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

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
    expect(fs.existsSync(path.join(dir, 'node_modules', 'vitest'))).toBe(false); // production dependencies only
    expect(fs.existsSync(path.join(dir, 'opalite.service'))).toBe(true);

    // Only node on the PATH: no npm, no build tools.
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    server = spawn(path.join(bin, 'node'), ['dist/server/cli/main.js', 'serve', '--port', '0'], {
      cwd: dir,
      env: { PATH: bin, OPALITE_HOME: path.join(root, 'home'), HOME: root },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    server.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
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
    expect(((await dates.json()) as { available_dates: { calls: string[] } }).available_dates.calls).toHaveLength(14);

    const exited = new Promise<number | null>((resolve) => server!.on('exit', resolve));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    server = null;
  }, 180_000);
});
