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
import { type Harness, ingestWithTestKey, startHarness, testTiers } from '../service/helpers.js';

/** 190 days from 2016-01-01: the disaster strikes on day 95 (2016-04-05, a Tuesday), after 13 whole ISO weeks. */
export const SCENARIO = { subscribers: 3000, days: 190, start: '2016-01-01', seed: 5 } as const;

export interface Disaster {
  date: string;
  pcod: string;
  share: number;
  displaced: number;
}

/**
 * Generates the scenario, ingests it, and starts the service on it. The
 * dataset's folder is kept without its events (root/dataset: dataset.json,
 * cells.csv, regions/), for deliveries of more days.
 */
export async function displacementService(): Promise<{ h: Harness; disaster: Disaster; dataset: string }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-e2e-'));
  const dataset = path.join(root, 'dataset');
  const summary = await generate({ out: dataset, ...SCENARIO, scenario: 'displacement', format: 'csv' });
  await ingestWithTestKey(dataset, path.join(root, 'store'));
  fs.rmSync(path.join(dataset, 'events'), { recursive: true, force: true });
  const h = await startHarness(root, { tiers: testTiers() });
  return { h, disaster: summary.disaster!, dataset };
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
