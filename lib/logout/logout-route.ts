/**
 * The logout route: ends the local session, then the provider's (OpenID Connect RP-Initiated
 * Logout 1.0).
 *
 * @packageDocumentation
 */
import { originalUrl, type HttpRequest, type HttpResponse } from '../http.js';
import { AuthError } from '../errors.js';
import type { Context } from '../runtime.js';
import { requestedReturnTo } from '../login/return-to.js';
import { endSession } from './end-session.js';

/**
 * `true` when a POST comes from a page of `origin` (OWASP CSRF Prevention Cheat Sheet, "Verifying
 * origin with standard headers"): its `Origin` header, or failing that its `Referer`'s origin, is
 * `origin`; or, without either, `Sec-Fetch-Site` says `same-origin`. A request that shows none of
 * them is refused.
 */
function isSameOrigin(req: HttpRequest, origin: string): boolean {
  const header = req.headers.origin;
  if (header !== undefined) return header === origin;
  const referer = req.headers.referer;
  if (referer !== undefined) {
    try {
      return new URL(referer).origin === origin;
    } catch {
      return false;
    }
  }
  return req.headers['sec-fetch-site'] === 'same-origin';
}

/**
 * `GET {routes.logout}[?returnTo=/path]`: ends the local session (every chunk of its cookie, its
 * store record with `sessionStorage: 'store'`, so that a copied cookie no longer works, the
 * express-session), then the provider's unless `idpLogout` is off: see `endSession()`.
 * `returnTo` is held to the same-origin rule of `safeReturnTo()` (RFC 9700 §4.11); it travels in
 * the sealed pending-logout cookie, so `baseURL` is the one `post_logout_redirect_uri` to
 * register at the provider.
 *
 * `POST {routes.logout}` does the same for a form on the app's pages (a link cannot log the user
 * out from another site): it must come from `baseURL`'s origin, by its `Origin` (or `Referer`)
 * header, else 403 `forbidden` (login-CSRF's twin, forced logout; OWASP CSRF Prevention).
 *
 * Errors (passed to `next()`): `forbidden` (403) for a cross-site POST; `store_unavailable`
 * (503); the express-session store's, when it fails to destroy the session.
 */
export async function handleLogout(context: Context, req: HttpRequest, res: HttpResponse): Promise<void> {
  if (req.method === 'POST' && !isSameOrigin(req, context.options.baseURL.origin)) {
    throw new AuthError('forbidden', 403, 'A logout must be posted from this app\'s own pages');
  }
  const { idpLogout, logoutParams } = context.options;
  await endSession(context, req, res, { returnTo: requestedReturnTo(originalUrl(req)), idpLogout, logoutParams });
}
