/**
 * The callback route (the `redirect_uri`): checks the authorization response against the
 * pending transaction, has the authorization code exchanged, and starts the session.
 *
 * @packageDocumentation
 */
import { redirect, requestPath, setHeaders, type HttpRequest, type HttpResponse } from '../http.js';
import { afterCallback } from './after-callback.js';
import { checkAuthentication, checkSessionExpiry } from './authentication-checks.js';
import { checkAuthorizationResponse, readAuthorizationResponse } from './authorization-response.js';
import { authSessionOf, type Context } from '../runtime.js';
import { boundKey } from '../provider/dpop-key.js';
import { asAuthError, AuthError, oauthErrorCode, plainText } from '../errors.js';
import { debugOf } from '../debug.js';
import { emit, sidOf } from '../events.js';
import { renewExpressSession } from '../transaction/express-session.js';
import { handleIdpInitiatedLogin } from './idp-initiated-login.js';
import type { Provider } from '../provider/provider.js';
import { tokenTypeName } from '../provider/token-set.js';
import { userClaims } from '../session/user-claims.js';
import type { Transaction } from '../transaction/transaction.js';

const debug = debugOf('callback');

/** Errors of a `prompt=none` login that mean "the user is not signed in at the provider" (OpenID Connect Core 1.0 §3.1.2.6). */
const SILENT_LOGIN_ERRORS = new Set(['login_required', 'consent_required', 'interaction_required', 'account_selection_required']);

/** Longest part of an `error_description` kept in a message, in characters. */
const MAX_DESCRIPTION_LENGTH = 300;

/**
 * The `error` response (RFC 6749 §4.1.2.1) as an {@link AuthError} whose `code` is the OAuth
 * `error`; the `error_description` is kept as plain text (no markup: the message may be shown).
 */
function authorizationError(error: string, description: string | null): AuthError {
  const code = oauthErrorCode(error, 'invalid_request');
  const text = description === null ? '' : plainText(description, MAX_DESCRIPTION_LENGTH);
  return new AuthError(code, 400, `The OpenID Provider answered the login with "${code}"${text ? `: ${text}` : ''}`);
}

/**
 * Takes the pending transaction for this response, or throws the 400 that says why there is none.
 *
 * The transaction is checked before `error` and `code`: an answer that does not belong to this
 * browser's login is refused as such, so an attacker's `error_description` is never shown.
 */
function transactionFor(context: Context, req: HttpRequest, res: HttpResponse, params: URLSearchParams): Transaction & { signedOut?: true } | 'stale' {
  const now = Math.floor(Date.now() / 1000);
  const taken = context.transactionCookie.take(req, res, params.get('state') ?? undefined, now);
  // A callback already used, or of a login given up on (the back button after signing in), in
  // a browser that is signed in: nothing to exchange, and nothing to report either.
  if (taken.kind !== 'found' && authSessionOf(req) !== undefined && req.method === 'GET') {
    debug('callback without its pending login (%s) in a signed-in browser: used already or given up on, back to the app', taken.kind);
    return 'stale';
  }
  switch (taken.kind) {
    case 'found':
      debug('pending login found: started at %s %d s ago%s', taken.transaction.issuer, now - taken.transaction.createdAt, taken.transaction.silent === true ? ', prompt=none' : '');
      break;
    case 'none':
      debug('no pending login in this browser: refused');
      throw new AuthError('missing_transaction', 400, 'No login is pending in this browser: start again from the login page');
    case 'state_mismatch':
      debug('the callback\'s state matches none of the pending logins: refused');
      throw new AuthError('state_mismatch', 400, 'The callback\'s state does not match the pending login: start again from the login page');
    case 'expired':
      debug('pending login found but expired (transactionDuration): refused');
      throw new AuthError('transaction_expired', 400, 'The login took too long: start again from the login page');
  }
  const error = params.get('error');
  if (error !== null) {
    // OpenID Connect Core 1.0 §3.1.2.6: a silent login the provider cannot complete without the user.
    if (taken.transaction.silent === true && SILENT_LOGIN_ERRORS.has(error)) {
      debug('silent login answered %s: not signed in at the provider, back to the page anonymous', error);
      return { ...taken.transaction, signedOut: true };
    }
    const refused = authorizationError(error, params.get('error_description'));
    debug('the provider answered the login with an error: %s', refused.code);
    throw refused;
  }
  if (!params.get('code')) throw new AuthError('missing_code', 400, 'Authorization code not found in the callback');
  return taken.transaction;
}

/**
 * RFC 9207 §2.4: `iss`, when sent, must be the issuer the login started at; when that provider
 * promises it, it must be sent.
 */
async function checkIssuer(provider: Provider, params: URLSearchParams): Promise<void> {
  const iss = params.get('iss');
  const expected = await provider.identifier();
  if (iss !== null ? iss !== expected : await provider.sendsIssInResponse()) {
    throw new AuthError('issuer_mismatch', 400, iss === null ? 'The callback is missing the iss parameter' : 'The callback\'s iss is not the issuer this login started at');
  }
}

/** The path of `redirectUri` as the app's routes see it (without `baseURL`'s path). */
function basePathOf(redirectUri: string, context: Context): string {
  return new URL(redirectUri).pathname.slice(context.options.basePath.length);
}

/**
 * `GET`/`POST {routes.callback}`: the authorization response.
 *
 * In order: the pending transaction for `state` is taken from its cookie (every outcome uses it
 * up); no pending transaction → 400 `missing_transaction`; unknown `state` → 400
 * `state_mismatch` (RFC 6749 §10.12); an expired one → 400 `transaction_expired`; an `error`
 * parameter → 400 with `code` = the OAuth `error` (RFC 6749 §4.1.2.1); no `code` → 400
 * `missing_code`; a response at another `redirect_uri` than the login's (`tenants`: an issuer's
 * own), or a wrong or (when promised) missing `iss` → 400 `issuer_mismatch` (RFC 9700 §4.4.2,
 * RFC 9207 §2.4). Then the code is exchanged at the issuer the login started at (RFC 9700 §4.4.2) with the
 * stored `code_verifier`, `state` and `nonce`, and the ID token is validated, signature included,
 * and held to what the login asked for (`max_age`, `acr_values`, a fixed organization: see
 * `checkAuthentication()`). On success the express-session, when there is one, gets a new id
 * with the app's data kept (no session fixation), the tokens are sealed into the session cookie,
 * and the answer is 302 to the transaction's `returnTo`.
 *
 * An IdP-initiated login (Scalekit's `idp_initiated_login` without a code) is never accepted as a
 * login: its token is verified with the issuer's keys and a fresh login starts at the
 * `connection_id` / `organization_id` it names, returning to `relay_state` when it is this app's
 * (see `handleIdpInitiatedLogin()`).
 *
 * A login started with `prompt=none` that the provider answers `login_required`,
 * `consent_required`, `interaction_required` or `account_selection_required` is "not signed in":
 * 302 to `returnTo`, no session, no error (OpenID Connect Core 1.0 §3.1.2.6).
 *
 * With `fetchUserInfo`, the UserInfo claims are fetched next and must carry the ID token's `sub`.
 *
 * Errors (passed to `next()`): the 400s above; `invalid_idp_initiated_login` (400); `invalid_grant` (400); `max_age_exceeded`,
 * `acr_mismatch` (401); `organization_mismatch` (403); `invalid_id_token`, `invalid_userinfo` and
 * `dpop_unsupported` (502); other provider faults (502/504); `session_too_large` (500) when the
 * token set cannot fit in the cookie; `store_unavailable` (503).
 */
export async function handleCallback(context: Context, req: HttpRequest, res: HttpResponse): Promise<void> {
  const attempt: CallbackAttempt = { started: performance.now(), issuer: undefined, silent: false };
  try {
    await answerCallback(context, req, res, attempt);
  } catch (err) {
    const error = asAuthError(err);
    const issuer = attempt.issuer ?? context.options.issuerIdentifier ?? context.options.adapter?.issuer;
    emit(context.options.events, {
      type: 'loginFailed', issuer, code: error.code, status: error.status, stage: 'callback', silent: attempt.silent, durationMs: performance.now() - attempt.started, error,
    }, req);
    throw err;
  }
}

/** What {@link answerCallback} learnt of the login it answers, for its events. */
interface CallbackAttempt {
  /** When the callback began, `performance.now()`. */
  readonly started: number;
  /** The pending login's issuer, once found. */
  issuer: string | undefined;
  /** The pending login was a `prompt=none` one. */
  silent: boolean;
}

/** {@link handleCallback}'s work; `attempt` filled in as it goes. */
async function answerCallback(context: Context, req: HttpRequest, res: HttpResponse, attempt: CallbackAttempt): Promise<void> {
  // RFC 9700 §4.2.4: the authorization response must not leak through the Referer header.
  setHeaders(res, { 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' });
  const params = await readAuthorizationResponse(req);
  try {
    checkAuthorizationResponse(params);
  } catch (err) {
    // A malformed response uses up the logins of the states it names, so that it cannot be
    // retried in another shape; this browser's other pending logins are left alone.
    const now = Math.floor(Date.now() / 1000);
    for (const state of new Set(params.getAll('state'))) context.transactionCookie.take(req, res, state, now);
    throw err;
  }
  if (await handleIdpInitiatedLogin(context, req, res, params)) return;
  const transaction = transactionFor(context, req, res, params);
  if (transaction === 'stale') {
    redirect(res, `${context.options.basePath}/`);
    return;
  }
  attempt.issuer = transaction.issuer;
  attempt.silent = transaction.silent === true;
  if (transaction.signedOut === true) {
    redirect(res, context.options.basePath + transaction.returnTo);
    return;
  }
  // RFC 9700 §4.4.2: a login whose issuer has a redirect_uri of its own is answered there, and only there.
  if (basePathOf(transaction.redirectUri, context) !== requestPath(req)) {
    throw new AuthError('issuer_mismatch', 400, 'The response arrived at another redirect_uri than the one this login sent: start again from the login page');
  }
  // RFC 9700 §4.4.2: the code goes back to the issuer the login started at, whatever the request says.
  const provider = await context.providers.forIssuer(transaction.issuer);
  if (provider === undefined) throw new AuthError('unknown_issuer', 400, 'This login\'s issuer is no longer one this app signs in with: start again from the login page');
  await checkIssuer(provider, params);

  const callbackUrl = new URL(transaction.redirectUri);
  for (const [name, value] of params) callbackUrl.searchParams.append(name, value);
  const tokenSet = await provider.exchangeCode(callbackUrl, {
    state: params.get('state')!,
    nonce: transaction.nonce,
    codeVerifier: transaction.codeVerifier,
    ...(transaction.maxAge !== undefined && { maxAge: transaction.maxAge }),
  }, transaction.dpopKey);
  // RFC 9449 §5: the tokens are DPoP-bound only when the provider says so; bearer tokens drop the key.
  const dpopKey = boundKey({ tokenType: tokenSet.tokenType, dpopKey: transaction.dpopKey });
  debug('code exchanged at %s: ID token valid, %s access token%s%s', transaction.issuer, tokenTypeName(tokenSet.tokenType),
    tokenSet.expiresAt === undefined ? ' (no expiry given)' : ` expiring in ${Math.round(tokenSet.expiresAt - Date.now() / 1000)} s`,
    tokenSet.refreshToken === undefined ? ', no refresh token' : ', a refresh token');
  if (transaction.dpopKey !== undefined && dpopKey === undefined && context.options.dpop === 'required') {
    throw new AuthError('dpop_unsupported', 502,
      `dpop is 'required' but the provider did not bind the tokens (token_type ${plainText(tokenSet.tokenType, 20)}, not DPoP; RFC 9449 §5)`);
  }
  const { options } = context;
  checkAuthentication(tokenSet, transaction.acrValues, options.authorizationParams);
  checkSessionExpiry(tokenSet.claims, Date.now() / 1000, options.clockTolerance);
  const userinfo = options.fetchUserInfo
    ? await provider.fetchUserInfo(tokenSet.accessToken, tokenSet.claims.sub, dpopKey)
    : undefined;
  const decision = await afterCallback(options.afterCallback, req, res, {
    issuer: transaction.issuer,
    claims: userClaims(tokenSet.claims, userinfo),
    idToken: tokenSet.idToken,
    accessToken: tokenSet.accessToken,
    tokenType: tokenTypeName(tokenSet.tokenType),
    refreshToken: tokenSet.refreshToken,
    expiresAt: tokenSet.expiresAt,
    loginState: transaction.loginState,
  }, options.identityClaimFilter);
  if (!decision.signIn) {
    debug('afterCallback refused the sign-in%s', res.headersSent ? ' and answered the request itself' : '');
    const refused = new AuthError('login_refused', 403, 'This app did not accept the sign-in');
    if (!res.headersSent) throw refused;
    // The hook answered the request itself: nothing goes to next(), the refusal is still counted.
    emit(options.events, {
      type: 'loginFailed', issuer: transaction.issuer, code: refused.code, status: refused.status, stage: 'callback', silent: attempt.silent,
      durationMs: performance.now() - attempt.started, error: refused,
    }, req);
    return;
  }

  await context.sessions.forget(req, authSessionOf(req)); // a session this browser had is replaced
  await renewExpressSession(req, options.storeTimeout);
  const tokens = {
    ...tokenSet,
    ...(userinfo !== undefined && { userinfo }),
    ...(dpopKey !== undefined && { dpopKey }),
    ...(decision.appClaims !== undefined && { appClaims: decision.appClaims }),
  };
  await context.sessions.write(req, res, tokens, tokenSet.claims, Date.now() / 1000);
  redirect(res, options.basePath + transaction.returnTo);
  const durationMs = performance.now() - attempt.started;
  debug('signed in at %s: the callback took %d ms', transaction.issuer, Math.round(durationMs));
  emit(options.events, {
    type: 'login', issuer: transaction.issuer, sub: tokenSet.claims.sub, sid: sidOf(tokenSet.claims), durationMs, silent: attempt.silent,
  }, req);
}
