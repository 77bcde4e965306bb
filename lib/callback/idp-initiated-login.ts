/**
 * Scalekit's IdP-initiated login: when a user opens the app from their identity provider's portal,
 * Scalekit sends the browser to the app's `redirect_uri` with `idp_initiated_login=<JWT>` and no
 * code. The JWT is signed by the Scalekit environment (the issuer) and names where the user
 * signs in (`connection_id`, `organization_id`), who (`login_hint`) and where to land
 * (`relay_state`). It is never accepted as a login: the app verifies it, then starts an ordinary
 * login (state, nonce, PKCE) there, which turns the IdP-initiated flow into an SP-initiated one.
 *
 * Scalekit's SDKs do the same: `getIdpInitiatedLoginClaims(token)` verifies the token with the
 * environment's JWKS and the caller passes `connection_id`, `organization_id` and `login_hint` to
 * `getAuthorizationUrl()`.
 *
 * @see https://docs.scalekit.com/sso/guides/idp-init-sso/ ("Handle identity provider initiated SSO")
 * @see https://scalekit.com/product-updates/idp-initiated-sso (the signed token replaced plain query parameters)
 *
 * @packageDocumentation
 */
import type { ResolvedOptions } from '../config/resolved-options.js';
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { redirect, type HttpRequest, type HttpResponse } from '../http.js';
import { AuthError, redacted } from '../errors.js';
import type { Context } from '../runtime.js';
import type { Provider } from '../provider/provider.js';
import { providerKeys } from '../provider/provider-keys.js';
import { checkNavigation, startLogin } from '../login/login-route.js';
import { returnToOf, signedLoginRequest } from '../login/login-request.js';

/**
 * The JWS algorithms the token may be signed with: the asymmetric ones (RFC 7518 §3.1, RFC 8037).
 * Never `none`, and never HMAC: the app holds no key shared with the issuer for it, and an HMAC
 * "signed" with the issuer's public key would verify against that key taken as a secret.
 */
const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** Longest claim value kept, in characters (the login route's limit for a login parameter). */
const MAX_CLAIM_LENGTH = 1024;

/** The token's claims the app uses; each a non-empty string when present. */
export interface IdpInitiatedLoginClaims {
  /** The SSO connection the user came from (Scalekit's `conn_…`). */
  connection_id?: string;
  /** The organization of that connection (Scalekit's `org_…`). */
  organization_id?: string;
  /** The user's identifier at the identity provider, usually an email address. */
  login_hint?: string;
  /** Where the user wants to land: held to the same-origin rule (`returnToOf()`). */
  relay_state?: string;
}

/** The 400 of a token that cannot be used. */
function invalid(what: string, cause?: unknown): AuthError {
  return new AuthError('invalid_idp_initiated_login', 400,
    `The IdP-initiated login (idp_initiated_login) ${what}: no login was started; start again from the identity provider's portal or this app's login page`,
    cause === undefined ? undefined : { cause: redacted(cause) });
}

/** jose's failures that are the token's fault; any other is the key set's (the provider's). */
const TOKEN_FAULTS = [
  joseErrors.JWSInvalid, joseErrors.JWTInvalid, joseErrors.JWSSignatureVerificationFailed, joseErrors.JWTExpired,
  joseErrors.JWTClaimValidationFailed, joseErrors.JOSEAlgNotAllowed, joseErrors.JOSENotSupported,
  joseErrors.JWKSNoMatchingKey, joseErrors.JWKSMultipleMatchingKeys,
];

/** A verification failure as an {@link AuthError}: 400 for the token, 502/504 when the provider's keys could not be had. */
function verificationError(err: unknown): AuthError {
  if (err instanceof joseErrors.JWKSTimeout) {
    return new AuthError('provider_timeout', 504, 'The provider\'s keys could not be fetched in time to verify an IdP-initiated login', { cause: redacted(err) });
  }
  if (!TOKEN_FAULTS.some((fault) => err instanceof fault)) {
    return new AuthError('provider_unreachable', 502, 'The provider\'s keys could not be fetched to verify an IdP-initiated login', { cause: redacted(err) });
  }
  if (err instanceof joseErrors.JWTExpired) return invalid('has expired', err);
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return invalid('is unsigned, or signed with an algorithm other than an asymmetric one', err);
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) return invalid('is not signed with a key of the issuer', err);
  if (err instanceof joseErrors.JWTClaimValidationFailed) return invalid(`has an unusable "${err.claim}" claim (${err.reason})`, err);
  return invalid('is not a signed JWT', err);
}

/** The claim `name` as a non-empty string, or `undefined` when absent, `null` or empty. @throws AuthError 400 for any other value */
function stringClaim(payload: JWTPayload, name: keyof IdpInitiatedLoginClaims): string | undefined {
  const value = payload[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.length > MAX_CLAIM_LENGTH) invalidClaim(name);
  return value;
}

function invalidClaim(name: string): never {
  throw invalid(`has a "${name}" claim that is not a string of at most ${MAX_CLAIM_LENGTH} characters`);
}

/**
 * Verifies an `idp_initiated_login` token as Scalekit's SDKs do, and more strictly: a JWS (never
 * `none` or HMAC) whose signature is by a key of `provider`'s JWKS (its `jwks_uri`, the keys of
 * its ID tokens); `exp` present and not past (with `clockTolerance`), `nbf` when present reached;
 * `iss`, when present, the issuer identifier; `aud`, when present, this client (or a list holding
 * it). Then `connection_id`, `organization_id`, `login_hint` and `relay_state` are read, each a
 * string when present (an empty one is absent).
 *
 * @param options - `clockTolerance` and `httpTimeout`, in seconds
 * @throws AuthError `invalid_idp_initiated_login` (400) for a token that fails any of these;
 *   `provider_unreachable` (502) or `provider_timeout` (504) when the keys cannot be fetched;
 *   discovery failures (502/504)
 */
export async function verifyIdpInitiatedLogin(
  token: string, provider: Provider, options: Pick<ResolvedOptions, 'clockTolerance' | 'httpTimeout' | 'customFetch'>,
): Promise<IdpInitiatedLoginClaims> {
  const keys = await providerKeys(provider, options);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, keys, { algorithms: ASYMMETRIC_ALGS, clockTolerance: options.clockTolerance, requiredClaims: ['exp'] }));
  } catch (err) {
    throw verificationError(err);
  }
  if (payload.iss !== undefined && payload.iss !== await provider.identifier()) throw invalid('was issued by another issuer than this login\'s');
  const { aud } = payload;
  if (aud !== undefined && !(Array.isArray(aud) ? aud.includes(provider.clientId) : aud === provider.clientId)) throw invalid('is for another client');
  const claims: IdpInitiatedLoginClaims = {};
  for (const name of ['connection_id', 'organization_id', 'login_hint', 'relay_state'] as const) {
    const value = stringClaim(payload, name);
    if (value !== undefined) claims[name] = value;
  }
  return claims;
}

/** The claims that choose where the user signs in, as Scalekit's authorization endpoint names them. */
const PLACE_PARAMS = ['connection_id', 'organization_id'] as const;

/**
 * The authorization request parameters of the fresh login: `connection_id`, `organization_id`
 * and `login_hint` from the verified token, under the app's policy.
 *
 * The issuer signed them, so they may choose the connection and organization even though the
 * login route's query may not (they are not in the default `loginParams`: a link from any site
 * could set those). The app's `authorizationParams` still win: a login at another organization
 * or connection than the one the app fixes is refused rather than silently turned into a login at
 * the app's (which the user did not ask for); and with a fixed `organization_id`, a token naming a
 * connection must name that organization too, since a connection belongs to one organization and
 * Scalekit lets `connection_id` take precedence over `organization_id`. A fixed `login_hint`
 * simply wins. (The ID token is held to a fixed organization at the callback as well.)
 *
 * @throws AuthError `organization_mismatch` (403)
 */
function paramsOf(claims: IdpInitiatedLoginClaims, fixed: Readonly<Record<string, string>>): Record<string, string> {
  for (const name of PLACE_PARAMS) {
    const named = claims[name];
    if (named !== undefined && fixed[name] !== undefined && named !== fixed[name]) {
      throw new AuthError('organization_mismatch', 403, `The IdP-initiated login names another ${name === 'connection_id' ? 'connection' : 'organization'} than the one this app signs in with: no login was started`);
    }
  }
  if (fixed.organization_id !== undefined && claims.connection_id !== undefined && claims.organization_id === undefined) {
    throw new AuthError('organization_mismatch', 403, 'The IdP-initiated login names a connection but not the organization this app signs in with: no login was started');
  }
  const asked: Record<string, string> = {};
  if (claims.connection_id !== undefined) asked.connection_id = claims.connection_id;
  if (claims.organization_id !== undefined) asked.organization_id = claims.organization_id;
  if (claims.login_hint !== undefined) asked.login_hint = claims.login_hint;
  return asked;
}

/**
 * Answers an IdP-initiated login at the callback route: `idp_initiated_login` without a `code`,
 * when the app serves a login route (with `routes.login: false` the middleware starts no logins,
 * and the request is an ordinary, refused, callback). It never signs anyone in, and leaves the
 * browser's pending logins alone.
 *
 * - A signed token (Scalekit's shape, a value with a `.`): verified by
 *   {@link verifyIdpInitiatedLogin} with the keys of this request's issuer (with `tenants`, the one
 *   `tenants.issuer(req)` names). The fresh login then starts here, without a round trip through
 *   the login route: its parameters never travel in a URL the browser (or a forger) could edit,
 *   so the signed `connection_id` and `organization_id` reach the authorization request although
 *   `/login`'s query could not set them. `relay_state` becomes `returnTo` when it is a path of this
 *   app or a URL under `baseURL` (RFC 9700 §4.11), else `/`. Query parameters beside the token are
 *   ignored.
 * - Any other value (Scalekit's former unsigned shape, with `connection_id`, `organization_id`,
 *   `login_hint`, `relay_state` as query parameters): 302 to the login route with those of them
 *   `loginParams` allows and `relay_state` as `returnTo`. Nothing is verified, so nothing is
 *   granted beyond what any link to `/login` may ask for.
 *
 * The IdP-initiated flow cannot prove that the user meant to sign in (anyone can send a browser
 * to an identity provider's portal): a connection an attacker runs in the same Scalekit
 * environment could still sign a user in as the attacker's user. Fix the organization in
 * `authorizationParams` when the app serves one; turn IdP-initiated login off in Scalekit otherwise.
 *
 * @returns `false` when the request is not an IdP-initiated login
 * @throws AuthError `invalid_idp_initiated_login` (400) for a token that fails verification (or
 *   any token with a provider adapter); `organization_mismatch` (403, see `paramsOf()`);
 *   `invalid_request` (400) for a request that is not a page load; `unknown_issuer` (400) with
 *   `tenants`; those of `startLogin()`; 502/504 when the provider or its keys cannot be reached
 */
export async function handleIdpInitiatedLogin(context: Context, req: HttpRequest, res: HttpResponse, params: URLSearchParams): Promise<boolean> {
  const { options } = context;
  const token = params.get('idp_initiated_login');
  if (token === null || params.has('code') || options.routes.login === false) return false;
  if (!token.includes('.')) {
    redirect(res, unsignedRestart(context, params));
    return true;
  }
  checkNavigation(req);
  if (options.adapter !== undefined) throw invalid('is signed by an OpenID Provider, and this app signs in through a provider adapter');
  const provider = await context.providers.forRequest(req);
  const claims = await verifyIdpInitiatedLogin(token, provider, options);
  const login = signedLoginRequest(paramsOf(claims, options.authorizationParams), returnToOf(claims.relay_state, options), options);
  await startLogin(context, req, res, provider, login);
  return true;
}

/** Parameters of the former, unsigned, shape passed to the login route (when `loginParams` allows them). */
const UNSIGNED_PARAMS = ['connection_id', 'organization_id', 'login_hint'];

/** The login route URL for the unsigned shape: its parameters held to `loginParams`, as the login route's own query is. */
function unsignedRestart(context: Context, params: URLSearchParams): string {
  const { routes, basePath, loginParams } = context.options;
  const query = new URLSearchParams();
  for (const name of UNSIGNED_PARAMS) {
    const value = params.get(name);
    if (value !== null && value.length > 0 && value.length <= MAX_CLAIM_LENGTH && loginParams.includes(name)) query.set(name, value);
  }
  query.set('returnTo', returnToOf(params.get('relay_state') ?? undefined, context.options));
  return `${basePath}${routes.login as string}?${query.toString()}`;
}
