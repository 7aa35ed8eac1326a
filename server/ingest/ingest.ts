/**
 * `opalite ingest`: dataset folder -> store. Reads the dimensions, streams every
 * event file through the normaliser into staged day partitions, then commits
 * them in one atomic step. Until that step the store is exactly as it was, so
 * an error, a bad file or Ctrl-C loses nothing already stored.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { IngestError } from '../errors.js';
import { loadRegionLevels, validateHierarchy, type RegionLevel } from '../geo/regions.js';
import { CellTable } from '../store/cells.js';
import { commit, removeOrphans } from '../store/commit.js';
import { DayStaging, type SourceDuplicates } from '../store/day-writer.js';
import { writeFileSynced } from '../store/fsutil.js';
import { paths, PENDING_REPORT } from '../store/layout.js';
import { lockStore } from '../store/lock.js';
import { emptyManifest, manifestExists, readManifest, storedDays, type Manifest } from '../store/manifest.js';
import { Store } from '../store/reader.js';
import { readCells } from './cells.js';
import { inspectDataset } from './dataset.js';
import { plausibleDates, type DateOptions, type PlausibleDates } from './dates.js';
import { selfIntersectingRegions } from './rings.js';
import { TimezoneOffsets } from '../util/datetime.js';
import { EventNormaliser } from './normalise.js';
import { keyFingerprint, loadPseudonymKey, SubscriberDictionary } from './pseudonymise.js';
import { CsvIngest, type CsvIngestOptions } from './csv-ingest.js';
import { eventFormat, openEventSource } from './readers/events.js';
import { IngestReport, type FileStats } from './report.js';
import { keptRowLines } from './duplicate-lines.js';

export interface IngestProgress {
  file: string;
  filesDone: number;
  files: number;
  rows: number;
  /** Bytes of the event files read so far (compressed bytes for .gz), and in all. */
  bytesDone: number;
  bytesTotal: number;
}

export interface IngestOptions {
  dataset: string;
  store: string;
  /** Pseudonymisation key file; default: OPALITE_PSEUDONYM_KEY or the development key. */
  keyFile?: string;
  /** Called after every batch. */
  onProgress?: (p: IngestProgress) => void;
  /** Aborts the ingest between batches; the store stays as it was. */
  signal?: AbortSignal;
  /** CSV parsing: worker threads and range size (tests and benchmarks set them). */
  csv?: CsvIngestOptions;
  /**
   * The delivery's cells.csv replaces the whole stored cell table (versions of
   * cells it does not name are dropped). Default: it is laid over the stored
   * one (CellTable.overlay), so stored days keep their locations.
   */
  replaceCells?: boolean;
  /** The plausible event dates (dates.ts); rows outside them are rejected. */
  dates?: DateOptions;
  /**
   * Drop every event row equal in every stored column to an earlier row of the
   * delivery (the later copy). Default: keep them, as FlowKit keeps what the
   * operator delivers (two SMS in one second to one peer from one cell look
   * alike in the contract's columns), and count them in the summary.
   */
  dropDuplicates?: boolean;
}

/** Fully duplicated event rows: a row equal in every stored column to an earlier row of the delivery. */
export interface DuplicateSummary {
  /** Rows that repeat an earlier one (a row delivered three times counts 2). */
  count: number;
  /** Whether they were dropped (IngestOptions.dropDuplicates) or kept. */
  dropped: boolean;
  /** Per event file with any, in ingest order: how many, and the first few with the line each repeats. */
  files: { file: string; count: number; examples: { line: number; of: { file: string; line: number } }[] }[];
}

export interface IngestSummary {
  version: number;
  days: string[];
  rows: number;
  kept: number;
  rejected: number;
  files: FileStats[];
  topReasons: [string, number][];
  /** Path of the ingest report, null when it has no row (no row rejected, no duplicate named). */
  report: string | null;
  subscribers: number;
  cells: number;
  /**
   * What was accepted but is likely wrong, as [what, count], counted from the
   * dimension tables (no pass over the events): cell ids without any version
   * (their events are stored without a location), cell versions outside every
   * region of a level.
   */
  warnings: [string, number][];
  /** The event dates accepted, inclusive. */
  dates: { earliest: string; latest: string };
  duplicates: DuplicateSummary;
  bytesIn: number;
  seconds: number;
}

export async function ingest(opts: IngestOptions): Promise<IngestSummary> {
  const started = performance.now();
  const dataset = inspectDataset(opts.dataset);
  const key = loadPseudonymKey(opts.keyFile);
  const fingerprint = keyFingerprint(key.key);

  fs.mkdirSync(opts.store, { recursive: true });
  const release = lockStore(opts.store);
  const cleanups: (() => void)[] = [];
  const stagingRoot = path.join(paths.staging(opts.store), `${process.pid}-${crypto.randomBytes(4).toString('hex')}`);
  try {
    const base: Manifest = manifestExists(opts.store)
      ? readManifest(opts.store)
      : emptyManifest(dataset.timezone, fingerprint);
    removeOrphans(opts.store, base);
    if (base.keyFingerprint !== fingerprint) {
      throw new IngestError(
        'KEY_MISMATCH',
        `${opts.store}: the store was pseudonymised with another key (fingerprint ${base.keyFingerprint}, this key ${fingerprint}); ids would not match`,
      );
    }
    if (base.version > 0 && base.timezone !== dataset.timezone) {
      throw new IngestError('TIMEZONE_MISMATCH', `${dataset.dir}: dataset timezone ${dataset.timezone} differs from the store's ${base.timezone}`);
    }
    // No lease: the writer itself removes what it replaces.
    const current = base.version > 0 ? Store.open(opts.store, { lease: false }) : null;
    const dims = current?.dims();
    const cells = dims ? dims.cells : new CellTable();
    const subscribers = new SubscriberDictionary(key.key, current?.subscriberHashes());

    fs.mkdirSync(stagingRoot, { recursive: true });
    fs.mkdirSync(paths.reports(opts.store), { recursive: true });
    const pendingReport = path.join(paths.reports(opts.store), `${PENDING_REPORT}${path.basename(stagingRoot)}.csv`);
    const report = new IngestReport(pendingReport);
    cleanups.push(() => {
      report.close();
      fs.rmSync(pendingReport, { force: true });
    });

    const tz = new TimezoneOffsets(dataset.timezone);
    const dates = plausibleDates(opts.dates ?? {}, storedDays(base));
    const csv = new CsvIngest(key.key, tz, opts.csv, dates);
    const nonUtf8 = new Set<string>();
    // The CSV parse workers start (and compile their kernels) while the boundaries and cells load.
    csv.warmUp(dataset.events.filter((f) => eventFormat(f) === 'csv'));
    cleanups.push(() => void csv.close());

    let levels: RegionLevel[] = dims?.regions ?? [];
    if (dataset.regionsDir) {
      levels = await loadRegionLevels(dataset.dir);
      validateHierarchy(levels);
      for (const level of levels) report.warn(`${level.unit} regions with a ring that crosses itself (${level.file})`, selfIntersectingRegions(level));
    }
    const delivered = await readCells(dataset.cells, cells, report);
    cells.setVersions(opts.replaceCells ? delivered : CellTable.overlay(cells.versions, delivered), levels);

    const staging = new DayStaging(path.join(stagingRoot, 'days'));
    let rows = 0;
    let bytesBefore = 0;
    try {
      for (const [i, file] of dataset.events.entries()) {
        const stats = report.beginFile(file);
        staging.beginSource();
        const progress = (bytesRead: number) =>
          opts.onProgress?.({ file, filesDone: i, files: dataset.events.length, rows: rows + stats.rows, bytesDone: bytesBefore + bytesRead, bytesTotal: dataset.bytes });
        if (eventFormat(file) === 'csv') {
          // CSV, by far the commonest delivery, is parsed from bytes (in parallel when it can be cut).
          await csv.file(file, { subscribers, cells, sink: staging, report, stats, signal: opts.signal, onBytes: progress });
        } else {
          const normaliser = new EventNormaliser({ file, tz, subscribers, cells, sink: staging, report, stats, dates, nonUtf8 });
          const source = openEventSource(file);
          for await (const batch of source) {
            if (opts.signal?.aborted) throw new IngestError('ABORTED', 'ingest interrupted; the store is unchanged');
            normaliser.push(batch);
            progress(source.bytesRead);
          }
        }
        rows += stats.rows;
        bytesBefore += fs.statSync(file).size;
      }
    } catch (e) {
      staging.abort();
      throw e;
    } finally {
      await csv.close();
    }
    const eventFiles = report.files.filter((f) => f.file !== dataset.cells);
    if (eventFiles.every((f) => f.kept === 0)) {
      // Committing would replace the dimension tables and announce a new version for nothing.
      staging.abort();
      const read = eventFiles.reduce((n, f) => n + f.rows, 0);
      const reasons = report.topReasons(3).map(([reason, n]) => `${n} ${reason}`).join('; ');
      throw new IngestError(
        'NOTHING_KEPT',
        `${dataset.dir}: expected at least one good event row, found none of ${read}${reasons ? ` (${reasons})` : ''}; the store is unchanged`,
      );
    }
    const stagedDays = staging.finish({ dropDuplicates: opts.dropDuplicates });
    const duplicates = await describeDuplicates(staging.duplicates, dataset.events, report, { tz, dates, dropped: opts.dropDuplicates ?? false });
    // Dropped copies are not kept rows: every count after this agrees with the stored days.
    if (duplicates.dropped) for (const d of duplicates.files) report.files.find((f) => f.file === d.file)!.kept -= d.count;
    const kept = eventFiles.reduce((n, f) => n + f.kept, 0);

    const dimsDir = path.join(stagingRoot, 'dims');
    fs.mkdirSync(dimsDir);
    const cellsJson = JSON.stringify(cells.toJSON());
    const regionsJson = JSON.stringify(levels);
    writeFileSynced(path.join(dimsDir, 'cells.json'), cellsJson);
    writeFileSynced(path.join(dimsDir, 'regions.json'), regionsJson);
    // The levels' source paths are for messages only: the same boundaries from another folder hash the same.
    const regionsContent = JSON.stringify(levels.map(({ file: _file, ...level }) => level));
    const dimsHash = crypto.createHash('sha256').update(cellsJson).update('\0').update(regionsContent).digest('hex');
    writeFileSynced(path.join(dimsDir, 'subscribers.bin'), subscribers.serialise());

    const reportWritten = report.close();
    const next = commit(opts.store, base, {
      days: stagedDays,
      dims: dimsDir,
      meta: {
        name: dataset.name ?? base.name,
        country: dataset.country ?? base.country,
        timezone: dataset.timezone,
        keyFingerprint: fingerprint,
        subscribers: subscribers.size,
        cells: cells.size,
        dimsHash,
      },
    });
    let reportFile: string | null = null;
    if (reportWritten) {
      reportFile = path.join(paths.reports(opts.store), `ingest-v${next.version}.csv`);
      fs.renameSync(reportWritten, reportFile);
    }
    return {
      version: next.version,
      days: [...stagedDays.keys()],
      rows: eventFiles.reduce((n, f) => n + f.rows, 0),
      kept,
      rejected: eventFiles.reduce((n, f) => n + f.rejected, 0),
      files: report.files,
      topReasons: report.topReasons(),
      report: reportFile,
      subscribers: subscribers.size,
      cells: cells.size,
      warnings: [...report.warnings.entries(), ...cellWarnings(cells, levels)],
      dates: { earliest: dates.earliest, latest: dates.latest },
      duplicates,
      bytesIn: dataset.bytes,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    fs.rmSync(stagingRoot, { recursive: true, force: true });
    fs.rmSync(paths.staging(opts.store), { recursive: true, force: true }); // we hold the lock: nobody else stages
    for (const clean of cleanups) clean();
    release();
  }
}

/**
 * The duplicated rows by file, the first few of each found by line (a second
 * read of their files: duplicate-lines.ts) and written to the report, each
 * with the line it repeats.
 */
async function describeDuplicates(
  bySource: SourceDuplicates[],
  files: readonly string[],
  report: IngestReport,
  o: { tz: TimezoneOffsets; dates: PlausibleDates; dropped: boolean },
): Promise<DuplicateSummary> {
  const wanted = files.map(() => new Set<number>());
  bySource.forEach((d, i) => {
    for (const e of d.examples) {
      wanted[i]!.add(e.row);
      wanted[e.of.source]!.add(e.of.row);
    }
  });
  const lines = await Promise.all(
    files.map((f, i) => {
      const stats = report.files.find((s) => s.file === f)!;
      return keptRowLines(f, [...wanted[i]!], { ...o, rowsRead: stats.rows, rejectedLines: report.rejectedLines(stats) });
    }),
  );
  const out: DuplicateSummary = { count: 0, dropped: o.dropped, files: [] };
  bySource.forEach((d, i) => {
    if (d.count === 0) return;
    out.count += d.count;
    const file = files[i]!;
    const examples = d.examples.map((e) => ({ line: lines[i]!.get(e.row)!, of: { file: files[e.of.source]!, line: lines[e.of.source]!.get(e.of.row)! } }));
    out.files.push({ file, count: d.count, examples });
    const stats = report.files.find((f) => f.file === file)!;
    for (const e of examples) {
      const where = e.of.file === file ? `line ${e.of.line}` : `line ${e.of.line} of ${e.of.file}`;
      report.note(stats, e.line, 'duplicate', `repeats ${where} in every column (${o.dropped ? 'dropped' : 'kept'})`);
    }
  });
  return out;
}

/** Accepted but suspicious, from the cell table alone (see IngestSummary.warnings). */
function cellWarnings(cells: CellTable, levels: readonly RegionLevel[]): [string, number][] {
  const out: [string, number][] = [];
  const versioned = new Uint8Array(cells.size);
  for (const v of cells.versions) versioned[v.cell] = 1;
  const unknown = versioned.reduce((n, x) => n + (x ? 0 : 1), 0);
  if (unknown > 0) out.push(['cell ids named by events but in no cells.csv row (their events have no location)', unknown]);
  for (const level of levels) {
    const outside = (cells.regions[level.unit] ?? []).reduce((n, r) => n + (r < 0 ? 1 : 0), 0);
    if (outside > 0) out.push([`cell versions outside every ${level.unit} region`, outside]);
  }
  return out;
}
