/**
 * The logged-in session: the token set sealed into the session cookie, read back on every
 * request. Nothing about it is kept on the server.
 *
 * @packageDocumentation
 */
import type { Request, Response } from 'express';
import { decodeJwt } from 'jose';
import { debug, type Context } from './context.js';
import type { IdTokenClaims, TokenSet } from './issuer.js';

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
}

/** A valid session, as read from the request's cookie. */
export interface AuthSession {
  tokens: SealedTokens;
  /** The ID token's claims. */
  claims: IdTokenClaims;
  /** When the session ends, in seconds since the epoch (the seal's `exp`). */
  expiresAt: number;
  /** The cookie was sealed with an older secret. */
  staleKey: boolean;
}

/** Copies exactly the sealed fields, so no other property of `source` reaches the cookie. */
function pickTokens(source: SealedTokens): SealedTokens {
  return {
    idToken: source.idToken,
    accessToken: source.accessToken,
    tokenType: source.tokenType,
    ...(source.refreshToken !== undefined && { refreshToken: source.refreshToken }),
    ...(source.expiresAt !== undefined && { expiresAt: source.expiresAt }),
    ...(source.scope !== undefined && { scope: source.scope }),
  };
}

/**
 * Reads the request's session cookie. A missing, tampered, truncated, foreign or expired cookie
 * is "no session" (a debug line, never an error).
 */
export function readSession(context: Context, req: Request): AuthSession | undefined {
  const sealed = context.cookie.read(req);
  if (sealed === undefined) return undefined;
  const opened = context.sealer.unseal<SealedTokens>(sealed);
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
  return { tokens: pickTokens(payload), claims, expiresAt: payload.exp, staleKey: opened.staleKey };
}

/**
 * Seals a new session into the response's cookie, valid for `sessionDuration` seconds from now.
 *
 * @returns the session as later requests will read it
 */
export function writeSession(context: Context, req: Request, res: Response, tokenSet: TokenSet): AuthSession {
  const expiresAt = Math.floor(Date.now() / 1000) + context.options.sessionDuration;
  const tokens = pickTokens(tokenSet);
  context.cookie.write(req, res, context.sealer.seal(tokens, expiresAt), expiresAt);
  return { tokens, claims: tokenSet.claims, expiresAt, staleKey: false };
}
