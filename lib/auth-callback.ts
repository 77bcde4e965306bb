/**
 * `authCallback()`: the middleware that serves the login, callback and logout routes and sets
 * `req.user` on every request that carries a valid session.
 *
 * @packageDocumentation
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { readSession } from './auth-session.js';
import { RequestAuth } from './request-auth.js';
import { renewalOf, renewSession } from './session-renewal.js';
import { RefreshFlights } from './token-refresh.js';
import { handleCallback } from './callback.js';
import { attach, type Context } from './context.js';
import { Issuer } from './issuer.js';
import { handleLogin } from './login.js';
import { handleLogout } from './logout.js';
import { resolveOptions, type AuthCallbackConfig } from './options.js';
import { createGuard } from './require-auth.js';
import { Sealer } from './seal.js';
import { SessionCookie } from './session-cookie.js';

type RouteHandler = (context: Context, req: Request, res: Response) => Promise<void>;

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
 * It serves `GET {routes.login}`, `GET`/`POST {routes.callback}` and `GET {routes.logout}`
 * (paths matched exactly, relative to where it is mounted), and on every request sets
 * `req.user` to the ID token's claims when the session cookie is valid, `undefined` otherwise,
 * and `req.oidc` to the request's {@link RequestAuth}.
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
 * @throws TypeError naming the bad option (missing `issuer`, `clientId`, `baseURL` or `secret`,
 *   a secret under 32 characters, a `baseURL` that is not an absolute http(s) URL, an `http:`
 *   issuer off loopback, …)
 *
 * Errors passed to `next()` are {@link AuthError}s: see each route's documentation.
 */
export function authCallback(config: AuthCallbackConfig): RequestHandler {
  const options = resolveOptions(config);
  const context: Context = Object.freeze({
    options,
    issuer: new Issuer(options),
    sealer: new Sealer(options.secrets),
    cookie: new SessionCookie(options.cookie),
    guard: createGuard(options),
    refreshes: new RefreshFlights(),
  });
  const routes = new Map<string, RouteHandler>();
  if (options.routes.login !== false) routes.set(`GET ${options.routes.login}`, handleLogin);
  routes.set(`GET ${options.routes.callback}`, handleCallback);
  routes.set(`POST ${options.routes.callback}`, handleCallback);
  if (options.routes.logout !== false) routes.set(`GET ${options.routes.logout}`, handleLogout);

  return function authCallbackMiddleware(req: Request, res: Response, next: NextFunction): void {
    const session = readSession(context, req);
    req.oidc = new RequestAuth(context, req, res);
    const handler = routes.get(`${req.method} ${req.path}`);
    if (handler !== undefined) {
      attach(req, context, session);
      // Express 4 does not catch rejected promises: hand every failure to next() here.
      handler(context, req, res).catch(next);
      return;
    }
    const renewal = session === undefined ? undefined : renewalOf(context, session, Date.now() / 1000);
    if (renewal === undefined) {
      attach(req, context, session);
      next();
      return;
    }
    attach(req, context, session); // a failed refresh keeps the session for the error handler
    renewSession(context, req, res, session!, renewal).then((renewed) => {
      attach(req, context, renewed);
      next();
    }, next);
  };
}
