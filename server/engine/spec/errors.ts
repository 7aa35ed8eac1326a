/**
 * The query spec's failure table: one factory per kind of problem, each a
 * SpecError with a stable code, the dotted path of the offending field, and a
 * message saying what was expected and what was found. SpecErrors carries all
 * of them at once so that the REST layer can answer 400 with every problem.
 */
import { SpecError } from '../../errors.js';

/** One problem, as plain data for a 400 body. */
export interface SpecIssue {
  readonly code: string;
  readonly path: string;
  readonly message: string;
}

/** Every problem found in one spec; it is itself a SpecError (the first problem's path). */
export class SpecErrors extends SpecError {
  readonly errors: readonly SpecError[];
  constructor(errors: readonly SpecError[]) {
    const first = errors[0] ?? Issues.expected('', 'a query spec', undefined);
    const message =
      errors.length <= 1
        ? first.message
        : `${errors.length} problems in the query spec: ${errors.map((e) => e.message).join('; ')}`;
    super(errors.length <= 1 ? first.code : 'BAD_SPEC', message, first.path);
    this.errors = errors.length === 0 ? [first] : errors;
  }
  get issues(): SpecIssue[] {
    return this.errors.map((e) => ({ code: e.code, path: e.path, message: e.message }));
  }
  override toJSON(): { name: string; code: string; message: string; errors: SpecIssue[] } {
    return { ...super.toJSON(), errors: this.issues };
  }
}

/** A short rendering of a found value: never a whole payload in a message. */
export function show(found: unknown): string {
  if (found === undefined) return 'nothing';
  if (Array.isArray(found)) return found.length === 0 ? 'an empty list' : clip(JSON.stringify(found));
  const json = JSON.stringify(found);
  return json === undefined ? typeof found : clip(json);
}

function clip(s: string, max = 80): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

const at = (path: string) => path || 'spec';
const list = (xs: readonly string[]) => xs.join(', ');

export const Issues = {
  expected: (path: string, expected: string, found: unknown) =>
    new SpecError('BAD_VALUE', `${at(path)}: expected ${expected}, found ${show(found)}`, path),
  missing: (path: string, expected: string) =>
    new SpecError('MISSING_FIELD', `${at(path)}: expected ${expected}, found nothing (the field is required)`, path),
  unknownField: (path: string, owner: string, allowed: readonly string[], hint?: string) =>
    new SpecError(
      'UNKNOWN_FIELD',
      `${at(path)}: expected one of the fields of ${owner} (${list(allowed)}), found an unknown field` +
        (hint ? ` (did you mean '${hint}'?)` : ''),
      path,
    ),
  unknownKind: (path: string, found: unknown, allowed: readonly string[]) =>
    new SpecError(
      'UNKNOWN_KIND',
      `${at(path)}: expected a query_kind of ${list(allowed)}, found ${show(found)}`,
      path,
    ),
  kindNotHere: (path: string, kind: string, allowed: readonly string[]) =>
    new SpecError(
      'KIND_NOT_ALLOWED_HERE',
      `${at(path)}: expected a query_kind of ${list(allowed)}, found '${kind}', which cannot be used here`,
      path,
    ),
  nestedOnly: (path: string, kind: string, hosts: readonly string[]) =>
    new SpecError(
      'NESTED_ONLY',
      `${at(path)}: expected an aggregate query, found '${kind}', a per-subscriber query: ` +
        'results never contain a subscriber, so it can only be nested inside an aggregate' +
        (hosts.length > 0
          ? ` (${list(hosts)})`
          : ', and no aggregate Opalite supports takes it yet ' +
            '(FlowKit nests it in labelled_spatial_aggregate and labelled_flows)'),
      path,
    ),
  unsupportedKind: (path: string, kind: string, why: string) =>
    new SpecError(
      'UNSUPPORTED_KIND',
      `${at(path)}: found FlowKit's '${kind}', which Opalite does not run: ${why}`,
      path,
    ),
  unknownUnit: (path: string, found: unknown, units: readonly string[]) =>
    new SpecError(
      'UNKNOWN_UNIT',
      `${at(path)}: expected an aggregation unit of this store (${list(units)}), found ${show(found)}`,
      path,
    ),
  mixedUnits: (path: string, expected: string, source: string, found: string) =>
    new SpecError(
      'MIXED_UNITS',
      `${at(path)}: expected aggregation_unit '${expected}' like ${source}, found '${found}'`,
      path,
    ),
  /**
   * A subset named by a query id (FlowKit's SubscriberSubset field): FlowKit
   * reads the subscribers from that query's stored per-subscriber result.
   * Opalite stores none, the only ids a caller holds are of aggregates, which
   * name no subscribers (FlowKit fails on those too), and a subset is how
   * two answers get subtracted down to the few people it holds. The id is not
   * echoed: a mistaken value may be a phone number.
   */
  subscriberSubsetId: (path: string) =>
    new SpecError(
      'SUBSCRIBER_SUBSET_ID',
      `${at(path)}: expected null (all subscribers), found the id of another query: a subset by query id reads its ` +
        'subscribers from a stored per-subscriber result, and Opalite keeps none (only redacted aggregates leave the ' +
        "engine, and an aggregate's id names no subscribers); a subset would also let two answers be subtracted down " +
        'to the few people in it (docs/SERVICE.md, "Subscriber subsets")',
      path,
    ),
  /** The ids are never echoed: they may be phone numbers. */
  subscriberList: (path: string, count: number) =>
    new SpecError(
      'SUBSCRIBER_LIST',
      `${at(path)}: expected null (all subscribers), found a list of ${count} subscriber ids: ` +
        'Opalite never takes a list of subscribers, because results over hand-picked people would single them out',
      path,
    ),
  /** A value described in words (`what`), for values that must not be echoed. */
  described: (path: string, expected: string, what: string) =>
    new SpecError('BAD_VALUE', `${at(path)}: expected ${expected}, found ${what}`, path),
  notSupported: (path: string, expected: string, what: string) =>
    new SpecError(
      'NOT_SUPPORTED',
      `${at(path)}: expected ${expected}, found ${what}, which is not supported yet`,
      path,
    ),
  emptyWindow: (path: string, start: string, end: string) =>
    new SpecError(
      'EMPTY_WINDOW',
      `${at(path)}: expected an end after the start (windows are [start, end)), found start ${start} and end ${end}`,
      path,
    ),
  outsideData: (path: string, found: string, first: string, last: string) =>
    new SpecError(
      'OUTSIDE_DATA',
      `${at(path)}: expected dates that overlap the available data (${first} to ${last}), found ${found}`,
      path,
    ),
} as const;
