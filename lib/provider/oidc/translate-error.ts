/**
 * The one place that knows `openid-client`'s (and oauth4webapi's) error shapes, read from their
 * structure (codes and `cause` members), never their text: each becomes an {@link AuthError}.
 *
 * @packageDocumentation
 */
import { types } from 'node:util';
import * as client from 'openid-client';
import { AuthError, oauthErrorCode, redacted, type AuthErrorCode, type ProviderErrorCode } from '../../errors.js';

/** `openid-client` (oauth4webapi) error codes that mean the ID token itself failed validation. */
const ID_TOKEN_CODES = new Set([
  'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
  'OAUTH_JWT_TIMESTAMP_CHECK_FAILED',
  'OAUTH_KEY_SELECTION_FAILED',
]);

/**
 * In the token step, a generic `OAUTH_INVALID_RESPONSE` (or `OAUTH_UNSUPPORTED_OPERATION`) whose details name a JWT's `claims`,
 * `header` or `signature` (oauth4webapi's shapes) is about the ID token: a bad signature, an
 * `alg` other than the pinned one, a malformed claim. Read from the error's structure, not its text.
 */
function concernsIdToken(err: client.ClientError): boolean {
  // An unsupported JWS feature (a `crit` header) is OAUTH_UNSUPPORTED_OPERATION, with the same details.
  if (err.code !== 'OAUTH_INVALID_RESPONSE' && err.code !== 'OAUTH_UNSUPPORTED_OPERATION') return false;
  const detail = (err.cause as { cause?: unknown } | undefined)?.cause;
  return typeof detail === 'object' && detail !== null && ('claims' in detail || 'header' in detail || 'signature' in detail);
}

/** The claim a JWT check failed on (oauth4webapi's `cause.claim`), read from the error's structure. */
function checkedClaim(err: Error): unknown {
  const detail = (err.cause as { cause?: unknown } | undefined)?.cause ?? err.cause;
  return typeof detail === 'object' && detail !== null ? (detail as { claim?: unknown }).claim : undefined;
}

/**
 * `true` when `httpTimeout` fired after the headers arrived: `fetch` fails the body read with the
 * signal's reason, a `TimeoutError` DOMException, which oauth4webapi wraps as a parse error. Found
 * by name down the `cause` chain (a DOMException is not a native error, and may come from another realm).
 */
function timedOut(err: unknown): boolean {
  let current: unknown = err;
  for (let depth = 0; typeof current === 'object' && current !== null && depth < 8; depth++) {
    if ((current as { name?: unknown }).name === 'TimeoutError') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * `fetch` rejects with a plain `TypeError` on a network failure; it may come from another realm
 * (a VM context, an injected `fetch`), where `instanceof TypeError` is false.
 */
function isTypeError(value: unknown): value is TypeError {
  return value instanceof TypeError || (types.isNativeError(value) && value.name === 'TypeError');
}

/** The OAuth `error` of a token endpoint's 401 challenge; `invalid_client` when it names none (RFC 6749 §5.2). */
function oauthErrorOfChallenge(err: client.WWWAuthenticateChallengeError): AuthErrorCode | ProviderErrorCode {
  return oauthErrorCode(err.cause[0]?.parameters.error ?? 'invalid_client', 'invalid_provider_response');
}

/**
 * Translates whatever `openid-client` (or `fetch` below it) threw into an {@link AuthError}.
 * The one place that knows `openid-client`'s error shapes.
 *
 * | thrown | status | code |
 * | --- | --- | --- |
 * | token endpoint `invalid_grant` (RFC 6749 §5.2) | 400 | `invalid_grant` |
 * | another token endpoint error, or a 401 challenge | 502 | the OAuth `error` (e.g. `invalid_client`) |
 * | timeout (`httpTimeout`) | 504 | `provider_timeout` |
 * | network failure | 502 | `provider_unreachable` |
 * | ID token `auth_time` older than the `max_age` sent | 401 | `max_age_exceeded` |
 * | ID token validation failure | 502 | `invalid_id_token` |
 * | UserInfo response failure (e.g. another `sub`) | 502 | `invalid_userinfo` |
 * | any other malformed answer | 502 | `invalid_provider_response` |
 *
 * The `cause` kept is a {@link redacted} copy: openid-client's errors carry the provider's
 * response body (tokens included) and the JWS they refused, which must not reach the logs.
 *
 * @param err - the thrown value
 * @param step - which request failed: `'discovery'`, `'token'` or `'userinfo'`
 */
export function translateError(err: unknown, step: 'discovery' | 'par' | 'token' | 'userinfo' | 'resource'): AuthError {
  if (err instanceof AuthError) return err;
  const what = {
    discovery: 'discovery',
    par: 'the pushed authorization request endpoint',
    token: 'the token endpoint',
    userinfo: 'the userinfo endpoint',
    resource: 'the resource server',
  }[step];
  const cause = redacted(err);
  if (err instanceof client.ResponseBodyError) {
    const error = oauthErrorCode(err.error, 'invalid_provider_response');
    const status = error === 'invalid_grant' ? 400 : 502;
    const request = step === 'par' ? 'pushed authorization request' : 'token request';
    const text = error === 'invalid_grant' ? 'The authorization code was refused by the provider' : `The provider refused the ${request}`;
    return new AuthError(error, status, `${text} (${error})`, { cause });
  }
  if (err instanceof client.WWWAuthenticateChallengeError) {
    const error = oauthErrorOfChallenge(err);
    return new AuthError(error, 502, `The provider refused the token request (${error})`, { cause });
  }
  if (err instanceof client.AuthorizationResponseError) {
    const error = oauthErrorCode(err.error, 'invalid_request');
    return new AuthError(error, 400, `The authorization server answered with an error (${error})`, { cause });
  }
  const code = (err as { code?: unknown } | null)?.code;
  // openid-client's ClientError, and oauth4webapi's errors that some of its functions let through
  // unwrapped (e.g. OAUTH_MISSING_SERVER_METADATA from buildAuthorizationUrl), all carry an OAUTH_ code.
  if (err instanceof client.ClientError || (err instanceof Error && typeof code === 'string' && code.startsWith('OAUTH_'))) {
    if (code === 'OAUTH_TIMEOUT' || code === 'OAUTH_ABORT' || timedOut(err)) {
      return new AuthError('provider_timeout', 504, `The OpenID Provider did not answer ${what} in time`, { cause });
    }
    if (code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED' && checkedClaim(err) === 'auth_time') {
      return new AuthError('max_age_exceeded', 401,
        'The provider did not re-authenticate the user within the max_age this login asked for (the ID token\'s auth_time is older; OpenID Connect Core 1.0 §3.1.2.1): sign in again', { cause });
    }
    if ((typeof code === 'string' && ID_TOKEN_CODES.has(code)) || (step === 'token' && err instanceof client.ClientError && concernsIdToken(err))) {
      return new AuthError('invalid_id_token', 502, `The ID token failed validation (${code})`, { cause });
    }
    if (isTypeError(err.cause)) {
      return new AuthError('provider_unreachable', 502, `The OpenID Provider could not be reached for ${what}`, { cause });
    }
    if (step === 'userinfo') {
      return new AuthError('invalid_userinfo', 502, `The UserInfo response failed validation (${code ?? 'unknown'})`, { cause });
    }
    return new AuthError('invalid_provider_response', 502, `The OpenID Provider gave an invalid answer to ${what} (${code ?? 'unknown'})`, { cause });
  }
  // `fetch` rejects with a plain TypeError on network failure; openid-client's own argument
  // errors are TypeErrors with an `ERR_INVALID_ARG_*` code and are programming errors.
  if (isTypeError(err) && !(typeof code === 'string' && code.startsWith('ERR_INVALID_ARG'))) {
    return new AuthError('provider_unreachable', 502, `The OpenID Provider could not be reached for ${what}`, { cause });
  }
  return new AuthError('internal_error', 500, `Unexpected error during ${what}`, { cause });
}

