/**
 * The guard: `requireAuth()` lets a request through only with a valid session and, when asked,
 * only for a user whose claims meet the route's requirement.
 *
 * @packageDocumentation
 */
import { prefersHtml, redirect as redirectTo, type HttpRequest, type HttpResponse, type Middleware } from '../http.js';
import { contextOf, authSessionOf, userOfRequest, type Context } from '../runtime.js';
import { pageReturnTo } from '../login/return-to.js';
import { AuthError } from '../errors.js';
import { claimsCheck, type ClaimsRequirement } from './claims-requirement.js';
import { fail, isPlainObject } from './guard-options.js';
import { ACR_VALUE, stepUpOf } from './step-up.js';

/**
 * Options of {@link requireAuth}, one set per guarded route. Checked when `requireAuth()` is
 * called: an unknown key or a value of the wrong type is a `TypeError` naming the option.
 */
export interface RequireAuthOptions {
  /**
   * What a request without a valid session gets when it is a browser's page load (a `GET` or
   * `HEAD` that prefers HTML):
   * - `true`: a 302 to the login route with `returnTo` = the current path;
   * - `false`: a 401 like any other request, an {@link AuthError} `unauthorized` passed to `next()`
   *   after `WWW-Authenticate` is set (RFC 9110 §15.5.2). For APIs that browsers call with
   *   `fetch()`, where a redirect to the provider's login page cannot be followed.
   *
   * Every other request (an API client, a `POST`) gets the 401 either way.
   *
   * @defaultValue `true`
   */
  redirect?: boolean;
  /**
   * A requirement on the signed-in user's claims: the ID token's (over UserInfo's when
   * `fetchUserInfo` is on, protocol claims such as `iss` included, as `req.oidc.claims`), with
   * those the app's `afterCallback` added over them. A user who does not meet it gets an {@link AuthError}
   * `forbidden` (403, RFC 9110 §15.5.4) passed to `next()`; its message names neither the claims
   * checked nor their values. A request without a valid session is answered as without this
   * option (login redirect or 401) before the requirement is looked at.
   *
   * - An object, `{ claim: expected, … }`: every listed claim must match. `expected` is a string,
   *   a finite number, a boolean or `null`, compared with `===` (so `"18"` does not match `18`);
   *   when the user's claim is an array (e.g. `groups`, `roles`), it matches when the array
   *   includes `expected`. `expected` may also be a non-empty array of such values: the user's
   *   claim must then be an array that includes every one of them, or a string of
   *   space-separated values that includes every one (as `scope` is written, RFC 6749 §3.3,
   *   RFC 8693 §4.2). A `scope` claim is read that way for a single `expected` too. A missing
   *   claim never matches. The object is copied when `requireAuth()` is called; changing it later has no
   *   effect. `{}` requires nothing beyond a session.
   * - A function `(user) => boolean`, called synchronously with `req.user` on each request:
   *   the user is let through only when it returns `true`; any other result is a 403. An error
   *   it throws is passed to `next()` as an {@link AuthError} `internal_error` (500) with the
   *   error as `cause`; so is a returned Promise (the function must not be `async`: the guard
   *   would otherwise let a rejected Promise go unhandled).
   *
   * @defaultValue none: any signed-in user is let through
   * @example
   * ```ts
   * requireAuth({ claims: { email_verified: true, groups: 'admin' } })
   * requireAuth({ claims: { roles: ['billing', 'write'] } })
   * requireAuth({ claims: { scope: ['read:orders', 'write:orders'] } }) // "openid read:orders write:orders"
   * requireAuth({ claims: (c) => typeof c.email === 'string' && c.email.endsWith('@example.com') })
   * ```
   */
  claims?: ClaimsRequirement;
  /**
   * Step-up authentication (RFC 9470): the authentication context class the session's login must
   * have reached, its `acr` claim (OpenID Connect Core 1.0 §2), one of these values. A session
   * whose login did not is sent through a new login asking for them (`acr_values`, §3.1.2.1)
   * when it is a browser's page load (as {@link RequireAuthOptions.redirect}); any other request
   * gets 401 `insufficient_user_authentication` with
   * `WWW-Authenticate: Bearer error="insufficient_user_authentication", acr_values="…"` (RFC 9470 §3).
   * The new login's ID token must then carry one of them, or the login is refused
   * (`acr_mismatch`): a login never loops. Needs `acr_values` among `loginParams` and not fixed in
   * `authorizationParams`; otherwise no new login can ask for it, and the answer is the 401.
   *
   * @defaultValue none
   */
  acr?: string | readonly string[];
  /**
   * Step-up authentication (RFC 9470): the longest time since the user last authenticated at the
   * provider (the login's `auth_time`), in **seconds**, plus `clockTolerance`. A session whose
   * authentication is older is sent through a new login with `max_age` (OpenID Connect Core 1.0
   * §3.1.2.1), answered like {@link RequireAuthOptions.acr}, with `max_age=…` in the challenge.
   * Needs `max_age` among `loginParams`.
   *
   * @defaultValue none
   */
  maxAge?: number;
}

/** The keys {@link RequireAuthOptions} may have. */
const OPTION_KEYS: ReadonlySet<string> = new Set(['redirect', 'claims', 'acr', 'maxAge']);

/** Checks `requireAuth()`'s options. */
function checkOptions(options: unknown): RequireAuthOptions {
  if (options === undefined) return {};
  if (!isPlainObject(options)) {
    // Also what `app.get(path, requireAuth, handler)` gets, with a request as "options".
    throw new TypeError('requireAuth(): expected an options object or nothing, e.g. requireAuth() or requireAuth({ redirect: false }); mount requireAuth(), not requireAuth');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) fail(key, `is unknown (known options: ${[...OPTION_KEYS].join(', ')})`);
  }
  if (options.redirect !== undefined && typeof options.redirect !== 'boolean') fail('redirect', 'must be a boolean');
  const { acr, maxAge } = options as RequireAuthOptions;
  if (acr !== undefined && !(typeof acr === 'string' && ACR_VALUE.test(acr))
    && !(Array.isArray(acr) && acr.length > 0 && acr.every((v) => typeof v === 'string' && ACR_VALUE.test(v)))) {
    fail('acr', 'must be an acr value (printable ASCII, no space, quote or backslash) or a non-empty array of them');
  }
  if (maxAge !== undefined && (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0)) fail('maxAge', 'must be a whole number of seconds, at least 0');
  return options;
}

/** The message of a 403: it names neither the claims checked nor their values. */
const FORBIDDEN_MESSAGE = 'Access denied: the signed-in account is not allowed to use this resource';

/**
 * Whether a request turned away is a browser's page load to send through the login route (a
 * `GET` or `HEAD` that prefers HTML, with `redirect` on and a login route served). Asked only of
 * requests that are turned away: content negotiation costs more than the rest of the guard.
 */
function isPageLoad(redirect: boolean, context: Context, req: HttpRequest): boolean {
  return redirect && context.challenge.loginPath !== undefined && (req.method === 'GET' || req.method === 'HEAD') && prefersHtml(req);
}

/**
 * Returns middleware that guards a route: it calls `next()` when the request carries a valid
 * session (`req.user` is set) and the user meets `options.claims`, if given.
 *
 * Without a valid session:
 * - a `GET`/`HEAD` request that prefers HTML (`Accept: text/html`, or no `Accept`) → 302 to the
 *   login route with `returnTo` = the current path, so the user comes back here after login
 *   (unless `options.redirect` is `false`, or `authCallback()` serves no login route);
 * - any other request (e.g. `Accept: application/json`, or a `POST`) → `next()` with an
 *   {@link AuthError} `unauthorized` (401), after setting `WWW-Authenticate` to a challenge that
 *   names the login URL (RFC 9110 §15.5.2, §11.6.1).
 *
 * With a valid session whose login does not meet `options.acr` / `options.maxAge` (step-up,
 * RFC 9470) → a browser's page load is sent through a new login asking for them; any other
 * request gets `next()` with an {@link AuthError} `insufficient_user_authentication` (401) and
 * a `Bearer error="insufficient_user_authentication"` challenge naming them.
 *
 * With a valid session whose user does not meet `options.claims` → `next()` with an
 * {@link AuthError} `forbidden` (403, RFC 9110 §15.5.4). No `WWW-Authenticate`: signing in
 * again as the same user would not help.
 *
 * Errors (passed to `next()`): `unauthorized` (401); `insufficient_user_authentication` (401);
 * `forbidden` (403); `internal_error` (500)
 * when the `claims` function throws (the error is the `cause`) or returns a Promise;
 * `middleware_not_mounted` (500) when `authCallback()` is not mounted before this guard.
 *
 * The options are checked and the claims requirement is compiled once, here; a request costs a
 * few property reads and comparisons.
 *
 * @param options - per-route options, see {@link RequireAuthOptions}; default: any signed-in
 *   user, with a login redirect for browsers
 * @throws TypeError naming the bad option, e.g. `requireAuth(): option "claims" must be an
 *   object or a function`
 *
 * @example
 * ```ts
 * app.get('/profile', requireAuth(), (req, res) => res.json(req.user));
 * app.get('/api/orders', requireAuth({ redirect: false }), listOrders);
 * app.get('/admin', requireAuth({ claims: { email_verified: true, groups: 'admin' } }), admin);
 * app.post('/transfer', requireAuth({ acr: 'urn:example:mfa', maxAge: 300 }), transfer);
 * ```
 */
export function requireAuth(options?: RequireAuthOptions): Middleware {
  const { redirect = true, claims, acr, maxAge } = checkOptions(options);
  const check = claimsCheck(claims);
  const stepUp = acr === undefined && maxAge === undefined ? undefined : stepUpOf(typeof acr === 'string' ? [acr] : acr, maxAge);
  return function requireAuthMiddleware(req: HttpRequest, res: HttpResponse, next: (err?: unknown) => void): void {
    const context = contextOf(req);
    if (context === undefined) {
      next(new AuthError('middleware_not_mounted', 500, 'requireAuth() needs authCallback() mounted before it: app.use(authCallback({ ... })) before the guarded routes'));
      return;
    }
    const session = authSessionOf(req);
    if (session !== undefined && stepUp !== undefined && !stepUp.isMetBy(session.claims, context.options.clockTolerance)) {
      const login = stepUp.loginQuery(context.options.loginParams);
      if (login !== undefined && isPageLoad(redirect, context, req)) {
        redirectTo(res, `${context.challenge.loginPath}?returnTo=${encodeURIComponent(pageReturnTo(req, context.options.basePath))}&${login}`);
        return;
      }
      res.setHeader('WWW-Authenticate', stepUp.challenge);
      next(new AuthError('insufficient_user_authentication', 401,
        login === undefined
          ? 'This page needs a stronger or more recent sign-in than this session has, and no new login can ask for it (acr_values or max_age is fixed in authorizationParams, or not in loginParams)'
          : 'This page needs a stronger or more recent sign-in than this session has: sign in again'));
      return;
    }
    if (session !== undefined) {
      if (check === undefined) {
        next();
        return;
      }
      const verdict = check({ claims: session.claims, appClaims: session.tokens.appClaims, user: userOfRequest(req) ?? session.claims });
      if (verdict === true) next();
      else next(verdict === false ? new AuthError('forbidden', 403, FORBIDDEN_MESSAGE) : verdict);
      return;
    }
    const { loginPath, wwwAuthenticate } = context.challenge;
    if (isPageLoad(redirect, context, req)) {
      const login = stepUp?.loginQuery(context.options.loginParams);
      redirectTo(res, `${loginPath}?returnTo=${encodeURIComponent(pageReturnTo(req, context.options.basePath))}${login === undefined ? '' : `&${login}`}`);
      return;
    }
    res.setHeader('WWW-Authenticate', wwwAuthenticate);
    next(new AuthError('unauthorized', 401, 'Authentication required: sign in first'));
  };
}
