/**
 * Ending a session: the local one always, the provider's too unless told not to (OpenID Connect
 * RP-Initiated Logout 1.0). What `GET`/`POST {routes.logout}` and `req.oidc.logout()` share.
 *
 * @packageDocumentation
 */
import { redirect, type HttpRequest, type HttpResponse } from '../http.js';
import { authSessionOf, type Context } from '../runtime.js';
import { destroyExpressSession } from '../transaction/express-session.js';
import { LogoutStateCookie } from './logout-state.js';
import { debugOf } from '../debug.js';
import { emit, sidOf } from '../events.js';

const debug = debugOf('logout');

/** How one logout goes. */
export interface LogoutRequest {
  /** Same-origin path (relative to `baseURL`'s path) to land on afterwards. */
  returnTo: string;
  /** End the provider's session too (option `idpLogout`). */
  idpLogout: boolean;
  /** Extra parameters for the provider (option `logoutParams`). */
  logoutParams: Readonly<Record<string, string>>;
}

/**
 * Ends the request's session (cookie, store record, express-session), then answers 302 to the
 * provider's `end_session_endpoint` with `id_token_hint`, `post_logout_redirect_uri` (`baseURL`)
 * and `state` (see `logout-state.ts`), or straight to `returnTo` when `idpLogout` is off or the
 * provider has no such endpoint or cannot be reached. The provider is the session's issuer (with
 * `tenants`; without a session, the request's). A session ended emits `logout`.
 *
 * @throws AuthError `store_unavailable` (503); the express-session store's error when it fails to destroy the session
 */
export async function endSession(context: Context, req: HttpRequest, res: HttpResponse, logout: LogoutRequest): Promise<void> {
  const session = authSessionOf(req);
  await context.sessions.end(req, res, session); // with sessionStorage 'store', a copied cookie dies here too
  await destroyExpressSession(req, context.options.storeTimeout);
  const { options } = context;
  // A user who signs out is not signed straight back in by attemptSilentLogin.
  if (options.attemptSilentLogin) context.silentLogin.markTried(res);
  const local = `${options.basePath}${logout.returnTo}`;
  let endSessionUrl: URL | undefined;
  const state = LogoutStateCookie.newState();
  if (logout.idpLogout) {
    const provider = await context.providers.forIssuer(session?.claims.iss ?? await context.providers.issuerOf(req));
    endSessionUrl = await provider?.endSessionUrl(session && { idToken: session.tokens.idToken, claims: session.claims }, {
      postLogoutRedirectUri: options.postLogoutRedirectUri,
      state,
      params: logout.logoutParams,
      returnTo: logout.returnTo === '/' ? options.postLogoutRedirectUri : new URL(local, options.baseURL.origin).href,
    });
  }
  // The pending logout is kept only for a provider that may send the browser back with it.
  if (endSessionUrl?.searchParams.get('state') === state) context.logoutState.keep(res, state, logout.returnTo);
  res.setHeader('Cache-Control', 'no-store');
  redirect(res, endSessionUrl?.href ?? local);
  const why = endSessionUrl !== undefined ? 'on to the provider\'s end_session_endpoint'
    : logout.idpLogout ? 'local only: the provider has no usable end_session_endpoint, or could not be reached' : 'local only: idpLogout is off';
  debug('%s; %s', session === undefined ? 'logout without a session' : `logged out of ${session.claims.iss}`, why);
  if (session !== undefined) {
    emit(options.events, {
      type: 'logout', issuer: session.claims.iss, sub: session.claims.sub, sid: sidOf(session.claims), idpLogout: endSessionUrl !== undefined,
    }, req);
  }
}

/**
 * The provider's redirect back after logout, at `post_logout_redirect_uri` (`baseURL`): with the
 * logout's own `state`, 302 to its `returnTo`; otherwise the request goes on to the app (the
 * page at `baseURL`). The pending-logout cookie is cleared either way.
 *
 * @returns `true` when the request was answered
 */
export function returnFromLogout(context: Context, req: HttpRequest, res: HttpResponse): boolean {
  const url = new URL(req.url ?? '/', 'http://return.invalid');
  const returnTo = context.logoutState.take(req, res, url.searchParams.get('state'));
  debug('back from the provider\'s logout: %s', returnTo === undefined ? 'not with this logout\'s state, the page is served' : 'its state matched, on to its returnTo');
  if (returnTo === undefined) return false;
  res.setHeader('Cache-Control', 'no-store');
  redirect(res, `${context.options.basePath}${returnTo}`);
  return true;
}

