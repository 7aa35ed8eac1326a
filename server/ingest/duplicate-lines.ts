/**
 * Where a fully duplicated row was. The store numbers an ingest's rows only by
 * their order among the rows each file kept (day-writer.ts): the CSV row
 * kernel hands over no line per row, and carrying one for every row would cost
 * every ingest for the rare one with duplicates. So the few rows the report
 * names are found by reading their file again through the normaliser, which
 * keeps exactly the rows the ingest kept, in the same order.
 */
import { IngestReport } from './report.js';
import type { EventSink } from '../store/schema.js';
import { EventNormaliser } from './normalise.js';
import type { PlausibleDates } from './dates.js';
import type { TimezoneOffsets } from '../util/datetime.js';
import { openEventSource } from './readers/events.js';

const NO_SINK: EventSink = { append() {}, appendColumns() {} };
const NO_IDS = { indexOf: () => 0 };

/**
 * The line of each kept row `rows` (0-based among the rows the file kept) of
 * `file`: the 1-based physical line of a CSV row, the 1-based row number in a
 * Parquet or Arrow file, as the ingest report counts them. Stops reading once
 * the last one is found.
 */
export async function keptRowLines(file: string, rows: readonly number[], o: { tz: TimezoneOffsets; dates: PlausibleDates }): Promise<Map<number, number>> {
  const wanted = new Set(rows);
  const lines = new Map<number, number>();
  if (wanted.size === 0) return lines;
  let kept = 0;
  const report = new IngestReport(null);
  const normaliser = new EventNormaliser({
    file,
    tz: o.tz,
    subscribers: NO_IDS,
    cells: NO_IDS,
    sink: NO_SINK,
    report,
    stats: report.beginFile(file),
    dates: o.dates,
    onKept: (line) => {
      if (wanted.has(kept)) lines.set(kept, line);
      kept++;
    },
  });
  for await (const batch of openEventSource(file)) {
    normaliser.push(batch);
    if (lines.size === wanted.size) break;
  }
  return lines;
}
