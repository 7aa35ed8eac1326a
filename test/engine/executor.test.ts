/** The pool survives its workers: one that dies or hangs mid-task is replaced, and only its task fails, clearly. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PoolExecutor } from '../../server/engine/executor.js';
import type { PartitionTask } from '../../server/engine/protocol.js';
import { KernelError } from '../../server/errors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-pool-'));
const worker = path.join(dir, 'worker.mjs');
// A stand-in worker: nSubs 1 answers, -1 never returns, -2 kills its thread.
fs.writeFileSync(
  worker,
  `export default function (task) {
    if (task.nSubs === -1) for (;;) {}
    if (task.nSubs === -2) process.exit(3);
    return { counts: new Uint32Array([task.nSubs]), drops: [0, 0, 0, 0] };
  }\n`,
);
const task = (nSubs: number) => ({ nSubs }) as unknown as PartitionTask;
const pool = new PoolExecutor({ threads: 1, taskTimeoutMs: 500, filename: worker });
afterAll(async () => {
  await pool.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('PoolExecutor', () => {
  it('stops a task past its timeout, then serves the next one on a fresh worker', async () => {
    await expect(pool.run(task(-1))).rejects.toMatchObject({ name: 'KernelError', code: 'TASK_TIMEOUT' });
    expect(Array.from((await pool.run(task(7))).counts!)).toEqual([7]);
  }, 20_000);

  it('reports a worker that dies mid-task, then serves the next one', async () => {
    const err = await pool.run(task(-2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).code).toBe('WORKER_DIED');
    expect(Array.from((await pool.run(task(9))).counts!)).toEqual([9]);
  }, 20_000);
});
