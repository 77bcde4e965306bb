/**
 * The logged-in session, read back on every request. With `sessionStorage: 'cookie'` (the
 * default) the token set is sealed into the session cookie and nothing is kept on the server;
 * with `'store'` the token set is sealed into a record of the express-session store and the
 * cookie carries only a sealed reference to it, so that logout can revoke it.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { maxHeaderSize } from 'node:http';
import type { Request, Response } from 'express';
import { decodeJwt } from 'jose';
import { debug, type Context } from '../runtime.js';
import { isDPoPKey, type DPoPKey } from '../provider/dpop-key.js';
import { idTokenBytes, idTokenOfBytes } from './id-token-bytes.js';
import { AuthError } from '../errors.js';
import type { UserClaims, UserInfoClaims } from '../provider/provider.js';
import type { ResolvedOptions } from '../config/resolved-options.js';
import type { Sealer, Unsealed } from './seal.js';
import { recordKey, storeOf } from './record-store.js';
import { MAX_PENDING_TRANSACTIONS, MAX_TRANSACTION_COOKIE_BYTES } from '../transaction/transaction.js';

/**
 * Room left in a request's headers for everything but the session cookie, in bytes: 4 KiB for
 * the browser's own headers and the app's other cookies, and the pending-login cookies, which
 * every request carries until the callback. Node refuses a request whose headers exceed
 * `http.maxHeaderSize` (16 KiB unless `--max-http-header-size` raises it) with 431, so a larger
 * session cookie would lock its user out.
 */
const HEADER_ROOM = 4096 + MAX_PENDING_TRANSACTIONS * MAX_TRANSACTION_COOKIE_BYTES;

/** The largest sealed session the cookie may carry, in bytes (6 KiB with Node's default 16 KiB headers). */
export const MAX_SEALED_SESSION_BYTES = maxHeaderSize - HEADER_ROOM;

/**
 * What is sealed into the cookie: the tokens. The claims are read back from the ID token; a
 * provider adapter's session, which has none, seals its claims.
 */
export interface SealedTokens {
  /** ID token (compact JWS), validated at login. Absent with a provider adapter. */
  idToken?: string;
  /** The user's claims, sealed only when there is no ID token to read them from (a provider adapter). */
  claims?: UserClaims;
  /** Members of the token response a provider adapter keeps (`req.oidc.extra`). */
  extra?: Record<string, unknown>;
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  /** Access token expiry, in seconds since the epoch. */
  expiresAt?: number;
  scope?: string;
  /** UserInfo claims fetched at login (option `fetchUserInfo`), their `sub` checked. */
  userinfo?: UserInfoClaims;
  /** When the provider's own session ends (from `refresh_expires_in`), in seconds since the epoch: it caps this session. */
  providerSessionExpiresAt?: number;
  /** The DPoP key pair the tokens are bound to (option `dpop`, RFC 9449). */
  dpopKey?: DPoPKey;
  /**
   * The login's `sid`, `auth_time`, `acr` and `amr`, kept once a refresh replaced its ID token:
   * they describe the session's authentication, over the new token's (OpenID Connect Core 1.0 §12.2).
   */
  loginClaims?: LoginClaims;
}

/** The claims that describe how and in which provider session the user logged in. */
export interface LoginClaims {
  sid?: string;
  auth_time?: number;
  acr?: string;
  amr?: string[];
}

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

/** What the cookie's seal holds with `sessionStorage: 'cookie'`: the tokens, and when the user logged in. */
export interface SealedSession extends SealedTokens {
  /** When the session started (the login), in seconds since the epoch: the absolute lifetime runs from it. */
  createdAt: number;
}

/** What the cookie's seal holds with `sessionStorage: 'store'`: the store record's id. */
export interface SealedReference {
  ref: string;
  createdAt: number;
}

/** A store record (`sessionStorage: 'store'`): the tokens, sealed like a cookie would be. */
interface StoredSession {
  sealed: string;
}

/**
 * A session cookie of `sessionStorage: 'store'`, opened but not yet looked up: see
 * {@link loadSession}.
 */
export interface SessionReference {
  ref: string;
  createdAt: number;
  touchedAt: number;
  expiresAt: number;
  staleKey: boolean;
}

/** A valid session, as read from the request's cookie. Times are in seconds since the epoch. */
export interface AuthSession {
  tokens: SealedTokens;
  /** The ID token's claims, over the UserInfo claims when they were fetched (a provider adapter's claims without an ID token). */
  claims: UserClaims;
  /** When the user logged in, in seconds since the epoch with a millisecond fraction (logout marks are compared with it). */
  createdAt: number;
  /** When the cookie was last sealed (login, refresh or an activity touch). */
  touchedAt: number;
  /** When the session ends, unless activity extends it: the seal's `exp`. */
  expiresAt: number;
  /** The cookie was sealed with an older secret. */
  staleKey: boolean;
  /** The store record's id, with `sessionStorage: 'store'`. */
  ref?: string;
}

/** Copies exactly the sealed fields, so no other property of `source` reaches the cookie. */
export function pickTokens(source: SealedTokens): SealedTokens {
  return {
    ...(source.idToken !== undefined ? { idToken: source.idToken } : source.claims !== undefined && { claims: source.claims }),
    accessToken: source.accessToken,
    tokenType: source.tokenType,
    ...(source.refreshToken !== undefined && { refreshToken: source.refreshToken }),
    ...(source.expiresAt !== undefined && { expiresAt: source.expiresAt }),
    ...(source.scope !== undefined && { scope: source.scope }),
    ...(source.userinfo !== undefined && { userinfo: source.userinfo }),
    ...(source.providerSessionExpiresAt !== undefined && { providerSessionExpiresAt: source.providerSessionExpiresAt }),
    ...(isDPoPKey(source.dpopKey) && { dpopKey: source.dpopKey }),
    ...(source.extra !== undefined && { extra: source.extra }),
    ...(source.loginClaims !== null && typeof source.loginClaims === 'object' && { loginClaims: loginClaimsOf(source.loginClaims as Record<string, unknown>) }),
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
function userClaims(idTokenClaims: UserClaims, userinfo: UserInfoClaims | undefined, loginClaims?: LoginClaims): UserClaims {
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

/**
 * When a session sealed at `now` ends: `sessionDuration` after login, `sessionIdleDuration` after
 * `now`, or when the provider said its own session ends, whichever comes first (seconds since
 * the epoch).
 */
export function sessionExpiry(options: ResolvedOptions, createdAt: number, now: number, providerSessionExpiresAt?: number): number {
  let expiry = Math.floor(createdAt) + options.sessionDuration;
  if (options.sessionIdleDuration !== undefined) expiry = Math.min(expiry, now + options.sessionIdleDuration);
  if (providerSessionExpiresAt !== undefined) expiry = Math.min(expiry, Math.floor(providerSessionExpiresAt));
  return expiry;
}

/**
 * Seals a cookie session's payload, its ID token as bytes after the JSON (see
 * {@link idTokenBytes}; as text inside it when the token is not canonical base64url).
 *
 * @param expiresAt - absolute expiry, in seconds since the epoch
 */
export function sealCookiePayload(sealer: Sealer, payload: SealedSession, expiresAt: number): string {
  const { idToken, ...rest } = payload;
  const attachment = idToken === undefined ? undefined : idTokenBytes(idToken);
  return attachment === undefined ? sealer.seal(payload, expiresAt) : sealer.seal(rest, expiresAt, attachment);
}

/**
 * Opens a session cookie's value: a {@link SealedSession} (its ID token given back as text) or a
 * {@link SealedReference}; `undefined` when it does not open, or its attachment is not an ID token.
 */
export function unsealCookiePayload(sealer: Sealer, sealed: string): Unsealed<Partial<SealedSession & SealedReference>> | undefined {
  const opened = sealer.unseal<Partial<SealedSession & SealedReference>>(sealed);
  if (opened?.attachment === undefined) return opened;
  const idToken = idTokenOfBytes(opened.attachment);
  if (idToken === undefined || opened.payload.idToken !== undefined) return undefined;
  return { payload: { ...opened.payload, idToken }, staleKey: opened.staleKey };
}

/** The store record of the session `ref`. */
function sessionKey(ref: string): string {
  return recordKey('session', ref);
}

/**
 * The session `tokens` describe, its claims read back from the ID token (or, without one, the
 * sealed claims); `undefined` when there are none.
 */
function sessionOfTokens(tokens: SealedTokens, times: Omit<AuthSession, 'tokens' | 'claims'>): AuthSession | undefined {
  let claims: UserClaims;
  try {
    claims = typeof tokens.idToken === 'string' ? decodeJwt(tokens.idToken) as UserClaims : tokens.claims!;
  } catch {
    debug('session ignored: its ID token cannot be decoded');
    return undefined;
  }
  if (typeof claims?.sub !== 'string' || typeof claims.iss !== 'string') return undefined;
  const picked = pickTokens(tokens);
  return { tokens: picked, claims: userClaims(claims, picked.userinfo, picked.loginClaims), ...times };
}

/**
 * Reads the request's session cookie. A missing, tampered, truncated, foreign or expired cookie
 * is "no session" (a debug line, never an error). With `sessionStorage: 'store'` the result is a
 * {@link SessionReference}, to be looked up with {@link loadSession}.
 */
export function readSession(context: Context, req: Request): AuthSession | SessionReference | undefined {
  const sealed = context.cookie.read(req);
  if (sealed === undefined) return undefined;
  const cached = context.sessionCache.get(sealed, Date.now() / 1000);
  if (cached !== undefined) return cached;
  const session = openSession(context, sealed);
  if (session !== undefined) context.sessionCache.set(sealed, session);
  return session;
}

/** Opens a session cookie's sealed value (see {@link readSession}). */
function openSession(context: Context, sealed: string): AuthSession | SessionReference | undefined {
  const opened = unsealCookiePayload(context.sealer, sealed);
  if (opened === undefined) {
    debug('session cookie "%s" ignored: not sealed by a configured secret, tampered or expired', context.cookie.name);
    return undefined;
  }
  const { payload, staleKey } = opened;
  const createdAt = typeof payload.createdAt === 'number' ? payload.createdAt : payload.iat;
  const times = { createdAt, touchedAt: payload.iat, expiresAt: payload.exp, staleKey };
  if (context.options.sessionStorage === 'store') {
    if (typeof payload.ref !== 'string') return undefined; // a cookie of the other storage mode
    return { ref: payload.ref, ...times };
  }
  if (typeof payload.idToken !== 'string' && (payload.claims === null || typeof payload.claims !== 'object')) return undefined;
  return sessionOfTokens(payload as SealedSession, times);
}

/** `true` when `value` is a {@link SessionReference} still to be looked up. */
export function isReference(value: AuthSession | SessionReference): value is SessionReference {
  return !('tokens' in value);
}

/**
 * Looks up the store record of a {@link SessionReference}: `undefined` when it is gone (logged
 * out, revoked, expired).
 *
 * @throws AuthError `store_unavailable` (503) when the store fails
 */
export async function loadSession(context: Context, req: Request, reference: SessionReference): Promise<AuthSession | undefined> {
  const record = await storeOf(req, context.options.storeTimeout).get<StoredSession>(sessionKey(reference.ref));
  const opened = typeof record?.sealed === 'string' ? context.sealer.unseal<SealedTokens>(record.sealed) : undefined;
  if (opened === undefined) {
    debug('session "%s" not in the store: logged out, revoked or expired', reference.ref.slice(0, 6));
    return undefined;
  }
  const { ref, ...times } = reference;
  const session = sessionOfTokens(opened.payload, times);
  return session && { ...session, ref };
}

/**
 * Seals a session until {@link sessionExpiry}, with the current secret: into the response's
 * cookie, or (with `sessionStorage: 'store'`) into its store record, the cookie carrying the
 * record's id.
 *
 * @param tokens - what to seal (only the {@link SealedTokens} fields are kept)
 * @param claims - the claims of `tokens.idToken` (or the adapter's claims, sealed when there is no ID token)
 * @param createdAt - when the user logged in, in seconds since the epoch
 * @param ref - the store record to rewrite; a new one when omitted
 * @returns the session as later requests will read it
 * @throws AuthError `session_too_large` (500) when the sealed cookie exceeds
 *   {@link MAX_SEALED_SESSION_BYTES}: the browser would send it back in a request Node refuses;
 *   `store_unavailable` (503) when the store fails
 */
export async function writeSession(
  context: Context, req: Request, res: Response, tokens: SealedTokens, claims: UserClaims, createdAt: number, ref?: string,
): Promise<AuthSession> {
  const now = Math.floor(Date.now() / 1000);
  const sealedTokens = pickTokens(tokens.idToken === undefined ? { ...tokens, claims } : tokens);
  const expiresAt = sessionExpiry(context.options, createdAt, now, sealedTokens.providerSessionExpiresAt);
  let sealed: string;
  let storedRef: string | undefined;
  if (context.options.sessionStorage === 'store') {
    storedRef = ref ?? randomBytes(32).toString('base64url');
    const record: StoredSession = { sealed: context.sealer.seal(sealedTokens, expiresAt) };
    await storeOf(req, context.options.storeTimeout).set(sessionKey(storedRef), record, expiresAt);
    sealed = context.sealer.seal({ ref: storedRef, createdAt } satisfies SealedReference, expiresAt);
  } else {
    sealed = sealCookiePayload(context.sealer, { ...sealedTokens, createdAt }, expiresAt);
    if (sealed.length > MAX_SEALED_SESSION_BYTES) {
      throw new AuthError('session_too_large', 500,
        `The sealed session is ${sealed.length} bytes, more than the ${MAX_SEALED_SESSION_BYTES} a request's headers can carry back `
        + `(Node's maximum header size is ${maxHeaderSize} bytes): request fewer scopes or claims, set sessionStorage: 'store', or raise --max-http-header-size`);
    }
  }
  context.cookie.write(req, res, sealed, expiresAt);
  return {
    tokens: sealedTokens,
    claims: userClaims(claims, sealedTokens.userinfo, sealedTokens.loginClaims),
    createdAt,
    touchedAt: now,
    expiresAt,
    staleKey: false,
    ...(storedRef !== undefined && { ref: storedRef }),
  };
}

/**
 * Ends a session: clears the cookie (every chunk) and, with `sessionStorage: 'store'`, deletes
 * its store record, so that a copy of the cookie no longer works anywhere.
 *
 * @param session - the request's session or reference, when it had one
 * @throws AuthError `store_unavailable` (503) when the store fails to delete the record
 */
export async function endSession(context: Context, req: Request, res: Response, session: { ref?: string } | undefined): Promise<void> {
  // The record first: when the store fails, the browser keeps its cookie and can try again.
  await deleteSessionRecord(context, req, session);
  context.cookie.clear(req, res);
}

/**
 * Deletes the store record of `session` (`sessionStorage: 'store'`); nothing for a cookie session.
 *
 * @throws AuthError `store_unavailable` (503)
 */
export async function deleteSessionRecord(context: Context, req: Request, session: { ref?: string } | undefined): Promise<void> {
  if (session?.ref !== undefined) await storeOf(req, context.options.storeTimeout).destroy(sessionKey(session.ref));
}
