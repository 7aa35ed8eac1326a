/**
 * What the end-to-end tests run against: the real service on a generated
 * displacement scenario long enough for abnormality scores (which need 90
 * days of history), and Debian's Chromium driven headless by playwright-core.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { generate } from '../../server/generate/index.js';
import { ingest } from '../../server/ingest/ingest.js';
import { type Harness, startHarness, testTiers } from '../service/helpers.js';

/** 190 days from 2016-01-01: the disaster strikes on day 95 (2016-04-05, a Tuesday), after 13 whole ISO weeks. */
export const SCENARIO = { subscribers: 3000, days: 190, start: '2016-01-01', seed: 5 } as const;

export interface Disaster {
  date: string;
  pcod: string;
  share: number;
  displaced: number;
}

/** Generates the scenario, ingests it, and starts the service on it. */
export async function displacementService(): Promise<{ h: Harness; disaster: Disaster }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-e2e-'));
  const dataset = path.join(root, 'dataset');
  const summary = await generate({ out: dataset, ...SCENARIO, scenario: 'displacement', format: 'csv' });
  const saved = process.env.OPALITE_PSEUDONYM_KEY;
  process.env.OPALITE_PSEUDONYM_KEY = '5a'.repeat(32);
  try {
    await ingest({ dataset, store: path.join(root, 'store') });
  } finally {
    if (saved === undefined) delete process.env.OPALITE_PSEUDONYM_KEY;
    else process.env.OPALITE_PSEUDONYM_KEY = saved;
  }
  fs.rmSync(dataset, { recursive: true, force: true });
  const h = await startHarness(root, { tiers: testTiers() });
  return { h, disaster: summary.disaster! };
}

export const CHROMIUM = process.env.OPALITE_CHROMIUM ?? '/usr/bin/chromium';

/** Chromium as CI runs it: headless, no sandbox (root), no network of its own, a fresh profile. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
