/**
 * The user's claims as `req.user` holds them, read back from what is sealed: the ID token's, its
 * login's kept across refreshes, UserInfo's profile claims beneath them.
 *
 * @packageDocumentation
 */
import { decodeJwt } from 'jose';
import type { UserClaims, UserInfoClaims } from '../provider/provider.js';
import type { LoginClaims, SealedTokens } from './session.js';

/** The {@link LoginClaims} of `claims` (only those present with the right type). */
export function loginClaimsOf(claims: Readonly<Record<string, unknown>>): LoginClaims {
  const { sid, auth_time: authTime, acr, amr } = claims;
  return {
    ...(typeof sid === 'string' && { sid }),
    ...(typeof authTime === 'number' && { auth_time: authTime }),
    ...(typeof acr === 'string' && { acr }),
    ...(Array.isArray(amr) && amr.every((m) => typeof m === 'string') && { amr: amr as string[] }),
  };
}

/**
 * A copy of JSON data without `__proto__` members at any depth: `JSON.parse` makes such a member
 * an own property, which a later copy by assignment would turn into a prototype (or drop).
 * Dropping it here makes `req.user` the same on every request.
 */
function withoutProto<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(withoutProto) as T;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key !== '__proto__') copy[key] = withoutProto((value as Record<string, unknown>)[key]);
  }
  return copy as T;
}

/**
 * Claims only a signed ID token may give: how and when the user authenticated, and the token's
 * own. UserInfo is not signed (OpenID Connect Core 1.0 §5.3.2), so its values of these are never
 * used: `requireAuth({ acr, maxAge })` and back-channel logout judge the ID token's alone.
 */
const ID_TOKEN_ONLY = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'azp', 'at_hash', 'c_hash', 'auth_time', 'acr', 'amr', 'sid']);

/**
 * The user's claims: the ID token's, over UserInfo's (the ID token's are signed; UserInfo's
 * authentication claims are ignored), with the login's {@link LoginClaims} over a refreshed ID
 * token's; no `__proto__` member.
 */
export function userClaims(idTokenClaims: UserClaims, userinfo: UserInfoClaims | undefined, loginClaims?: LoginClaims): UserClaims {
  const profile = userinfo === undefined ? undefined : Object.fromEntries(Object.entries(userinfo).filter(([name]) => !ID_TOKEN_ONLY.has(name)));
  return withoutProto({ ...profile, ...idTokenClaims, ...loginClaims });
}

/**
 * The claims of the session's own ID token (or, without one, the adapter's sealed claims), read
 * from what is sealed: not `req.user`, which the app may have changed.
 */
export function sealedClaimsOf(tokens: SealedTokens): Readonly<Record<string, unknown>> {
  if (typeof tokens.idToken !== 'string') return tokens.claims ?? {};
  try {
    return decodeJwt(tokens.idToken);
  } catch {
    return {};
  }
}

