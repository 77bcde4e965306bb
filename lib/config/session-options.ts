/**
 * The options of the session: its lifetimes, where its tokens live, refresh, and its cookie.
 *
 * @packageDocumentation
 */
import type { RequestHandler } from 'express';
import type { RedisLockClient, RefreshLock } from '../session/refresh-lock.js';

/** Attributes of the sealed session cookie. `HttpOnly` and `Path=/` are always set. */
export interface CookieConfig {
  /**
   * Cookie name; RFC 6265 §4.1.1 token characters only. Default `'__Host-oidc_session'` on an
   * https `baseURL` without `domain` (a `__Host-` cookie cannot be planted or shadowed from a
   * sibling subdomain, RFC 6265bis §4.1.3.2), else `'oidc_session'`.
   */
  name?: string;
  /** `Domain` attribute. Default: none (host-only cookie, the safest; with it, the default name has no `__Host-` prefix). */
  domain?: string;
  /** `SameSite` attribute. Default `'lax'`; `'none'` needs an `https:` `baseURL`. */
  sameSite?: 'lax' | 'strict' | 'none';
}

/** Options of `authCallback()`: the signed-in session. Every duration is in **seconds**. */
export interface SessionOptions {
  /**
   * Absolute lifetime of a session from login, in seconds: no activity extends it. Default
   * `604800` (7 days).
   */
  sessionDuration?: number;
  /**
   * Idle (rolling) lifetime of a session, in seconds: a session unused this long ends, and each
   * use extends it, never past `sessionDuration`. `false` turns idle expiry off. Default `86400`
   * (1 day).
   */
  sessionIdleDuration?: number | false;
  /**
   * How often activity re-issues the session cookie to extend its idle lifetime, at most once per
   * this many seconds (not on every request). Default `300`, or half of `sessionIdleDuration`
   * when that is shorter; must be shorter than `sessionIdleDuration`.
   */
  sessionTouchInterval?: number;
  /**
   * Where the token set lives. `'cookie'` (default): sealed into the session cookie; nothing is
   * kept on the server, and logout cannot recall a copied cookie before it expires. `'store'`:
   * sealed into a record of the express-session store (any store, e.g. connect-redis), the cookie
   * carrying only a sealed reference; logout deletes the record, so a copied cookie stops working
   * at once, and token sets of any size fit.
   */
  sessionStorage?: 'cookie' | 'store';
  /**
   * The express-session middleware (`session({ ... })`), given here instead of mounted for the
   * whole app, for what this package keeps in its store: server-side sessions
   * (`sessionStorage: 'store'`) and back-channel logout marks. `authCallback()` then runs it only
   * where those are read or written: its own routes, and every request that carries a session.
   * With cookie sessions and no back-channel logout it never runs: nothing is kept on the server
   * (pending logins are sealed cookies too). The app's other requests skip express-session's
   * cookie signature check and store read.
   *
   * Mount express-session with `app.use()` instead when the app's own routes use `req.session`;
   * `authCallback()` then gives it a new id at each login, the app's data kept (no session
   * fixation). When express-session already ran on a request, it is not run again. Its store's
   * failure, or no answer within `storeTimeout`, is a 503 `store_unavailable`; its save at the
   * end of a response (a changed session, or `touch()`) is held to `storeTimeout` too, the
   * connection closed when the store does not answer (the status line went out already).
   * Default: unset.
   *
   * Mounted with `app.use()`, express-session reads and writes its store on its own, before and
   * after this package, with no time limit: a Redis that is down has node-redis and ioredis
   * queue its commands until it is back, and a hung one never answers. Set the client up to
   * fail: node-redis 5 `createClient({ disableOfflineQueue: true })` fails commands at once
   * while disconnected (its `commandOptions.timeout` only covers commands not yet sent, so a hung
   * Redis still hangs requests); ioredis 5 `new Redis({ enableOfflineQueue: false,
   * commandTimeout: 5000, maxRetriesPerRequest: 1 })` (milliseconds) bounds both. express-session
   * then hands the store's error to the app's error handler (not as a `store_unavailable`):
   * answer it with 503.
   */
  session?: RequestHandler;
  /**
   * Time limit of each call this package makes to the express-session store (server-side session
   * records, back-channel logout marks, the app's express-session renewed at login and destroyed
   * at logout), and of express-session's own session load and save when it is given as the
   * `session` option, in seconds: a store that fails or does not answer in time is a 503
   * `store_unavailable`, never a hung request. Refreshed tokens, which the provider may have
   * replaced for good (refresh token rotation), are written again after a store failure until
   * `storeTimeout` has passed. express-session mounted with `app.use()` makes its own store
   * calls, which this does not bound (see the `session` option for the client settings that
   * do). Default `5`.
   */
  storeTimeout?: number;
  /**
   * Refresh the tokens before the request's handler runs when the access token has expired, or
   * expires within `refreshMargin` seconds, and the session holds a refresh token (RFC 6749 §6).
   * Default `true`.
   */
  autoRefresh?: boolean;
  /** Seconds before the access token's expiry at which `autoRefresh` refreshes it. Default `60`. */
  refreshMargin?: number;
  /**
   * With `sessionStorage: 'store'`: how app instances sharing the store agree that one of them
   * refreshes a session's tokens while the others wait for its result (a provider that rotates
   * refresh tokens, RFC 9700 §4.14.2, refuses the second use of one, and may revoke the grant:
   * the user would be signed out). The instance that takes the session's lease (an atomic
   * set-if-absent with an expiry in the shared store) reads the session's record again, refreshes
   * unless another instance just did, writes the record and gives the lease up; the others read
   * the record until it holds the new tokens (`req.oidc.refresh({ tokenEndpointParams })`, which
   * must not be answered with another refresh's tokens, waits for the lease and refreshes itself).
   *
   * The lease lasts `2 × httpTimeout + 2 × storeTimeout + 2` seconds (32 s with the defaults):
   * enough for its holder's record read and write and a token request with one retry, so that
   * it never runs out under a live holder; only a crashed holder's is waited out. A waiting
   * request that finds the lease free without new tokens (the holder's refresh failed, or its
   * lease ran out) takes it and refreshes itself; one that sees no new tokens within the lease
   * time and `storeTimeout` is a 503 `refresh_failed` (the session is kept). A refresh that the
   * provider refuses (`invalid_grant`) deletes the record: the waiting requests end the session
   * too. Every lease call is held to `storeTimeout` (a failure: 503 `store_unavailable`).
   *
   * - unset (default): the Redis client of a connect-redis store, `req.sessionStore.client`
   *   when it is a node-redis (v4, v5) or ioredis client (connect-redis 8 and later; keys under
   *   the store's `prefix`, `sess:oidc:refresh-lock:…`). None with another store: MemoryStore
   *   serves one process, where concurrent requests of a session already share one refresh; for
   *   a shared store whose `client` is something else (another store package, a wrapper), give
   *   its Redis client or a {@link RefreshLock} here. A debug line (`refresh`) says which, once per store.
   * - a node-redis (v4, v5: `SET … { NX, PX }`) or ioredis client (`SET … 'PX', ms, 'NX'`),
   *   released by a Lua script that deletes the lease only for its owner; keys `oidc:refresh-lock:…`.
   *   A node-redis 4 client in `legacyMode` (connect-redis 6 and earlier) is used through its
   *   `client.v4` commands; one without them is a `ConfigurationError` here, and no lease when found
   *   on the store (a debug line)
   * - a {@link RefreshLock} of your own, for another shared store
   * - `false`: no lease, each instance refreshes on its own (concurrent requests of a session
   *   on two instances may then each refresh)
   *
   * Not used with `sessionStorage: 'cookie'` (a `ConfigurationError` when set): there the
   * session lives in each request's cookie, and concurrent requests on two instances may each refresh.
   */
  refreshLock?: RefreshLock | RedisLockClient | false;
  /**
   * Extra parameters sent with every refresh token request (RFC 6749 §6), automatic or by
   * `req.oidc.refresh()`, e.g. `{ resource: 'https://api.example.com' }` (RFC 8707 §2.2). A
   * `req.oidc.refresh({ tokenEndpointParams })` adds its own over these. Values are strings; the
   * parameters the request sets itself (`grant_type`, `refresh_token`, `client_id`,
   * `client_secret`, `client_assertion*`, …) are a `ConfigurationError` at start-up. Default `{}`
   * (none). Only with an OpenID Provider (not with `adapter`).
   */
  refreshParams?: Record<string, string>;
  /** Session cookie attributes. */
  cookie?: CookieConfig;
  /**
   * Claims left out of `req.user` (they stay in `req.oidc.claims`): those that describe the ID
   * token and the provider's session rather than the user (OpenID Connect Core 1.0 §2). `sub`
   * cannot be left out. `[]` keeps every claim in `req.user`.
   *
   * @defaultValue `['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'azp', 'at_hash', 'c_hash', 's_hash', 'auth_time', 'sid', 'session_expiry']`
   */
  identityClaimFilter?: string[];
}
