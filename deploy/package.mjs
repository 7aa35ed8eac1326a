#!/usr/bin/env node
// `npm run package`: the operator's deliverable. A folder (and a tarball) that
// runs with `node` alone, with no npm and no network: the built JavaScript and
// WebAssembly (dist/), the production dependencies copied from this checkout's
// node_modules (the uWebSockets.js addon among them), the embedded sample, a
// systemd unit and an example configuration. Build first (`npm run build`).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'deploy', 'out'));
const name = `opalite-${pkg.version}`;
const target = path.join(outDir, name);

for (const need of ['dist/server/cli/main.js', 'dist/server/engine/worker.js', 'dist/kernels/opalite.wasm']) {
  if (!fs.existsSync(path.join(root, need))) {
    console.error(`package: expected ${need}; run npm run build first`);
    process.exit(1);
  }
}

fs.rmSync(target, { recursive: true, force: true });
fs.mkdirSync(target, { recursive: true });
const copy = (rel, to = rel) => fs.cpSync(path.join(root, rel), path.join(target, to), { recursive: true, dereference: true });

// The built code, without source maps of the tests or benchmarks.
fs.cpSync(path.join(root, 'dist'), path.join(target, 'dist'), {
  recursive: true,
  filter: (src) => !src.includes(`${path.sep}bench`) && !src.endsWith('.map'),
});
copy('data/sample');
copy('README.md');
copy('deploy/opalite.service', 'opalite.service');
copy('deploy/opalite.example.json', 'opalite.example.json');
fs.writeFileSync(
  path.join(target, 'package.json'),
  JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', private: true, bin: { opalite: 'dist/server/cli/main.js' }, engines: pkg.engines }, null, 2) + '\n',
);

// Production dependencies only, as npm resolved them here (no registry needed).
const prod = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter((p) => p.startsWith(path.join(root, 'node_modules') + path.sep));
for (const dir of prod) fs.cpSync(dir, path.join(target, path.relative(root, dir)), { recursive: true, dereference: true });

const tarball = path.join(outDir, `${name}.tar.gz`);
execFileSync('tar', ['-czf', tarball, '-C', outDir, name]);
console.log(`${target}\n${tarball} (${(fs.statSync(tarball).size / 2 ** 20).toFixed(1)} MiB, ${prod.length} production packages)`);
