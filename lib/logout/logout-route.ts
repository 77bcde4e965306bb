/**
 * The logout route: ends the local session, then the provider's (OpenID Connect RP-Initiated
 * Logout 1.0).
 *
 * @packageDocumentation
 */
import { originalUrl, redirect, type HttpRequest, type HttpResponse } from '../http.js';
import { AuthError } from '../errors.js';
import { authSessionOf, type Context } from '../runtime.js';
import { destroyExpressSession } from '../transaction/express-session.js';
import { requestedReturnTo } from '../login/return-to.js';

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
 * `GET {routes.logout}[?returnTo=/path]`: clears the session cookie (every chunk), deletes the
 * session's store record (`sessionStorage: 'store'`: a copied cookie no longer works), destroys
 * the express-session, then answers 302 to the provider's `end_session_endpoint` with
 * `id_token_hint` (when there was a session) and `post_logout_redirect_uri`; straight to that
 * URI when the provider has no `end_session_endpoint` or cannot be reached. The provider is the
 * session's issuer (with `tenants`; without a session, the request's).
 *
 * `post_logout_redirect_uri` is `baseURL` as configured, or, with a `returnTo` (held to the
 * same-origin rule of `safeReturnTo()`, RFC 9700 §4.11), `baseURL`'s origin and path joined
 * with it: the provider accepts only the URIs registered with it (OpenID Connect RP-Initiated
 * Logout 1.0 §3), so register each one used.
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
  const session = authSessionOf(req);
  await context.sessions.end(req, res, session); // with sessionStorage 'store', a copied cookie dies here too
  await destroyExpressSession(req, context.options.storeTimeout);
  const { options } = context;
  const returnTo = requestedReturnTo(originalUrl(req));
  const postLogoutRedirectUri = returnTo === '/'
    ? options.postLogoutRedirectUri
    : new URL(options.basePath + returnTo, options.baseURL.origin).href;
  const provider = await context.providers.forIssuer(session?.claims.iss ?? await context.providers.issuerOf(req));
  const endSessionUrl = await provider?.endSessionUrl(session && { idToken: session.tokens.idToken, claims: session.claims }, postLogoutRedirectUri);
  res.setHeader('Cache-Control', 'no-store');
  redirect(res, endSessionUrl?.href ?? postLogoutRedirectUri);
}
