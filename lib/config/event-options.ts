/**
 * The `events` option: what an app can count and trace (sign-ins, refreshes, logouts, sessions
 * that end), each event a plain object of identifiers, outcomes and durations. Types only:
 * `lib/events.ts` calls the listeners.
 *
 * @packageDocumentation
 */
import type { Request } from 'express';
import type { AuthError, AuthErrorCode, ProviderErrorCode } from '../errors.js';

/**
 * Who a session event is about: the issuer and the user's identifier there. No other claim of
 * the user (no email, no name) is in any event.
 */
export interface SessionIdentity {
  /** The issuer identifier the session is bound to. */
  issuer: string;
  /** The user's identifier at the issuer (OpenID Connect Core 1.0 §2). */
  sub: string;
  /** The provider's session id (`sid`, OpenID Connect Back-Channel Logout 1.0 §2.4), when the ID token carries one. */
  sid: string | undefined;
}

/** `login`: a user signed in (the callback sealed a new session). */
export interface LoginEvent extends SessionIdentity {
  /** Names the event: `'login'`. */
  type: 'login';
  /**
   * How long the callback took, in milliseconds: from the provider's redirect back to the sealed
   * session (the code exchange, ID token validation, UserInfo, `afterCallback`), not the time
   * the user spent at the provider.
   */
  durationMs: number;
  /** `true` for a `prompt=none` login (`attemptSilentLogin`). */
  silent: boolean;
}

/**
 * `loginFailed`: a login could not start (`stage: 'start'`, the login route or
 * `attemptSilentLogin`), or its callback failed or was refused (`stage: 'callback'`); the request
 * went on with `error` (passed to `next()`), except for a silent login that could not start
 * (the page is served anonymous) and a refusal whose `afterCallback` answered itself.
 *
 * A silent login that the provider answers `login_required` (or its kin) is not a failure: the
 * user is simply not signed in at the provider, and no event is emitted.
 */
export interface LoginFailedEvent {
  /** Names the event: `'loginFailed'`. */
  type: 'loginFailed';
  /**
   * The issuer of the login, when known: the pending login's at the callback, else the one the
   * request was for; `undefined` when none was resolved (e.g. with `tenants`, an unknown issuer).
   */
  issuer: string | undefined;
  /** The {@link AuthError}'s `code`, e.g. `state_mismatch`, `invalid_grant`, `login_refused`, `provider_unreachable`, or the provider's OAuth `error` (`access_denied`). */
  code: AuthErrorCode | ProviderErrorCode;
  /** The error's HTTP status. */
  status: number;
  /** Where it failed: starting the login, or at the callback. */
  stage: 'start' | 'callback';
  /** `true` for a `prompt=none` login (`attemptSilentLogin`), as far as the failure shows it. */
  silent: boolean;
  /** How long the failing request took, in milliseconds. */
  durationMs: number;
  /** The error itself (its message never holds a token, a code or a secret; see {@link AuthError}). */
  error: AuthError;
}

/** What made a refresh happen: the middleware before the app's handler (`autoRefresh`), or the app's `req.oidc.refresh()`. */
export type RefreshTrigger = 'auto' | 'app';

/** `refresh`: a session's tokens were refreshed at the provider (once per token request: concurrent requests of a session share one). */
export interface RefreshEvent extends SessionIdentity {
  /** Names the event: `'refresh'`. */
  type: 'refresh';
  /** How long the token request took, in milliseconds. */
  durationMs: number;
  /** What asked for the refresh: `autoRefresh` (`'auto'`) or `req.oidc.refresh()` (`'app'`). */
  trigger: RefreshTrigger;
}

/**
 * `refreshFailed`: a refresh token request failed (once per token request). `code` is
 * `session_ended` when the provider refused the refresh token or its answer named another user
 * or provider session: the session ends (a `sessionExpired` with reason `refresh-refused`
 * follows); `refresh_failed` when the provider failed (unreachable, timeout, a malformed answer):
 * the session is kept, and a later request tries again.
 */
export interface RefreshFailedEvent extends SessionIdentity {
  /** Names the event: `'refreshFailed'`. */
  type: 'refreshFailed';
  /** `session_ended`: the provider refused, the session ends; `refresh_failed`: the provider failed, the session is kept. */
  code: 'session_ended' | 'refresh_failed';
  /** The error's HTTP status: 401 or 503. */
  status: number;
  /** How long the token request took, in milliseconds. */
  durationMs: number;
  /** What asked for the refresh: `autoRefresh` (`'auto'`) or `req.oidc.refresh()` (`'app'`). */
  trigger: RefreshTrigger;
  /** The error itself; its `cause` has the provider's (redacted) error. */
  error: AuthError;
}

/** `logout`: a signed-in user logged out (`routes.logout` or `req.oidc.logout()`). Not emitted for a logout without a session. */
export interface LogoutEvent extends SessionIdentity {
  /** Names the event: `'logout'`. */
  type: 'logout';
  /**
   * `true` when the browser was sent on to the provider's `end_session_endpoint` (OpenID Connect
   * RP-Initiated Logout 1.0); `false` for a local logout only (`idpLogout` off, or the provider
   * has no such endpoint or could not be reached).
   */
  idpLogout: boolean;
}

/**
 * `backchannelLogout`: the provider's logout token was accepted at `routes.backchannelLogout`
 * and its mark written (OpenID Connect Back-Channel Logout 1.0 §2.7): the sessions it names end
 * at their next request (each then emits `sessionExpired` with reason `backchannel`).
 */
export interface BackchannelLogoutEvent {
  /** Names the event: `'backchannelLogout'`. */
  type: 'backchannelLogout';
  /** The logout token's issuer. */
  issuer: string;
  /** The user it names, when it names one. */
  sub: string | undefined;
  /** The provider session it names, when it names one (a mark by `sid` ends only that session). */
  sid: string | undefined;
}

/**
 * Why a session ended without its user logging out here:
 *
 * - `idle`: unused for `sessionIdleDuration` seconds;
 * - `absolute`: `sessionDuration` seconds after the login;
 * - `provider`: the provider's own session ended (the token response's `refresh_expires_in`, the
 *   ID token's `session_expiry`);
 * - `backchannel`: the provider's back-channel logout named it;
 * - `refresh-refused`: the provider refused to refresh its tokens (`invalid_grant`), or the
 *   refreshed ID token named another user or provider session.
 */
export type SessionEndReason = 'idle' | 'absolute' | 'provider' | 'backchannel' | 'refresh-refused';

/**
 * `sessionExpired`: a request arrived with a session that has ended without its user logging
 * out here; the request goes on without it (anonymous). Emitted once per such request.
 *
 * The times (`idle`, `absolute`, `provider`) are seen only when the session cookie comes back
 * after its end: the cookie expires in the browser when its seal does, so a browser whose clock
 * agrees with the server's sends no cookie at all (and no event is emitted); API clients and
 * skewed clocks do send it. `backchannel` and `refresh-refused` are seen on the session's next
 * request, whatever the client.
 */
export interface SessionExpiredEvent {
  /** Names the event: `'sessionExpired'`. */
  type: 'sessionExpired';
  /** Why the session ended: see {@link SessionEndReason}. */
  reason: SessionEndReason;
  /**
   * The session's issuer: `undefined` only for a server-side session (`sessionStorage: 'store'`)
   * that ended by time with `tenants` (its store record, which names it, is gone).
   */
  issuer: string | undefined;
  /** The session's user: `undefined` only for a server-side session that ended by time (its store record is gone). */
  sub: string | undefined;
  /** The provider's session id, when known. */
  sid: string | undefined;
}

/** Every event: its `type` names it, as the {@link AuthCallbackEvents} member its listener is. */
export type AuthEvent = LoginEvent | LoginFailedEvent | RefreshEvent | RefreshFailedEvent | LogoutEvent | BackchannelLogoutEvent | SessionExpiredEvent;

/**
 * A listener: called synchronously, in the request's own async context (an OpenTelemetry active
 * span is the request's), with the event and the request it happened on. Keep it quick (count,
 * set attributes, hand off to a queue). What it throws, or a promise it returns that rejects, is
 * caught and written to the `express-oidc-callback:events` debug line: a listener never
 * changes the answer to the request.
 */
export type AuthEventListener<E extends AuthEvent> = (event: E, req: Request) => void;

/** The `events` option: a listener per event, each optional. See {@link EventOptions.events}. */
export interface AuthCallbackEvents {
  /** A user signed in: {@link LoginEvent}. */
  login?: AuthEventListener<LoginEvent>;
  /** A login could not start or its callback failed: {@link LoginFailedEvent}. */
  loginFailed?: AuthEventListener<LoginFailedEvent>;
  /** A session's tokens were refreshed: {@link RefreshEvent}. */
  refresh?: AuthEventListener<RefreshEvent>;
  /** A refresh failed: {@link RefreshFailedEvent}. */
  refreshFailed?: AuthEventListener<RefreshFailedEvent>;
  /** A signed-in user logged out: {@link LogoutEvent}. */
  logout?: AuthEventListener<LogoutEvent>;
  /** The provider's back-channel logout was accepted: {@link BackchannelLogoutEvent}. */
  backchannelLogout?: AuthEventListener<BackchannelLogoutEvent>;
  /** A request arrived with a session that had ended: {@link SessionExpiredEvent}. */
  sessionExpired?: AuthEventListener<SessionExpiredEvent>;
}

/** Options of `authCallback()`: what the app is told as it happens. */
export interface EventOptions {
  /**
   * Listeners of what happens to logins and sessions, to count and trace them: each gets a
   * plain object with the issuer, the user's `sub` (no other claim), the provider's `sid` when
   * known, an error `code` for failures, `durationMs` for logins and refreshes, and the `reason`
   * a session ended. Functions only, checked at start-up; an unknown event name is refused.
   * Listeners are synchronous: what one throws is caught and logged (`DEBUG=express-oidc-callback:events`),
   * never passed to the request. docs/observability.md shows them feeding OpenTelemetry and prom-client.
   *
   * @defaultValue none
   * @example
   * ```ts
   * authCallback({ ...,
   *   events: {
   *     login: (e) => logins.inc({ issuer: e.issuer }),
   *     loginFailed: (e) => loginFailures.inc({ code: e.code, stage: e.stage }),
   *     sessionExpired: (e) => sessionsEnded.inc({ reason: e.reason }),
   *   },
   * });
   * ```
   */
  events?: AuthCallbackEvents;
}
