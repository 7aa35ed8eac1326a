/** Incremental indicators: a new day recomputes only the periods it touches. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../server/engine/engine.js';
import { IndicatorCache } from '../../server/indicators/cache.js';
import { period } from '../../server/indicators/compute.js';
import { ingest } from '../../server/ingest/ingest.js';

const SAMPLE = path.resolve('data/sample');
let root: string;
const store = () => path.join(root, 'store');

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-indicator-cache-'));
  process.env.OPALITE_PSEUDONYM_KEY = '3c'.repeat(32);
  await ingest({ dataset: SAMPLE, store: store() });
}, 120_000);
afterAll(() => {
  delete process.env.OPALITE_PSEUDONYM_KEY;
  fs.rmSync(root, { recursive: true, force: true });
});

/** A delivery of 2016-04-04, the day after the sample's last (in April, stored 1-3 April): the sample's dimensions, 30 calls from one cell. */
function delivery(dir: string): void {
  fs.mkdirSync(path.join(dir, 'events'), { recursive: true });
  fs.cpSync(path.join(SAMPLE, 'regions'), path.join(dir, 'regions'), { recursive: true });
  for (const f of ['cells.csv', 'dataset.json']) fs.copyFileSync(path.join(SAMPLE, f), path.join(dir, f));
  const rows = ['msisdn,datetime,cell_id,event_type,outgoing'];
  for (let i = 0; i < 30; i++) rows.push(`22507${String(i).padStart(8, '0')},2016-04-04 09:00:00,C00001-1,calls,true`);
  fs.writeFileSync(path.join(dir, 'events', 'day.csv'), rows.join('\n') + '\n');
}

describe('IndicatorCache', () => {
  it('serves periods a new day does not touch without computing them again', async () => {
    const cache = new IndicatorCache();
    let engine = Engine.open(store(), { threads: 0 });
    const march = await cache.get(engine, 'residents.count', period(engine, 'month', '2016-03-01'), 'admin2');
    const april = await cache.get(engine, 'residents.count', period(engine, 'month', '2016-04-01'), 'admin2');
    expect(cache.computed).toBe(2);
    expect(await cache.get(engine, 'residents.count', period(engine, 'month', '2016-03-01'), 'admin2')).toBe(march);
    expect(cache.computed).toBe(2);
    await engine.close();

    await ingest({ dataset: (delivery(path.join(root, 'd')), path.join(root, 'd')), store: store() });
    engine = Engine.open(store(), { threads: 0 });
    try {
      expect(engine.version).toBe(2);
      // March reads nothing of 2016-04-04 (February and March): served as it was. April now has one more day: computed again.
      expect(await cache.get(engine, 'residents.count', period(engine, 'month', '2016-03-01'), 'admin2')).toBe(march);
      expect(cache.computed).toBe(2);
      const again = await cache.get(engine, 'residents.count', period(engine, 'month', '2016-04-01'), 'admin2');
      expect(cache.computed).toBe(3);
      expect(again).not.toBe(april);
      expect(again.period.last_day).toBe('2016-04-04');
      expect(april.period.last_day).toBe('2016-04-03');
    } finally {
      await engine.close();
    }
  });
});
