/**
 * The one place that knows `openid-client`'s (and oauth4webapi's) error shapes, read from their
 * structure (codes and `cause` members), never their text: each becomes an {@link AuthError}.
 *
 * @packageDocumentation
 */
import { types } from 'node:util';
import * as client from 'openid-client';
import { AuthError, oauthErrorCode, plainText, redacted, redirectUriRefusal, type AuthErrorCode, type ProviderErrorCode } from '../../errors.js';

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

/** What the caller knows of the failed request, for its message. */
export interface RequestDetail {
  /** The URL requested, when the message should name it (discovery's `/.well-known/` URL). */
  url?: string;
  /** The issuer identifier as configured: named when discovery finds another. */
  issuer?: string;
  /** `httpTimeout`, in seconds: named when the provider did not answer in time. */
  httpTimeout?: number;
  /** The `max_age` the login sent, in seconds: named when `auth_time` is older. */
  maxAge?: number;
  /** The `redirect_uri` the request carried (PAR, the code exchange): named when the provider refuses it. */
  redirectUri?: string;
}

/**
 * Why a connection failed, by the system error code `fetch` keeps down its `cause` chain
 * (`getaddrinfo ENOTFOUND`, `connect ECONNREFUSED`, a TLS verification code): what it means and
 * what to check.
 */
const NETWORK_REASONS: Readonly<Record<string, string>> = {
  ENOTFOUND: 'the host name does not resolve: check its spelling, and this server\'s DNS',
  EAI_AGAIN: 'the host name could not be resolved just now: this server\'s DNS did not answer',
  ECONNREFUSED: 'nothing accepts connections at that host and port: is the provider running, and is the port right?',
  ECONNRESET: 'the connection was reset: a proxy or firewall on the way, or http: spoken to an https: port',
  ETIMEDOUT: 'connecting timed out: a firewall may be dropping the packets',
  UND_ERR_CONNECT_TIMEOUT: 'connecting timed out: a firewall may be dropping the packets',
  EHOSTUNREACH: 'there is no route to the host from this server',
  ENETUNREACH: 'there is no route to the host from this server',
  UND_ERR_SOCKET: 'the connection closed before an answer: http: spoken to an https: port?',
  EPROTO: 'the TLS handshake failed: https: spoken to an http: port?',
};

/** TLS verification codes (Node's `tls` errors): the provider's certificate is not trusted here. */
const CERTIFICATE_CODES = new Set([
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The system error code of a failed connection, read down the `cause` chain (an `AggregateError`'s first error too). */
function systemErrorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; typeof current === 'object' && current !== null && depth < 8; depth++) {
    const { code, errors } = current as { code?: unknown; errors?: unknown };
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(code) && !code.startsWith('OAUTH_') && !code.startsWith('ERR_INVALID_ARG')) return code;
    current = (current as { cause?: unknown }).cause ?? (Array.isArray(errors) ? errors[0] : undefined);
  }
  return undefined;
}

/** What a network failure means, e.g. `ECONNREFUSED: nothing accepts connections …`; `''` when no code says. */
function networkReason(err: unknown): string {
  const code = systemErrorCode(err);
  if (code === undefined) return '';
  if (CERTIFICATE_CODES.has(code)) {
    return `${code}: the provider's TLS certificate is not trusted by this server; fix the certificate, or trust its CA (NODE_EXTRA_CA_CERTS, or clientCertificate.ca)`;
  }
  return `${code}${NETWORK_REASONS[code] === undefined ? '' : `: ${NETWORK_REASONS[code]}`}`;
}

/** The `Response` oauth4webapi keeps as the `cause` of an unexpected status or content type (duck-typed: it may come from another realm). */
function responseOf(err: Error): { status: number; contentType: string } | undefined {
  const response = err.cause as { status?: unknown; headers?: { get?: unknown } } | undefined;
  if (typeof response?.status !== 'number' || typeof response.headers?.get !== 'function') return undefined;
  const contentType = (response.headers as { get(name: string): string | null }).get('content-type');
  return { status: response.status, contentType: plainText(contentType?.split(';')[0] ?? '', 60) };
}

/** What to check after discovery answered `status`, by its class. */
function discoveryStatusHint(status: number): string {
  if (status === 404 || status === 410) {
    return ': check issuer, which must be the provider\'s issuer identifier exactly (its metadata is served at issuer + /.well-known/openid-configuration)';
  }
  if (status >= 300 && status < 400) return ': a redirect, which discovery does not follow; set issuer to the provider\'s issuer identifier exactly';
  if (status === 401 || status === 403) return ': the provider, or a proxy or firewall in front of it, refuses this server';
  if (status >= 500) return ': the provider is failing; discovery is tried again on the next request';
  return '';
}

/**
 * A discovery failure with its URL and what went wrong (the HTTP status, the content type, the
 * network error), or `undefined` when it is none of those.
 */
function discoveryFailure(err: Error, code: unknown, url: string, issuer: string | undefined, cause: Error | undefined): AuthError | undefined {
  const response = responseOf(err);
  if (code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' && response !== undefined) {
    return new AuthError('invalid_provider_response', 502,
      `Discovery failed: GET ${url} answered HTTP ${response.status}, not 200 with the provider's metadata${discoveryStatusHint(response.status)}`, { cause });
  }
  if (code === 'OAUTH_RESPONSE_IS_NOT_JSON' && response !== undefined) {
    return new AuthError('invalid_provider_response', 502,
      `Discovery failed: GET ${url} answered HTTP ${response.status} with ${response.contentType || 'no Content-Type'}, not the provider's JSON metadata: `
      + 'issuer probably names a web page (a login page, a proxy\'s), not the provider\'s issuer identifier', { cause });
  }
  if (code === 'OAUTH_PARSE_ERROR') {
    return new AuthError('invalid_provider_response', 502, `Discovery failed: GET ${url} answered a body that is not valid JSON`, { cause });
  }
  if (code === 'OAUTH_INVALID_RESPONSE') {
    return new AuthError('invalid_provider_response', 502,
      `Discovery failed: GET ${url} answered JSON that is not OpenID Provider metadata (no issuer): check issuer`, { cause });
  }
  if (code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED') {
    const published = (err.cause as { body?: { issuer?: unknown } } | undefined)?.body?.issuer;
    if (typeof published === 'string') return issuerMismatch(url, published, issuer ?? (err.cause as { expected?: unknown }).expected, cause);
  }
  return undefined;
}

/**
 * The discovery document at `url` names another issuer than the configured one: the message names
 * both (OpenID Connect Discovery 1.0 §4.3).
 */
export function issuerMismatch(url: string, published: string, configured: unknown, cause?: Error): AuthError {
  return new AuthError('invalid_provider_response', 502,
    `The provider's discovery document (GET ${url}) names the issuer "${plainText(published, 200)}", not the configured "${String(configured)}": `
    + 'set issuer to exactly the value the provider publishes (OpenID Connect Discovery 1.0 §4.3)', cause === undefined ? undefined : { cause });
}

/** The JWT timestamp check that failed (oauth4webapi's `cause`: the claim, the claims, `now` and the tolerance, in seconds). */
interface TimestampCheck {
  claim: string;
  value: number;
  now: number;
  tolerance: number;
}

/** oauth4webapi's timestamp check details, read from the error's structure (before redaction drops them). */
function timestampCheck(err: Error): TimestampCheck | undefined {
  const detail = ((err.cause as { cause?: unknown } | undefined)?.cause ?? err.cause) as
    { claim?: unknown; claims?: Record<string, unknown>; now?: unknown; tolerance?: unknown } | undefined;
  const claim = detail?.claim;
  const value = typeof claim === 'string' ? detail?.claims?.[claim] : undefined;
  if (typeof claim !== 'string' || typeof value !== 'number' || typeof detail?.now !== 'number') return undefined;
  return { claim, value, now: detail.now, tolerance: typeof detail.tolerance === 'number' ? detail.tolerance : 0 };
}

/** What a clock fault looks like in an ID token, and the fix: one sentence to end every clock message. */
const CLOCK_FIX = 'a token fresh from the provider cannot be, so this server\'s clock or the provider\'s is wrong: '
  + 'keep this server\'s clock in sync (NTP); raise clockTolerance only to allow a known, small skew';

/**
 * An ID token timestamp outside `clockTolerance` of this server's clock (`exp` past, `nbf` or
 * `iat` ahead), as a 502 `invalid_id_token` that names the claim, by how many seconds, the
 * tolerance, and the fix (the clocks).
 *
 * @param claim - `exp`, `nbf` or `iat`
 * @param seconds - how far beyond the allowed instant, before the tolerance
 * @param tolerance - `clockTolerance`, in seconds
 */
export function clockFault(claim: string, seconds: number, tolerance: number, cause?: Error): AuthError {
  const where = `is ${seconds} seconds in the ${claim === 'exp' ? 'past' : 'future'}`;
  const name = { exp: 'exp (expiry)', nbf: 'nbf (not before)', iat: 'iat (issued at)' }[claim] ?? claim;
  return new AuthError('invalid_id_token', 502,
    `The ID token's ${name} ${where} by this server's clock, beyond clockTolerance (${tolerance} seconds): ${CLOCK_FIX}`,
    cause === undefined ? undefined : { cause });
}

/** The 401 `max_age_exceeded` of an `auth_time` older than `max_age` allows, with how old it is. */
function maxAgeExceeded(check: TimestampCheck | undefined, maxAge: number | undefined, cause: Error | undefined): AuthError {
  const age = check === undefined ? ''
    : `: ${Math.round(check.now - check.value)} seconds old${maxAge === undefined ? '' : `, for a max_age of ${maxAge}`} and a clockTolerance of ${check.tolerance} seconds`;
  return new AuthError('max_age_exceeded', 401,
    `The provider did not re-authenticate the user within the max_age this login asked for (the ID token's auth_time is older${age}; OpenID Connect Core 1.0 §3.1.2.1): `
    + 'sign in again; if the user did just sign in, check this server\'s clock (NTP)', { cause });
}

/** The OAuth `error` body of a refused request, as an {@link AuthError}, naming a refused `redirect_uri`. */
function refusal(err: client.ResponseBodyError, step: string, detail: RequestDetail, cause: Error | undefined): AuthError {
  const error = oauthErrorCode(err.error, 'invalid_provider_response');
  const status = error === 'invalid_grant' ? 400 : 502;
  const request = step === 'par' ? 'pushed authorization request' : 'token request';
  const text = error === 'invalid_grant' ? 'The authorization code was refused by the provider' : `The provider refused the ${request}`;
  const refused = detail.redirectUri === undefined ? undefined : redirectUriRefusal(err.error, err.error_description, detail.redirectUri);
  return new AuthError(error, status, `${text} (${error})${refused === undefined ? '' : `: ${refused}`}`, { cause });
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
 * Messages say what to fix: a network failure its system error code and what it means
 * (`ENOTFOUND`: the host name does not resolve); an unexpected answer its HTTP status; a
 * discovery failure the `/.well-known/` URL it requested (`detail.url`); a timeout the
 * `httpTimeout`; an ID token timestamp outside `clockTolerance` which claim, by how many seconds,
 * and the clocks; a refused `redirect_uri` (`detail.redirectUri`) that it must be registered as sent.
 *
 * The `cause` kept is a {@link redacted} copy: openid-client's errors carry the provider's
 * response body (tokens included) and the JWS they refused, which must not reach the logs.
 *
 * @param err - the thrown value
 * @param step - which request failed: `'discovery'`, `'par'`, `'token'`, `'userinfo'` or `'resource'`
 * @param detail - what the caller knows of the request, for the message
 */
export function translateError(err: unknown, step: 'discovery' | 'par' | 'token' | 'userinfo' | 'resource', detail: RequestDetail = {}): AuthError {
  if (err instanceof AuthError) return err;
  const what = {
    discovery: detail.url === undefined ? 'discovery' : `discovery (GET ${detail.url})`,
    par: 'the pushed authorization request endpoint',
    token: 'the token endpoint',
    userinfo: 'the userinfo endpoint',
    resource: 'the resource server',
  }[step];
  const cause = redacted(err);
  const unreachable = (): AuthError => {
    const reason = networkReason(err);
    return new AuthError('provider_unreachable', 502, `The OpenID Provider could not be reached for ${what}${reason === '' ? '' : `: ${reason}`}`, { cause });
  };
  if (err instanceof client.ResponseBodyError) return refusal(err, step, detail, cause);
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
      const within = detail.httpTimeout === undefined ? 'in time' : `within httpTimeout (${detail.httpTimeout} seconds)`;
      return new AuthError('provider_timeout', 504, `The OpenID Provider did not answer ${what} ${within}`, { cause });
    }
    if (code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED') {
      const check = timestampCheck(err);
      if (checkedClaim(err) === 'auth_time') return maxAgeExceeded(check, detail.maxAge, cause);
      if (check !== undefined && (check.claim === 'exp' || check.claim === 'nbf')) {
        return clockFault(check.claim, Math.round(Math.abs(check.now - check.value)), check.tolerance, cause);
      }
    }
    if ((typeof code === 'string' && ID_TOKEN_CODES.has(code)) || (step === 'token' && err instanceof client.ClientError && concernsIdToken(err))) {
      return new AuthError('invalid_id_token', 502, `The ID token failed validation (${code})`, { cause });
    }
    if (isTypeError(err.cause)) return unreachable();
    if (step === 'discovery' && detail.url !== undefined) {
      const failure = discoveryFailure(err, code, detail.url, detail.issuer, cause);
      if (failure !== undefined) return failure;
    }
    if (step === 'userinfo') {
      return new AuthError('invalid_userinfo', 502, `The UserInfo response failed validation (${code ?? 'unknown'})`, { cause });
    }
    const response = code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || code === 'OAUTH_RESPONSE_IS_NOT_JSON' ? responseOf(err) : undefined;
    const answered = response === undefined ? '' : `HTTP ${response.status}${code === 'OAUTH_RESPONSE_IS_NOT_JSON' ? ` ${response.contentType || 'without Content-Type'}` : ''}; `;
    return new AuthError('invalid_provider_response', 502, `The OpenID Provider gave an invalid answer to ${what} (${answered}${code ?? 'unknown'})`, { cause });
  }
  // `fetch` rejects with a plain TypeError on network failure; openid-client's own argument
  // errors are TypeErrors with an `ERR_INVALID_ARG_*` code and are programming errors.
  if (isTypeError(err) && !(typeof code === 'string' && code.startsWith('ERR_INVALID_ARG'))) return unreachable();
  return new AuthError('internal_error', 500, `Unexpected error during ${what}`, { cause });
}
