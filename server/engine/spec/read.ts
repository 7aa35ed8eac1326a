/**
 * The toolkit every kind's parser is written with. A reader never throws: it
 * records a SpecError (with the field's dotted path) in the shared Env and
 * returns undefined, so that one pass reports every problem in a spec.
 * parseSpec throws once at the end if anything was recorded, which is why a
 * half-built object (a Draft) can never escape.
 */
import type { SpecError } from '../../errors.js';
import { Issues } from './errors.js';
import { isKind, type Kind, POSITIONS, type SpecNode } from './kinds.js';
import { SPEC_LIMITS } from './limits.js';

export interface SpecContext {
  /** The store's aggregation units, e.g. ['admin1', 'admin2', 'admin3', 'lon-lat', 'cell']. */
  readonly units: readonly string[];
  /** First and last day with data, inclusive (YYYY-MM-DD): every window must overlap them. */
  readonly days?: { readonly first: string; readonly last: string };
}

export interface Env {
  readonly ctx: SpecContext;
  readonly errors: SpecError[];
  /** Parses a nested spec whose query_kind must be one of `allowed`. */
  nested(value: unknown, path: string, allowed: readonly Kind[]): SpecNode | undefined;
}

/** Reads one raw value found at `path`; undefined means a problem was recorded. */
export type Reader<T> = (value: unknown, path: string, env: Env) => T | undefined;

/** A spec under construction: a field that failed to parse is undefined. */
export type Draft<T> = { [K in keyof T]: T[K] | undefined };

/** Seals a draft. Safe because parseSpec throws whenever a field failed. */
export function built<T>(draft: Draft<T>): T {
  return draft as unknown as T;
}

export function joinPath(path: string, key: string | number): string {
  return path === '' ? String(key) : `${path}.${key}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Old or flowclient argument names that users send in place of the field's name. */
const HINTS: Readonly<Record<string, string>> = {
  start: 'start_date',
  stop: 'end_date',
  daily_location_method: 'method',
  count_interval: 'interval',
  method: 'sampling_method',
};

/**
 * The fields of one JSON object (a query spec, or a sub-object such as hours).
 * Every field a parser reads is remembered, so that `finish` can name the
 * allowed fields when it meets one it does not know (marshmallow's
 * unknown=RAISE, FlowKit's behaviour).
 */
export class Fields {
  private readonly taken = new Set<string>();

  constructor(
    readonly env: Env,
    readonly path: string,
    readonly raw: Readonly<Record<string, unknown>>,
    /** The kind, or a label such as 'hours' for a sub-object. */
    readonly owner: string,
  ) {
    if (isKind(owner)) this.taken.add('query_kind');
  }

  at(key: string | number): string {
    return joinPath(this.path, key);
  }

  /** True when the field is present and not null (FlowKit's clients send null for "the default"). */
  has(key: string): boolean {
    this.taken.add(key);
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  fail(error: SpecError): undefined {
    this.env.errors.push(error);
    return undefined;
  }

  /** A required field. */
  req<T>(key: string, expected: string, read: Reader<T>): T | undefined {
    this.taken.add(key);
    const value = this.raw[key];
    if (value === undefined) return this.fail(Issues.missing(this.at(key), expected));
    if (value === null) return this.fail(Issues.expected(this.at(key), expected, null));
    return read(value, this.at(key), this.env);
  }

  /** An optional field: absent or null gives the default. */
  opt<T, D>(key: string, fallback: D, read: Reader<T>): T | D | undefined {
    if (!this.has(key)) return fallback;
    return read(this.raw[key], this.at(key), this.env);
  }

  /** A nested spec; the kinds it may be come from POSITIONS. */
  nested<T extends SpecNode>(key: string): T | undefined {
    const allowed = this.allowed(key);
    const value = this.raw[key];
    this.taken.add(key);
    if (value === undefined || value === null) {
      return this.fail(Issues.missing(this.at(key), `a query spec with a query_kind of ${allowed.join(', ')}`));
    }
    return this.env.nested(value, this.at(key), allowed) as T | undefined;
  }

  /** A non-empty list of nested specs, at most SPEC_LIMITS.nestedSpecs. */
  nestedList<T extends SpecNode>(key: string): T[] | undefined {
    const allowed = this.allowed(key);
    const expected = `a non-empty list of query specs with a query_kind of ${allowed.join(', ')}`;
    const max = SPEC_LIMITS.nestedSpecs;
    const nonEmpty: Reader<unknown[]> = (v, p) => {
      if (Array.isArray(v) && v.length > max) {
        return this.fail(Issues.described(p, `a list of at most ${max} query specs with a query_kind of ${allowed.join(', ')}`, `a list of ${v.length}`));
      }
      return Array.isArray(v) && v.length > 0 ? v : this.fail(Issues.expected(p, expected, v));
    };
    const items = this.req(key, expected, nonEmpty);
    if (items === undefined) return undefined;
    const specs = items.map((item, i) => this.env.nested(item, joinPath(this.at(key), i), allowed));
    return specs.every((s) => s !== undefined) ? (specs as T[]) : undefined;
  }

  /** Reports every field the parser did not read. */
  finish(): void {
    const allowed = [...this.taken].sort();
    for (const key of Object.keys(this.raw)) {
      if (this.taken.has(key)) continue;
      const hint = Object.hasOwn(HINTS, key) ? HINTS[key] : undefined;
      const known = hint !== undefined && this.taken.has(hint) ? hint : undefined;
      this.fail(Issues.unknownField(this.at(key), this.owner, allowed, known));
    }
  }

  private allowed(key: string): readonly Kind[] {
    const allowed = POSITIONS[this.owner as Kind]?.[key];
    if (!allowed) throw new Error(`spec parser bug: ${this.owner}.${key} is not in POSITIONS`);
    return allowed;
  }
}

/** Reads a sub-object (hours, sampling, bins...) with its own Fields. */
export function object<T>(owner: string, expected: string, read: (f: Fields) => T | undefined): Reader<T> {
  return (value, path, env) => {
    if (!isRecord(value)) {
      env.errors.push(Issues.expected(path, expected, value));
      return undefined;
    }
    const f = new Fields(env, path, value, owner);
    const out = read(f);
    f.finish();
    return out;
  };
}

function fail(env: Env, path: string, expected: string, found: unknown): undefined {
  env.errors.push(Issues.expected(path, expected, found));
  return undefined;
}

export const text =
  (expected = 'a non-empty string'): Reader<string> =>
  (value, path, env) =>
    typeof value === 'string' && value.length > 0 ? value : fail(env, path, expected, value);

/** One of `values`, matched case-insensitively and returned in its canonical spelling. */
export function oneOf<T extends string>(values: readonly T[], aliases: Readonly<Record<string, T>> = {}): Reader<T> {
  const byLower = new Map<string, T>(values.map((v) => [v.toLowerCase(), v]));
  for (const [alias, v] of Object.entries(aliases)) byLower.set(alias.toLowerCase(), v);
  const expected = `one of ${values.join(', ')}`;
  return (value, path, env) => {
    const hit = typeof value === 'string' ? byLower.get(value.toLowerCase()) : undefined;
    return hit ?? fail(env, path, expected, value);
  };
}

const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A JSON number, or a numeric string (marshmallow's Float and Integer accept both). */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && NUMERIC.test(value.trim())) return Number(value);
  return undefined;
}

export interface Bounds {
  min?: number;
  max?: number;
  /** Exclusive bounds, for ranges such as a sampling fraction in (0, 1). */
  above?: number;
  below?: number;
}

function describeBounds(b: Bounds): string {
  const parts: string[] = [];
  if (b.min !== undefined) parts.push(`>= ${b.min}`);
  if (b.above !== undefined) parts.push(`> ${b.above}`);
  if (b.max !== undefined) parts.push(`<= ${b.max}`);
  if (b.below !== undefined) parts.push(`< ${b.below}`);
  return parts.length ? ` ${parts.join(' and ')}` : '';
}

function inBounds(n: number, b: Bounds): boolean {
  return (
    (b.min === undefined || n >= b.min) &&
    (b.max === undefined || n <= b.max) &&
    (b.above === undefined || n > b.above) &&
    (b.below === undefined || n < b.below)
  );
}

export function number(bounds: Bounds = {}): Reader<number> {
  const expected = `a number${describeBounds(bounds)}`;
  return (value, path, env) => {
    const n = toNumber(value);
    return n !== undefined && inBounds(n, bounds) ? n : fail(env, path, expected, value);
  };
}

export function integer(bounds: Bounds = {}): Reader<number> {
  const expected = `an integer${describeBounds(bounds)}`;
  return (value, path, env) => {
    const n = toNumber(value);
    return n !== undefined && Number.isInteger(n) && inBounds(n, bounds) ? n : fail(env, path, expected, value);
  };
}

export const boolean: Reader<boolean> = (value, path, env) => {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  return fail(env, path, 'true or false', value);
};

/** A list of items; `length`, or `min` and `max`, constrain its size (every list in a spec has a max or a length). */
export function listOf<T>(item: Reader<T>, what: string, size: { min?: number; max?: number; length?: number } = {}): Reader<T[]> {
  const atLeast = size.min ? `at least ${size.min}` : '';
  const atMost = size.max !== undefined ? `at most ${size.max}` : '';
  const expected =
    size.length !== undefined ? `a list of exactly ${size.length} ${what}` : `a list of ${[atLeast, atMost].filter(Boolean).join(' and ')} ${what}`.replace('of  ', 'of ');
  return (value, path, env) => {
    if (!Array.isArray(value)) return fail(env, path, expected, value);
    if (size.max !== undefined && value.length > size.max) {
      env.errors.push(Issues.described(path, expected, `a list of ${value.length}`));
      return undefined;
    }
    if (size.length !== undefined && value.length !== size.length) return fail(env, path, expected, value);
    if (size.min !== undefined && value.length < size.min) return fail(env, path, expected, value);
    const out = value.map((v, i) => item(v, joinPath(path, i), env));
    return out.every((v) => v !== undefined) ? (out as T[]) : undefined;
  };
}
