/**
 * `requireAuth({ acr, maxAge })`: step-up authentication per route (RFC 9470; OpenID Connect
 * Core 1.0 §3.1.2.1), compiled once when `requireAuth()` is called.
 *
 * @packageDocumentation
 */
import type { UserClaims } from '../provider/provider.js';

/** An `acr` value that fits `acr_values` (space-separated) and a quoted challenge parameter. */
export const ACR_VALUE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** A route's step-up requirement (RFC 9470), compiled once by `requireAuth()`. */
export interface StepUp {
  /** `true` when the session's login meets it. */
  isMetBy(claims: UserClaims, clockTolerance: number): boolean;
  /** The login route's query asking for it, or `undefined` when `loginParams` cannot carry it. */
  loginQuery(loginParams: readonly string[]): string | undefined;
  /** The `WWW-Authenticate` value of its 401 (RFC 9470 §3). */
  readonly challenge: string;
}

export function stepUpOf(acr: readonly string[] | undefined, maxAge: number | undefined): StepUp {
  const acrValues = acr === undefined ? undefined : Object.freeze([...acr]);
  const query = new URLSearchParams();
  if (acrValues !== undefined) query.set('acr_values', acrValues.join(' '));
  if (maxAge !== undefined) query.set('max_age', String(maxAge));
  const login = query.toString();
  const challenge = 'Bearer error="insufficient_user_authentication", '
    + 'error_description="A stronger or more recent authentication is required"'
    + `${acrValues === undefined ? '' : `, acr_values="${acrValues.join(' ')}"`}${maxAge === undefined ? '' : `, max_age=${maxAge}`}`;
  return Object.freeze({
    isMetBy(claims: UserClaims, clockTolerance: number): boolean {
      if (acrValues !== undefined && !(typeof claims.acr === 'string' && acrValues.includes(claims.acr))) return false;
      const authTime = claims.auth_time;
      return maxAge === undefined || (typeof authTime === 'number' && Date.now() / 1000 - authTime <= maxAge + clockTolerance);
    },
    loginQuery(loginParams: readonly string[]): string | undefined {
      if (acrValues !== undefined && !loginParams.includes('acr_values')) return undefined;
      if (maxAge !== undefined && !loginParams.includes('max_age')) return undefined;
      return login;
    },
    challenge,
  });
}

