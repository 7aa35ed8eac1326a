/** Pool worker: compile the kernels once, instantiate them on each task's shared memory, run. */
import { workerData } from 'node:worker_threads';
import { OpaliteError } from '../errors.js';
import { runPartition } from './execute.js';
import type { PartialResult, PartitionTask, TaskFailure } from './protocol.js';
import { Kernels } from './wasm.js';
import { loadKernelModule } from '../wasm/module.js';

const module = loadKernelModule((workerData as { kernelPath?: string } | undefined)?.kernelPath);
let cached: { memory: WebAssembly.Memory; kernels: Kernels } | null = null;

function kernelsFor(memory: WebAssembly.Memory): Kernels {
  // Each task brings a fresh wrapper of the same memory; instantiation is cheap, compilation is cached.
  if (cached?.memory !== memory) cached = { memory, kernels: new Kernels(memory, module) };
  return cached.kernels;
}

/** One task, or a batch of them run in order (each succeeds or fails on its own). */
export default function run(task: PartitionTask | PartitionTask[]): PartialResult | TaskFailure | (PartialResult | TaskFailure)[] {
  return Array.isArray(task) ? task.map(runOne) : runOne(task);
}

function runOne(task: PartitionTask): PartialResult | TaskFailure {
  try {
    return runPartition(kernelsFor(task.memory), task);
  } catch (e) {
    // Errors cross the thread as data and are rebuilt as their typed class.
    const err = e as Error;
    return { error: { name: err.name, code: err instanceof OpaliteError ? err.code : 'WORKER_ERROR', message: err.message } };
  }
}
