/**
 * Vitest global setup: the embedded sample ingested ONCE per test run, with the test pseudonymisation key, into a
 * template store that test/service/helpers.ts sampleStore() copies. About thirty test files open the sample; each
 * ingest of its 94 days costs seconds of CPU, a copy a fraction of one. The template is read-only to the tests
 * (each gets its own copy) and removed at the end of the run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { ingestWithTestKey, SAMPLE } from './service/helpers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The template store of the embedded sample (a folder holding store.json). */
    sampleTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-sample-template-'));
  const store = path.join(root, 'store');
  await ingestWithTestKey(SAMPLE, store);
  project.provide('sampleTemplate', store);
  return () => fs.rmSync(root, { recursive: true, force: true });
}
