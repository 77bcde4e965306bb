/**
 * OpenID Connect Back-Channel Logout 1.0: the provider POSTs a `logout_token` naming a session
 * (`sid`) or a user (`sub`) it ended; the sessions it names end here too, on every instance that
 * shares the express-session store.
 *
 * The token is validated as §2.6 requires, then a mark is kept in the store (for the longest a
 * session can live): every request of a session checks for a mark that ends it. A mark by `sid`
 * ends that provider session's logins; a mark by `sub` alone ends the user's sessions that
 * started before it, so a login after the logout is not affected.
 *
 * @packageDocumentation
 */
import { sendJson, sendStatus, type HttpRequest, type HttpResponse } from '../http.js';
import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { checkAuthorizationResponse, readAuthorizationResponse } from '../callback/authorization-response.js';
import type { Context } from '../runtime.js';
import { providerKeys } from '../provider/provider-keys.js';
import { AuthError } from '../errors.js';
import { storeOf } from '../session/record-store.js';
import { LogoutMarks } from './logout-marks.js';
import { debugOf } from '../debug.js';
import { emit } from '../events.js';

const debug = debugOf('backchannel');

/** The `events` member that makes a JWT a logout token (§2.4). */
const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** Oldest `iat` accepted, in seconds before now (plus `clockTolerance`): logout tokens are sent at once. */
const LOGOUT_TOKEN_MAX_AGE = 120;

/** The §2.8 error answer: 400 with an OAuth-style body, never cached. */
function refuse(res: HttpResponse, description: string): void {
  debug('logout token refused (400): %s', description);
  res.setHeader('Cache-Control', 'no-store');
  sendJson(res, 400, { error: 'invalid_request', error_description: description });
}

/**
 * Validates a logout token (Back-Channel Logout 1.0 §2.6): signed with the pinned ID token
 * algorithm by a key of the provider's JWKS; `iss` the issuer; `aud` this client; `iat` at most
 * {@link LOGOUT_TOKEN_MAX_AGE} seconds old and `exp` not past (both within `clockTolerance`);
 * `typ`, when present, `logout+jwt` or `JWT`; an `events` claim with the back-channel logout
 * member, an object; `sub` and/or `sid`; a `jti`; no `nonce`.
 *
 * The issuer is the one the token names, when this app signs in there (with `tenants`, one
 * `tenants.client()` accepts, or the request's own); its signature is then checked with that
 * issuer's keys.
 *
 * @returns the token's claims, or a description of what is wrong
 */
async function validateLogoutToken(context: Context, req: HttpRequest, token: string): Promise<JWTPayload | string> {
  const o = context.options;
  let named: unknown;
  try {
    named = decodeJwt(token).iss;
  } catch {
    return 'The logout token is not a JWT';
  }
  const provider = typeof named === 'string' ? await context.providers.forNamedIssuer(named, req) : undefined;
  if (provider === undefined) return 'The logout token\'s iss is not an issuer this app signs in with';
  let payload: JWTPayload;
  let typ: string | undefined;
  try {
    ({ payload, protectedHeader: { typ } } = await jwtVerify(token, await providerKeys(provider, o), {
      algorithms: [o.idTokenSigningAlg],
      issuer: await provider.identifier(),
      audience: provider.clientId,
      clockTolerance: o.clockTolerance,
      maxTokenAge: LOGOUT_TOKEN_MAX_AGE, // jose adds clockTolerance itself
      requiredClaims: ['iat', 'exp', 'jti', 'events'],
    }));
  } catch (err) {
    if (err instanceof joseErrors.JOSEError && !(err instanceof joseErrors.JWKSTimeout)) {
      return `The logout token failed validation (${err.code})`;
    }
    throw new AuthError('provider_unreachable', 502, 'The provider\'s keys could not be fetched to validate a logout token', { cause: err });
  }
  if (typ !== undefined && !/^(application\/)?(logout\+jwt|jwt)$/i.test(typ)) return 'The logout token\'s typ is not logout+jwt';
  const events = payload.events as Record<string, unknown> | undefined;
  const event = events !== null && typeof events === 'object' ? events[BACKCHANNEL_LOGOUT_EVENT] : undefined;
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return 'The logout token has no back-channel logout event';
  if (payload.nonce !== undefined) return 'A logout token must not contain a nonce';
  const { sub, sid } = payload as { sub?: unknown; sid?: unknown };
  if (typeof sub !== 'string' && typeof sid !== 'string') return 'The logout token names neither a sub nor a sid';
  if ((sub !== undefined && typeof sub !== 'string') || (sid !== undefined && typeof sid !== 'string')) return 'The logout token\'s sub or sid is not a string';
  if (typeof payload.jti !== 'string') return 'The logout token\'s jti is not a string';
  return payload;
}

/**
 * `POST {routes.backchannelLogout}`: receives a `logout_token` (form-encoded, §2.5), validates it,
 * refuses a replayed `jti`, and marks the session (`sid`) or user (`sub`) as logged out in the
 * store. Answers 200 with `Cache-Control: no-store`, or 400 `{ error: 'invalid_request',
 * error_description }` (§2.8).
 *
 * Errors (passed to `next()`): `store_unavailable` (503); `provider_unreachable`,
 * `provider_timeout` (502/504) when the provider's metadata or keys cannot be fetched.
 */
export async function handleBackchannelLogout(context: Context, req: HttpRequest, res: HttpResponse): Promise<void> {
  const store = storeOf(req, context.options.storeTimeout);
  let params: URLSearchParams;
  try {
    params = await readAuthorizationResponse(req);
    checkAuthorizationResponse(params);
  } catch (err) {
    if (err instanceof AuthError && err.status < 500) {
      refuse(res, 'The request is not a single form-encoded logout_token');
      return;
    }
    throw err;
  }
  const token = params.get('logout_token');
  if (token === null || token.length === 0) {
    refuse(res, 'The logout_token parameter is missing');
    return;
  }
  const payload = await validateLogoutToken(context, req, token);
  if (typeof payload === 'string') {
    refuse(res, payload);
    return;
  }
  const marks = new LogoutMarks(store, context.options.sessionDuration);
  const { iss, jti, sid, sub } = payload as { iss: string; jti: string; sid?: string; sub?: string };
  if (await marks.received(iss, jti)) {
    refuse(res, 'The logout token was already received (its jti is replayed)');
    return;
  }
  await marks.mark(iss, sid === undefined ? { sub: sub! } : { sid });
  // The jti is kept once the mark is written, so that a delivery the store failed can be retried.
  await marks.remember(iss, jti, LOGOUT_TOKEN_MAX_AGE + 2 * context.options.clockTolerance);
  res.setHeader('Cache-Control', 'no-store');
  sendStatus(res, 200);
  debug('logout token of %s accepted: mark written by %s', iss, sid === undefined ? 'sub (the user\'s sessions started before now)' : 'sid (that provider session)');
  emit(context.options.events, { type: 'backchannelLogout', issuer: iss, sub, sid }, req);
}
