/**
 * What the privacy suites share: one service over the embedded sample, and
 * the three doors a spec comes through (POST /run, POST /series, the stream),
 * each asked the same spec and expected to refuse it the same way.
 */
import { expect } from 'vitest';
import { auth, type Harness, StreamClient } from '../service/helpers.js';

export interface Refusal {
  status: number;
  code: string;
  msg: string;
}

export async function post(h: Harness, token: string, route: 'run' | 'series', body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${h.api}/${route}`, { method: 'POST', headers: { ...auth(token), 'Content-Type': 'application/json' }, body: JSON.stringify(body), redirect: 'manual' });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

/** The spec refused at /run, /series (as specs[0]) and the stream, each with `status` and `code`; returns /run's message. */
export async function refusedEverywhere(h: Harness, token: string, spec: unknown, status: number, code: string): Promise<string> {
  const run = await post(h, token, 'run', spec);
  expect([run.status, run.json.code]).toEqual([status, code]);
  const series = await post(h, token, 'series', { specs: [spec] });
  expect([series.status, series.json.code]).toEqual([status, code]);
  expect(String(series.json.msg)).toMatch(/^specs\[0\]: /);
  const ws = await StreamClient.open(`${h.base.replace('http', 'ws')}/api/0/stream`, auth(token));
  try {
    ws.send({ op: 'subscribe', id: 1, spec });
    const frames = await ws.until((f) => f.some((x) => x.op === 'error' || x.op === 'final' || x.op === 'partial'));
    const answer = frames.find((x) => x.op !== 'auth')!;
    expect([answer.op, answer.code]).toEqual(['error', code]);
  } finally {
    ws.close();
  }
  return String(run.json.msg);
}

/** The spec accepted at /run (202). */
export async function accepted(h: Harness, token: string, spec: unknown): Promise<void> {
  const run = await post(h, token, 'run', spec);
  expect(run.status, JSON.stringify(run.json)).toBe(202);
}
