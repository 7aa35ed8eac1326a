/**
 * COD-AB property names and their older spellings (docs/DATA.md, regions). Boundary
 * files come from many producers (OCHA HDX, national statistics offices,
 * FlowKit's own test data), so names are matched case-insensitively against a
 * short list per role, most specific first.
 */

import { Errors } from '../errors.js';

/** The properties of a region, as read from one feature. */
export interface RegionProperties {
  pcod: string;
  name: string;
  parent?: string;
  population?: number;
}

/** Accepted names, lower-case, for the p-code of level `n`; the first is the canonical one. */
export function pcodeNames(n: number): string[] {
  return [`adm${n}_pcode`, `admin${n}pcode`, `admin${n}pcod`, `adm${n}pcode`, `adm${n}_pcod`, 'pcode', 'pcod'];
}

/** Accepted names, lower-case, for the English name of a level-`n` region. */
export function nameNames(n: number): string[] {
  return [`adm${n}_en`, `admin${n}name_en`, `adm${n}_name`, `admin${n}name`, `adm${n}name`, 'name_en', 'name'];
}

/** Accepted names, lower-case, for the parent p-code of a level-`n` region (n > 0). */
export function parentNames(n: number): string[] {
  const pcodes = pcodeNames(n - 1).filter((k) => k !== 'pcode' && k !== 'pcod');
  return [...pcodes, 'parent_pcode', 'parent_pcod', 'parent'];
}

const POPULATION_NAMES = ['population', 'pop', 'total_pop'];

/** COD-AB canonical spelling, for messages: `ADM2_PCODE`. */
const canonical = (name: string) => name.toUpperCase();

/**
 * Reads the region properties of feature `feature` (0-based) of a level-`n`
 * file. A missing name falls back to the p-code so that every region can be
 * labelled; a missing parent is allowed (validateHierarchy checks the ones given).
 */
export function readProperties(file: string, feature: number, n: number, props: unknown): RegionProperties {
  const fail = (why: string) => Errors.badRegion(file, feature, why);
  if (props !== null && props !== undefined && (typeof props !== 'object' || Array.isArray(props))) {
    throw fail(`expected properties to be an object, found ${Array.isArray(props) ? 'an array' : typeof props}`);
  }
  // Lower-cased key -> value; the first spelling wins if a file has two.
  const byKey = new Map<string, unknown>();
  for (const [k, v] of Object.entries((props ?? {}) as Record<string, unknown>)) {
    const key = k.toLowerCase();
    if (!byKey.has(key)) byKey.set(key, v);
  }
  const keys = Object.keys((props ?? {}) as object);

  const pcodeKeys = pcodeNames(n);
  const pcod = readCode(byKey, pcodeKeys);
  if (pcod === undefined) {
    throw fail(
      `expected a p-code property (${canonical(pcodeKeys[0])} or one of ${pcodeKeys.slice(1).join(', ')}), ` +
        `found properties [${keys.join(', ')}]`,
    );
  }
  const name = readCode(byKey, nameNames(n)) ?? pcod;
  const parent = n > 0 ? readCode(byKey, parentNames(n)) : undefined;
  const population = readPopulation(byKey, fail);
  const out: RegionProperties = { pcod, name };
  if (parent !== undefined) out.parent = parent;
  if (population !== undefined) out.population = population;
  return out;
}

/** First non-empty string (or number, as some files store numeric codes) among `names`. */
function readCode(byKey: Map<string, unknown>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const v = byKey.get(name);
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  }
  return undefined;
}

function readPopulation(byKey: Map<string, unknown>, fail: (why: string) => Error): number | undefined {
  for (const name of POPULATION_NAMES) {
    if (!byKey.has(name)) continue;
    const v = byKey.get(name);
    if (v === null || v === undefined || (typeof v === 'string' && v.trim() === '')) return undefined;
    const x = typeof v === 'number' ? v : typeof v === 'string' ? Number(v.trim()) : NaN;
    if (!Number.isFinite(x) || x < 0) {
      throw fail(`property '${name}': expected a non-negative number, found ${JSON.stringify(v)}`);
    }
    return x;
  }
  return undefined;
}
