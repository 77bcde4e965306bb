/**
 * The pending login transaction: what `/login` must remember for the callback to prove that the
 * authorization response answers a request this browser made (RFC 6749 §10.12, RFC 7636,
 * OpenID Connect Core 1.0 §3.1.2.1). It is kept in the browser, sealed, one cookie per login (see
 * `transaction-cookie.ts`): nothing is kept on the server for a login that is never finished.
 *
 * @packageDocumentation
 */
import type { JsonValue } from '../config/hook-options.js';
import type { DPoPKey } from '../provider/dpop-key.js';

/** Logins pending at once per browser, at most (tabs); the oldest is dropped first. */
export const MAX_PENDING_TRANSACTIONS = 3;

/**
 * Largest pending-login cookie, in bytes (its `name=value`): a longer one (a long `returnTo` or
 * `acr_values`) is refused with 400. Every request carries the pending-login cookies until the
 * callback, so their total ({@link MAX_PENDING_TRANSACTIONS} times this) is kept out of the
 * session cookie's share of the request headers.
 */
export const MAX_TRANSACTION_COOKIE_BYTES = 2048;

/** One pending login, keyed by its `state`. */
export interface Transaction {
  /** The issuer the login started at: the callback exchanges the code there and nowhere else (RFC 9700 §4.4.2). */
  issuer: string;
  /** The `redirect_uri` the authorization request carried: the callback must be at it (RFC 6749 §4.1.3). */
  redirectUri: string;
  /** `nonce` sent in the authorization request; the ID token must carry it (OpenID Connect Core 1.0 §3.1.2.1). */
  nonce: string;
  /** PKCE `code_verifier` (RFC 7636 §4.1); only its S256 `code_challenge` left the server. */
  codeVerifier: string;
  /** Same-origin path to send the browser to after login. */
  returnTo: string;
  /** When the login started, in seconds since the epoch. */
  createdAt: number;
  /** `max_age` sent, in seconds: the ID token's `auth_time` is then required and checked. */
  maxAge?: number;
  /** The `acr` values asked for: the ID token's `acr` must be one of them (any, when empty). */
  acrValues?: readonly string[];
  /** `prompt=none` was sent: `login_required` and its kin mean "not signed in", not an error. */
  silent?: boolean;
  /** The login's DPoP key pair (option `dpop`), whose thumbprint was sent as `dpop_jkt`. */
  dpopKey?: DPoPKey;
  /** What the app's `loginState(req)` returned, for its `afterCallback`. */
  loginState?: JsonValue;
}

/** What the callback finds for its `state`. */
export type TakenTransaction =
  | { kind: 'found'; transaction: Transaction }
  | { kind: 'expired' }
  /**
   * No pending transaction at all: no login started in this browser, or this callback was already
   * used, or the browser did not keep or send the cookie. `cookies` says what the request carried
   * instead: no cookie at all, only other sites' or apps' (`foreign`), or some of this
   * `authCallback()`'s (`own`: the session cookie, its companions), for a message that tells
   * "cookies do not reach this app" from "this login is gone".
   */
  | { kind: 'none'; cookies: 'none' | 'foreign' | 'own' }
  /** Transactions are pending, but none for this `state`: all of them are dropped. */
  | { kind: 'state_mismatch' };
