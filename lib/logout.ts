/**
 * The logout route: ends the local session, then the provider's (OpenID Connect RP-Initiated
 * Logout 1.0).
 *
 * @packageDocumentation
 */
import type { Request, Response } from 'express';
import { sessionOf, type Context } from './context.js';
import { destroySession } from './req-session.js';

/**
 * `GET {routes.logout}`: clears the session cookie (every chunk) and destroys the
 * express-session, then answers 302 to the provider's `end_session_endpoint` with
 * `id_token_hint` (when there was a session) and `post_logout_redirect_uri` = `baseURL`; to
 * `baseURL` itself when the provider has no `end_session_endpoint` or cannot be reached.
 *
 * Errors (passed to `next()`): the express-session store's, when it fails to destroy the session.
 */
export async function handleLogout(context: Context, req: Request, res: Response): Promise<void> {
  const session = sessionOf(req);
  context.cookie.clear(req, res);
  await destroySession(req);
  const { options } = context;
  const endSessionUrl = await context.issuer.endSessionUrl(session?.tokens.idToken, options.postLogoutRedirectUri);
  res.set('Cache-Control', 'no-store');
  res.redirect(302, endSessionUrl?.href ?? options.postLogoutRedirectUri);
}
