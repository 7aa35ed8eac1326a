/**
 * The synthetic CDR generator: a dataset folder (docs/DATA.md) from a seed.
 * Same options, same bytes: all randomness comes from named seeded streams
 * (prng.ts) and nothing depends on the clock or the machine.
 *
 * Events are generated a quarter hour at a time and streamed to the files,
 * so memory is the static world plus one slice, whatever the period.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EventBatch } from './batch.js';
import { Calendar } from './calendar.js';
import { writeCellsCsv, writeDatasetJson, writeRegions } from './dataset.js';
import { GenerateErrors } from './errors.js';
import { EventGenerator, expectedInSlice, SLICES_PER_DAY } from './events.js';
import { resolveOptions, type GenerateOptions, type ResolvedOptions } from './options.js';
import { DayPlan } from './schedule.js';
import { RowText } from './text.js';
import { buildWorld } from './world.js';
import { EVENT_FILE_NAME, eventFileName, openSink, type EventWriter } from './writers/index.js';

export type { GenerateOptions, GenerateProgress } from './options.js';
export type { Format } from './writers/index.js';
export type { Scenario } from './scenario.js';

export interface GenerateSummary {
  out: string;
  /** Event rows written. */
  events: number;
  /** Event files, relative to `out`. */
  files: string[];
  /** Total size of the event files. */
  bytes: number;
  seconds: number;
  subscribers: number;
  days: number;
  format: string;
  /** The struck region under --scenario displacement, else null. */
  disaster: { date: string; pcod: string; share: number; displaced: number } | null;
}

export async function generate(options: GenerateOptions): Promise<GenerateSummary> {
  const o = resolveOptions(options);
  const started = performance.now();
  const calendar = new Calendar(o.start, o.days);
  const disasterDay = o.disasterDate === undefined ? undefined : Math.round((Date.parse(`${o.disasterDate}T00:00:00Z`) - Date.parse(`${o.start}T00:00:00Z`)) / 86_400_000);
  const world = buildWorld(o.seed, o.subscribers, calendar, o.scenario, disasterDay);

  const eventsDir = path.join(o.out, 'events');
  try {
    fs.mkdirSync(eventsDir, { recursive: true });
    // Event files of an earlier run would join this dataset at ingest: remove them (only names this generator uses).
    for (const f of fs.readdirSync(eventsDir)) if (EVENT_FILE_NAME.test(f)) fs.rmSync(path.join(eventsDir, f));
    writeDatasetJson(o.out, world, o);
    writeCellsCsv(o.out, world);
    writeRegions(o.out, world.country);
  } catch (e) {
    throw GenerateErrors.writeFailed(o.out, (e as Error).message);
  }

  const plan = new DayPlan(o.seed, world.subscribers, world.sites, calendar, world.displacement);
  const generator = new EventGenerator(o.seed, world.subscribers, world.network, plan, calendar);
  const text = new RowText(world.network.cellIds, calendar);
  const starts = fileStarts(o, calendar, generator.totalRate);
  const total = o.days * SLICES_PER_DAY;
  const batch = new EventBatch();
  const files: string[] = [];
  let bytes = 0;
  let events = 0;
  let sink: EventWriter | null = null;
  let fileIndex = -1;
  try {
    for (let g = 0; g < total; g++) {
      if (g === starts[fileIndex + 1]) {
        if (sink) bytes += await sink.close();
        const name = eventFileName(o.format, ++fileIndex, o.files);
        files.push(path.join('events', name));
        sink = await openSink(o.format, path.join(eventsDir, name), text);
      }
      generator.slice(Math.floor(g / SLICES_PER_DAY), g % SLICES_PER_DAY, batch);
      await sink!.write(batch);
      events += batch.length;
      options.onProgress?.({ done: g + 1, total, events });
    }
    bytes += await sink!.close();
  } catch (e) {
    // Close what is open so the process can exit, but report the first failure.
    await sink?.close().catch(() => undefined);
    throw e;
  }
  const d = world.displacement?.disaster;
  return {
    out: o.out,
    events,
    files,
    bytes,
    seconds: (performance.now() - started) / 1000,
    subscribers: o.subscribers,
    days: o.days,
    format: o.format,
    disaster: d ? { date: d.date, pcod: d.pcod, share: d.share, displaced: d.displaced } : null,
  };
}

/**
 * First slice of each file: files cover contiguous time ranges of about the
 * same expected number of events (nights are quiet, so equal hours would not
 * give equal files).
 */
function fileStarts(o: ResolvedOptions, calendar: Calendar, totalRate: number): number[] {
  const total = o.days * SLICES_PER_DAY;
  const cumulative = new Float64Array(total + 1);
  for (let g = 0; g < total; g++) {
    const day = Math.floor(g / SLICES_PER_DAY);
    cumulative[g + 1] = cumulative[g]! + expectedInSlice(totalRate, calendar.weekday(day), g % SLICES_PER_DAY);
  }
  const starts = [0];
  for (let k = 1; k < o.files; k++) {
    const target = (cumulative[total]! * k) / o.files;
    let g = starts[k - 1]! + 1;
    while (g < total - (o.files - k) && cumulative[g]! < target) g++;
    starts.push(g);
  }
  return starts;
}
