/**
 * One typed error class per failure domain, each with a stable `code`, built
 * from one table of factories so that messages stay uniform: what was
 * expected, what was found, and where.
 */

export type ErrorDomain = 'IngestError' | 'SpecError' | 'AuthError' | 'KernelError' | 'StoreError';

export class OpaliteError extends Error {
  readonly code: string;
  constructor(name: ErrorDomain, code: string, message: string) {
    super(message);
    this.name = name;
    this.code = code;
  }
  /** Plain data, to cross a thread or a wire. */
  toJSON(): { name: string; code: string; message: string } {
    return { name: this.name, code: this.code, message: this.message };
  }
}

export class IngestError extends OpaliteError {
  constructor(code: string, message: string) {
    super('IngestError', code, message);
  }
}
export class SpecError extends OpaliteError {
  /** Path of the offending field in the query spec, e.g. `locations.date`. */
  readonly path: string;
  constructor(code: string, message: string, path = '') {
    super('SpecError', code, message);
    this.path = path;
  }
}
export class AuthError extends OpaliteError {
  constructor(code: string, message: string) {
    super('AuthError', code, message);
  }
}
export class KernelError extends OpaliteError {
  constructor(code: string, message: string) {
    super('KernelError', code, message);
  }
}
export class StoreError extends OpaliteError {
  constructor(code: string, message: string) {
    super('StoreError', code, message);
  }
}

const CLASSES = { IngestError, SpecError, AuthError, KernelError, StoreError } as const;

/** Rebuilds the typed error from its plain-data form (after crossing a thread). */
export function reviveError(data: { name?: string; code?: string; message?: string }): Error {
  const Cls = CLASSES[data.name as keyof typeof CLASSES];
  if (Cls) return new Cls(data.code ?? 'UNKNOWN', data.message ?? '');
  const err = new Error(data.message ?? 'unknown error');
  if (data.name) err.name = data.name;
  return err;
}

/** `file:line` or `file` when the line is unknown; never contains row values. */
export function where(file: string, line?: number): string {
  return line === undefined ? file : `${file}:${line}`;
}

export const Errors = {
  fileUnreadable: (file: string, why: string) =>
    new IngestError('FILE_UNREADABLE', `${file}: cannot read: ${why}`),
  missingFile: (file: string, what: string) =>
    new IngestError('MISSING_FILE', `${file}: expected ${what}, but the file does not exist`),
  missingColumn: (file: string, column: string, found: readonly string[]) =>
    new IngestError(
      'MISSING_COLUMN',
      `${file}: expected a column '${column}', found columns [${found.join(', ')}]`,
    ),
  badField: (file: string, line: number, field: string, expected: string) =>
    new IngestError('BAD_FIELD', `${where(file, line)}: field '${field}': expected ${expected}`),
  badGeometry: (file: string, feature: number, why: string) =>
    new IngestError('BAD_GEOMETRY', `${file}: feature ${feature}: ${why}`),
  unsupportedFormat: (file: string) =>
    new IngestError(
      'UNSUPPORTED_FORMAT',
      `${file}: expected an events file ending in .csv, .csv.gz, .parquet or .arrow`,
    ),
  unterminatedQuote: (file: string, line: number) =>
    new IngestError(
      'UNTERMINATED_QUOTE',
      `${where(file, line)}: expected a closing quote for the field opened on this line, found the end of the file`,
    ),
  rowTooLong: (file: string, line: number, maxBytes: number) =>
    new IngestError(
      'ROW_TOO_LONG',
      `${where(file, line)}: expected a row of at most ${maxBytes} bytes, found a longer one (an unclosed quote?)`,
    ),
  unsupportedColumn: (file: string, column: string, found: string) =>
    new IngestError(
      'UNSUPPORTED_COLUMN',
      `${file}: column '${column}': expected strings, numbers, booleans or timestamps, found ${found}`,
    ),
  storeMissing: (dir: string) =>
    new StoreError('STORE_MISSING', `${dir}: expected an Opalite store (store.json), found none`),
  storeCorrupt: (file: string, why: string) =>
    new StoreError('STORE_CORRUPT', `${file}: store file is corrupt: ${why}`),
  spec: (path: string, expected: string, found: unknown) =>
    new SpecError(
      'BAD_SPEC',
      `${path || 'spec'}: expected ${expected}, found ${JSON.stringify(found)}`,
      path,
    ),
  notFeatureCollection: (file: string, found: string) =>
    new IngestError('BAD_GEOJSON', `${file}: expected a GeoJSON FeatureCollection, found ${found}`),
  badRegion: (file: string, feature: number, why: string) =>
    new IngestError('BAD_REGION', `${file}: feature ${feature}: ${why}`),
  duplicatePcode: (file: string, feature: number, pcode: string, firstFeature: number) =>
    new IngestError(
      'DUPLICATE_PCODE',
      `${file}: feature ${feature}: expected a unique p-code, found '${pcode}' again (first at feature ${firstFeature})`,
    ),
  unknownParent: (file: string, feature: number, parent: string, parentFile: string) =>
    new IngestError(
      'UNKNOWN_PARENT',
      `${file}: feature ${feature}: expected the parent p-code '${parent}' to be a region of ${parentFile}, found none`,
    ),
  // Access to the service (server/service): 401 for who, 403 for what, 429 for how often.
  tokenMissing: () =>
    new AuthError('TOKEN_MISSING', 'expected a bearer token (Authorization: Bearer <JWT>), found none'),
  tokenInvalid: (why: string) => new AuthError('TOKEN_INVALID', `token: expected a signed JWT, found ${why}`),
  tokenAlgorithm: (found: string, allowed: readonly string[]) =>
    new AuthError('TOKEN_ALGORITHM', `token: expected a signature by ${allowed.join(' or ')}, found alg ${JSON.stringify(found)}`),
  tokenSignature: () =>
    new AuthError('TOKEN_SIGNATURE', "token: expected a signature by one of this deployment's keys, found none that verifies"),
  tokenExpired: (exp: number) =>
    new AuthError('TOKEN_EXPIRED', `token: expected an unexpired token, found one that expired at ${new Date(exp * 1000).toISOString()}`),
  tokenAudience: (expected: string) =>
    new AuthError('TOKEN_AUDIENCE', `token: expected audience ${JSON.stringify(expected)}, found another`),
  tokenClaim: (claim: string, expected: string, found: string) =>
    new AuthError('TOKEN_CLAIM', `token: claim '${claim}': expected ${expected}, found ${found}`),
  tierBeyond: (code: string, tier: string, why: string) => new AuthError(code, `tier '${tier}': ${why}`),
  scopeMissing: (needed: string) =>
    new AuthError('SCOPE_MISSING', `token: expected a scope granting ${JSON.stringify(needed)}, found none among the token's scopes`),
  rateLimited: (tier: string, perHour: number, retryAfter: number, costly?: { cost: number; left: number }) =>
    new AuthError(
      'RATE_LIMITED',
      costly
        ? `tier '${tier}': expected at most ${perHour} queries an hour, found a request costing ${costly.cost} (one per spec or period) ` +
            `with ${Math.max(0, costly.left)} left this hour` +
            (costly.cost > perHour ? '; it can never fit: split it' : `; retry in ${retryAfter} s`)
        : `tier '${tier}': expected at most ${perHour} queries an hour, found the limit reached; retry in ${retryAfter} s`,
    ),
  badStreamRequest: (message: string) => new SpecError('BAD_REQUEST', message),
  busy: (queued: number, retryAfter: number) =>
    Object.assign(
      new OpaliteError('KernelError', 'BUSY', `service busy: expected fewer than ${queued} queries waiting, found the queue full; retry in ${retryAfter} s`),
      { retryAfter },
    ),
} as const;
