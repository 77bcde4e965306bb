/**
 * Before a login starts: would the app's own express-session cookie survive it? A login leaves
 * the app for the provider and comes back by a redirect from the provider's pages;
 * express-session's cookie must be set by the app (not refused as `Secure` over http) and sent
 * back on that redirect (not `SameSite=Strict` with a provider on another site), or the callback
 * cannot renew the app's session against fixation and the app's session is lost. Where that is
 * certain from the request and the configuration, it is a fault of the app's configuration,
 * answered as a 500 that names the setting to change, rather than a login that goes through and
 * leaves the app without its session; where it is not, a debug line names the setting.
 *
 * @packageDocumentation
 */
import type { ResolvedOptions } from '../config/resolved-options.js';
import { debugOf } from '../debug.js';
import { AuthError } from '../errors.js';
import type { HttpRequest } from '../http.js';
import { expressSessionCookieOf } from '../transaction/express-session.js';
import type { Provider } from '../provider/provider.js';
import { arrivedSecure, carriesMovedMark, forwardedHttps } from './login-origin.js';
import { mayBeSameSite } from './site.js';

const debug = debugOf('login');

/** `true` for a `SameSite=Strict` express-session cookie: `sameSite: true` or `'strict'` in any case. */
function isStrict(sameSite: unknown): boolean {
  return sameSite === true || (typeof sameSite === 'string' && sameSite.toLowerCase() === 'strict');
}

/** `URL.hostname` of `url`, `undefined` when it is not an absolute URL. */
function hostnameOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Checks the app's express-session cookie on a request that starts a login at `provider`. Only
 * the express-session the app mounts itself (`app.use(session(…))`) is checked: one given as the
 * `session` option serves this package's store alone, and its cookie carries nothing a login
 * needs. A login is refused only where the cookie is certainly lost; where that depends on what
 * cannot be seen from here, a debug line (`DEBUG=express-oidc-callback:login`) names the setting.
 *
 * - `sameSite: 'strict'` (or `true`): browsers send a Strict cookie on the provider's redirect
 *   back to the callback only when the provider is the same site as the callback (the
 *   `SameSite` attribute, RFC 6265bis §5.2: the same registrable domain, such as
 *   `sso.example.com` and `app.example.com`).
 *   - The provider's issuer host and the callback's (`redirect_uri`, at `baseURL`) certainly
 *     different sites → 500 `session_cookie_strict`. Without a public-suffix list, "certainly"
 *     is: IP addresses that differ, an IP address and a name, or names whose last two labels
 *     differ (`sso.example.com` and `app.example.org`; `localhost` and `127.0.0.1`).
 *   - Otherwise a debug line: hosts that share a parent domain below the top-level one can be
 *     one site, or not, when that parent is a public suffix itself (`a.co.uk` and `b.co.uk`,
 *     `a.github.io` and `b.github.io`), which only a public-suffix list tells. The issuer's host
 *     also stands for the pages the provider redirects back from: a provider whose sign-in pages
 *     are on another site than its issuer is not seen. Why not a 500 there too: a same-site
 *     provider with a Strict cookie is a valid set-up, and a false 500 would block every login
 *     of it; a missed one leaves the app without its session after the login, as before.
 * - `secure: true` (or `'auto'` resolved to `true`) on a request that is not secure (Express's
 *   `req.secure`, which honours `trust proxy`; in Connect, a TLS socket), where express-session
 *   may refuse to set its cookie:
 *   - `X-Forwarded-Proto: https`: a debug line naming `trust proxy`. express-session's own
 *     `proxy: true` (its documented set-up behind a TLS proxy, and the one for Connect) reads
 *     that header and sets its cookie; that option cannot be seen from here.
 *   - an https `baseURL` and the browser came back with the `Secure` mark of a redirect to https
 *     (sent by browsers only over https) with no `X-Forwarded-Proto` → 500
 *     `trust_proxy_missing`: a proxy ended TLS and said nothing, so no setting of Express or
 *     express-session can see https, and express-session never sets its cookie;
 *   - an `http:` `baseURL` → 500 `secure_cookie_over_http`, naming `secure: 'auto'` or an https
 *     `baseURL`;
 *   - otherwise (an https `baseURL` and a plain http request from a client that is not a page
 *     load, which the login route does not redirect) nothing is said.
 *   A request that carried express-session's cookie for its session is not refused: its cookie
 *   evidently reaches the app.
 *
 * Why 500, not 400: the browser did nothing wrong, and no retry can succeed until the app's
 * configuration changes, as with `session_not_mounted` and `mix_up_unprotected`. The messages
 * name only settings, never a value from the request.
 *
 * @param provider - the issuer the login goes to, and its `redirect_uri` (the callback)
 * @throws AuthError `session_cookie_strict`, `trust_proxy_missing`, `secure_cookie_over_http` (500)
 */
export function checkExpressSessionCookie(options: ResolvedOptions, req: HttpRequest, provider: Pick<Provider, 'issuer' | 'redirectUri'>): void {
  if (options.session !== undefined) return;
  const cookie = expressSessionCookieOf(req);
  if (cookie === undefined) return;
  if (isStrict(cookie.sameSite)) {
    const issuerHost = hostnameOf(provider.issuer);
    const callbackHost = hostnameOf(provider.redirectUri) ?? options.baseURL.hostname;
    if (issuerHost !== undefined && !mayBeSameSite(issuerHost, callbackHost)) {
      throw new AuthError('session_cookie_strict', 500,
        'express-session\'s cookie is SameSite=Strict (cookie.sameSite \'strict\' or true) and the provider is another site than the app: browsers do not send it on the provider\'s redirect back to the callback, '
        + 'so the login cannot renew the app\'s session there (session fixation) and the app loses it. Set express-session\'s cookie.sameSite to \'lax\'');
    }
    debug('express-session\'s cookie is SameSite=Strict: it reaches the callback only if the provider\'s pages are the same site as the app (same registrable domain); otherwise set its cookie.sameSite to \'lax\'');
  }
  if (cookie.secure !== true || arrivedSecure(req) || cookie.carried) return;
  if (forwardedHttps(req)) {
    debug('express-session\'s cookie is secure and the login came over https by X-Forwarded-Proto, which the app does not trust: express-session sets its cookie only with its own proxy: true; '
      + 'otherwise, with Express, set app.set(\'trust proxy\', 1) (or the proxy\'s address)');
    return;
  }
  if (options.baseURL.protocol === 'https:') {
    if (!carriesMovedMark(options, req)) return;
    throw new AuthError('trust_proxy_missing', 500,
      'This request came through a proxy that ended https (a Secure cookie came back), but the app sees plain http: the proxy sends no X-Forwarded-Proto, '
      + 'so express-session (cookie.secure true) never sets its cookie and the app\'s session would not survive the login. '
      + 'Make the proxy send X-Forwarded-Proto, and with Express set app.set(\'trust proxy\', 1) (one proxy in front; or its address) before the routes; with Connect, give express-session proxy: true');
  }
  throw new AuthError('secure_cookie_over_http', 500,
    `This app is served over plain http (baseURL ${options.baseURL.origin}), and express-session's cookie is secure: true, which browsers and express-session only keep over https, `
    + 'so the app\'s session would not survive the login. Set express-session\'s cookie.secure to \'auto\' (Secure over https only), or serve the app over https with an https: baseURL');
}
