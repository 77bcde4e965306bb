/**
 * The guard: `requireAuth()` lets a request through only with a valid session and, when asked,
 * only for a user whose claims meet the route's requirement.
 *
 * @packageDocumentation
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { contextOf, sessionOf } from '../runtime.js';
import { AuthError } from '../errors.js';
import type { UserClaims } from '../provider/provider.js';
import type { ResolvedOptions } from '../config/resolved-options.js';

/** What the guard answers with, derived once per `authCallback()` (not per request). */
export interface Guard {
  /** The login route as the browser sees it (`basePath` + `routes.login`), or `undefined` when there is none. */
  readonly loginPath: string | undefined;
  /** The `WWW-Authenticate` value of a 401 (RFC 9110 §11.6.1). */
  readonly challenge: string;
}

/** Builds the {@link Guard} of one `authCallback()`'s options. */
export function createGuard(options: ResolvedOptions): Guard {
  const { routes, basePath, baseURL } = options;
  const loginPath = routes.login === false ? undefined : basePath + routes.login;
  const login = loginPath === undefined ? '' : `, login_uri="${new URL(loginPath, baseURL.origin).href}"`;
  return Object.freeze({ loginPath, challenge: `OpenIDConnect realm="${baseURL.origin}"${login}` });
}

/** A value a claim may be required to have: a JSON primitive. */
export type ClaimValue = string | number | boolean | null;

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
   * A requirement on the signed-in user's claims (`req.user`: the ID token's, over UserInfo's
   * when `fetchUserInfo` is on). A user who does not meet it gets an {@link AuthError}
   * `forbidden` (403, RFC 9110 §15.5.4) passed to `next()`; its message names neither the claims
   * checked nor their values. A request without a valid session is answered as without this
   * option (login redirect or 401) before the requirement is looked at.
   *
   * - An object, `{ claim: expected, … }`: every listed claim must match. `expected` is a string,
   *   a finite number, a boolean or `null`, compared with `===` (so `"18"` does not match `18`);
   *   when the user's claim is an array (e.g. `groups`, `roles`), it matches when the array
   *   includes `expected`. `expected` may also be a non-empty array of such values: the user's
   *   claim must then be an array that includes every one of them. A missing claim never
   *   matches. The object is copied when `requireAuth()` is called; changing it later has no
   *   effect. `{}` requires nothing beyond a session.
   * - A function `(claims) => boolean`, called synchronously with `req.user` on each request:
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
   * requireAuth({ claims: (c) => typeof c.email === 'string' && c.email.endsWith('@example.com') })
   * ```
   */
  claims?:
    | Readonly<Record<string, ClaimValue | readonly ClaimValue[]>>
    | ((claims: UserClaims) => boolean);
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

function fail(key: string, problem: string): never {
  throw new TypeError(`requireAuth(): option "${key}" ${problem}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isClaimValue(value: unknown): value is ClaimValue {
  return typeof value === 'string' || typeof value === 'boolean' || value === null
    || (typeof value === 'number' && Number.isFinite(value));
}

/** One required claim, as {@link claimsMatcher} compiles it. */
interface ClaimRequirement {
  readonly name: string;
  /** A single value, or (`all`) every value of a list. */
  readonly expected: ClaimValue | readonly ClaimValue[];
  readonly all: boolean;
}

/** `true` when `actual` is `expected`, or an array that includes it. */
function matchesOne(actual: unknown, expected: ClaimValue): boolean {
  return actual === expected || (Array.isArray(actual) && actual.includes(expected));
}

/** `true` when `actual` is an array that includes every one of `expected`. */
function matchesAll(actual: unknown, expected: readonly ClaimValue[]): boolean {
  if (!Array.isArray(actual)) return false;
  for (const value of expected) {
    if (!actual.includes(value)) return false;
  }
  return true;
}

/**
 * Compiles the object form of {@link RequireAuthOptions.claims} into a matcher, checking every
 * entry and copying it, so the requirement is fixed at start-up and a request only compares.
 *
 * @param requirement - `{ claim: expected, … }`, as documented on {@link RequireAuthOptions.claims}
 * @returns a function that is `true` when `claims` meets every entry
 * @throws TypeError naming the bad entry, e.g. `requireAuth(): option "claims.groups" must be …`
 */
export function claimsMatcher(requirement: Readonly<Record<string, unknown>>): (claims: Readonly<Record<string, unknown>>) => boolean {
  const entries: ClaimRequirement[] = [];
  for (const name of Object.keys(requirement)) {
    const expected = requirement[name];
    if (Array.isArray(expected)) {
      if (expected.length === 0 || !expected.every(isClaimValue)) {
        fail(`claims.${name}`, 'must be a string, a finite number, a boolean, null, or a non-empty array of them');
      }
      entries.push({ name, expected: Object.freeze([...expected]), all: true });
    } else {
      if (!isClaimValue(expected)) {
        fail(`claims.${name}`, 'must be a string, a finite number, a boolean, null, or a non-empty array of them');
      }
      entries.push({ name, expected, all: false });
    }
  }
  Object.freeze(entries);
  return function matchClaims(claims: Readonly<Record<string, unknown>>): boolean {
    for (const { name, expected, all } of entries) {
      // An inherited property ("constructor", "__proto__") is a function or an object: never
      // `===` an expected primitive, never an array, so it cannot match.
      const actual = claims[name];
      if (all ? !matchesAll(actual, expected as readonly ClaimValue[]) : !matchesOne(actual, expected as ClaimValue)) return false;
    }
    return true;
  };
}

/** The outcome of one claims check: let through, refused, or an error for `next()`. */
type Verdict = true | false | AuthError;

/** Builds the per-request claims check of `requireAuth()`'s `claims` option, once. */
function claimsCheck(option: RequireAuthOptions['claims']): ((claims: UserClaims) => Verdict) | undefined {
  if (option === undefined) return undefined;
  if (typeof option === 'function') {
    if (option.constructor.name === 'AsyncFunction') {
      fail('claims', 'must return a boolean synchronously: an async function returns a Promise');
    }
    const predicate = option;
    return function checkPredicate(claims: UserClaims): Verdict {
      let result: unknown;
      try {
        result = predicate(claims);
      } catch (err) {
        return new AuthError('internal_error', 500, 'requireAuth(): the claims function threw an error (see cause)', { cause: err });
      }
      if (result === true) return true;
      if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
        // Observe a rejection so it is not an unhandledRejection (which ends the process).
        Promise.resolve(result).catch(() => undefined);
        return new AuthError('internal_error', 500, 'requireAuth(): the claims function returned a Promise; it must return a boolean synchronously');
      }
      return false;
    };
  }
  if (!isPlainObject(option)) fail('claims', 'must be an object or a function');
  return claimsMatcher(option);
}

/** An `acr` value that fits `acr_values` (space-separated) and a quoted challenge parameter. */
const ACR_VALUE = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

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

/** A route's step-up requirement (RFC 9470), compiled once by `requireAuth()`. */
interface StepUp {
  /** `true` when the session's login meets it. */
  isMetBy(claims: UserClaims, clockTolerance: number): boolean;
  /** The login route's query asking for it, or `undefined` when `loginParams` cannot carry it. */
  loginQuery(loginParams: readonly string[]): string | undefined;
  /** The `WWW-Authenticate` value of its 401 (RFC 9470 §3). */
  readonly challenge: string;
}

function stepUpOf(acr: readonly string[] | undefined, maxAge: number | undefined): StepUp {
  const acrValues = acr === undefined ? undefined : Object.freeze([...acr]);
  const query = new URLSearchParams();
  if (acrValues !== undefined) query.set('acr_values', acrValues.join(' '));
  if (maxAge !== undefined) query.set('max_age', String(maxAge));
  const login = query.toString();
  const challenge = 'Bearer error="insufficient_user_authentication", '
    + 'error_description="A stronger or more recent authentication is required"'
    + `${acrValues === undefined ? '' : `, acr_values="${acrValues.join(' ')}"`}${maxAge === undefined ? '' : `, max_age=${maxAge}`}`;
  return Object.freeze({
    isMetBy(claims: UserClaims, clockTolerance: number): boolean {
      if (acrValues !== undefined && !(typeof claims.acr === 'string' && acrValues.includes(claims.acr))) return false;
      const authTime = claims.auth_time;
      return maxAge === undefined || (typeof authTime === 'number' && Date.now() / 1000 - authTime <= maxAge + clockTolerance);
    },
    loginQuery(loginParams: readonly string[]): string | undefined {
      if (acrValues !== undefined && !loginParams.includes('acr_values')) return undefined;
      if (maxAge !== undefined && !loginParams.includes('max_age')) return undefined;
      return login;
    },
    challenge,
  });
}

/** The message of a 403: it names neither the claims checked nor their values. */
const FORBIDDEN_MESSAGE = 'Access denied: the signed-in account is not allowed to use this resource';

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
export function requireAuth(options?: RequireAuthOptions): RequestHandler {
  const { redirect = true, claims, acr, maxAge } = checkOptions(options);
  const check = claimsCheck(claims);
  const stepUp = acr === undefined && maxAge === undefined ? undefined : stepUpOf(typeof acr === 'string' ? [acr] : acr, maxAge);
  return function requireAuthMiddleware(req: Request, res: Response, next: NextFunction): void {
    const context = contextOf(req);
    if (context === undefined) {
      next(new AuthError('middleware_not_mounted', 500, 'requireAuth() needs authCallback() mounted before it: app.use(authCallback({ ... })) before the guarded routes'));
      return;
    }
    const session = sessionOf(req);
    const browser = redirect && context.guard.loginPath !== undefined && (req.method === 'GET' || req.method === 'HEAD') && req.accepts(['html', 'json']) === 'html';
    if (session !== undefined && stepUp !== undefined && !stepUp.isMetBy(session.claims, context.options.clockTolerance)) {
      const login = stepUp.loginQuery(context.options.loginParams);
      if (browser && login !== undefined) {
        res.redirect(302, `${context.guard.loginPath}?returnTo=${encodeURIComponent(req.originalUrl)}&${login}`);
        return;
      }
      res.set('WWW-Authenticate', stepUp.challenge);
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
      const verdict = check(session.claims);
      if (verdict === true) next();
      else next(verdict === false ? new AuthError('forbidden', 403, FORBIDDEN_MESSAGE) : verdict);
      return;
    }
    const { loginPath, challenge } = context.guard;
    if (browser) {
      const login = stepUp?.loginQuery(context.options.loginParams);
      res.redirect(302, `${loginPath}?returnTo=${encodeURIComponent(req.originalUrl)}${login === undefined ? '' : `&${login}`}`);
      return;
    }
    res.set('WWW-Authenticate', challenge);
    next(new AuthError('unauthorized', 401, 'Authentication required: sign in first'));
  };
}
