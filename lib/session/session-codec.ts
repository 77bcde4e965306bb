/**
 * How a session is sealed and opened again: exactly the token fields (nothing else reaches a
 * cookie), the ID token as bytes after the JSON, the session's end, and the session read back
 * from its tokens.
 *
 * @packageDocumentation
 */
import { decodeJwt } from 'jose';
import { debugOf } from '../debug.js';
import type { ResolvedOptions } from '../config/resolved-options.js';
import { isDPoPKey } from '../provider/dpop-key.js';
import type { UserClaims } from '../provider/provider.js';
import { idTokenBytes, idTokenOfBytes } from './id-token-bytes.js';
import type { Sealer, Unsealed } from './seal.js';
import { isReference, type AuthSession, type SealedReference, type SealedSession, type SealedTokens, type SessionReference } from './session.js';
import { loginClaimsOf, userClaims } from './user-claims.js';

const debug = debugOf('session');

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
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
    ...(isPlainObject(source.appClaims) && { appClaims: source.appClaims }),
  };
}

/**
 * When the provider's session ends, as far as it said, in seconds since the epoch: its refresh
 * token's lifetime (`refresh_expires_in`) or the ID token's `session_expiry` (IPSIE SL1),
 * whichever comes first; `undefined` when it said neither.
 */
export function providerSessionEnd(tokens: SealedTokens, claims: Readonly<Record<string, unknown>>): number | undefined {
  const sessionExpiry = claims.session_expiry;
  const ends = [tokens.providerSessionExpiresAt, typeof sessionExpiry === 'number' && Number.isFinite(sessionExpiry) ? sessionExpiry : undefined];
  const known = ends.filter((end): end is number => end !== undefined);
  return known.length === 0 ? undefined : Math.min(...known);
}

/**
 * When a session sealed at `now` ends: `sessionDuration` after login, `sessionIdleDuration` after
 * `now`, or when the provider said its own session ends ({@link providerSessionEnd}), whichever
 * comes first (seconds since the epoch).
 */
export function sessionExpiry(options: ResolvedOptions, createdAt: number, now: number, providerSessionExpiresAt?: number): number {
  let expiry = Math.floor(createdAt) + options.sessionDuration;
  if (options.sessionIdleDuration !== undefined) expiry = Math.min(expiry, now + options.sessionIdleDuration);
  if (providerSessionExpiresAt !== undefined) expiry = Math.min(expiry, Math.floor(providerSessionExpiresAt));
  return expiry;
}

/**
 * Why a session that `sessionExpiry()` sealed until `session.expiresAt` ended then: `absolute`
 * when that was `sessionDuration` after its login, `provider` when it was the provider's own
 * session end ({@link providerSessionEnd}; unknown for a store session's reference, whose tokens
 * are in the store), else `idle` (no activity for `sessionIdleDuration`).
 */
export function timeEndReason(options: Pick<ResolvedOptions, 'sessionDuration' | 'sessionIdleDuration'>, session: AuthSession | SessionReference): 'idle' | 'absolute' | 'provider' {
  if (session.expiresAt >= Math.floor(session.createdAt) + options.sessionDuration) return 'absolute';
  const providerEnd = isReference(session) ? undefined : providerSessionEnd(session.tokens, session.claims);
  if (providerEnd !== undefined && session.expiresAt >= Math.floor(providerEnd)) return 'provider';
  return options.sessionIdleDuration === undefined ? 'absolute' : 'idle';
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
 *
 * @param now - the time its `exp` is held to, in seconds since the epoch (default: the clock);
 *   `-Infinity` opens it whatever its age
 */
export function unsealCookiePayload(sealer: Sealer, sealed: string, now?: number): Unsealed<Partial<SealedSession & SealedReference>> | undefined {
  const opened = sealer.unseal<Partial<SealedSession & SealedReference>>(sealed, now);
  if (opened?.attachment === undefined) return opened;
  const idToken = idTokenOfBytes(opened.attachment);
  if (idToken === undefined || opened.payload.idToken !== undefined) return undefined;
  return { payload: { ...opened.payload, idToken }, staleKey: opened.staleKey };
}

/**
 * The session `tokens` describe, its claims read back from the ID token (or, without one, the
 * sealed claims); `undefined` when there are none.
 */
export function sessionOfTokens(tokens: SealedTokens, times: Omit<AuthSession, 'tokens' | 'claims'>): AuthSession | undefined {
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

