/**
 * The logout route: ends the local session, then the provider's (OpenID Connect RP-Initiated
 * Logout 1.0).
 *
 * @packageDocumentation
 */
import type { Request, Response } from 'express';
import { endSession } from './auth-session.js';
import { sessionOf, type Context } from './context.js';
import { destroySession } from './req-session.js';
import { requestedReturnTo } from './return-to.js';

/**
 * `GET {routes.logout}[?returnTo=/path]`: clears the session cookie (every chunk), deletes the
 * session's store record (`sessionStorage: 'store'`: a copied cookie no longer works), destroys
 * the express-session, then answers 302 to the provider's `end_session_endpoint` with
 * `id_token_hint` (when there was a session) and `post_logout_redirect_uri`; straight to that
 * URI when the provider has no `end_session_endpoint` or cannot be reached.
 *
 * `post_logout_redirect_uri` is `baseURL` as configured, or, with a `returnTo` (held to the
 * same-origin rule of `safeReturnTo()`, RFC 9700 §4.11), `baseURL`'s origin and path joined
 * with it: the provider accepts only the URIs registered with it (OpenID Connect RP-Initiated
 * Logout 1.0 §3), so register each one used.
 *
 * Errors (passed to `next()`): the express-session store's, when it fails to destroy the session.
 */
export async function handleLogout(context: Context, req: Request, res: Response): Promise<void> {
  const session = sessionOf(req);
  await endSession(context, req, res, session); // with sessionStorage 'store', a copied cookie dies here too
  await destroySession(req);
  const { options } = context;
  const returnTo = requestedReturnTo(req.originalUrl);
  const postLogoutRedirectUri = returnTo === '/'
    ? options.postLogoutRedirectUri
    : new URL(options.basePath + returnTo, options.baseURL.origin).href;
  const endSessionUrl = await context.issuer.endSessionUrl(session?.tokens.idToken, postLogoutRedirectUri);
  res.set('Cache-Control', 'no-store');
  res.redirect(302, endSessionUrl?.href ?? postLogoutRedirectUri);
}
