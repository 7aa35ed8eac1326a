/**
 * FlowAuth's permissions, as FlowAPI reads them (flowapi/user_model.py,
 * permissions.py; flowkit_jwt_generator/jwt.py): a token's `user_claims` holds
 * scope strings `<actions>&<query path>` ("get_result,run&spatial_aggregate.
 * locations.daily_location.aggregation_unit.admin3"; commas list alternatives,
 * expanded as a product), either as a list, as FlowAuth's roles {role: [scopes]},
 * or compressed: base64 of gzipped JSON (compress_claims; FlowAPI calls
 * decompress_claims). A request is allowed only if, for each action it needs
 * (run; run and get_result to poll; get_result to fetch), every path
 * query_to_scope_list yields for its spec is granted with that action.
 *
 * Claims only ever narrow: they are checked in addition to the token's tier.
 */
import { gunzipSync } from 'node:zlib';
import { Errors } from '../errors.js';

/** The most bytes a compressed claim may inflate to: a token is small, and a gzip bomb must not be. */
const MAX_CLAIMS_BYTES = 1 << 20;

export type Action = 'run' | 'get_result';

/** Expanded claims: each granted (action, path) pair, as `action\u0000path`. */
export type Claims = ReadonlySet<string>;

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** decompress_claims: base64 (with or without line breaks) of gzipped JSON. */
function decompress(raw: string): unknown {
  const bytes = Buffer.from(raw.replace(/\s+/g, ''), 'base64');
  let text: string;
  try {
    text = gunzipSync(bytes, { maxOutputLength: MAX_CLAIMS_BYTES }).toString('utf8');
  } catch {
    throw Errors.tokenClaim('user_claims', 'scope strings, or base64 of gzipped JSON scope strings', 'a string that does not decompress');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw Errors.tokenClaim('user_claims', 'compressed JSON', 'compressed text that is not JSON');
  }
}

/** The scope strings of a `user_claims` value, in any of the forms FlowAuth and FlowKit's generator write. */
export function scopeStrings(raw: unknown): string[] {
  const value = typeof raw === 'string' ? decompress(raw) : raw;
  if (isStrings(value)) return value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    // Roles: {role_name: [scope, ...]} (a role's list may itself be compressed).
    return Object.values(value).flatMap((v) => {
      const list = typeof v === 'string' ? decompress(v) : v;
      if (!isStrings(list)) throw Errors.tokenClaim('user_claims', 'roles {name: [scope strings]}', 'a role that is not a list of strings');
      return list;
    });
  }
  throw Errors.tokenClaim('user_claims', 'a list of scope strings, roles {name: [scope strings]}, or their compressed form', typeof value);
}

/**
 * expand_scopes: each `&`-part of a scope split at commas, then every combination.
 * A combination of one action and one path is a grant; any other shape grants nothing here.
 */
export function expandScopes(scopes: readonly string[]): Claims {
  const out = new Set<string>();
  for (const scope of scopes) {
    const parts = scope.trim().split('&').map((p) => p.split(','));
    let combos: string[][] = [[]];
    for (const alternatives of parts) combos = combos.flatMap((c) => alternatives.map((a) => [...c, a]));
    for (const combo of combos) {
      const set = new Set(combo);
      const actions = [...set].filter((x) => x === 'run' || x === 'get_result');
      const paths = [...set].filter((x) => x !== 'run' && x !== 'get_result');
      if (actions.length === 1 && paths.length === 1) out.add(`${actions[0]}\u0000${paths[0]}`);
    }
  }
  return out;
}

/**
 * query_to_scope_list: the dotted paths to each aggregation_unit in the spec
 * (kinds and field names along the way, keys in sorted order), or to a query with
 * no unit below it.
 */
export function queryScopeList(tree: unknown, paths: readonly string[] = []): string[] {
  if (Array.isArray(tree)) return tree.flatMap((v) => queryScopeList(v, paths));
  if (tree === null || typeof tree !== 'object') return [];
  const obj = tree as Record<string, unknown>;
  const here = typeof obj.query_kind === 'string' ? [...paths, obj.query_kind] : [...paths];
  const out: string[] = [];
  for (const k of Object.keys(obj).sort()) {
    if (k === 'query_kind') continue;
    const v = obj[k];
    if (k === 'aggregation_unit') out.push([...here, k, String(v)].join('.'));
    else if (v !== null && typeof v === 'object') out.push(...queryScopeList(v, [...here, k]));
  }
  if (out.length === 0 && typeof obj.query_kind === 'string') out.push(here.join('.'));
  return out;
}

/** Throws 403 SCOPE_MISSING unless the claims grant every action on every path (no claims: nothing to narrow). */
export function requireClaims(claims: Claims | null, actions: readonly Action[], paths: readonly string[]): void {
  if (claims === null) return;
  for (const action of actions) {
    for (const path of paths) if (!claims.has(`${action}\u0000${path}`)) throw Errors.scopeMissing(`${action}&${path}`);
  }
}
