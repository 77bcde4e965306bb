/**
 * The logged-in session: the token set sealed into the session cookie, read back on every
 * request. Nothing about it is kept on the server.
 *
 * @packageDocumentation
 */
import { maxHeaderSize } from 'node:http';
import type { Request, Response } from 'express';
import { decodeJwt } from 'jose';
import { debug, type Context } from './context.js';
import { AuthError } from './errors.js';
import type { IdTokenClaims, UserInfoClaims } from './issuer.js';
import type { ResolvedOptions } from './options.js';

/**
 * Room left in a request's headers for everything but the session cookie, in bytes. Node refuses
 * a request whose headers exceed `http.maxHeaderSize` (16 KiB unless `--max-http-header-size`
 * raises it) with 431, so a larger session cookie would lock its user out.
 */
const HEADER_ROOM = 4096;

/** The largest sealed session the cookie may carry, in bytes (12 KiB by default). */
export const MAX_SEALED_SESSION_BYTES = maxHeaderSize - HEADER_ROOM;

/** What is sealed into the cookie: the tokens. The claims are read back from the ID token. */
export interface SealedTokens {
  /** ID token (compact JWS), validated at login. */
  idToken: string;
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  /** Access token expiry, in seconds since the epoch. */
  expiresAt?: number;
  scope?: string;
  /** UserInfo claims fetched at login (option `fetchUserInfo`), their `sub` checked. */
  userinfo?: UserInfoClaims;
}

/** What the seal holds: the tokens, and when the user logged in. */
interface SealedSession extends SealedTokens {
  /** When the session started (the login), in seconds since the epoch: the absolute lifetime runs from it. */
  createdAt: number;
}

/** A valid session, as read from the request's cookie. Times are in seconds since the epoch. */
export interface AuthSession {
  tokens: SealedTokens;
  /** The ID token's claims, over the UserInfo claims when they were fetched. */
  claims: IdTokenClaims;
  /** When the user logged in. */
  createdAt: number;
  /** When the cookie was last sealed (login, refresh or an activity touch). */
  touchedAt: number;
  /** When the session ends, unless activity extends it: the seal's `exp`. */
  expiresAt: number;
  /** The cookie was sealed with an older secret. */
  staleKey: boolean;
}

/** Copies exactly the sealed fields, so no other property of `source` reaches the cookie. */
export function pickTokens(source: SealedTokens): SealedTokens {
  return {
    idToken: source.idToken,
    accessToken: source.accessToken,
    tokenType: source.tokenType,
    ...(source.refreshToken !== undefined && { refreshToken: source.refreshToken }),
    ...(source.expiresAt !== undefined && { expiresAt: source.expiresAt }),
    ...(source.scope !== undefined && { scope: source.scope }),
    ...(source.userinfo !== undefined && { userinfo: source.userinfo }),
  };
}

/** The user's claims: the ID token's, over UserInfo's (the ID token's are signed). */
function userClaims(idTokenClaims: IdTokenClaims, userinfo: UserInfoClaims | undefined): IdTokenClaims {
  return userinfo === undefined ? idTokenClaims : { ...userinfo, ...idTokenClaims };
}

/**
 * When a session sealed at `now` ends: `sessionDuration` after login, or `sessionIdleDuration`
 * after `now` when that comes first (seconds since the epoch).
 */
export function sessionExpiry(options: ResolvedOptions, createdAt: number, now: number): number {
  const absolute = createdAt + options.sessionDuration;
  return options.sessionIdleDuration === undefined ? absolute : Math.min(absolute, now + options.sessionIdleDuration);
}

/**
 * Reads the request's session cookie. A missing, tampered, truncated, foreign or expired cookie
 * is "no session" (a debug line, never an error).
 */
export function readSession(context: Context, req: Request): AuthSession | undefined {
  const sealed = context.cookie.read(req);
  if (sealed === undefined) return undefined;
  const opened = context.sealer.unseal<SealedSession>(sealed);
  if (opened === undefined) {
    debug('session cookie "%s" ignored: not sealed by a configured secret, tampered or expired', context.cookie.name);
    return undefined;
  }
  const { payload } = opened;
  let claims: IdTokenClaims;
  try {
    claims = decodeJwt(payload.idToken) as IdTokenClaims;
  } catch {
    debug('session cookie ignored: its ID token cannot be decoded');
    return undefined;
  }
  const createdAt = typeof payload.createdAt === 'number' ? payload.createdAt : payload.iat;
  return {
    tokens: pickTokens(payload),
    claims: userClaims(claims, payload.userinfo),
    createdAt,
    touchedAt: payload.iat,
    expiresAt: payload.exp,
    staleKey: opened.staleKey,
  };
}

/**
 * Seals a session into the response's cookie, with the current secret, until
 * {@link sessionExpiry}.
 *
 * @param tokens - what to seal (only the {@link SealedTokens} fields are kept)
 * @param idTokenClaims - the claims of `tokens.idToken`
 * @param createdAt - when the user logged in, in seconds since the epoch
 * @returns the session as later requests will read it
 * @throws AuthError `session_too_large` (500) when the sealed session exceeds
 *   {@link MAX_SEALED_SESSION_BYTES}: the browser would send it back in a request Node refuses
 */
export function writeSession(
  context: Context, req: Request, res: Response, tokens: SealedTokens, idTokenClaims: IdTokenClaims, createdAt: number,
): AuthSession {
  const now = Math.floor(Date.now() / 1000);
  const expiresAt = sessionExpiry(context.options, createdAt, now);
  const sealedTokens = pickTokens(tokens);
  const sealed = context.sealer.seal({ ...sealedTokens, createdAt } satisfies SealedSession, expiresAt);
  if (sealed.length > MAX_SEALED_SESSION_BYTES) {
    throw new AuthError('session_too_large', 500,
      `The sealed session is ${sealed.length} bytes, more than the ${MAX_SEALED_SESSION_BYTES} a request's headers can carry back `
      + `(Node's maximum header size is ${maxHeaderSize} bytes): request fewer scopes or claims, or raise --max-http-header-size`);
  }
  context.cookie.write(req, res, sealed, expiresAt);
  return { tokens: sealedTokens, claims: userClaims(idTokenClaims, sealedTokens.userinfo), createdAt, touchedAt: now, expiresAt, staleKey: false };
}
