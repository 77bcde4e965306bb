/**
 * The login route: starts an authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636,
 * OpenID Connect Core 1.0 §3.1.2).
 *
 * @packageDocumentation
 */
import { originalUrl, redirect, type HttpRequest, type HttpResponse } from '../http.js';
import type { Context } from '../runtime.js';
import { asAuthError, AuthError } from '../errors.js';
import { randomChecks } from '../provider/oidc/checks.js';
import { readFormPost } from '../callback/authorization-response.js';
import { dpopThumbprint, generateDPoPKey } from '../provider/dpop-key.js';
import { readLoginRequest, silentLoginRequest, type LoginRequest } from './login-request.js';
import { pageReturnTo } from './return-to.js';
import { debugOf } from '../debug.js';
import { emit } from '../events.js';
import type { Provider } from '../provider/provider.js';
import type { Transaction } from '../transaction/transaction.js';
import { loginStateOf } from './login-state.js';
import { redirectToBaseOrigin } from './login-origin.js';
import { checkExpressSessionCookie } from './express-session-cookie.js';

const debug = debugOf('login');

/** `Sec-Fetch-Dest` values of a navigation (Fetch Metadata Request Headers): a page or a frame's. */
const NAVIGATION_DESTINATIONS: ReadonlySet<string> = new Set(['document', 'iframe', 'frame', 'fencedframe']);

/**
 * With `tenants`, refuses to start a login that the callback could not tell from another
 * issuer's (RFC 9700 §4.4.2): one at an issuer that shares the `redirect_uri` and does not
 * promise `iss` (RFC 9207), unless `tenants.allowSharedCallback`.
 *
 * @throws AuthError `mix_up_unprotected` (500)
 */
async function checkMixUpDefense(context: Context, provider: Provider): Promise<void> {
  const { tenants, redirectUri } = context.options;
  if (tenants === undefined || tenants.allowSharedCallback || provider.redirectUri !== redirectUri.href) return;
  if (await provider.sendsIssInResponse()) return;
  throw new AuthError('mix_up_unprotected', 500,
    `The issuer ${await provider.identifier()} does not send iss in its authorization responses (RFC 9207), and shares the redirect_uri ${redirectUri.href} `
    + 'with the other tenants, so its response could not be told from another issuer\'s (RFC 9700 §4.4.2): give it a redirect_uri of its own '
    + '(tenants.client() → redirectUri, registered at that issuer), or set tenants.allowSharedCallback when every issuer is trusted');
}

/**
 * Refuses to start a login from a request that is not a page load: an `<img>` or `fetch()` of the
 * route from another site would plant pending logins in the user's browser (Fetch Metadata
 * Request Headers: a navigation's `Sec-Fetch-Dest` is a document or a frame).
 *
 * @throws AuthError `invalid_request` (400)
 */
export function checkNavigation(req: HttpRequest): void {
  const dest = req.headers['sec-fetch-dest'];
  if (dest !== undefined && !NAVIGATION_DESTINATIONS.has(dest as string)) {
    throw new AuthError('invalid_request', 400, 'A login starts with a page load (a link, a redirect or a form), not with fetch() or an embedded resource');
  }
}

/**
 * `GET {routes.login}[?returnTo=/path]`: creates `state`, `nonce` and a PKCE `code_verifier`,
 * seals them with `returnTo` (kept only when same-origin, else `/`), the issuer and what the
 * login asked for (`max_age`, `acr_values`) into a pending-login cookie (see
 * `transaction-cookie.ts`), and answers 302 to the provider's `authorization_endpoint`. The
 * authorization request carries `authorizationParams` and the `loginParams` of the query that the
 * app did not fix (see `readLoginRequest()`).
 *
 * The issuer is the configured one; with `tenants`, the one `tenants.issuer(req)` names. A
 * third-party-initiated login (`iss`, OpenID Connect Core 1.0 §4) starts at the issuer it
 * names, when this app signs in there.
 *
 * A browser that asks for it at another host than `baseURL`'s, or over plain http when `baseURL`
 * is https, is first sent to the same path at `baseURL`'s origin, where the callback will find
 * the pending-login cookie (see `redirectToBaseOrigin()`).
 *
 * Errors (passed to `next()`): `invalid_request` (400) for a malformed or too long login
 * parameter, or a request that is not a page load (a `Sec-Fetch-Dest` other than a document or a frame);
 * `issuer_mismatch` (400) for an `iss` this app does not sign in with; `unknown_issuer` (400)
 * when `tenants.issuer()` names none; and those of `startLogin()`.
 */
export async function handleLogin(context: Context, req: HttpRequest, res: HttpResponse): Promise<void> {
  const started = performance.now();
  let provider: Provider | undefined;
  let silent = false;
  try {
    checkNavigation(req);
    const url = originalUrl(req);
    const raw = req.method === 'POST' ? `?${(await readFormPost(req)).toString()}` : url;
    const q = url.indexOf('?');
    if (redirectToBaseOrigin(context.options, req, res, req.method === 'POST' ? raw : q === -1 ? '' : url.slice(q))) return;
    const login = readLoginRequest(raw, context.options);
    silent = login.silent;
    provider = login.iss === undefined ? await context.providers.forRequest(req) : await context.providers.forNamedIssuer(login.iss, req);
    if (provider === undefined) throw new AuthError('issuer_mismatch', 400, 'The login names an issuer this app does not sign in with');
    await startLogin(context, req, res, provider, login);
  } catch (err) {
    loginNotStarted(context, req, provider, silent, started, err);
    throw err;
  }
}

/** `loginFailed` (stage `start`) and its debug line, for a login that could not start because of `err`. */
function loginNotStarted(context: Context, req: HttpRequest, provider: Provider | undefined, silent: boolean, started: number, err: unknown): void {
  const error = asAuthError(err);
  const issuer = issuerOf(context, provider);
  debug('%s not started%s: %s (%d)', silent ? 'silent login' : 'login', issuer === undefined ? '' : ` at ${issuer}`, error.code, error.status);
  emit(context.options.events, { type: 'loginFailed', issuer, code: error.code, status: error.status, stage: 'start', silent, durationMs: performance.now() - started, error }, req);
}

/**
 * The issuer a failing login was for, for its event: `provider`'s when it was resolved, else the
 * configured one; `undefined` with `tenants` before one is resolved.
 */
function issuerOf(context: Context, provider: Provider | undefined): string | undefined {
  return provider?.issuer ?? context.options.issuerIdentifier ?? context.options.adapter?.issuer;
}

/**
 * Starts `login` at `provider`: the pending-login cookie, and 302 to the authorization request.
 * The login route's work once it knows what the login asks for; the callback route's too, for an
 * IdP-initiated login (see `callback/idp-initiated-login.ts`).
 *
 * The app's `loginState(req)`, when set, is sealed with the login.
 *
 * Errors: `session_cookie_strict`, `trust_proxy_missing`, `secure_cookie_over_http` (500) when the
 * app's express-session cookie would not survive the login (see `checkExpressSessionCookie()`);
 * `mix_up_unprotected` (500, see `checkMixUpDefense()`); `hook_failed` (500) from
 * `loginState`; `dpop_unsupported` (502) with
 * `dpop: 'required'` and a provider that does not advertise DPoP; discovery failures (502/504).
 */
export async function startLogin(context: Context, req: HttpRequest, res: HttpResponse, provider: Provider, login: LoginRequest): Promise<void> {
  checkExpressSessionCookie(context.options, req, provider);
  await checkMixUpDefense(context, provider);
  const { dpop } = context.options;
  if (dpop === 'required' && !await provider.supportsDPoP()) {
    throw new AuthError('dpop_unsupported', 502,
      'dpop is \'required\' but the provider does not advertise DPoP (no dpop_signing_alg_values_supported, RFC 9449 §5.1): turn DPoP on at the provider, or set dpop: true');
  }
  const dpopKey = dpop === false ? undefined : await generateDPoPKey(context.options.dpopAlg);
  const params = dpopKey === undefined ? login.params : { ...login.params, dpop_jkt: await dpopThumbprint(dpopKey) };
  const loginState = await loginStateOf(context.options.loginState, req);
  const checks = randomChecks();
  const authorizationUrl = await provider.authorizationUrl(checks, params);
  const transaction: Transaction = {
    issuer: await provider.identifier(),
    redirectUri: provider.redirectUri,
    nonce: checks.nonce,
    codeVerifier: checks.codeVerifier,
    returnTo: login.returnTo,
    createdAt: Math.floor(Date.now() / 1000),
    ...(login.maxAge !== undefined && { maxAge: login.maxAge }),
    ...(login.acrValues !== undefined && { acrValues: login.acrValues }),
    ...(login.silent && { silent: true }),
    ...(dpopKey !== undefined && { dpopKey }),
    ...(loginState !== undefined && { loginState }),
  };
  context.transactionCookie.write(req, res, checks.state, transaction);
  res.setHeader('Cache-Control', 'no-store');
  redirect(res, authorizationUrl.href);
  debug('login started at %s: %s%s%s%s; parameters from the request: %s', transaction.issuer,
    authorizationUrl.searchParams.has('request_uri') ? 'pushed (PAR)' : 'by redirect',
    context.options.requestObject !== undefined && context.options.adapter === undefined ? ', signed request object (JAR)' : '',
    dpopKey === undefined ? '' : ', DPoP',
    login.silent ? ', prompt=none' : '',
    login.asked.length === 0 ? 'none' : login.asked.join(', '));
}

/**
 * Starts `attemptSilentLogin`'s login from this page load, back to it afterwards, and marks the
 * browser as having tried.
 *
 * @returns `false` when it could not start (no issuer for the request, the provider
 *   unreachable): the page is served anonymous, as it would be without the option
 */
export async function startSilentLogin(context: Context, req: HttpRequest, res: HttpResponse): Promise<boolean> {
  const started = performance.now();
  context.silentLogin.markTried(res);
  debug('silent login tried on a page load without a session');
  let provider: Provider | undefined;
  try {
    provider = await context.providers.forRequest(req);
    await startLogin(context, req, res, provider, silentLoginRequest(pageReturnTo(req, context.options.basePath), context.options));
    return true;
  } catch (err) {
    loginNotStarted(context, req, provider, true, started, err);
    return false;
  }
}
