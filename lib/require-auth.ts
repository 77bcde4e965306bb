/**
 * The guard: `requireAuth()` lets a request through only with a valid session.
 *
 * @packageDocumentation
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { contextOf, sessionOf } from './context.js';
import { AuthError } from './errors.js';
import type { ResolvedOptions } from './options.js';

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

/**
 * Returns middleware that calls `next()` when the request carries a valid session (`req.user`
 * is set), and otherwise:
 * - a `GET`/`HEAD` request that prefers HTML (`Accept: text/html`, or no `Accept`) → 302 to the
 *   login route with `returnTo` = the current path, so the user comes back here after login;
 * - any other request (e.g. `Accept: application/json`, or a `POST`) → `next()` with an
 *   {@link AuthError} `unauthorized` (401), after setting `WWW-Authenticate` (RFC 9110 §11.6.1)
 *   to a challenge that names the login URL.
 *
 * Errors (passed to `next()`): `unauthorized` (401); `middleware_not_mounted` (500) when
 * `authCallback()` is not mounted before this guard.
 *
 * @example
 * ```ts
 * app.get('/profile', requireAuth(), (req, res) => res.json(req.user));
 * ```
 */
export function requireAuth(): RequestHandler {
  return function requireAuthMiddleware(req: Request, res: Response, next: NextFunction): void {
    const context = contextOf(req);
    if (context === undefined) {
      next(new AuthError('middleware_not_mounted', 500, 'requireAuth() needs authCallback() mounted before it: app.use(authCallback({ ... })) before the guarded routes'));
      return;
    }
    if (sessionOf(req) !== undefined) {
      next();
      return;
    }
    const { loginPath, challenge } = context.guard;
    const browser = (req.method === 'GET' || req.method === 'HEAD') && req.accepts(['html', 'json']) === 'html';
    if (loginPath !== undefined && browser) {
      res.redirect(302, `${loginPath}?returnTo=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    res.set('WWW-Authenticate', challenge);
    next(new AuthError('unauthorized', 401, 'Authentication required: sign in first'));
  };
}
