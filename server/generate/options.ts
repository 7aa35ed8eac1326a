/** Generator options: defaults, limits and validation (with the flag named in errors). */
import { z } from 'zod';
import { isIsoDate } from './calendar.js';
import { GenerateErrors } from './errors.js';
import { SLICES_PER_DAY } from './events.js';
import { SCENARIOS, type Scenario } from './scenario.js';
import { FORMATS, type Format } from './writers/index.js';

/** Subscriber numbers are 8 digits; memory is ~100 bytes a subscriber. */
export const MAX_SUBSCRIBERS = 20_000_000;
export const MAX_DAYS = 731;

export interface GenerateProgress {
  /** Slices (quarter hours) done and in all. */
  done: number;
  total: number;
  /** Event rows written so far. */
  events: number;
}

export interface GenerateOptions {
  /** Output folder (created if needed). */
  out: string;
  subscribers?: number;
  days?: number;
  /** First day, YYYY-MM-DD. */
  start?: string;
  seed?: string | number;
  scenario?: Scenario;
  format?: Format;
  /** Number of event files to split the period over (contiguous in time). */
  files?: number;
  /** Displacement scenario: the disaster day, YYYY-MM-DD, a day of the period after the first (default: the middle day). */
  disasterDate?: string;
  onProgress?: (p: GenerateProgress) => void;
}

export interface ResolvedOptions {
  out: string;
  subscribers: number;
  days: number;
  start: string;
  seed: string;
  scenario: Scenario;
  format: Format;
  files: number;
  disasterDate?: string;
}

const FLAGS: Record<keyof ResolvedOptions, string> = {
  out: '--out',
  subscribers: '--subscribers',
  days: '--days',
  start: '--start',
  seed: '--seed',
  scenario: '--scenario',
  format: '--format',
  files: '--files',
  disasterDate: '--disaster-date',
};

const Schema = z.object({
  out: z.string().min(1),
  subscribers: z.number().int().min(1).max(MAX_SUBSCRIBERS).default(1000),
  days: z.number().int().min(1).max(MAX_DAYS).default(7),
  start: z.string().refine(isIsoDate).default('2016-01-01'),
  seed: z.union([z.string().min(1), z.number().int()]).transform(String).default('1'),
  scenario: z.enum(SCENARIOS).default('none'),
  format: z.enum(FORMATS).default('csv'),
  files: z.number().int().min(1).default(1),
  disasterDate: z.string().refine(isIsoDate).optional(),
});

const EXPECTED: Record<keyof ResolvedOptions, string> = {
  out: 'a folder path',
  subscribers: `an integer in [1, ${MAX_SUBSCRIBERS}]`,
  days: `an integer in [1, ${MAX_DAYS}]`,
  start: 'a date YYYY-MM-DD',
  seed: 'a non-empty string or an integer',
  scenario: SCENARIOS.join(' or '),
  format: FORMATS.join(', '),
  files: 'an integer >= 1, at most one file per quarter hour of the period',
  disasterDate: 'a date YYYY-MM-DD after the first day of the period and not after its last, with --scenario displacement',
};

/** Applies defaults and checks limits; throws SpecError BAD_OPTION naming the flag. */
export function resolveOptions(options: GenerateOptions): ResolvedOptions {
  const { onProgress: _ignored, ...rest } = options;
  const parsed = Schema.safeParse(rest);
  if (!parsed.success) {
    const key = parsed.error.issues[0]!.path[0] as keyof ResolvedOptions;
    throw GenerateErrors.badOption(FLAGS[key] ?? String(key), EXPECTED[key] ?? 'a valid value', rest[key as keyof typeof rest]);
  }
  const o = parsed.data;
  if (o.files > o.days * SLICES_PER_DAY) throw GenerateErrors.badOption('--files', EXPECTED.files, o.files);
  if (o.disasterDate !== undefined) {
    // A disaster on the first day leaves no day of reference before it; one after the last is not in the data.
    const day = (Date.parse(`${o.disasterDate}T00:00:00Z`) - Date.parse(`${o.start}T00:00:00Z`)) / 86_400_000;
    if (o.scenario !== 'displacement' || day < 1 || day >= o.days) throw GenerateErrors.badOption('--disaster-date', EXPECTED.disasterDate, o.disasterDate);
  }
  return o;
}
