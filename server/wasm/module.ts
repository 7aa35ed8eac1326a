/**
 * Loads and compiles the kernel module (dist/kernels/opalite.wasm) for whoever
 * runs kernels: the engine's query kernels (engine/wasm.ts wraps each export)
 * and ingest's CSV and HMAC kernels. Compiled once per file and thread; a
 * compiled Module can be posted to workers.
 */
import fs from 'node:fs';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';
import { KernelError } from '../errors.js';

/** Compiled layout: dist/server/wasm/module.js -> dist/kernels/; from source: server/wasm/module.ts -> dist/kernels/. */
const CANDIDATES = ['../../kernels/opalite.wasm', '../../dist/kernels/opalite.wasm'];

/** Where the kernel module is: `explicit` if given, else the first candidate next to this module that exists. */
export function kernelPath(explicit?: string): string {
  if (explicit) return explicit;
  const tried: string[] = [];
  for (const relative of CANDIDATES) {
    const file = fileURLToPath(new URL(relative, import.meta.url));
    if (fs.existsSync(file)) return file;
    tried.push(file);
  }
  throw new KernelError(
    'MODULE_MISSING',
    `expected the kernel module at ${tried.join(' or ')}, found none (run npm run build:kernels)`,
  );
}

const compiled = new Map<string, WebAssembly.Module>();

/**
 * Compiles every function with V8's optimising tier (TurboFan), eagerly. By
 * default V8 compiles wasm lazily in its baseline tier (Liftoff) and re-compiles
 * a function optimised only after it has run a while; but a kernel is one long
 * loop called once per task, and a running call never switches tier, so a fresh
 * worker's first tasks ran up to 2x slower, and the first progressive frame with
 * them. The module is small: compiling it all takes ~50-90 ms, once per thread.
 * The flags are process-wide, so they are set for this compilation only and
 * then put back to V8's defaults.
 */
function optimisedModule(file: string): WebAssembly.Module {
  const bytes = fs.readFileSync(file);
  v8.setFlagsFromString('--no-liftoff');
  v8.setFlagsFromString('--no-wasm-lazy-compilation');
  try {
    return new WebAssembly.Module(bytes);
  } finally {
    v8.setFlagsFromString('--liftoff');
    v8.setFlagsFromString('--wasm-lazy-compilation');
  }
}

/** The compiled kernel module, cached per file. A Module can be posted to workers. */
export function loadKernelModule(file?: string): WebAssembly.Module {
  const where = kernelPath(file);
  let module = compiled.get(where);
  if (!module) {
    module = optimisedModule(where);
    compiled.set(where, module);
  }
  return module;
}

const lazilyCompiled = new Map<string, WebAssembly.Module>();

/**
 * The kernel module compiled V8's default way (each function in the baseline
 * tier when first called, then optimised in the background as it runs), for a
 * thread that calls a few kernels many times - the ingest's CSV rows and HMAC,
 * a call per batch - where compiling all of them eagerly (~50 ms a thread) is
 * start-up time a small file feels, and the hot ones are optimised after a
 * few calls. Query kernels, one long call each, keep loadKernelModule.
 */
export function loadKernelModuleLazily(file?: string): WebAssembly.Module {
  const where = kernelPath(file);
  let module = lazilyCompiled.get(where) ?? compiled.get(where);
  if (!module) {
    module = new WebAssembly.Module(fs.readFileSync(where));
    lazilyCompiled.set(where, module);
  }
  return module;
}
