/**
 * Refreshing a session's tokens (RFC 6749 §6), once per session and process however many of its
 * requests ask at the same moment; with server-side sessions and a refresh lease, once per
 * session across instances too (`refresh-lease.ts`).
 *
 * @packageDocumentation
 */
import type { ResolvedOptions } from '../config/resolved-options.js';
import type { RefreshTrigger } from '../config/event-options.js';
import { debugOf } from '../debug.js';
import { asAuthError, AuthError } from '../errors.js';
import { emit, sidOf } from '../events.js';
import type { HttpRequest } from '../http.js';
import { boundKey } from '../provider/dpop-key.js';
import type { ProviderRegistry } from '../provider/provider-registry.js';
import { refreshUnderLease, type LeaseDeps, type Refreshed } from './refresh-lease.js';
import type { AuthSession, SealedTokens } from './session.js';
import { loginClaimsOf, sealedClaimsOf } from './user-claims.js';

const debug = debugOf('refresh');

/** What a refresh needs of `authCallback()`'s parts: handed in, so that `session/` imports no route. */
export interface RefreshDeps extends LeaseDeps {
  readonly options: Pick<ResolvedOptions, 'dpop' | 'events' | 'httpTimeout' | 'storeTimeout' | 'refreshLock'>;
  readonly providers: Pick<ProviderRegistry, 'forSession'>;
  /** Token refreshes in flight, shared by the requests of one session. */
  readonly refreshes: RefreshFlights;
}

/**
 * How long a finished refresh is handed to later requests that still carry the old cookie, in
 * milliseconds: requests the browser sent before it received the resealed cookie. Without it they
 * would refresh again, with a refresh token the provider may have rotated and now refuses.
 */
const REUSE_MS = 30_000;

/**
 * The longest a refresh whose tokens could not be written (`unsaved`) is kept for the requests
 * that write them, in milliseconds (10 minutes), and never past the session's end: its tokens
 * are the session's only live ones (the provider may have rotated the refresh token), so it is
 * kept until a write succeeds, {@link REUSE_MS} after that, or until this bound. A store down for
 * longer loses them: the session ends at its next refresh. (Another instance may refresh from the
 * record's old refresh token once the refresh lease has run out, with the same outcome.)
 */
const UNSAVED_KEEP_MS = 10 * 60_000;

/**
 * Refreshes in flight (and just finished), by the tokens they replace: requests of one session
 * share one token endpoint call (single flight).
 */
export class RefreshFlights {
  readonly #flights = new Map<string, Promise<Refreshed>>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** The `unsaved` refreshes kept, by their new access token. */
  readonly #unsaved = new Map<string, { key: string; refreshed: Refreshed }>();

  /**
   * Runs `start` for `key`, unless a refresh of that key is in flight or just succeeded. A
   * success is kept for {@link REUSE_MS}; an `unsaved` one until {@link RefreshFlights.saved},
   * at most {@link UNSAVED_KEEP_MS} and until `keepUntil` (the session's end, in milliseconds
   * since the epoch). A failure is not kept: the next request tries again.
   */
  run(key: string, start: () => Promise<Refreshed>, keepUntil = Infinity): Promise<Refreshed> {
    const running = this.#flights.get(key);
    if (running !== undefined) return running;
    const flight = start();
    this.#flights.set(key, flight);
    flight.then(
      (refreshed) => {
        if (refreshed.unsaved !== true) {
          this.#forgetIn(key, REUSE_MS);
          return;
        }
        this.#unsaved.set(refreshed.tokens.accessToken, { key, refreshed });
        this.#forgetIn(key, Math.min(UNSAVED_KEEP_MS, keepUntil - Date.now()));
      },
      () => this.#flights.delete(key),
    );
    return flight;
  }

  /** The `unsaved` refresh of `key` is written now: kept for {@link REUSE_MS} from now. */
  saved(key: string): void {
    if (this.#flights.has(key)) this.#forgetIn(key, REUSE_MS);
  }

  /**
   * The `unsaved` refresh whose tokens are `tokens`, read from the store record (a store that
   * queued the failed write applied it late): written after all, so marked saved and returned,
   * for its lease to be given up. `undefined` when none.
   */
  landed(tokens: SealedTokens): Refreshed | undefined {
    const kept = this.#unsaved.get(tokens.accessToken);
    if (kept === undefined || kept.refreshed.unsaved !== true || kept.refreshed.tokens.refreshToken !== tokens.refreshToken) return undefined;
    kept.refreshed.unsaved = false;
    this.saved(kept.key);
    return kept.refreshed;
  }

  #forgetIn(key: string, ms: number): void {
    clearTimeout(this.#timers.get(key));
    this.#timers.set(key, setTimeout(() => {
      this.#flights.delete(key);
      this.#timers.delete(key);
      for (const [accessToken, kept] of this.#unsaved) if (kept.key === key) this.#unsaved.delete(accessToken);
    }, Math.max(0, ms)).unref());
  }

  /** Refreshes in flight or kept for reuse (for tests and diagnostics). */
  get size(): number {
    return this.#flights.size;
  }
}

/**
 * Refreshes `session`'s tokens through the provider. A new ID token must name the same `sub` and
 * `iss` as the session's (OpenID Connect Core 1.0 §12.2), and the same `sid` when both name one;
 * the session keeps its login's `sid`, `auth_time`, `acr` and `amr` (§12.2: a refreshed ID token
 * may leave `sid` out, and its `auth_time` is the original authentication's), so back-channel
 * logout still finds it and `requireAuth({ acr, maxAge })` still judges the login. The refresh
 * token, scope and UserInfo claims are kept when the provider sends no new ones.
 *
 * Each token request emits `refresh` or `refreshFailed` (once, however many requests share it),
 * and a refused one `sessionExpired` (reason `refresh-refused`), on `req`: the request that
 * started it.
 *
 * A server-side session (`sessionStorage: 'store'`, `session.ref`) is refreshed under its refresh
 * lease when the store has one (see `refreshUnderLease()`: one token request across instances),
 * and its store record is written here, once for all the requests that share the refresh: each
 * then writes only its cookie (`Sessions.write()`'s `recordSaved`).
 *
 * @param trigger - `'auto'` (`autoRefresh`, before the app's handler) or `'app'` (`req.oidc.refresh()`)
 * @param params - this refresh's own token request parameters (`req.oidc.refresh({ tokenEndpointParams })`),
 *   checked by the caller, over the `refreshParams` option's
 * @throws AuthError `session_ended` (401) when the provider refuses the refresh token
 *   (`invalid_grant`, RFC 6749 §5.2), or its new ID token is invalid, names another user or
 *   another provider session (`sid`): the session must end. `refresh_failed` (503) for a provider fault (unreachable, timeout, a
 *   malformed answer): the session is kept and a later request may try again; also when another
 *   instance held the refresh lease and no new tokens appeared in the lease time.
 *   `refresh_unavailable` (400) when the session holds no refresh token. `store_unavailable` (503).
 */
export function refreshSession(
  context: RefreshDeps, req: HttpRequest, session: AuthSession, trigger: RefreshTrigger, params?: Readonly<Record<string, string>>,
): Promise<Refreshed> {
  const refreshToken = session.tokens.refreshToken;
  if (refreshToken === undefined) {
    return Promise.reject(new AuthError('refresh_unavailable', 400, 'This session has no refresh token: sign in again to get new tokens'));
  }
  // Keyed by the access token being replaced too: a provider that keeps the refresh token must
  // still be asked again once the refreshed access token is itself due. And by the call's own
  // parameters: a refresh asking for another `resource` must not be answered with another's tokens.
  const asked = params === undefined || Object.keys(params).length === 0 ? '' : `\n${JSON.stringify(params)}`;
  const key = `${refreshToken}\n${session.tokens.accessToken}${asked}`;
  if (session.ref !== undefined) {
    // The record holds the tokens of a refresh kept unsaved: its write landed late. Its lease goes.
    const landed = context.refreshes.landed(session.tokens);
    if (landed?.release !== undefined) {
      const { release } = landed;
      delete landed.release;
      debug('refreshed tokens found written to the store after it failed: the refresh lease kept for them given up');
      return release().then(() => refreshSession(context, req, session, trigger, params));
    }
  }
  const flight = context.refreshes.run(key, async () => {
    let providerAsked = false;
    const refresh = (current: AuthSession): Promise<Refreshed> => {
      providerAsked = true;
      return refreshAtProvider(context, req, current, trigger, params);
    };
    const { ref } = session;
    if (ref === undefined) return refresh(session);
    const started = performance.now();
    try {
      return await refreshUnderLease(context, req, { ...session, ref }, params, refresh);
    } catch (err) {
      // No token request (refreshAtProvider emits its own): another instance's refresh not
      // waited out in time, or a lease too short to start one. Still a refresh that failed.
      if (!providerAsked && err instanceof AuthError && err.code === 'refresh_failed') {
        const { iss: issuer, sub } = session.claims;
        emit(context.options.events, {
          type: 'refreshFailed', issuer, sub, sid: sidOf(session.claims), code: 'refresh_failed', status: err.status,
          durationMs: performance.now() - started, trigger, error: err,
        }, req);
      }
      throw err;
    }
  }, session.expiresAt * 1000);
  const { ref } = session;
  return ref === undefined ? flight : flight.then((refreshed) => writeUnsaved(context, req, session, ref, key, refreshed));
}

/**
 * The shared result of a refresh whose record write failed (`unsaved`), written now: by this
 * request, or by a later one that reuses the refresh (`RefreshFlights` keeps it until then). The
 * provider may have rotated the refresh token, so these tokens are the session's only live ones:
 * they stay with the refresh, not lost, until a write succeeds; then the refresh lease kept for
 * them is given up, and the refresh is reused for {@link REUSE_MS} more.
 *
 * @throws AuthError `store_unavailable` (503) when the store still fails
 */
async function writeUnsaved(
  context: RefreshDeps, req: HttpRequest, session: AuthSession, ref: string, key: string, refreshed: Refreshed,
): Promise<Refreshed> {
  if (refreshed.unsaved !== true) return refreshed;
  refreshed.expiresAt = await context.sessions.saveRecord(req, refreshed.tokens, refreshed.claims, session.createdAt, ref);
  // Shared by the requests reusing this refresh: written once is enough.
  refreshed.unsaved = false;
  context.refreshes.saved(key);
  const release = refreshed.release;
  delete refreshed.release;
  await release?.();
  debug('refreshed tokens written to the store after it failed');
  return refreshed;
}

/** The token request of {@link refreshSession} from `session`'s refresh token, its debug line and events. */
async function refreshAtProvider(
  context: RefreshDeps, req: HttpRequest, session: AuthSession, trigger: RefreshTrigger, params: Readonly<Record<string, string>> | undefined,
): Promise<Refreshed> {
  const refreshToken = session.tokens.refreshToken;
  if (refreshToken === undefined) throw new AuthError('refresh_unavailable', 400, 'This session has no refresh token: sign in again to get new tokens');
  const started = performance.now();
  const { iss: issuer, sub } = session.claims;
  const sid = sidOf(session.claims);
  const { events } = context.options;
  try {
    const refreshed = await refreshedSession(context, session, refreshToken, params);
    const durationMs = performance.now() - started;
    debug('tokens refreshed at %s in %d ms (%s)%s', issuer, Math.round(durationMs), trigger === 'auto' ? 'autoRefresh' : 'req.oidc.refresh()',
      refreshed.tokens.refreshToken === refreshToken ? '' : ', refresh token rotated');
    emit(events, { type: 'refresh', issuer, sub, sid, durationMs, trigger }, req);
    return refreshed;
  } catch (err) {
    const error = asAuthError(err);
    const durationMs = performance.now() - started;
    const code = error.code === 'session_ended' ? 'session_ended' : 'refresh_failed';
    debug('refresh at %s failed in %d ms: %s%s', issuer, Math.round(durationMs), code,
      error.cause instanceof AuthError ? ` (${error.cause.code})` : '');
    emit(events, { type: 'refreshFailed', issuer, sub, sid, code, status: error.status, durationMs, trigger, error }, req);
    if (code === 'session_ended') emit(events, { type: 'sessionExpired', reason: 'refresh-refused', issuer, sub, sid }, req);
    throw err;
  }
}

/** The token request of {@link refreshSession}, and the checks of what it returns. */
async function refreshedSession(context: RefreshDeps, session: AuthSession, refreshToken: string, params: Readonly<Record<string, string>> | undefined): Promise<Refreshed> {
  let refreshed;
  try {
    refreshed = await (await context.providers.forSession(session.claims)).refresh(refreshToken, boundKey(session.tokens), params);
  } catch (err) {
    const code = (err as AuthError).code;
    if (code === 'invalid_grant' || code === 'invalid_id_token' || code === 'session_ended') {
      throw new AuthError('session_ended', 401, 'The provider no longer accepts this session: sign in again', { cause: err });
    }
    throw new AuthError('refresh_failed', 503, 'The tokens could not be refreshed because the provider failed: try again shortly', { cause: err });
  }
  if (refreshed.claims !== undefined && (refreshed.claims.sub !== session.claims.sub || refreshed.claims.iss !== session.claims.iss)) {
    throw new AuthError('session_ended', 401, 'The refreshed ID token names another user or issuer (OpenID Connect Core 1.0 §12.2): sign in again');
  }
  // What the login established, kept over a new ID token's (which may leave sid out).
  const loginClaims = refreshed.claims === undefined ? session.tokens.loginClaims : session.tokens.loginClaims ?? loginClaimsOf(sealedClaimsOf(session.tokens));
  if (typeof refreshed.claims?.sid === 'string' && typeof loginClaims?.sid === 'string' && refreshed.claims.sid !== loginClaims.sid) {
    throw new AuthError('session_ended', 401, 'The refreshed ID token names another provider session (sid) than the login\'s: sign in again');
  }
  const dpopKey = refreshed.tokenType.toLowerCase() === 'dpop' ? boundKey(session.tokens) : undefined;
  if (context.options.dpop === 'required' && dpopKey === undefined) {
    throw new AuthError('session_ended', 401, 'dpop is \'required\' but the refreshed tokens are not DPoP-bound (RFC 9449 §5): sign in again');
  }
  const idToken = refreshed.idToken ?? session.tokens.idToken;
  const tokens: SealedTokens = {
    ...(idToken !== undefined && { idToken }),
    // The refresh answer's members over the login's: what it leaves out (WorkOS's
    // authentication_method, how the user signed in) is kept.
    ...(session.tokens.extra !== undefined || refreshed.extra !== undefined ? { extra: { ...session.tokens.extra, ...refreshed.extra } } : {}),
    accessToken: refreshed.accessToken,
    tokenType: refreshed.tokenType,
    refreshToken: refreshed.refreshToken ?? refreshToken,
    ...(refreshed.expiresAt !== undefined && { expiresAt: refreshed.expiresAt }),
    ...((refreshed.scope ?? session.tokens.scope) !== undefined && { scope: refreshed.scope ?? session.tokens.scope }),
    ...(session.tokens.userinfo !== undefined && { userinfo: session.tokens.userinfo }),
    ...(dpopKey !== undefined && { dpopKey }),
    ...(loginClaims !== undefined && Object.keys(loginClaims).length > 0 && { loginClaims }),
    ...(session.tokens.appClaims !== undefined && { appClaims: session.tokens.appClaims }),
    // A refresh may extend the provider's session (its idle timeout): its new answer counts.
    ...((refreshed.providerSessionExpiresAt ?? session.tokens.providerSessionExpiresAt) !== undefined
      && { providerSessionExpiresAt: refreshed.providerSessionExpiresAt ?? session.tokens.providerSessionExpiresAt }),
  };
  return { tokens, claims: refreshed.claims === undefined ? session.claims : { ...refreshed.claims, ...loginClaims } };
}
