/**
 * The user's claims as `req.user` holds them, read back from what is sealed: the ID token's, its
 * login's kept across refreshes, UserInfo's profile claims beneath them.
 *
 * @packageDocumentation
 */
import { decodeJwt } from 'jose';
import type { User, UserClaims, UserInfoClaims } from '../provider/provider.js';
import type { LoginClaims, SealedTokens } from './session.js';

/** The {@link LoginClaims} of `claims` (only those present with the right type). */
export function loginClaimsOf(claims: Readonly<Record<string, unknown>>): LoginClaims {
  const { sid, auth_time: authTime, acr, amr, session_expiry: sessionExpiry } = claims;
  return {
    ...(typeof sessionExpiry === 'number' && Number.isFinite(sessionExpiry) && { session_expiry: sessionExpiry }),
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
const ID_TOKEN_ONLY = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'azp', 'at_hash', 'c_hash', 's_hash', 'auth_time', 'acr', 'amr', 'sid', 'session_expiry']);

/** Freezes JSON data at every depth: the session's claims are shared by every request that reads the session. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

/**
 * The session's claims (`req.oidc.claims`): the ID token's, over UserInfo's (the ID token's are
 * signed; UserInfo's authentication claims are ignored), with the login's {@link LoginClaims}
 * over a refreshed ID token's; no `__proto__` member; frozen.
 */
export function userClaims(idTokenClaims: UserClaims, userinfo: UserInfoClaims | undefined, loginClaims?: LoginClaims): UserClaims {
  const profile = userinfo === undefined ? undefined : Object.fromEntries(Object.entries(userinfo).filter(([name]) => !ID_TOKEN_ONLY.has(name)));
  return deepFreeze(withoutProto({ ...profile, ...idTokenClaims, ...loginClaims }));
}

/**
 * Claims that describe the ID token and the provider's session rather than the user (OpenID
 * Connect Core 1.0 §2, §3.3.2.11; Front-/Back-Channel Logout `sid`; IPSIE `session_expiry`):
 * left out of `req.user` by default (option `identityClaimFilter`), kept in `req.oidc.claims`.
 */
export const PROTOCOL_CLAIMS: readonly string[] = Object.freeze(['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'azp', 'at_hash', 'c_hash', 's_hash', 'auth_time', 'sid', 'session_expiry']);

/** A deep copy of JSON data (claims come from `JSON.parse`). */
function copyJson<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copyJson) as T;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = copyJson((value as Record<string, unknown>)[key]);
  return copy as T;
}

/**
 * `req.user` of one session, worked out once: its members (the claims without the filtered ones,
 * the app's claims over them) frozen, and the names of those whose value is an object or array,
 * which each request copies again.
 */
interface UserTemplate {
  readonly appClaims: Readonly<Record<string, unknown>> | undefined;
  readonly filter: ReadonlySet<string>;
  readonly members: Readonly<Record<string, unknown>>;
  readonly nested: readonly string[];
}

/** The claims objects that the requests of one session share: those of the cache of opened cookies. */
const sharedClaims = new WeakSet<UserClaims>();

/**
 * Marks `claims` (frozen) as shared by the requests of one session (session-cache.ts): their
 * `req.user`'s members are then worked out once, not on each request.
 */
export function shareClaims(claims: UserClaims): void {
  sharedClaims.add(claims);
}

/** Each shared session's {@link UserTemplate}, by its claims object. */
const templates = new WeakMap<UserClaims, UserTemplate>();

function templateOf(claims: UserClaims, appClaims: Readonly<Record<string, unknown>> | undefined, filter: ReadonlySet<string>): UserTemplate {
  const known = templates.get(claims);
  if (known !== undefined && known.appClaims === appClaims && known.filter === filter) return known;
  const members = userMembers(claims, appClaims, filter, (value) => value);
  const nested = Object.keys(members).filter((name) => members[name] !== null && typeof members[name] === 'object');
  const template: UserTemplate = { appClaims, filter, members: Object.freeze(members), nested };
  templates.set(claims, template);
  return template;
}

/** The members of `req.user`, each value passed through `copy`. */
function userMembers(claims: UserClaims, appClaims: Readonly<Record<string, unknown>> | undefined, filter: ReadonlySet<string>, copy: <T>(value: T) => T): Record<string, unknown> {
  const user: Record<string, unknown> = {};
  for (const name of Object.keys(claims)) {
    if (!filter.has(name)) user[name] = copy(claims[name]);
  }
  if (appClaims !== undefined) {
    for (const name of Object.keys(appClaims)) {
      if (name !== '__proto__') user[name] = copy(appClaims[name]);
    }
  }
  return user;
}

/**
 * `req.user`: the session's claims without those in `filter` (option `identityClaimFilter`),
 * with the claims the app's `afterCallback` added over them. A fresh copy for each request: a
 * handler may change it without changing the session or another request's. (For a session of
 * the cache of opened cookies, which members it has is worked out once; a request copies them,
 * objects and arrays at every depth. Another session's claims are new on each request: they are
 * copied as they are.)
 */
export function userOf(claims: UserClaims, appClaims: Readonly<Record<string, unknown>> | undefined, filter: ReadonlySet<string>): User {
  if (!sharedClaims.has(claims)) return userMembers(claims, appClaims, filter, copyJson) as User;
  const { members, nested } = templateOf(claims, appClaims, filter);
  // A spread defines each member as an own data property, `__proto__` included (there is none).
  const user: Record<string, unknown> = { ...members };
  for (const name of nested) user[name] = copyJson(members[name]);
  return user as User;
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

