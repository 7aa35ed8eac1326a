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
import { reviveError } from '../errors.js';
import { runPartition } from './execute.js';
import type { PartialResult, PartitionTask, TaskFailure } from './protocol.js';
import { instantiate, kernelPath, type Kernels } from './wasm.js';

export interface Executor {
  run(task: PartitionTask): Promise<PartialResult>;
  close(): Promise<void>;
  readonly concurrency: number;
}

export class InProcessExecutor implements Executor {
  readonly concurrency = 1;
  constructor(private readonly kernels: Kernels) {}

  async run(task: PartitionTask): Promise<PartialResult> {
    return runPartition(this.kernels, task);
  }

  async close(): Promise<void> {}
}

/** The compiled worker; from TypeScript sources (tests) the build's copy is used. */
function workerFile(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, 'worker.js');
  return fs.existsSync(beside) ? beside : path.join(here, '..', '..', 'dist', 'server', 'engine', 'worker.js');
}

export class PoolExecutor implements Executor {
  private readonly pool: Piscina;
  readonly concurrency: number;

  constructor(threads = Math.max(1, os.availableParallelism())) {
    this.concurrency = threads;
    this.pool = new Piscina({
      filename: workerFile(),
      minThreads: threads,
      maxThreads: threads,
      workerData: { kernelPath: kernelPath() },
    });
  }

  async run(task: PartitionTask): Promise<PartialResult | never> {
    const out = (await this.pool.run(task)) as PartialResult | TaskFailure;
    if ('error' in out) throw reviveError(out.error);
    return out;
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
