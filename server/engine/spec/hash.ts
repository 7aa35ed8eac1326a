/**
 * Canonical JSON and the content hash. A parsed spec is already normalised
 * (defaults filled, enum spellings and dates in one form, order-free lists
 * sorted); canonical JSON adds sorted keys and no whitespace, so two specs
 * that mean the same thing give the same bytes, hence the same query id.
 */
import { createHash } from 'node:crypto';
import type { SpecNode } from './kinds.js';

/** JSON with object keys sorted at every depth; undefined members are left out, as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Bump when the normal form changes, so that old cached results are not served for new meanings. */
const HASH_VERSION = 'opalite-spec-1';

/**
 * The query id: sha256 (hex) of the normalised spec and the store's data
 * version, so the same spec over the same data is the same cached result.
 */
export function specHash(spec: SpecNode, storeVersion: string | number): string {
  return createHash('sha256').update(`${HASH_VERSION}\n${storeVersion}\n${canonicalJson(spec)}`).digest('hex');
}
