/**
 * Who is asking: JWT verification. Only asymmetric signatures by the
 * deployment's own keys are accepted (EdDSA with Ed25519, RS256 with RSA);
 * `alg: none` and every HMAC algorithm are refused before any key is tried.
 * A token must carry `sub`, `exp`, the deployment's `aud` and a `tier` that
 * names a configured tier; FlowKit-style `scopes` may narrow it further, and
 * so may FlowAuth's `user_claims` (flowkit-claims.ts), as FlowAPI reads them.
 */
import { decodeProtectedHeader, errors as jose, jwtVerify, type JWTPayload } from 'jose';
import { AuthError, Errors } from '../errors.js';
import type { Tier } from './config.js';
import { type Claims, expandScopes, scopeStrings } from './flowkit-claims.js';
import type { VerifyKey } from './keys.js';

export interface Principal {
  sub: string;
  tierName: string;
  tier: Tier;
  /** FlowKit-style scope strings ('admin3:flows:daily_location'); null = the whole tier. */
  scopes: string[] | null;
  /** Expiry, seconds since 1970. */
  exp: number;
  /** FlowAuth's user_claims, expanded (action, path) grants; absent or null = no narrowing by them. */
  claims?: Claims | null;
}

/** JOSE names per key algorithm: Ed25519 keys sign as EdDSA (or its newer name Ed25519). */
const JOSE_ALGS: Record<VerifyKey['alg'], readonly string[]> = { EdDSA: ['EdDSA', 'Ed25519'], RS256: ['RS256'] };
const ALLOWED = ['EdDSA', 'Ed25519', 'RS256'] as const;
const CLOCK_TOLERANCE_S = 30;

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerOf(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}

/** Verified tokens remembered (the same bytes verify the same way until they expire). */
const CACHE_SIZE = 1024;

export class Verifier {
  private readonly verified = new Map<string, Principal>();

  constructor(
    private readonly keys: readonly VerifyKey[],
    private readonly audience: string,
    private readonly tiers: Readonly<Record<string, Tier>>,
  ) {}

  async verify(token: string | undefined): Promise<Principal> {
    if (!token) throw Errors.tokenMissing();
    const known = this.verified.get(token);
    if (known && known.exp * 1000 > Date.now()) return known;
    this.verified.delete(token);
    const p = await this.check(token);
    if (this.verified.size >= CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, p);
    return p;
  }

  private async check(token: string): Promise<Principal> {
    let alg: string | undefined;
    let kid: string | undefined;
    try {
      ({ alg, kid } = decodeProtectedHeader(token));
    } catch {
      throw Errors.tokenInvalid('text that is not a JWS compact serialisation');
    }
    if (!alg || !(ALLOWED as readonly string[]).includes(alg)) throw Errors.tokenAlgorithm(String(alg), ALLOWED);
    const candidates = this.keys.filter((k) => JOSE_ALGS[k.alg].includes(alg) && (kid === undefined || k.kid === kid));
    if (candidates.length === 0) throw Errors.tokenSignature();
    let payload: JWTPayload | undefined;
    for (const k of candidates) {
      try {
        ({ payload } = await jwtVerify(token, k.key, {
          algorithms: [...JOSE_ALGS[k.alg]],
          audience: this.audience,
          requiredClaims: ['sub', 'exp', 'aud'],
          clockTolerance: CLOCK_TOLERANCE_S,
        }));
        break;
      } catch (e) {
        if (e instanceof jose.JWSSignatureVerificationFailed) continue;
        throw translate(e, this.audience);
      }
    }
    if (!payload) throw Errors.tokenSignature();
    return this.principal(payload);
  }

  private principal(p: JWTPayload): Principal {
    if (typeof p.sub !== 'string' || p.sub.length === 0) throw Errors.tokenClaim('sub', 'a non-empty string', typeof p.sub);
    // jose checks iat's type only. A token "issued" in the future was minted with a wrong clock or to outlive
    // the lifetime its issuer allows (exp - iat looks short): refused beyond the same skew exp is given.
    const ahead = typeof p.iat === 'number' ? p.iat - Date.now() / 1000 : 0;
    if (ahead > CLOCK_TOLERANCE_S) {
      throw Errors.tokenClaim('iat', `a time no later than now (${CLOCK_TOLERANCE_S} s clock skew allowed)`, `one ${Math.round(ahead)} s in the future`);
    }
    const tierName = p.tier;
    if (typeof tierName !== 'string') throw Errors.tokenClaim('tier', 'the name of a tier', typeof tierName);
    const tier = Object.hasOwn(this.tiers, tierName) ? this.tiers[tierName] : undefined;
    if (!tier) {
      throw Errors.tokenClaim('tier', `one of ${Object.keys(this.tiers).join(', ')}`, JSON.stringify(tierName).slice(0, 40));
    }
    const scopes = p.scopes;
    if (scopes !== undefined && !(Array.isArray(scopes) && scopes.every((s) => typeof s === 'string'))) {
      throw Errors.tokenClaim('scopes', 'a list of scope strings', typeof scopes);
    }
    const claims = p.user_claims === undefined ? null : expandScopes(scopeStrings(p.user_claims));
    return { sub: p.sub, tierName, tier, scopes: (scopes as string[] | undefined) ?? null, exp: p.exp!, claims };
  }
}

function translate(e: unknown, audience: string): AuthError {
  if (e instanceof jose.JWTExpired) return Errors.tokenExpired(Number(e.payload.exp));
  if (e instanceof jose.JWTClaimValidationFailed) {
    if (e.claim === 'aud') return Errors.tokenAudience(audience);
    return Errors.tokenClaim(e.claim, e.reason === 'missing' ? 'a value' : 'a valid value', e.reason === 'missing' ? 'none' : 'an invalid one');
  }
  if (e instanceof jose.JOSEAlgNotAllowed) return Errors.tokenAlgorithm('?', ALLOWED);
  if (e instanceof jose.JOSEError) return Errors.tokenInvalid(`a malformed token (${e.code})`);
  return Errors.tokenInvalid('a token that could not be verified');
}

/**
 * Whether the principal's scopes grant `needed` ('admin3:flows:daily_location').
 * Each colon-separated part of a scope matches itself or '*'; no scopes = the whole tier.
 */
export function hasScope(p: Principal, needed: string): boolean {
  if (p.scopes === null) return true;
  const want = needed.split(':');
  return p.scopes.some((s) => {
    const have = s.split(':');
    return have.length === want.length && have.every((part, i) => part === '*' || part === want[i]);
  });
}

/** Throws 403 SCOPE_MISSING unless every needed scope is granted. */
export function requireScopes(p: Principal, needed: readonly string[]): void {
  for (const n of needed) if (!hasScope(p, n)) throw Errors.scopeMissing(n);
}
