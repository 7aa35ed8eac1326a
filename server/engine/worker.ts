/** Pool worker: compile the kernels once, instantiate them once on the engine's shared memory, run. */
import { workerData } from 'node:worker_threads';
import { OpaliteError } from '../errors.js';
import { runPartition } from './run/partition.js';
import type { PartialResult, PostedTask, TaskFailure } from './protocol.js';
import { Kernels } from './wasm.js';
import { loadKernelModule } from '../wasm/module.js';

const data = workerData as { kernelPath?: string; memory?: WebAssembly.Memory } | undefined;
const module = loadKernelModule(data?.kernelPath);
// The engine's memory, given at start: one instance serves every task that comes without a memory of its own.
const own = data?.memory ? { memory: data.memory, kernels: new Kernels(data.memory, module) } : null;
let cached: { memory: WebAssembly.Memory; kernels: Kernels } | null = null;

function kernelsFor(memory: WebAssembly.Memory): Kernels {
  // A task with its own memory brings a fresh wrapper of it each time: instantiate per task (~0.6 ms).
  if (cached?.memory !== memory) cached = { memory, kernels: new Kernels(memory, module) };
  return cached.kernels;
}

/** One task, or a batch of them run in order (each succeeds or fails on its own). */
export default function run(task: PostedTask | PostedTask[]): PartialResult | TaskFailure | (PartialResult | TaskFailure)[] {
  return Array.isArray(task) ? task.map(runOne) : runOne(task);
}

function runOne(task: PostedTask): PartialResult | TaskFailure {
  try {
    const memory = task.memory;
    if (memory !== undefined) return runPartition(kernelsFor(memory), { ...task, memory });
    if (!own) throw new Error('partition task: expected a memory, with the task or given to the worker at start, found neither');
    return runPartition(own.kernels, { ...task, memory: own.memory });
  } catch (e) {
    // Errors cross the thread as data and are rebuilt as their typed class.
    const err = e as Error;
    return { error: { name: err.name, code: err instanceof OpaliteError ? err.code : 'WORKER_ERROR', message: err.message } };
  }
}
