/**
 * What the guard answers a request without a session with: the login route to send a browser
 * to, and the `WWW-Authenticate` challenge of a 401. Derived once per `authCallback()`.
 *
 * @packageDocumentation
 */
import type { ResolvedOptions } from '../config/resolved-options.js';

/** What the guard answers with, derived once per `authCallback()` (not per request). */
export interface Challenge {
  /** The login route as the browser sees it (`basePath` + `routes.login`), or `undefined` when there is none. */
  readonly loginPath: string | undefined;
  /** The `WWW-Authenticate` value of a 401 (RFC 9110 §11.6.1). */
  readonly wwwAuthenticate: string;
}

/** Builds the {@link Challenge} of one `authCallback()`'s options. */
export function challengeOf(options: ResolvedOptions): Challenge {
  const { routes, basePath, baseURL } = options;
  const loginPath = routes.login === false ? undefined : basePath + routes.login;
  const login = loginPath === undefined ? '' : `, login_uri="${new URL(loginPath, baseURL.origin).href}"`;
  return Object.freeze({ loginPath, wwwAuthenticate: `OpenIDConnect realm="${baseURL.origin}"${login}` });
}

