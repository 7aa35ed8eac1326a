/**
 * Instructions per row of the simple scans, counted by callgrind: repeatable on a
 * shared machine where wall-clock rates move by tens of percent with the load.
 * Each kernel runs in its own process under valgrind on a synthetic day (rows in
 * time order, random subscribers, cells, types and directions, ~1% rows without a
 * cell, ~2% cells without a location), CALLS times; the count is callgrind's for
 * the hottest JIT code object (the kernel: V8 compiles the wasm module into one
 * object per function) divided by CALLS x rows.
 *
 *   npm run build && node dist/bench/instructions.js [--wasm FILE] [--rows N]
 *
 * Needs valgrind. --wasm compares another build of the module (bench/kernels.ts
 * takes the same option for wall-clock rates).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { Command } from 'commander';
import { kernelPath } from '../server/wasm/module.js';

const KERNELS = ['lastLocation', 'countEvents'] as const;
type KernelName = (typeof KERNELS)[number];
const CALLS = 10;

const o = new Command('bench-instructions')
  .option('--wasm <file>', 'the kernel module (default: the built one)')
  .option('--rows <n>', 'rows of the synthetic day', (v) => Number(v), 2_000_000)
  .option('--child <kernel>', 'internal: run one kernel CALLS times')
  .parse(process.argv)
  .opts<{ wasm?: string; rows: number; child?: KernelName }>();

/** Runs `name` CALLS times over a synthetic day, compiled as wasm.ts compiles it (TurboFan, eagerly). */
function child(name: KernelName, file: string, n: number): void {
  v8.setFlagsFromString('--no-liftoff');
  v8.setFlagsFromString('--no-wasm-lazy-compilation');
  const memory = new WebAssembly.Memory({ initial: 16, maximum: 65536, shared: true });
  const nSubs = 12_500;
  const nCells = 5000;
  let top = 1 << 16;
  const alloc = (bytes: number) => {
    const at = top;
    top += Math.ceil(bytes / 16) * 16;
    return at;
  };
  const sub = alloc(4 * n), t = alloc(4 * n), cell = alloc(4 * n), kind = alloc(n);
  const loc = alloc(4 * nCells), out = alloc(4 * nSubs), drops = alloc(16), state = alloc(4 * nSubs);
  memory.grow(Math.ceil(top / 65536));
  const k = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(file)), { env: { memory } }).exports as Record<string, (...a: number[]) => number>;
  let x = 12345;
  const random = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const S = new Uint32Array(memory.buffer, sub, n), T = new Uint32Array(memory.buffer, t, n), C = new Uint32Array(memory.buffer, cell, n);
  const K = new Uint8Array(memory.buffer, kind, n), L = new Int32Array(memory.buffer, loc, nCells);
  const day = 16801 * 86400;
  for (let i = 0; i < n; i++) {
    S[i] = Math.floor(random() * nSubs);
    T[i] = day + Math.floor((i * 86400) / n);
    C[i] = random() < 0.01 ? 0xffffffff : Math.floor(random() * nCells);
    K[i] = Math.floor(random() * 4) | ((random() < 0.5 ? 1 : 2) << 2);
  }
  for (let c = 0; c < nCells; c++) L[c] = random() < 0.02 ? -2 : Math.floor(random() * 200);
  for (let call = 0; call < CALLS; call++) {
    if (name === 'lastLocation') k.lastLocation!(n, sub, t, cell, kind, loc, nCells, 0xf, day, day + 86400, 0xffffff, nSubs, out, drops);
    else k.countEvents!(n, sub, t, kind, 0xf, day, day + 86400, 0xffffff, 3, nSubs, state);
  }
}

/** Instructions of the hottest anonymous (JIT) code object in a callgrind profile. */
function hottestJit(profile: string): number {
  const text = execFileSync('callgrind_annotate', ['--threshold=100', profile], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = text.split('\n').find((l) => /\?\?\?:0x[0-9a-f]+ \[\?\?\?\]/.test(l));
  if (!line) throw new Error(`${profile}: expected a JIT code entry in callgrind_annotate's output, found none`);
  return Number(line.trim().split(/\s+/)[0]!.replace(/,/g, ''));
}

if (o.child) {
  child(o.child, kernelPath(o.wasm), o.rows);
} else {
  const file = kernelPath(o.wasm);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-callgrind-'));
  try {
    for (const name of KERNELS) {
      const profile = path.join(dir, `${name}.out`);
      execFileSync('valgrind', ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${profile}`, process.execPath, fileURLToPath(import.meta.url), '--child', name, '--wasm', file, '--rows', String(o.rows)], { stdio: 'ignore' });
      console.log(`${name}: ${(hottestJit(profile) / (CALLS * o.rows)).toFixed(1)} instructions a row (${path.basename(file)})`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
