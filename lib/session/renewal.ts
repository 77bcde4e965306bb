/**
 * What a request does to the session it carries before the app sees it: refresh expiring tokens
 * (`autoRefresh`), extend the idle lifetime (at most once per `sessionTouchInterval`), and reseal
 * a cookie sealed with an older secret; with server-side sessions, look the session up; with
 * back-channel logout, check it was not ended. With cookie sessions and no back-channel logout,
 * most requests need none of it and pay nothing.
 *
 * @packageDocumentation
 */
import type { HttpRequest, HttpResponse } from '../http.js';
import type { ResolvedOptions } from '../config/resolved-options.js';
import { debugOf } from '../debug.js';
import { emit, sidOf } from '../events.js';
import { AuthError } from '../errors.js';
import { LogoutMarks } from '../logout/logout-marks.js';
import type { ProviderRegistry } from '../provider/provider-registry.js';
import { storeOf } from './record-store.js';
import { providerSessionEnd } from './session-codec.js';
import type { AuthSession, SessionReference } from './session.js';
import type { Sessions } from './sessions.js';
import { refreshSession, type RefreshDeps } from './token-refresh.js';

const debug = debugOf('session');
const debugRefresh = debugOf('refresh');
const debugBackchannel = debugOf('backchannel');

/** What renewal needs of `authCallback()`'s parts: handed in, so that `session/` imports no route. */
export interface RenewalDeps extends RefreshDeps {
  readonly options: ResolvedOptions;
  readonly sessions: Sessions;
  readonly providers: Pick<ProviderRegistry, 'forSession' | 'perRequest' | 'issuerOf'>;
}

/** What {@link renewalOf} found due. */
export type Renewal = 'refresh' | 'reseal';

/**
 * What `session` needs on this request, if anything, at `now` (seconds since the epoch):
 * `'refresh'` when `autoRefresh` is on, the session holds a refresh token, and the access token
 * expires within `refreshMargin` seconds; `'reseal'` when the cookie was sealed with an older
 * secret, or the idle lifetime is due an extension (`sessionTouchInterval` passed since the last
 * seal, and neither the absolute lifetime nor the provider's session end reached).
 */
export function renewalOf(options: ResolvedOptions, session: AuthSession, now: number): Renewal | undefined {
  const o = options;
  const { tokens } = session;
  if (o.autoRefresh && tokens.refreshToken !== undefined && tokens.expiresAt !== undefined && tokens.expiresAt - o.refreshMargin <= now) {
    return 'refresh';
  }
  if (session.staleKey) return 'reseal';
  if (o.sessionIdleDuration !== undefined
    && now - session.touchedAt >= o.sessionTouchInterval
    && session.expiresAt < Math.min(Math.floor(session.createdAt) + o.sessionDuration, providerSessionEnd(tokens, session.claims) ?? Infinity)) {
    return 'reseal';
  }
  return undefined;
}

/**
 * Carries out `renewal` and writes the new cookie (and store record).
 *
 * @returns the renewed session; `undefined` when a refresh ended the session (the cookie is
 *   cleared and the store record deleted, and the request goes on as anonymous: browsers are
 *   sent to login, APIs get 401)
 * @throws AuthError `refresh_failed` (503) when the provider failed during a refresh of an
 *   expired access token: the session is left as it was (a failed early refresh, within
 *   `refreshMargin`, keeps the still-valid session quietly); `store_unavailable` (503)
 */
async function renewSession(context: RenewalDeps, req: HttpRequest, res: HttpResponse, session: AuthSession, renewal: Renewal): Promise<AuthSession | undefined> {
  if (renewal === 'reseal') {
    debug('session resealed: %s', session.staleKey ? 'sealed with an older secret' : 'its idle lifetime extended');
    return context.sessions.write(req, res, session.tokens, session.claims, session.createdAt, session.ref);
  }
  try {
    const refreshed = await refreshSession(context, req, session, 'auto');
    return await context.sessions.write(req, res, refreshed.tokens, refreshed.claims, session.createdAt, session.ref);
  } catch (err) {
    if (err instanceof AuthError && err.code === 'refresh_failed' && (session.tokens.expiresAt ?? 0) > Date.now() / 1000) {
      debugRefresh('early refresh failed, the access token is still valid: the session goes on, the next request tries again');
      return session; // refreshed early, within refreshMargin: the next request tries again
    }
    if (!(err instanceof AuthError) || err.code !== 'session_ended') throw err;
    debugRefresh('session ended: the provider refused the refresh');
    await context.sessions.end(req, res, session);
    return undefined;
  }
}

/**
 * The request's session, ready for the app: looked up in the store (`sessionStorage: 'store'`),
 * checked against back-channel logouts (when that route is on), and, when `renew`, renewed as
 * {@link renewalOf} finds due. A session found ended has its cookie cleared. With `tenants`, on
 * the app's pages (`renew`) a session of another issuer than the request's reads as `undefined`
 * (its cookie is kept: it is valid on its own tenant's pages); the middleware's own routes see
 * the session the cookie holds, so that `/logout` on any page ends it at its own issuer and a
 * new login replaces it (its store record deleted either way).
 *
 * @param opened - what `Sessions.read()` read from the cookie
 * @param renew - `true` for the app's pages: renew when due, and hold the session to the request's issuer
 * @throws AuthError `refresh_failed`, `store_unavailable` (503)
 */
export async function resolveSession(
  context: RenewalDeps, req: HttpRequest, res: HttpResponse, opened: AuthSession | SessionReference, renew: boolean,
): Promise<AuthSession | undefined> {
  const { options, sessions } = context;
  const session = await sessions.load(req, opened);
  if (session === undefined) {
    sessions.clearCookie(req, res); // its record is gone: revoked, logged out or expired
    return undefined;
  }
  if (options.routes.backchannelLogout !== false
    && await new LogoutMarks(storeOf(req, options.storeTimeout), options.sessionDuration).ended(session.claims, session.createdAt)) {
    debugBackchannel('session ended by a back-channel logout mark of %s', session.claims.iss);
    emit(options.events, { type: 'sessionExpired', reason: 'backchannel', issuer: session.claims.iss, sub: session.claims.sub, sid: sidOf(session.claims) }, req);
    await sessions.end(req, res, session);
    return undefined;
  }
  if (renew && context.providers.perRequest) {
    const issuer = await context.providers.issuerOf(req);
    if (issuer !== undefined && issuer !== session.claims.iss) {
      debug('session of another issuer than the request\'s: not used here');
      return undefined;
    }
  }
  const renewal = renew ? renewalOf(options, session, Date.now() / 1000) : undefined;
  return renewal === undefined ? session : renewSession(context, req, res, session, renewal);
}
