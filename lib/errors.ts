/**
 * The one error class this middleware passes to `next()`, its codes, and the start-up
 * {@link ConfigurationError}.
 *
 * Every error carries an HTTP `status`, a stable machine-readable `code` and `expose`
 * (the `http-errors` convention: `true` for 4xx, so an error handler may show `message`
 * to the user; `false` for 5xx, where the message is for logs only). The original error,
 * when there is one, is kept as `cause`, redacted: an error from the provider keeps its name,
 * message, stack and `code`, never the response body or token it refused. Messages never contain
 * tokens, codes or secrets.
 *
 * @packageDocumentation
 */
import { types } from 'node:util';

/**
 * Every code this package gives an {@link AuthError} itself, as named, documented constants:
 * switch on `err.code`, never on `err.message`. The HTTP status of each is in its description.
 */
export const AuthErrorCodes = {
  /** `express-session` is not mounted before `authCallback()` (500). */
  SESSION_NOT_MOUNTED: 'session_not_mounted',
  /** `requireAuth()` is used on a request that did not pass through `authCallback()` (500). */
  MIDDLEWARE_NOT_MOUNTED: 'middleware_not_mounted',
  /**
   * `authCallback()` ran twice on one request (two `app.use(authCallback(...))`, or one on the app
   * and one on a router): the second would replace the first's `req.user` (500).
   */
  MIDDLEWARE_MOUNTED_TWICE: 'middleware_mounted_twice',
  /** The callback carries no authorization code, RFC 6749 §4.1.2 (400). */
  MISSING_CODE: 'missing_code',
  /** No pending login transaction for this callback: no login, or a replayed callback (400). */
  MISSING_TRANSACTION: 'missing_transaction',
  /** The callback's `state` matches no pending transaction, RFC 6749 §10.12 (400). */
  STATE_MISMATCH: 'state_mismatch',
  /** The callback's `iss` is not the issuer the login started with, RFC 9207 §2.4 (400). */
  ISSUER_MISMATCH: 'issuer_mismatch',
  /** With `tenants`: the request names no issuer this app signs in with (400). */
  UNKNOWN_ISSUER: 'unknown_issuer',
  /** A callback parameter is repeated or malformed, RFC 6749 §3.1 (400). */
  INVALID_REQUEST: 'invalid_request',
  /**
   * Scalekit's IdP-initiated login token (`idp_initiated_login`) failed verification: not a JWS
   * signed with an asymmetric algorithm by a key of the issuer's JWKS, expired, or its `iss`,
   * `aud` or claims wrong (400). No login was started.
   */
  INVALID_IDP_INITIATED_LOGIN: 'invalid_idp_initiated_login',
  /** The authorization code was refused by the token endpoint, RFC 6749 §5.2 (400). */
  INVALID_GRANT: 'invalid_grant',
  /** The pending login transaction is older than its lifetime (400). */
  TRANSACTION_EXPIRED: 'transaction_expired',
  /** No valid session on a route guarded by `requireAuth()` (401). */
  UNAUTHORIZED: 'unauthorized',
  /** The signed-in user does not meet the `claims` requirement of a `requireAuth()` route, RFC 9110 §15.5.4 (403). */
  FORBIDDEN: 'forbidden',
  /** The provider could not be reached (502). */
  PROVIDER_UNREACHABLE: 'provider_unreachable',
  /** The provider did not answer within `httpTimeout` seconds (504). */
  PROVIDER_TIMEOUT: 'provider_timeout',
  /** The provider answered with something that is not a valid response (502). */
  INVALID_PROVIDER_RESPONSE: 'invalid_provider_response',
  /** The ID token failed validation, OpenID Connect Core 1.0 §3.1.3.7 (502). */
  INVALID_ID_TOKEN: 'invalid_id_token',
  /** The UserInfo response failed validation, e.g. its `sub` is not the ID token's, OpenID Connect Core 1.0 §5.3.4 (502). */
  INVALID_USERINFO: 'invalid_userinfo',
  /** The sealed session is too large for a request's headers to carry back (500). */
  SESSION_TOO_LARGE: 'session_too_large',
  /**
   * The provider refused the session's refresh token (`invalid_grant`), or the refreshed ID token
   * names another user, OpenID Connect Core 1.0 §12.2 (401): the session is over.
   */
  SESSION_ENDED: 'session_ended',
  /** A refresh failed because the provider did (unreachable, timeout, a bad answer); the session is kept (503). */
  REFRESH_FAILED: 'refresh_failed',
  /** `req.oidc.refresh()` on a session without a refresh token (400). */
  REFRESH_UNAVAILABLE: 'refresh_unavailable',
  /**
   * The ID token's `auth_time` is older than the `max_age` the login sent, OpenID Connect Core 1.0
   * §3.1.3.7 item 13 (401): the provider did not re-authenticate the user.
   */
  MAX_AGE_EXCEEDED: 'max_age_exceeded',
  /** The ID token's `acr` is not one of the values the login asked for, OpenID Connect Core 1.0 §3.1.2.1, §5.5.1.1 (401). */
  ACR_MISMATCH: 'acr_mismatch',
  /**
   * The ID token names another organization than the one `authorizationParams` fixes; or
   * Scalekit's IdP-initiated login token names another organization or connection than the one
   * it fixes, or a connection without the fixed organization (403).
   */
  ORGANIZATION_MISMATCH: 'organization_mismatch',
  /**
   * The session does not meet a route's `requireAuth({ acr, maxAge })` and no new login can be
   * asked for it (an API request, or the login route cannot send it), RFC 9470 §3 (401).
   */
  INSUFFICIENT_USER_AUTHENTICATION: 'insufficient_user_authentication',
  /**
   * With `tenants`: the issuer neither sends `iss` (RFC 9207) nor has a `redirect_uri` of its own,
   * so its responses could not be told from another issuer's, RFC 9700 §4.4.2 (500).
   */
  MIX_UP_UNPROTECTED: 'mix_up_unprotected',
  /** `dpop: 'required'` and the provider does not advertise DPoP or did not bind the tokens, RFC 9449 (502). */
  DPOP_UNSUPPORTED: 'dpop_unsupported',
  /** The app's `afterCallback` refused the login by returning `false` (403). */
  LOGIN_REFUSED: 'login_refused',
  /** An app hook (`loginState`, `afterCallback`) threw, or returned what it may not; `cause` has the details (500). */
  HOOK_FAILED: 'hook_failed',
  /**
   * The ID token's `session_expiry` (IPSIE SL1) has passed: the provider's session is over before
   * this one could start (401).
   */
  SESSION_EXPIRED: 'session_expired',
  /**
   * Pushed authorization requests (RFC 9126) are required, by `pushedAuthorizationRequests:
   * 'required'` or by the provider's `require_pushed_authorization_requests`, and the provider
   * publishes no `pushed_authorization_request_endpoint`, RFC 9126 §5 (502): no login can start.
   */
  PAR_UNSUPPORTED: 'par_unsupported',
  /**
   * `requestObject` is set and the provider does not accept signed request objects as sent: no
   * `request_parameter_supported` (without PAR), or the algorithm is not in its
   * `request_object_signing_alg_values_supported`, RFC 9101, OpenID Connect Discovery 1.0 §3 (502).
   */
  REQUEST_OBJECT_UNSUPPORTED: 'request_object_unsupported',
  /**
   * A login reached an app with an https `baseURL` over plain http from a proxy that ended TLS
   * and sent no `X-Forwarded-Proto` (the browser came back with a `Secure` cookie), and the app's
   * express-session cookie is `secure: true`: express-session never sets it on such a request,
   * whatever its `proxy` option, so the app's session would not survive the login (500): the
   * app's configuration is at fault.
   */
  TRUST_PROXY_MISSING: 'trust_proxy_missing',
  /**
   * A login reached an app served over plain http (an `http:` `baseURL`, no proxy saying
   * otherwise) whose express-session cookie is `secure: true`: express-session never sets a
   * `Secure` cookie over http, so the app's session would not survive the login (500): the app's
   * configuration is at fault.
   */
  SECURE_COOKIE_OVER_HTTP: 'secure_cookie_over_http',
  /**
   * The app's express-session cookie is `SameSite=Strict` and the provider's issuer is certainly
   * another site than the callback (see `checkExpressSessionCookie()`): browsers do not send it
   * on the provider's redirect back to the callback (a cross-site navigation), so the login could not
   * renew that session (session fixation) and the app would not see it there (500): the app's
   * configuration is at fault; use `sameSite: 'lax'`.
   */
  SESSION_COOKIE_STRICT: 'session_cookie_strict',
  /** The express-session store failed, or did not answer within `storeTimeout` seconds (503). */
  STORE_UNAVAILABLE: 'store_unavailable',
  /** An unexpected failure inside the middleware (500); `cause` has the details. */
  INTERNAL_ERROR: 'internal_error',
} as const;

/**
 * A code this package gives an {@link AuthError}: one of {@link AuthErrorCodes}. The union is
 * closed, so a code thrown but not listed there does not compile.
 */
export type AuthErrorCode = (typeof AuthErrorCodes)[keyof typeof AuthErrorCodes];

/** Brands {@link ProviderErrorCode}: no plain string is one. */
declare const providerErrorCode: unique symbol;

/**
 * An OAuth `error` the provider sent, passed through as the {@link AuthError}'s code: from the
 * authorization response (RFC 6749 §4.1.2.1, e.g. `access_denied`, `login_required`: 400) or the
 * token endpoint (RFC 6749 §5.2, e.g. `invalid_client`: 502). Made only by `oauthErrorCode()`,
 * so it is letters, digits, `_`, `.` and `-`, and never one of this package's own codes.
 */
export type ProviderErrorCode = string & {
  /** The brand: only `oauthErrorCode()` makes a value of this type. */
  readonly [providerErrorCode]: true;
};

/** Options of {@link AuthError}. */
export interface AuthErrorOptions {
  /** The underlying error, kept for logs. */
  cause?: unknown;
}

/**
 * An error with an HTTP `status` and a stable `code`, passed to Express's `next()`. An exposed
 * message (4xx) carries no markup (`<`, `>`); still render it as text or JSON, as here.
 *
 * @example
 * ```ts
 * const onError: ErrorRequestHandler = (err, req, res, next) => {
 *   if (!(err instanceof AuthError)) return next(err);
 *   if (err.status >= 500) console.error(err, err.cause); // for the logs, never the browser
 *   res.status(err.status).json({ error: err.code, error_description: err.expose ? err.message : 'Sign-in failed' });
 * };
 * app.use(onError);
 * ```
 */
export class AuthError extends Error {
  /** HTTP status code: 4xx for what the client sent, 5xx for server or provider faults. */
  readonly status: number;
  /** Alias of `status`, as `http-errors` and Express's final handler read it. */
  readonly statusCode: number;
  /** Stable, machine-readable code: this package's ({@link AuthErrorCode}), or the provider's OAuth `error` ({@link ProviderErrorCode}). */
  readonly code: AuthErrorCode | ProviderErrorCode;
  /** `true` when `message` is safe to show to the user (every 4xx). */
  readonly expose: boolean;

  /**
   * @param code - stable error code
   * @param status - HTTP status, 400 to 599
   * @param message - human-readable text; never contains tokens or secrets
   * @param options - `cause`: the underlying error
   */
  constructor(code: AuthErrorCode | ProviderErrorCode, status: number, message: string, options?: AuthErrorOptions) {
    // An exposed message may be shown in a page: it never carries markup.
    super(status < 500 ? message.replace(/[<>]/g, ' ') : message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = this.constructor.name;
    this.code = code;
    this.status = status;
    this.statusCode = status;
    this.expose = status < 500;
  }
}

/**
 * An OAuth `error` fit to be a `code`: RFC 6749 §4.1.2.1 and §5.2 allow any of
 * `%x20-21 / %x23-5B / %x5D-7E`, markup included; every `error` those RFCs and their
 * extensions register is letters, digits and `_` (e.g. `invalid_grant`, `login_required`).
 */
const OAUTH_ERROR = /^[A-Za-z0-9_.-]{1,64}$/;

/** This package's own codes that are not OAuth's: a provider's `error` of one of these would pass for ours. */
const OWN_CODES: ReadonlySet<string> = new Set(Object.values(AuthErrorCodes).filter((code) => code !== 'invalid_request' && code !== 'invalid_grant'));

/**
 * An OAuth `error` value fit to be an {@link AuthError} `code`: `value` when it is letters,
 * digits, `_`, `.` and `-` only (at most 64), and not one of this package's own codes (a
 * provider's `store_unavailable` must not pass for ours); else `fallback`. A `code` never carries
 * markup.
 */
export function oauthErrorCode(value: unknown, fallback: AuthErrorCode): AuthErrorCode | ProviderErrorCode {
  if (typeof value !== 'string' || !OAUTH_ERROR.test(value) || OWN_CODES.has(value)) return fallback;
  return value === fallback ? fallback : value as ProviderErrorCode;
}

/** Characters kept by {@link plainText}: printable ASCII without markup (`<`, `>`, `&`, quotes, backquote) or backslash. */
const NOT_PLAIN = /[^\x20\x21\x23-\x25\x28-\x3b\x3d\x3f-\x5b\x5d-\x5f\x61-\x7e]+/g;

/**
 * Text from outside (a provider's `error_description`, a claim value) made fit for a message that
 * may be shown in a page: printable ASCII without markup characters (`< > & " ' \``) or
 * backslash, each run of others one space, at most `max` characters, trimmed.
 */
export function plainText(value: string, max: number): string {
  return value.replace(NOT_PLAIN, ' ').slice(0, max).trim();
}

/**
 * OAuth `error`s that are about the redirect URI itself: `invalid_redirect_uri` (oidc-provider,
 * after RFC 7591 §3.2.2) and `redirect_uri_mismatch` (Google, GitHub).
 */
const REDIRECT_URI_ERRORS: ReadonlySet<string> = new Set(['invalid_redirect_uri', 'redirect_uri_mismatch']);

/**
 * When a provider's refusal is about the `redirect_uri` this app sent (its `error` says so, or
 * its `error_description` names `redirect_uri`), what to fix: the URI sent, and that it must be
 * registered at the provider exactly as sent; else `undefined`. The description only adds this
 * hint: the error's `code` is always the provider's `error`, never read from its text.
 *
 * @param error - the provider's OAuth `error`
 * @param description - its `error_description`, if any
 * @param sent - the `redirect_uri` the request carried
 */
export function redirectUriRefusal(error: unknown, description: unknown, sent: string): string | undefined {
  const named = typeof error === 'string' && REDIRECT_URI_ERRORS.has(error);
  if (!named && !(typeof description === 'string' && /redirect_?uri/i.test(description))) return undefined;
  return `the redirect_uri this app sent, ${sent}, is not one the provider has registered for this client: register it there exactly as sent (scheme, host, port, path, `
    + 'no trailing slash added or missing), or change baseURL or routes.callback (with tenants, the client\'s redirectUri) to make it the registered one';
}

/**
 * `err` as an {@link AuthError}: itself, or a 500 `internal_error` with `err` as its `cause` (an
 * unexpected failure: a bug, or a hook of the app's that threw), so that everything the
 * middleware passes to `next()` has a `status` and a `code`.
 */
export function asAuthError(err: unknown): AuthError {
  return err instanceof AuthError ? err : new AuthError('internal_error', 500, 'Unexpected error in express-oidc-callback (see cause)', { cause: err });
}

/** Own properties of an error worth logging: none of them can hold a token or a response body. */
const SAFE_PROPERTIES = ['code', 'error', 'status'] as const;

/**
 * A copy of `err` for logs: its name, message, stack, and `code`, `error` and `status` when they
 * are strings or numbers, with the same redaction applied down its `cause` chain. Anything else
 * (a response body, a parsed token response, a JWS, a `Response`) is dropped.
 */
export function redacted(err: unknown): Error | undefined {
  if (!(err instanceof Error) && !types.isNativeError(err)) return undefined;
  const nested = redacted(err.cause);
  const copy = new Error(err.message, nested === undefined ? undefined : { cause: nested });
  copy.name = err.name;
  if (err.stack !== undefined) copy.stack = err.stack;
  const source = err as unknown as Record<string, unknown>;
  const target = copy as unknown as Record<string, unknown>;
  for (const key of SAFE_PROPERTIES) {
    const value = source[key];
    if (typeof value === 'string' || typeof value === 'number') target[key] = value;
  }
  return copy;
}

/** The `code` of every `TypeError` a misconfiguration throws at start-up. */
export const ERR_INVALID_OPTION = 'ERR_INVALID_OPTION';

/**
 * A misconfiguration found at start-up, by `authCallback()`, `requireAuth()` or an adapter's
 * factory: a `TypeError` (as Node.js and openid-client throw for bad arguments) with a stable
 * `code` ({@link ERR_INVALID_OPTION}) and the `option` it names, so that apps and tests can match
 * them rather than the message.
 */
export class ConfigurationError extends TypeError {
  /** Always {@link ERR_INVALID_OPTION}. */
  readonly code = ERR_INVALID_OPTION;
  /** The option at fault, e.g. `secret` or `tenants.client().redirectUri`. */
  readonly option: string;

  /**
   * @param message - what is wrong and how to fix it, naming the option
   * @param option - the option at fault
   */
  constructor(message: string, option: string) {
    super(message);
    this.name = this.constructor.name;
    this.option = option;
  }
}
