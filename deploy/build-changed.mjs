#!/usr/bin/env node
// `npm start`'s build: each of the three builds (kernels, TypeScript, dashboard) runs only
// when one of its inputs is newer than the stamp its last successful run left in dist/
// (issue #14: npm start rebuilt everything every time, 60-90 s). `npm run build` and CI
// still build everything from scratch.
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The newest modification time (ms) of the files under `roots` (files or folders), skipping `skip` folders. */
export function newest(roots, skip = []) {
  let t = 0;
  const walk = (p) => {
    let st;
    try {
      st = fs.statSync(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      if (skip.some((s) => path.resolve(p) === path.resolve(s))) return;
      for (const name of fs.readdirSync(p)) walk(path.join(p, name));
    } else t = Math.max(t, st.mtimeMs);
  };
  for (const r of roots) walk(r);
  return t;
}

export const TARGETS = [
  { name: 'kernels', script: 'build:kernels', inputs: ['kernels', 'asconfig.json', 'package-lock.json'], skip: [] },
  { name: 'ts', script: 'build:ts', inputs: ['server', 'bench', 'kernels/shared', 'test/types', 'dist/kernels/opalite.d.ts', 'tsconfig.json', 'package-lock.json'], skip: ['server/dashboard'] },
  // The page also compiles what it imports from outside its folder: the wire contract and the indicator catalog.
  { name: 'dashboard', script: 'build:dashboard', inputs: ['server/dashboard', 'server/service/wire.ts', 'server/indicators', 'package-lock.json'], skip: [] },
];

/** Whether a target must be built: no stamp yet, or an input newer than it. */
export function stale(target, stampDir = 'dist') {
  const stamp = path.join(stampDir, `.built-${target.name}`);
  if (!fs.existsSync(stamp)) return true;
  return newest(target.inputs, target.skip) > fs.statSync(stamp).mtimeMs;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const t of TARGETS) {
    if (!stale(t)) {
      process.stdout.write(`build: ${t.name} up to date\n`);
      continue;
    }
    // The stamp's time is taken before the build: an input edited during it makes the next start build again.
    const started = new Date();
    execSync(`npm run --silent ${t.script}`, { stdio: 'inherit' });
    fs.mkdirSync('dist', { recursive: true });
    const stamp = path.join('dist', `.built-${t.name}`);
    fs.writeFileSync(stamp, '');
    fs.utimesSync(stamp, started, started);
  }
}
