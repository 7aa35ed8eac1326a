/** The indicator layer on the worker pool (needs `npm run build`): same values as on the calling thread. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../server/engine/engine.js';
import { ingest } from '../../server/ingest/ingest.js';
import { computeIndicator, periods } from '../../server/indicators/compute.js';

const WORKER = path.resolve('dist/server/engine/worker.js');
let root: string;
let inline: Engine;
let pooled: Engine;

describe.skipIf(!fs.existsSync(WORKER))('indicators on the worker pool', () => {
  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'opalite-indicators-pool-'));
    process.env.OPALITE_PSEUDONYM_KEY = '34'.repeat(32);
    await ingest({ dataset: path.resolve('data/sample'), store: path.join(root, 'store') });
    inline = Engine.open(path.join(root, 'store'), { partitions: 4, threads: 0 });
    pooled = Engine.open(path.join(root, 'store'), { partitions: 4, threads: 2 });
  });
  afterAll(async () => {
    await inline?.close();
    await pooled?.close();
    delete process.env.OPALITE_PSEUDONYM_KEY;
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('movements and trips_in agree between threads: 0 and threads: 2', async () => {
    const w = periods(inline, 'week')[1]!;
    const opts = { disclosure: { residentFloor: 100 } };
    for (const id of ['movements.od', 'presence.trips_in', 'residents.departed']) {
      const a = await computeIndicator(inline, id, w, 'admin2', opts);
      const b = await computeIndicator(pooled, id, w, 'admin2', opts);
      expect(b.values ?? b.flows, id).toEqual(a.values ?? a.flows);
    }
  });
});
