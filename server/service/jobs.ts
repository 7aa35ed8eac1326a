/**
 * Query jobs: the one place REST runs and stream subscriptions start engine
 * runs. A job is keyed by the engine's query id (content hash of the
 * normalised spec and the store version), so identical specs share one run
 * and one result, however they arrive. At most maxConcurrent jobs execute at
 * once, the rest wait in order ("queued"); each job fans its progressive
 * estimates out to whoever listens. With a ResultStore, finished results are
 * also kept on disk: an id not in memory (after a restart, or forgotten) is
 * looked up there, and a hit is a completed job without running anything.
 */
import { type Engine, protectionKey, type QueryResult, type TaskProgress } from '../engine/engine.js';
import type { Protection } from '../privacy/dp/mechanism.js';
import type { QuerySpec } from '../engine/spec.js';
import { Errors, OpaliteError } from '../errors.js';
import type { ResultStore } from './result-store.js';

export type JobStatus = 'queued' | 'executing' | 'completed' | 'errored';

/**
 * FlowAPI's poll answer `progress` (flowmachine's dependency_graph.query_progress):
 * `eligible` parts still to be run (queued, running or not yet started), of which
 * `queued` wait and `running` run now; all 0 once the query is stored. Opalite's
 * parts are a query's subscriber-partition tasks: FlowClient's progress bar counts
 * eligible going down, as it does against FlowKit.
 */
export interface PollProgress {
  eligible: number;
  queued: number;
  running: number;
}

/** The progress a job reports now. */
export function pollProgress(job: Job): PollProgress {
  if (job.status === 'completed' || job.status === 'errored') return { eligible: 0, queued: 0, running: 0 };
  const t = job.tasks;
  const eligible = t.total - t.done;
  return { eligible, queued: eligible - t.running, running: t.running };
}

export interface JobFailure {
  code: string;
  message: string;
}

export interface Job {
  readonly id: string;
  readonly spec: QuerySpec;
  /** What protects its answer ('' = threshold redaction; else the DP parameters): a token may only read a job of its own. */
  readonly protection: string;
  status: JobStatus;
  /** Share of subscribers processed so far (under DP, of partitions: Engine.executeDp). */
  fraction: number;
  /** The query's partition tasks: all waiting until the job starts. */
  tasks: TaskProgress;
  result?: QueryResult;
  error?: JobFailure;
  /** Settles with the final result; never rejects (a failure sets `error` and resolves undefined). */
  readonly done: Promise<QueryResult | undefined>;
  readonly listeners: Set<(partial: QueryResult) => void>;
}

interface Pending extends Job {
  json: unknown;
  /** The engine's protection (holds the DP secret; never serialised). */
  run?: Protection;
  resolve(r: QueryResult | undefined): void;
}

export class Jobs {
  private readonly jobs = new Map<string, Pending>();
  private readonly queue: Pending[] = [];
  /** Results being written to the ResultStore (graceful shutdown waits for them). */
  private readonly writes = new Set<Promise<void>>();
  private executing = 0;

  constructor(
    private engine: Engine,
    /**
     * maxQueued: new queries beyond this many waiting are refused (BUSY) rather than queued without bound.
     * results: where finished results are kept across restarts.
     */
    private readonly opts: { maxConcurrent: number; maxJobs: number; maxQueued?: number; results?: ResultStore },
  ) {}

  /** Which store a kept result belongs to: its version, and when that version was written (a rebuilt store restarts at 1). */
  private static stampOf(engine: Engine): string {
    return `${engine.version}:${engine.store.manifest.updated}`;
  }

  /** A completed job from the result kept on disk for `id`, if there is one for the store in use. */
  private restore(id: string): Pending | undefined {
    const kept = this.opts.results?.get(id, Jobs.stampOf(this.engine));
    if (!kept) return undefined;
    let spec: QuerySpec;
    try {
      spec = this.engine.parse(kept.json);
    } catch {
      return undefined; // a spec this engine no longer accepts
    }
    const result = kept.result;
    const protection = protectionKey(result.privacy);
    if (this.engine.queryId(spec, protection) !== id) return undefined;
    const job: Pending = { id, spec, protection, json: kept.json, status: 'completed', fraction: 1, tasks: { total: 0, done: 0, running: 0 }, result, done: Promise.resolve(result), listeners: new Set(), resolve: () => {} };
    this.jobs.set(id, job);
    this.evict();
    return job;
  }

  /**
   * The job of this spec: the existing one when the same spec was submitted
   * before (running or done), else a new queued one. A failed job is retried.
   * `json` is what engine.run takes; `spec` is its parse by this engine.
   */
  submit(json: unknown, spec: QuerySpec, run?: Protection): Job {
    const id = this.engine.queryId(spec, run);
    const existing = this.jobs.get(id);
    if (existing && existing.status !== 'errored') {
      // Most recently used last: finished jobs are forgotten oldest first.
      this.jobs.delete(id);
      this.jobs.set(id, existing);
      return existing;
    }
    if (!existing) {
      const kept = this.restore(id);
      if (kept) return kept;
    }
    const maxQueued = this.opts.maxQueued ?? Infinity;
    if (this.queue.length >= maxQueued) throw Errors.busy(maxQueued, 5);
    let resolve!: (r: QueryResult | undefined) => void;
    const done = new Promise<QueryResult | undefined>((r) => (resolve = r));
    const total = this.engine.partitions;
    const job: Pending = { id, spec, protection: protectionKey(run), json, run, status: 'queued', fraction: 0, tasks: { total, done: 0, running: 0 }, done, listeners: new Set(), resolve };
    this.jobs.delete(id);
    this.jobs.set(id, job);
    this.queue.push(job);
    this.evict();
    setImmediate(() => this.pump());
    return job;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id) ?? this.restore(id);
  }

  get running(): number {
    return this.executing;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Finished jobs whose results are held. */
  get cached(): number {
    let n = 0;
    for (const j of this.jobs.values()) if (j.status === 'completed') n++;
    return n;
  }

  /** Resolves when nothing is queued or executing and finished results are on disk (graceful shutdown). */
  async idle(): Promise<void> {
    // By status, not by this.executing: an abandoned job's engine run may never settle.
    for (;;) {
      const pending = [...this.jobs.values()].filter((j) => j.status === 'queued' || j.status === 'executing');
      if (pending.length === 0) break;
      await Promise.all(pending.map((j) => j.done));
    }
    await Promise.all(this.writes);
  }

  /**
   * Shutdown once the grace is over: every queued or executing job fails with
   * SHUTTING_DOWN, so whoever waits for one (a /series request, a stream
   * subscription) answers at once; the caller then stops the engine's workers.
   * Returns how many jobs were abandoned.
   */
  abandon(message: string): number {
    this.queue.length = 0;
    let n = 0;
    for (const j of this.jobs.values()) {
      if (j.status !== 'queued' && j.status !== 'executing') continue;
      j.status = 'errored';
      j.error = { code: 'SHUTTING_DOWN', message };
      j.listeners.clear();
      (j as Pending).resolve(undefined);
      n++;
    }
    return n;
  }

  /** A new store version: new specs run on `engine`; jobs of the old version are forgotten once finished. */
  setEngine(engine: Engine): void {
    this.engine = engine;
    for (const [id, j] of this.jobs) if (j.status === 'completed' || j.status === 'errored') this.jobs.delete(id);
  }

  private pump(): void {
    while (this.executing < this.opts.maxConcurrent && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.executing++;
      job.status = 'executing';
      void this.execute(job);
    }
  }

  private async execute(job: Pending): Promise<void> {
    const engine = this.engine;
    try {
      const result = await engine.run(job.json, {
        // Estimates only while someone listens: a REST /run needs none (issue #14: a partner query's
        // sixteen unwanted estimates held the event loop for tens of seconds).
        partialWanted: () => job.listeners.size > 0,
        onProgress: (fraction) => (job.fraction = fraction),
        protection: job.run,
        onPartial: (partial) => {
          for (const l of job.listeners) l(partial);
        },
        onTasks: (tasks) => {
          job.tasks = tasks;
        },
      });
      if (job.status === 'errored') return; // abandoned at shutdown meanwhile
      job.result = result;
      job.fraction = 1;
      job.status = 'completed';
      job.resolve(result);
      const kept = this.opts.results?.put(job.id, Jobs.stampOf(engine), job.json, result);
      if (kept) {
        this.writes.add(kept);
        void kept.finally(() => this.writes.delete(kept));
      }
    } catch (e) {
      if (job.status === 'errored') return; // abandoned at shutdown: its workers were stopped
      job.status = 'errored';
      job.error =
        e instanceof OpaliteError
          ? { code: e.code, message: e.message }
          : { code: 'INTERNAL', message: 'the query failed inside the engine; the server log has the details' };
      job.resolve(undefined);
      if (!(e instanceof OpaliteError)) this.onInternalError?.(e);
    } finally {
      job.listeners.clear();
      this.executing--;
      this.evict();
      setImmediate(() => this.pump());
    }
  }

  /** Called with an unexpected (non-Opalite) error, for the server log. */
  onInternalError?: (e: unknown) => void;

  /** Forgets the least recently used finished jobs beyond maxJobs. */
  private evict(): void {
    if (this.jobs.size <= this.opts.maxJobs) return;
    for (const [id, j] of this.jobs) {
      if (this.jobs.size <= this.opts.maxJobs) break;
      if (j.status === 'completed' || j.status === 'errored') this.jobs.delete(id);
    }
  }
}
