/**
 * `req.oidc`: the session's tokens and what a handler can do with them.
 *
 * @packageDocumentation
 */
import type { HttpRequest, HttpResponse } from '../http.js';
import { attach, authSessionOf, type Context } from '../runtime.js';
import { boundKey } from '../provider/dpop-key.js';
import { AuthError, ConfigurationError } from '../errors.js';
import { refreshCallParamsOf } from '../config/token-params.js';
import type { UserClaims, UserInfoClaims } from '../provider/provider.js';
import { refreshSession } from '../session/token-refresh.js';
import { tokenTypeName } from '../provider/token-set.js';
import { checkLogoutParams } from '../config/logout-options.js';
import { safeReturnTo } from '../login/return-to.js';
import { endSession } from '../logout/end-session.js';

/**
 * The authentication state of one request, as `req.oidc`. Set by `authCallback()` on every
 * request. Times are in seconds since the epoch.
 *
 * @example
 * ```ts
 * app.get('/api/orders', requireAuth(), async (req, res) => {
 *   if (req.oidc.isExpired()) await req.oidc.refresh();
 *   const orders = await fetch('https://api.example.com/orders', {
 *     headers: { authorization: `Bearer ${req.oidc.accessToken}` },
 *   });
 *   res.json(await orders.json());
 * });
 * ```
 */
export class RequestAuth {
  readonly #context: Context;
  readonly #req: HttpRequest;
  readonly #res: HttpResponse;

  constructor(context: Context, req: HttpRequest, res: HttpResponse) {
    this.#context = context;
    this.#req = req;
    this.#res = res;
  }

  /** `true` when the request carries a valid session. */
  get isAuthenticated(): boolean {
    return authSessionOf(this.#req) !== undefined;
  }

  /**
   * The session's claims: the ID token's, over UserInfo's when fetched, protocol claims (`iss`,
   * `aud`, `exp`, `sid`, …) included; frozen, shared by the session's requests. `req.user` is the
   * app's copy, without the `identityClaimFilter` claims and with `afterCallback`'s.
   */
  get claims(): Readonly<UserClaims> | undefined {
    return authSessionOf(this.#req)?.claims;
  }

  /** The ID token (compact JWS), validated at login or at the last refresh; `undefined` with a provider adapter. */
  get idToken(): string | undefined {
    return authSessionOf(this.#req)?.tokens.idToken;
  }

  /**
   * What a provider adapter kept from its token response beside the tokens, e.g. WorkOS's
   * `organization_id`, `authentication_method` and `impersonator`; `undefined` otherwise.
   */
  get extra(): Readonly<Record<string, unknown>> | undefined {
    return authSessionOf(this.#req)?.tokens.extra;
  }

  /** The access token, to call resource servers with (RFC 6750). */
  get accessToken(): string | undefined {
    return authSessionOf(this.#req)?.tokens.accessToken;
  }

  /**
   * The access token's type (RFC 6749 §7.1), spelt as an `Authorization` header writes it:
   * `Bearer` (RFC 6750) or `DPoP` (RFC 9449); another type as the provider named it.
   */
  get tokenType(): string | undefined {
    const type = authSessionOf(this.#req)?.tokens.tokenType;
    return type === undefined ? undefined : tokenTypeName(type);
  }

  /** The refresh token, when the provider issued one. */
  get refreshToken(): string | undefined {
    return authSessionOf(this.#req)?.tokens.refreshToken;
  }

  /** The granted scope, when the provider returned it (RFC 6749 §5.1). */
  get scope(): string | undefined {
    return authSessionOf(this.#req)?.tokens.scope;
  }

  /** When the access token expires, in seconds since the epoch; `undefined` when the provider gave no `expires_in`. */
  get expiresAt(): number | undefined {
    return authSessionOf(this.#req)?.tokens.expiresAt;
  }

  /**
   * `true` when the access token has expired, or expires within `margin` seconds (default 0);
   * `false` without a session or without a known expiry.
   */
  isExpired(margin = 0): boolean {
    const expiresAt = this.expiresAt;
    return expiresAt !== undefined && expiresAt - margin <= Date.now() / 1000;
  }

  /**
   * Refreshes the tokens now (RFC 6749 §6), whatever their expiry, and reseals the session cookie
   * (when the response's headers are not sent yet). Concurrent calls for one session (with the
   * same parameters) share one token endpoint request.
   *
   * @param options - `tokenEndpointParams`: parameters of this refresh's token request over the
   *   `refreshParams` option's, e.g. `{ resource: 'https://api.example.com' }` (RFC 8707 §2.2);
   *   strings, none of the protocol's own (`grant_type`, `refresh_token`, `client_id`, …).
   *   Default none.
   * @throws ConfigurationError (a `TypeError`, before any request) when `tokenEndpointParams`
   *   is not an object of strings, names a parameter the protocol sets, or is given for a
   *   provider adapter's session (only an OpenID Provider takes them)
   * @throws AuthError `unauthorized` (401) without a session; `refresh_unavailable` (400) without
   *   a refresh token; `session_ended` (401: the cookie is cleared, and the request is anonymous
   *   from then on) when the provider refuses the refresh token or the new ID token names
   *   another user; `refresh_failed` (503) when the provider fails (the session is kept)
   */
  async refresh(options: { tokenEndpointParams?: Record<string, string> } = {}): Promise<void> {
    const context = this.#context;
    const params = refreshCallParamsOf(options?.tokenEndpointParams);
    if (context.options.adapter !== undefined && Object.keys(params).length > 0) {
      throw new ConfigurationError('req.oidc.refresh(): "tokenEndpointParams" needs an OpenID Provider: a provider adapter\'s refresh takes no extra parameters', 'refresh().tokenEndpointParams');
    }
    const session = authSessionOf(this.#req);
    if (session === undefined) throw new AuthError('unauthorized', 401, 'Authentication required: sign in first');
    try {
      const refreshed = await refreshSession(context, this.#req, session, 'app', params);
      const renewed = this.#res.headersSent
        ? { ...session, tokens: refreshed.tokens, claims: refreshed.claims }
        : await context.sessions.write(this.#req, this.#res, refreshed.tokens, refreshed.claims, session.createdAt, session.ref);
      attach(this.#req, context, renewed);
    } catch (err) {
      if (err instanceof AuthError && err.code === 'session_ended') {
        if (!this.#res.headersSent) await context.sessions.end(this.#req, this.#res, session);
        attach(this.#req, context, undefined);
      }
      throw err;
    }
  }

  /**
   * Fetches the UserInfo claims with the access token (OpenID Connect Core 1.0 §5.3); their `sub`
   * must be the ID token's (§5.3.4). They are returned, not stored.
   *
   * @throws AuthError `unauthorized` (401) without a session; `invalid_userinfo` (502) when the
   *   `sub` differs or the answer is malformed; 502/504 for other provider faults
   */
  async fetchUserInfo(): Promise<UserInfoClaims> {
    const session = authSessionOf(this.#req);
    if (session === undefined) throw new AuthError('unauthorized', 401, 'Authentication required: sign in first');
    const provider = await this.#context.providers.forSession(session.claims);
    return provider.fetchUserInfo(session.tokens.accessToken, session.claims.sub, boundKey(session.tokens));
  }

  /**
   * Calls a resource server with the session's access token, in the scheme its `token_type`
   * names: `Authorization: Bearer` (RFC 6750), or for a DPoP-bound token (option `dpop`, and a
   * provider that bound it) `Authorization: DPoP` and a `DPoP` proof for this method and URL
   * (RFC 9449 §7), retried once with the server's `DPoP-Nonce` when it asks for one. The
   * response is returned whatever its status (a 401 may mean the token expired: `refresh()`).
   *
   * @param url - the resource's absolute URL
   * @param init - `method` (default `GET`), `body`, `headers`
   * @throws AuthError `unauthorized` (401) without a session; `provider_unreachable` (502) or
   *   `provider_timeout` (504) when the server cannot be reached
   */
  async fetchResource(url: string | URL, init: { method?: string; body?: string | Uint8Array; headers?: Record<string, string> } = {}): Promise<globalThis.Response> {
    const session = authSessionOf(this.#req);
    if (session === undefined) throw new AuthError('unauthorized', 401, 'Authentication required: sign in first');
    const provider = await this.#context.providers.forSession(session.claims);
    return provider.fetchResource(session.tokens.accessToken, new URL(url), init, boundKey(session.tokens));
  }

  /**
   * Logs the user out from a handler of the app's own (e.g. after deleting the account): ends
   * the local session, then, unless `idpLogout` is `false`, sends the browser to the provider's
   * `end_session_endpoint`, which returns it to `returnTo`; answers the request with that 302.
   * The same as `GET {routes.logout}`, without its cross-site check (the app decides).
   *
   * @param options - `returnTo`: same-origin path (relative to `baseURL`'s path) to land on,
   *   default `'/'`; `idpLogout`: default the option's (`true`); `logoutParams`: extra parameters
   *   for the provider, over the option's
   * @throws TypeError for a `returnTo` that is not a same-origin path, or a `logoutParams` the
   *   option would refuse; AuthError `store_unavailable` (503)
   */
  async logout(options: { returnTo?: string; idpLogout?: boolean; logoutParams?: Record<string, string> } = {}): Promise<void> {
    const { returnTo = '/', idpLogout = this.#context.options.idpLogout } = options;
    if (safeReturnTo(returnTo, '') !== returnTo) {
      throw new TypeError(`req.oidc.logout(): returnTo must be a path on this app's origin, e.g. '/goodbye' (got ${JSON.stringify(returnTo).slice(0, 80)})`);
    }
    if (typeof idpLogout !== 'boolean') throw new TypeError('req.oidc.logout(): idpLogout must be a boolean');
    const logoutParams = checkLogoutParams(options.logoutParams, 'logoutParams', (key, problem) => {
      throw new TypeError(`req.oidc.logout(): ${key} ${problem}`);
    });
    await endSession(this.#context, this.#req, this.#res, { returnTo, idpLogout, logoutParams: { ...this.#context.options.logoutParams, ...logoutParams } });
    attach(this.#req, this.#context, undefined);
  }
}
