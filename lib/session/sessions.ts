/**
 * The signed-in session of one `authCallback()`: read from the request's cookie (a cache of
 * opened cookies first), looked up where its tokens live, written and ended. Where the tokens
 * live is the {@link SessionStorage}'s business; this class holds the cookie and the times.
 *
 * @packageDocumentation
 */
import type { HttpRequest, HttpResponse } from '../http.js';
import type { ResolvedOptions } from '../config/resolved-options.js';
import { debugOf } from '../debug.js';
import { emit, sidOf } from '../events.js';
import type { UserClaims } from '../provider/provider.js';
import { CookieStorage } from './cookie-storage.js';
import { Sealer } from './seal.js';
import { SessionCache } from './session-cache.js';
import { pickTokens, providerSessionEnd, sessionExpiry, timeEndReason, unsealCookiePayload } from './session-codec.js';
import { SessionCookie } from './session-cookie.js';
import { isReference, type AuthSession, type SealedTokens, type SessionReference } from './session.js';
import type { SessionStorage } from './storage.js';
import { StoreStorage } from './store-storage.js';
import { userClaims } from './user-claims.js';

const debug = debugOf('session');

/** The sessions of one `authCallback()`. Times are in seconds since the epoch. */
export class Sessions {
  readonly #options: ResolvedOptions;
  readonly #sealer: Sealer;
  readonly #cookie: SessionCookie;
  readonly #cache = new SessionCache();
  readonly #storage: SessionStorage;

  constructor(options: ResolvedOptions) {
    this.#options = options;
    this.#sealer = new Sealer(options.secrets, 'session-cookie');
    this.#cookie = new SessionCookie(options.cookie);
    // Store records get a key of their own; those 0.1.x sealed with the cookie's key still open
    // until their sessions end (at most sessionDuration after the upgrade), and are resealed.
    this.#storage = options.sessionStorage === 'store'
      ? new StoreStorage(this.#sealer, new Sealer(options.secrets, 'session-record', 'session-cookie'), options.storeTimeout)
      : new CookieStorage(this.#sealer);
  }

  /** The session cookie's name (its first chunk's, `name.0`, when chunked). */
  get cookieName(): string {
    return this.#cookie.name;
  }

  /**
   * The request's session cookie, opened: a session, or (`sessionStorage: 'store'`) a reference
   * to {@link Sessions.load}. A missing, tampered, truncated, foreign or expired cookie is "no
   * session" (a debug line, never an error); one that ended by time (its seal's `exp`: idle,
   * absolute or the provider's end) also emits `sessionExpired`, once per request.
   */
  read(req: HttpRequest): AuthSession | SessionReference | undefined {
    const sealed = this.#cookie.read(req);
    if (sealed === undefined) return undefined;
    const now = Date.now() / 1000;
    const cached = this.#cache.get(sealed, now);
    if (cached !== undefined) return cached;
    const session = this.#open(req, sealed, now);
    if (session !== undefined) this.#cache.set(sealed, session);
    return session;
  }

  #open(req: HttpRequest, sealed: string, now: number): AuthSession | SessionReference | undefined {
    // Opened whatever its age, so that a session that ended by time is told from a forged cookie.
    const opened = unsealCookiePayload(this.#sealer, sealed, -Infinity);
    if (opened === undefined || typeof opened.payload.createdAt !== 'number') {
      debug('session cookie "%s" ignored: not sealed by a configured secret, or tampered', this.#cookie.name);
      return undefined;
    }
    const { payload, staleKey } = opened;
    const session = this.#storage.open(payload, { createdAt: payload.createdAt!, touchedAt: payload.iat, expiresAt: payload.exp, staleKey });
    if (payload.exp > now) return session;
    if (session !== undefined) this.#ended(req, session, now);
    else debug('session cookie "%s" ignored: expired, and not of this sessionStorage', this.#cookie.name);
    return undefined;
  }

  /** The debug line and `sessionExpired` of a session whose cookie came back after its seal's end. */
  #ended(req: HttpRequest, session: AuthSession | SessionReference, now: number): void {
    const options = this.#options;
    const reason = timeEndReason(options, session);
    const claims = isReference(session) ? undefined : session.claims;
    debug('session ended by time (%s) %d s ago: its cookie is ignored', reason, Math.round(now - session.expiresAt));
    emit(options.events, {
      type: 'sessionExpired',
      reason,
      issuer: claims?.iss ?? options.issuerIdentifier ?? options.adapter?.issuer,
      sub: claims?.sub,
      sid: claims === undefined ? undefined : sidOf(claims),
    }, req);
  }

  /**
   * The session `opened` names, looked up where its tokens live: `undefined` when it is gone.
   *
   * @throws AuthError `store_unavailable` (503)
   */
  async load(req: HttpRequest, opened: AuthSession | SessionReference): Promise<AuthSession | undefined> {
    return isReference(opened) ? this.#storage.load(req, opened) : opened;
  }

  /**
   * Seals a session until {@link sessionExpiry}, with the current secret, and sets its cookie.
   *
   * @param tokens - what to seal (only the {@link SealedTokens} fields are kept)
   * @param claims - the claims of `tokens.idToken` (or the adapter's claims, sealed when there is no ID token)
   * @param createdAt - when the user logged in
   * @param ref - the store record to rewrite; a new one when omitted
   * @returns the session as later requests will read it
   * @throws AuthError `session_too_large` (500), `store_unavailable` (503)
   */
  async write(req: HttpRequest, res: HttpResponse, tokens: SealedTokens, claims: UserClaims, createdAt: number, ref?: string): Promise<AuthSession> {
    const now = Math.floor(Date.now() / 1000);
    const sealedTokens = pickTokens(tokens.idToken === undefined ? { ...tokens, claims } : tokens);
    const expiresAt = sessionExpiry(this.#options, createdAt, now, providerSessionEnd(sealedTokens, claims));
    const saved = await this.#storage.save(req, sealedTokens, createdAt, expiresAt, ref);
    const cookies = this.#cookie.write(req, res, saved.value, expiresAt);
    debug('session sealed %s: %d bytes of cookie%s, ends in %d s', saved.ref === undefined ? 'in the cookie' : 'in the store (the cookie holds its reference)',
      saved.value.length, cookies > 1 ? ` in ${cookies} chunks` : '', expiresAt - now);
    return {
      tokens: sealedTokens,
      claims: userClaims(claims, sealedTokens.userinfo, sealedTokens.loginClaims),
      createdAt,
      touchedAt: now,
      expiresAt,
      staleKey: false,
      ...(saved.ref !== undefined && { ref: saved.ref }),
    };
  }

  /**
   * Ends a session: its record first (when the store fails, the browser keeps its cookie and can
   * try again), then the cookie and every chunk of it.
   *
   * @throws AuthError `store_unavailable` (503)
   */
  async end(req: HttpRequest, res: HttpResponse, session: { ref?: string } | undefined): Promise<void> {
    await this.#storage.remove(req, session);
    this.#cookie.clear(req, res);
  }

  /**
   * Forgets a session's record on the server (a browser signing in again replaces it), leaving
   * the cookie to be overwritten.
   *
   * @throws AuthError `store_unavailable` (503)
   */
  forget(req: HttpRequest, session: { ref?: string } | undefined): Promise<void> {
    return this.#storage.remove(req, session);
  }

  /** Clears the session cookie (every chunk) the request carries. */
  clearCookie(req: HttpRequest, res: HttpResponse): void {
    this.#cookie.clear(req, res);
  }
}
