/**
 * Before a login starts: would the app's own express-session cookie survive it? A login leaves
 * the site for the provider and comes back by a cross-site redirect; express-session's cookie
 * must be set by the app (not refused as `Secure` over http) and sent back on that redirect (not
 * `SameSite=Strict`), or the callback cannot renew the app's session against fixation and the
 * app's session is lost. These are faults of the app's configuration, found on the request that
 * shows them, and answered as 500s that name the setting to change, rather than a login that
 * goes through and leaves the app without its session.
 *
 * @packageDocumentation
 */
import type { ResolvedOptions } from '../config/resolved-options.js';
import { AuthError } from '../errors.js';
import type { HttpRequest } from '../http.js';
import { expressSessionCookieOf } from '../transaction/express-session.js';
import { arrivedSecure, carriesMovedMark, forwardedHttps } from './login-origin.js';

/** `true` for a `SameSite=Strict` express-session cookie: `sameSite: true` or `'strict'` in any case. */
function isStrict(sameSite: unknown): boolean {
  return sameSite === true || (typeof sameSite === 'string' && sameSite.toLowerCase() === 'strict');
}

/**
 * Checks the app's express-session cookie on a request that starts a login. Only the
 * express-session the app mounts itself (`app.use(session(…))`) is checked: one given as the
 * `session` option serves this package's store alone, and its cookie carries nothing a login needs.
 *
 * - `sameSite: 'strict'` (or `true`) → 500 `session_cookie_strict`: browsers do not send a
 *   Strict cookie on the provider's redirect back to the callback, a cross-site navigation
 *   (the `SameSite` attribute, RFC 6265bis).
 * - `secure: true` on a request that is not secure (Express's `req.secure`, which honours
 *   `trust proxy`; in Connect, a TLS socket), where express-session refuses to set its cookie:
 *   - when a proxy ended TLS (`X-Forwarded-Proto: https`, or the browser came back with the
 *     `Secure` mark of a redirect to https) → 500 `trust_proxy_missing`, naming
 *     `app.set('trust proxy', 1)`;
 *   - when `baseURL` is `http:` and nothing says https → 500 `secure_cookie_over_http`, naming
 *     `secure: 'auto'` or an https `baseURL`;
 *   - otherwise (an https `baseURL` and a plain http request from a client that is not a page
 *     load, which the login route does not redirect) nothing is said.
 *   A request that carried express-session's cookie for its session is not refused: its cookie
 *   evidently reaches the app (express-session's own `proxy: true` trusts `X-Forwarded-Proto`).
 *
 * Why 500, not 400: the browser did nothing wrong, and no retry can succeed until the app's
 * configuration changes, as with `session_not_mounted` and `mix_up_unprotected`. The messages
 * name only settings, never a value from the request.
 *
 * @throws AuthError `session_cookie_strict`, `trust_proxy_missing`, `secure_cookie_over_http` (500)
 */
export function checkExpressSessionCookie(options: ResolvedOptions, req: HttpRequest): void {
  if (options.session !== undefined) return;
  const cookie = expressSessionCookieOf(req);
  if (cookie === undefined) return;
  if (isStrict(cookie.sameSite)) {
    throw new AuthError('session_cookie_strict', 500,
      'express-session\'s cookie is SameSite=Strict (cookie.sameSite \'strict\' or true): browsers do not send it on the provider\'s redirect back to the callback, '
      + 'so the login cannot renew the app\'s session there (session fixation) and the app loses it. Set express-session\'s cookie.sameSite to \'lax\'');
  }
  if (cookie.secure !== true || arrivedSecure(req) || cookie.carried) return;
  if (forwardedHttps(req) || carriesMovedMark(options, req)) {
    throw new AuthError('trust_proxy_missing', 500,
      'This request came through a proxy that ended https (X-Forwarded-Proto: https, or a Secure cookie came back), but the app sees plain http because it does not trust that proxy, '
      + 'so express-session (cookie.secure true) never sets its cookie and the app\'s session would not survive the login. '
      + 'With Express, set app.set(\'trust proxy\', 1) (one proxy in front; or its address), before the routes; with Connect, give express-session proxy: true. '
      + 'The proxy must send X-Forwarded-Proto');
  }
  if (options.baseURL.protocol === 'http:') {
    throw new AuthError('secure_cookie_over_http', 500,
      `This app is served over plain http (baseURL ${options.baseURL.origin}), and express-session's cookie is secure: true, which browsers and express-session only keep over https, `
      + 'so the app\'s session would not survive the login. Set express-session\'s cookie.secure to \'auto\' (Secure over https only), or serve the app over https with an https: baseURL');
  }
}
