/** The query queue is bounded: beyond it a new query is refused BUSY (503 with Retry-After), never queued without end. */
import { describe, expect, it } from 'vitest';
import type { Engine } from '../../server/engine/engine.js';
import type { QuerySpec } from '../../server/engine/spec.js';
import { OpaliteError } from '../../server/errors.js';
import { statusOf } from '../../server/service/http.js';
import { Jobs } from '../../server/service/jobs.js';

/** An engine whose queries never finish, so the queue only fills. */
const stuck = { queryId: (s: QuerySpec) => JSON.stringify(s), run: () => new Promise(() => {}) } as unknown as Engine;
const spec = (i: number) => ({ query_kind: 'geography', aggregation_unit: `admin${i}` }) as unknown as QuerySpec;

describe('Jobs', () => {
  it('runs maxConcurrent, queues maxQueued, refuses the next with BUSY (503, Retry-After)', async () => {
    const jobs = new Jobs(stuck, { maxConcurrent: 1, maxJobs: 100, maxQueued: 2 });
    jobs.submit({}, spec(1));
    await new Promise((r) => setImmediate(r)); // the first starts executing
    jobs.submit({}, spec(2));
    jobs.submit({}, spec(3));
    expect(jobs.running).toBe(1);
    expect(jobs.queued).toBe(2);
    let refused: unknown;
    try {
      jobs.submit({}, spec(4));
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(OpaliteError);
    expect((refused as OpaliteError).code).toBe('BUSY');
    expect(statusOf(refused)).toBe(503);
    // The same spec as a queued one shares its job: no new slot needed.
    expect(jobs.submit({}, spec(3)).id).toBe(JSON.stringify(spec(3)));
  });

  it('asks the engine for estimates only while the job has a listener (issue #14: REST runs need none)', async () => {
    let wanted: (() => boolean) | undefined;
    let finish!: () => void;
    const engine = {
      queryId: (s: QuerySpec) => JSON.stringify(s),
      run: (_json: unknown, opts: { partialWanted?: () => boolean }) => {
        wanted = opts.partialWanted;
        return new Promise((r) => (finish = () => r({ rows: [], fraction: 1 })));
      },
    } as unknown as Engine;
    const jobs = new Jobs(engine, { maxConcurrent: 1, maxJobs: 10 });
    const job = jobs.submit({}, spec(1));
    await new Promise((r) => setImmediate(r));
    expect(wanted).toBeTypeOf('function');
    expect(wanted!()).toBe(false);
    const listener = () => {};
    job.listeners.add(listener);
    expect(wanted!()).toBe(true);
    job.listeners.delete(listener);
    expect(wanted!()).toBe(false);
    finish();
    await job.done;
  });
});
