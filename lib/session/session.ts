/**
 * The signed-in session's shapes: what is sealed (into the cookie, or a store record), and the
 * session as a request sees it. Types only, and {@link isReference}.
 *
 * @packageDocumentation
 */
import type { DPoPKey } from '../provider/dpop-key.js';
import type { UserClaims, UserInfoClaims } from '../provider/provider.js';

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
  /** Claims the app's `afterCallback` added (`req.user`'s, over the ID token's). */
  appClaims?: Record<string, unknown>;
}

/** The claims that describe how and in which provider session the user logged in. */
export interface LoginClaims {
  sid?: string;
  auth_time?: number;
  acr?: string;
  amr?: string[];
  /** When the provider's session ends, in seconds since the epoch (IPSIE SL1 `session_expiry`): it caps this session. */
  session_expiry?: number;
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

/**
 * A session cookie of `sessionStorage: 'store'`, opened but not yet looked up in the
 * store (see `SessionStorage.load()`).
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
  /**
   * The ID token's claims, over the UserInfo claims when they were fetched (a provider adapter's
   * claims without an ID token): `req.oidc.claims`. `req.user` is built from them (see `userOf()`).
   */
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
  /**
   * When the store record expires (its seal's `exp`, as the instance that last wrote it set it),
   * in seconds since the epoch: with `sessionStorage: 'store'`, for a session read from its record.
   */
  recordExpiresAt?: number;
}

/** `true` when `value` is a {@link SessionReference} still to be looked up. */
export function isReference(value: AuthSession | SessionReference): value is SessionReference {
  return !('tokens' in value);
}
