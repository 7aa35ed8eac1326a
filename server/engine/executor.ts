/**
 * Where partition tasks run: on the calling thread, or on a Piscina pool whose
 * workers share the engine's memory. Both run the same runPartition, so one
 * test suite covers both (STYLE.md: one suite against both back ends).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { KernelError, reviveError } from '../errors.js';
import { runPartition } from './run/partition.js';
import type { PartialResult, PartitionTask, PostedTask, TaskFailure } from './protocol.js';
import { instantiate, type Kernels } from './wasm.js';
import { kernelPath } from '../wasm/module.js';

/** One task's outcome within a batch: its result, or the typed error it failed with. */
export type Settled = { result: PartialResult } | { error: Error };

export interface Executor {
  run(task: PartitionTask): Promise<PartialResult>;
  /**
   * Runs tasks one after another on one thread, in one round trip: with hundreds of
   * small partitions, a message per task made the main thread (which dispatches,
   * merges and shares the cores with the workers) the bottleneck of cheap queries.
   * Each task succeeds or fails on its own.
   */
  runBatch(tasks: PartitionTask[]): Promise<Settled[]>;
  close(): Promise<void>;
  readonly concurrency: number;
}

export class InProcessExecutor implements Executor {
  readonly concurrency = 1;
  constructor(private readonly kernels: Kernels) {}

  async run(task: PartitionTask): Promise<PartialResult> {
    return runPartition(this.kernels, task);
  }

  async runBatch(tasks: PartitionTask[]): Promise<Settled[]> {
    return tasks.map((task) => {
      try {
        return { result: runPartition(this.kernels, task) };
      } catch (e) {
        return { error: e as Error };
      }
    });
  }

  async close(): Promise<void> {}
}

/** The compiled worker; from TypeScript sources (tests) the build's copy is used. */
function workerFile(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'worker.js');
  return fs.existsSync(beside) ? beside : path.join(here, '..', '..', 'dist', 'server', 'engine', 'worker.js');
}

export interface PoolOptions {
  threads?: number;
  /** A task running longer than this is stopped (its worker is terminated and replaced) and fails. */
  taskTimeoutMs?: number;
  /** The worker script (tests substitute one that crashes or hangs). */
  filename?: string;
  /**
   * The engine's shared memory, given to each worker once at its start: the worker
   * instantiates the kernels on it then, not once per message (a fresh instance per
   * batch cost ~0.6 ms of each worker's time), and tasks cross without it.
   */
  memory?: WebAssembly.Memory;
}

export class PoolExecutor implements Executor {
  private readonly pool: Piscina;
  readonly concurrency: number;
  private readonly taskTimeoutMs: number;
  private readonly memory: WebAssembly.Memory | undefined;

  constructor(opts: PoolOptions = {}) {
    const threads = opts.threads ?? Math.max(1, os.availableParallelism());
    this.concurrency = threads;
    this.taskTimeoutMs = opts.taskTimeoutMs ?? 10 * 60_000;
    this.pool = new Piscina({
      filename: opts.filename ?? workerFile(),
      minThreads: threads,
      maxThreads: threads,
      workerData: { kernelPath: kernelPath(), memory: opts.memory },
    });
    this.memory = opts.memory;
  }

  /**
   * Runs a task on a worker. A worker that dies mid-task is replaced by the pool
   * and the task fails with WORKER_DIED; one that runs past the timeout is
   * terminated (a kernel cannot be interrupted otherwise) and the task fails
   * with TASK_TIMEOUT. The service stays up either way.
   */
  async run(task: PartitionTask): Promise<PartialResult | never> {
    const out = (await this.post(task, this.taskTimeoutMs)) as PartialResult | TaskFailure;
    if ('error' in out) throw reviveError(out.error);
    return out;
  }

  /** The timeout applies per task of the batch (a batch of n may run n times as long). */
  async runBatch(tasks: PartitionTask[]): Promise<Settled[]> {
    const out = (await this.post(tasks, this.taskTimeoutMs * tasks.length)) as (PartialResult | TaskFailure)[];
    return out.map((r) => ('error' in r ? { error: reviveError(r.error) } : { result: r }));
  }

  private async post(payload: PartitionTask | PartitionTask[], timeoutMs: number): Promise<unknown> {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      return await this.pool.run(this.withoutMemory(payload), { signal });
    } catch (e) {
      if (signal.aborted) throw new KernelError('TASK_TIMEOUT', `partition task: expected to finish within ${timeoutMs} ms, found it still running; its worker was stopped`);
      throw new KernelError('WORKER_DIED', `partition task: expected a result, found its worker gone (${(e as Error).message}); the pool replaced it`);
    }
  }

  /** Tasks on the workers' own memory cross without it (the worker puts it back); others as they are. */
  private withoutMemory(payload: PartitionTask | PartitionTask[]): PostedTask | PostedTask[] {
    const strip = (task: PartitionTask): PostedTask => {
      if (task.memory !== this.memory) return task;
      const { memory: _, ...posted } = task;
      return posted;
    };
    return Array.isArray(payload) ? payload.map(strip) : strip(payload);
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
