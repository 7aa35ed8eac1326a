#!/usr/bin/env node
// `npm run package`: the operator's deliverable. A folder (and a tarball) that
// runs with `node` alone, with no npm, no node_modules and no network: one
// bundled JavaScript entry (dist/server/cli/main.js, see bundle.mjs) with the
// pool's worker entries and the uWebSockets.js addon beside it, the WebAssembly
// kernels, the dashboard's assets when they are built, the embedded sample, a
// systemd unit and an example configuration. Build first (`npm run build`).
//
// usage: node deploy/package.mjs [OUT_DIR]   (default deploy/out)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from './bundle.mjs';

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

const bundled = await bundle(root, target);
// The dashboard's built assets, served by the service from dist/dashboard (beside dist/server, as in a checkout).
const dashboard = fs.existsSync(path.join(root, 'dist', 'dashboard'));
if (dashboard) copy('dist/dashboard');
copy('data/sample');
copy('README.md');
copy('deploy/opalite.service', 'opalite.service');
copy('deploy/opalite.example.json', 'opalite.example.json');
// type: module makes node read the bundle as ESM; no dependencies: everything is in the bundle.
fs.writeFileSync(
  path.join(target, 'package.json'),
  JSON.stringify({ name: pkg.name, version: pkg.version, type: 'module', private: true, bin: { opalite: 'dist/server/cli/main.js' }, engines: pkg.engines }, null, 2) + '\n',
);

const tarball = path.join(outDir, `${name}.tar.gz`);
execFileSync('tar', ['-czf', tarball, '-C', outDir, name]);
const mib = (f) => (fs.statSync(f).size / 2 ** 20).toFixed(1);
console.log(
  `${target}\n${tarball} (${mib(tarball)} MiB; bundle ${mib(path.join(target, 'dist/server/cli/main.js'))} MiB, ${bundled.length} entries${dashboard ? ', dashboard' : ', no dashboard built'})`,
);
