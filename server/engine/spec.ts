/**
 * The query spec: FlowKit's JSON query spec, validated against docs/QUERIES.md and
 * FlowKit's own marshmallow schemas, normalised, and hashed. parseSpec either
 * returns a QuerySpec (a discriminated union on query_kind, every default
 * filled) or throws SpecErrors listing every problem with its dotted path.
 *
 * The families live in spec/: common.ts and dates.ts (shared fields),
 * locations.ts, metrics.ts, aggregates.ts, meaningful.ts and labelled.ts (the kinds),
 * kinds.ts (which kind may nest where), walk.ts (questions about a parsed
 * tree) and hash.ts (canonical JSON and the query id).
 */
import { SpecError } from '../errors.js';
import { AGGREGATE_PARSERS } from './spec/aggregates.js';
import { Issues, SpecErrors } from './spec/errors.js';
import {
  AGGREGATE_KINDS,
  FLOWKIT_ONLY_KINDS,
  hostsOf,
  isAggregateKind,
  isKind,
  type Kind,
} from './spec/kinds.js';
import { LABELLED_PARSERS } from './spec/labelled.js';
import { SPEC_LIMITS, tooDeep } from './spec/limits.js';
import { LOCATION_PARSERS } from './spec/locations.js';
import { METRIC_PARSERS } from './spec/metrics.js';
import { type Env, Fields, isRecord, joinPath, type SpecContext } from './spec/read.js';
import type { AnySpec, QuerySpec } from './spec/union.js';

export type * from './spec/aggregates.js';
export type * from './spec/common.js';
export type * from './spec/labelled.js';
export type * from './spec/locations.js';
export type * from './spec/meaningful.js';
export type * from './spec/metrics.js';
export type { AggregateSpec, AnySpec, QuerySpec, SpecOf } from './spec/union.js';
export type { SpecContext } from './spec/read.js';
export type { AggregateKind, Kind, LocationKind, MetricKind } from './spec/kinds.js';
export type { SpecIssue } from './spec/errors.js';
export type { Temporal } from './spec/walk.js';
export { SpecErrors } from './spec/errors.js';
export { canonicalJson, specHash } from './spec/hash.js';
export {
  AGGREGATE_KINDS,
  FLOW_INPUT_KINDS,
  hostsOf,
  isAggregateKind,
  LOCATION_KINDS,
  METRIC_KINDS,
  POSITIONS,
  REFERENCE_LOCATION_KINDS,
} from './spec/kinds.js';
export { DEFAULT_EVENT_TYPES, EVENT_TYPES, STATISTICS } from './spec/common.js';
export { childrenOf, everySpec, finestTemporal, leafWindows, overlappingInputs, TEMPORAL_RESOLUTIONS, unitsOf } from './spec/walk.js';
export { outputUnit } from './spec/unit.js';
export type { LeafWindow, Nested, Overlap } from './spec/walk.js';

const PARSERS: { readonly [K in Kind]: (f: Fields) => AnySpec } = {
  ...AGGREGATE_PARSERS,
  ...LABELLED_PARSERS,
  ...LOCATION_PARSERS,
  ...METRIC_PARSERS,
};

/**
 * Validates and normalises a FlowKit query spec (already JSON-parsed).
 * Throws SpecErrors (a SpecError) carrying every problem found.
 */
export function parseSpec(json: unknown, ctx: SpecContext): QuerySpec {
  const env: Env = {
    ctx,
    errors: [],
    nested: (value, path, allowed) => parseKind(env, value, path, allowed),
  };
  // Before anything walks it recursively (the parsers, the messages quoting a value): 30,000 nested lists overflowed the stack.
  const deep = tooDeep(json, SPEC_LIMITS.depth);
  if (deep !== undefined) throw new SpecErrors([Issues.described(deep, `JSON nested at most ${SPEC_LIMITS.depth} levels deep`, 'deeper nesting')]);
  const spec = env.nested(json, '', AGGREGATE_KINDS);
  if (env.errors.length > SPEC_LIMITS.issues) {
    const more = env.errors.length - SPEC_LIMITS.issues;
    env.errors.length = SPEC_LIMITS.issues;
    env.errors.push(new SpecError('TOO_MANY_PROBLEMS', `spec: expected at most ${SPEC_LIMITS.issues} problems reported, found ${more} more (fix these first)`, ''));
  }
  if (env.errors.length > 0 || spec === undefined) throw new SpecErrors(env.errors);
  return spec as QuerySpec;
}

/** Dispatches on query_kind, refusing kinds that may not stand at this position. */
function parseKind(env: Env, value: unknown, path: string, allowed: readonly Kind[]): AnySpec | undefined {
  const fail = (e: SpecError): undefined => void env.errors.push(e);
  const kindPath = joinPath(path, 'query_kind');
  if (!isRecord(value)) {
    return fail(Issues.expected(path, `a query spec: an object with a query_kind of ${allowed.join(', ')}`, value));
  }
  const kind = value.query_kind;
  if (kind === undefined || kind === null) {
    return fail(Issues.missing(kindPath, `a query_kind of ${allowed.join(', ')}`));
  }
  if (typeof kind !== 'string') return fail(Issues.unknownKind(kindPath, kind, allowed));
  if (!(allowed as readonly string[]).includes(kind)) {
    if (isKind(kind)) {
      const topLevel = path === '';
      return fail(
        topLevel && !isAggregateKind(kind)
          ? Issues.nestedOnly(kindPath, kind, hostsOf(kind))
          : Issues.kindNotHere(kindPath, kind, allowed),
      );
    }
    const why = Object.hasOwn(FLOWKIT_ONLY_KINDS, kind) ? FLOWKIT_ONLY_KINDS[kind] : undefined;
    return fail(why ? Issues.unsupportedKind(kindPath, kind, why) : Issues.unknownKind(kindPath, kind, allowed));
  }
  const f = new Fields(env, path, value, kind);
  const spec = PARSERS[kind as Kind](f);
  f.finish();
  return spec;
}
