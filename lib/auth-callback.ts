/**
 * `authCallback()`: the middleware that serves the login, callback and logout routes and sets
 * `req.user` on every request that carries a valid session.
 *
 * @packageDocumentation
 */
import type { Request, Response } from 'express';
import { requestPath, type HttpRequest, type HttpResponse, type Middleware } from './http.js';
import { handleCallback } from './callback/callback-route.js';
import type { AuthCallbackConfig } from './config/options.js';
import { resolveOptions } from './config/resolve-options.js';
import { asAuthError, AuthError } from './errors.js';
import { challengeOf } from './guard/challenge.js';
import { RequestAuth } from './guard/request-auth.js';
import { handleLogin, startSilentLogin } from './login/login-route.js';
import { handleBackchannelLogout } from './logout/backchannel-logout.js';
import { handleLogout } from './logout/logout-route.js';
import { ProviderRegistry } from './provider/provider-registry.js';
import { attach, contextOf, type Context } from './runtime.js';
import { renewalOf, resolveSession } from './session/renewal.js';
import { Sealer } from './session/seal.js';
import { isReference, type AuthSession, type SessionReference } from './session/session.js';
import { Sessions } from './session/sessions.js';
import { RefreshFlights } from './session/token-refresh.js';
import { runExpressSession } from './transaction/express-session.js';
import { TransactionCookie } from './transaction/transaction-cookie.js';
import { LogoutStateCookie } from './logout/logout-state.js';
import { returnFromLogout } from './logout/end-session.js';
import { SilentLogin } from './login/silent-login.js';

type RouteHandler = (context: Context, req: HttpRequest, res: HttpResponse) => Promise<void>;

/**
 * Creates the OpenID Connect middleware. Mount it after express-session and before the routes
 * it protects:
 *
 * ```ts
 * app.use(session({ secret, resave: false, saveUninitialized: false }));
 * app.use(authCallback({ issuer, clientId, clientSecret, baseURL, secret }));
 * app.get('/profile', requireAuth(), (req, res) => res.json(req.user));
 * ```
 *
 * or give it express-session, which it then runs only where it is needed (see
 * {@link AuthCallbackConfig.session}):
 *
 * ```ts
 * app.use(authCallback({ issuer, clientId, clientSecret, baseURL, secret,
 *   session: session({ secret, resave: false, saveUninitialized: false }) }));
 * ```
 *
 * It serves `GET`/`POST {routes.login}`, `GET`/`POST {routes.callback}`, `GET`/`POST {routes.logout}` and, when set, `POST {routes.backchannelLogout}`
 * (paths matched exactly on the raw URL, relative to where it is mounted: Express 4 and 5,
 * Connect, or Node's `http`), and on every request sets `req.user` to the user's claims when the
 * session cookie is valid (see `identityClaimFilter`, `afterCallback`), `undefined` otherwise,
 * and `req.oidc` to the request's {@link RequestAuth}. At `baseURL` it checks the provider's
 * return from a logout (its `state`); with `attemptSilentLogin`, a page load without a session
 * may start a `prompt=none` login.
 *
 * Before the app's own routes see a session, it is renewed when due: tokens whose access token
 * expires within `refreshMargin` seconds are refreshed (`autoRefresh`; a refused refresh ends the
 * session, a provider fault passes `refresh_failed` (503) to `next()`), the idle lifetime is
 * extended at most once per `sessionTouchInterval`, and a cookie sealed with an older secret is
 * resealed with the first.
 * The provider is discovered on the first request that needs it, not at start-up.
 *
 * @param config - see {@link AuthCallbackConfig}; checked here, once
 * @returns the middleware, named `authCallbackMiddleware`
 * @throws ConfigurationError (a `TypeError`) naming the bad option (missing `issuer`, `clientId`,
 *   `baseURL` or `secret`, a secret under 32 characters, a `baseURL` that is not an absolute
 *   http(s) URL, an `http:` issuer off loopback, an unknown option, …)
 *
 * Errors passed to `next()` are {@link AuthError}s: see each route's documentation; and
 * `middleware_mounted_twice` (500) when another `authCallback()` already ran on the request.
 * A login asked for at another host than `baseURL`'s (or over http for an https `baseURL`) is
 * first sent to `baseURL`'s origin; one that the app's own express-session cookie could
 * certainly not survive is refused with a 500 naming the setting (`session_cookie_strict`,
 * `trust_proxy_missing`, `secure_cookie_over_http`). docs/troubleshooting.md maps every code and
 * symptom to its cause and fix.
 */
export function authCallback(config: AuthCallbackConfig): Middleware {
  const options = resolveOptions(config);
  const context: Context = Object.freeze({
    options,
    providers: new ProviderRegistry(options),
    sessions: new Sessions(options),
    refreshes: new RefreshFlights(),
    challenge: challengeOf(options),
    transactionCookie: new TransactionCookie(options, new Sealer(options.secrets, 'transaction')),
    logoutState: new LogoutStateCookie(options, new Sealer(options.secrets, 'logout')),
    silentLogin: new SilentLogin(options),
  });
  /**
   * Whether a cookie session must be checked on each request: in the store (back-channel logout
   * marks), or against the request's issuer (`tenants`).
   */
  const checksEach = options.routes.backchannelLogout !== false || context.providers.perRequest;
  /** The request's session for the app (renewed when due) or for a route (as it is). */
  function prepare(req: HttpRequest, res: HttpResponse, opened: AuthSession | SessionReference | undefined, renew: boolean): Promise<AuthSession | undefined> {
    return opened === undefined ? Promise.resolve(undefined) : resolveSession(context, req, res, opened, renew);
  }
  const routes = new Map<string, RouteHandler>();
  if (options.routes.login !== false) {
    routes.set(`GET ${options.routes.login}`, handleLogin);
    // OpenID Connect Core 1.0 §4: a third party may initiate the login by an auto-submitted form.
    routes.set(`POST ${options.routes.login}`, handleLogin);
  }
  routes.set(`GET ${options.routes.callback}`, handleCallback);
  routes.set(`POST ${options.routes.callback}`, handleCallback);
  if (options.routes.logout !== false) {
    routes.set(`GET ${options.routes.logout}`, handleLogout);
    routes.set(`POST ${options.routes.logout}`, handleLogout);
  }
  if (options.routes.backchannelLogout !== false) routes.set(`POST ${options.routes.backchannelLogout}`, handleBackchannelLogout);

  /**
   * With `tenants`, the callback also answers under `routes.callback` + `/`: the `redirect_uri`s
   * issuers have of their own (`tenants.client()` → `redirectUri`); the callback checks each
   * response arrived at its login's.
   */
  const ownCallbacks = context.providers.perRequest ? `${options.routes.callback}/` : undefined;
  function ownCallbackRoute(method: string | undefined, path: string): RouteHandler | undefined {
    return ownCallbacks !== undefined && (method === 'GET' || method === 'POST') && path.startsWith(ownCallbacks) ? handleCallback : undefined;
  }

  /** Whether requests need the express-session store: server-side sessions, or back-channel logout marks. */
  const usesStore = options.sessionStorage === 'store' || options.routes.backchannelLogout !== false;
  const sessionMiddleware = options.session;
  const expressSession = sessionMiddleware === undefined ? undefined
    : (request: HttpRequest, response: HttpResponse, done: (err?: unknown) => void): void => {
      sessionMiddleware(request as Request, response as Response, done);
    };

  return function authCallbackMiddleware(req: HttpRequest, res: HttpResponse, next: (err?: unknown) => void): void {
    if (contextOf(req) !== undefined) {
      next(new AuthError('middleware_mounted_twice', 500, 'authCallback() ran twice on this request: mount it once, before the routes it serves and guards (look for a second app.use(authCallback(...)), or one on a router as well as on the app)'));
      return;
    }
    // The provider's redirect back after logout, at baseURL: its state, checked.
    const path = requestPath(req);
    if (req.method === 'GET' && path === '/' && context.logoutState.mayBePresent(req) && returnFromLogout(context, req, res)) return;
    const opened = context.sessions.read(req);
    (req as Request).oidc = new RequestAuth(context, req, res);
    const handler = routes.get(`${req.method} ${path}`) ?? ownCallbackRoute(req.method, path);
    if (handler === undefined && opened === undefined && options.attemptSilentLogin && context.silentLogin.isDue(req)) {
      startSilentLogin(context, req, res).then((started) => {
        if (started) return;
        attach(req, context, undefined);
        next();
      }, next);
      return;
    }
    // Fast path: no session, or a cookie session with nothing due, and no store to ask.
    if (handler === undefined && (opened === undefined || (!isReference(opened) && !checksEach && renewalOf(options, opened, Date.now() / 1000) === undefined))) {
      attach(req, context, opened);
      next();
      return;
    }
    // Express 4 does not catch rejected promises: hand every failure to next() here, as an AuthError.
    const fail = (err: unknown): void => {
      const error = asAuthError(err);
      // The store is failing: express-session must not try it again (saving or touching the
      // session) while the error is answered, or the answer would wait for the store.
      if (error.code === 'store_unavailable') (req as { session?: unknown }).session = undefined;
      next(error);
    };
    const run = (): void => {
      prepare(req, res, opened, handler === undefined).then(async (session) => {
        attach(req, context, session);
        if (handler === undefined) next();
        else await handler(context, req, res);
      }).catch(fail);
    };
    // express-session returns at once when it already ran on this request. Its store's failure,
    // or no answer within storeTimeout, is a 503 like every other store fault; its save at the
    // end of the response is held to storeTimeout too.
    // (A login starting without a session needs no store: its pending login is a cookie.)
    if (expressSession !== undefined && usesStore && (opened !== undefined || handler !== handleLogin)) {
      runExpressSession(expressSession, req, res, options.storeTimeout).then(run, fail);
    } else {
      run();
    }
  };
}
