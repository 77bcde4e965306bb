/**
 * The seam for authorization servers that are not OpenID Providers: what a
 * {@link ProviderAdapter} is (one server's authorization URL, code exchange and, optionally,
 * refresh and logout), and the helpers adapters share. `adapter-provider.ts` turns an adapter
 * into the `Provider` the routes use; the transaction (`state`, PKCE), the sealed session,
 * the guard, refresh and logout orchestration stay the middleware's.
 *
 * An adapter for a GitHub-style provider (a token endpoint and a user endpoint) is one file: see
 * `oauth2.ts` and `github.ts`.
 *
 * @packageDocumentation
 */
import { AuthError, oauthErrorCode } from '../../errors.js';
import { isLoopbackHost } from '../../config/checks.js';

/** A `fetch` bound to the middleware's settings: `customFetch` and the `httpTimeout`. */
export type AdapterFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** What {@link ProviderAdapter.authorizationUrl} gets for one login. */
export interface AdapterAuthorizationRequest {
  /** The client identifier (RFC 6749 §2.2). */
  clientId: string;
  /** The exact `redirect_uri` (RFC 6749 §3.1.2). */
  redirectUri: string;
  /** `state` (RFC 6749 §10.12): send it; the callback checks it. */
  state: string;
  /** The PKCE `code_challenge` (RFC 7636 §4.2), with `code_challenge_method` `S256`. */
  codeChallenge: string;
  /** The configured `scope`. */
  scope: string;
  /** `authorizationParams`, with this login's `loginParams` the app did not fix (`login_hint`, `organization_id`, …). */
  params: Readonly<Record<string, string>>;
}

/** What {@link ProviderAdapter.exchangeCode} gets: the callback's code and the transaction's `code_verifier`. */
export interface AdapterCodeRequest {
  /** The authorization code (RFC 6749 §4.1.2); `state` was checked already. */
  code: string;
  /** The PKCE `code_verifier` (RFC 7636 §4.5). */
  codeVerifier: string;
  /** The `redirect_uri` the authorization request carried (RFC 6749 §4.1.3 requires it again). */
  redirectUri: string;
  /** The callback URL with the authorization response's parameters. */
  callbackUrl: URL;
  /** The `state` the callback carried, already matched with the transaction. */
  state: string;
  /** The client identifier. */
  clientId: string;
  /** The client secret; `undefined` for a public client (PKCE alone proves the login). */
  clientSecret: string | undefined;
  /** Use it for every request to the provider: it applies `customFetch` and `httpTimeout`. */
  fetch: AdapterFetch;
  /** The allowed clock difference when checking a token's times, in seconds (`clockTolerance`). */
  clockTolerance: number;
}

/** What {@link ProviderAdapter.refresh} gets. */
export interface AdapterRefreshRequest {
  /** The session's refresh token (RFC 6749 §6). */
  refreshToken: string;
  /** The client identifier. */
  clientId: string;
  /** The client secret; `undefined` for a public client. */
  clientSecret: string | undefined;
  /** Use it for every request to the provider: it applies `customFetch` and `httpTimeout`. */
  fetch: AdapterFetch;
  /** The allowed clock difference when checking a token's times, in seconds (`clockTolerance`). */
  clockTolerance: number;
}

/** The user's claims as an adapter gives them. */
export interface AdapterClaims {
  /** The user's stable identifier at the provider (never a renamable login name). */
  sub: string;
  /** Any other claim, with OpenID Connect Core 1.0 §5.1 names where one fits. */
  [claim: string]: unknown;
}

/**
 * An adapter's answer to a code exchange or a refresh. Times are in seconds.
 */
export interface AdapterTokens {
  /** The access token (RFC 6749 §5.1), kept sealed as `req.oidc.accessToken`. */
  accessToken: string;
  /** RFC 6749 §7.1 token type. Default `'bearer'`. */
  tokenType?: string;
  /** The refresh token (RFC 6749 §5.1), when the provider issued one. */
  refreshToken?: string;
  /** Lifetime of the access token, in seconds (RFC 6749 §5.1 `expires_in`). */
  expiresIn?: number;
  /** The granted scope (RFC 6749 §5.1), when the provider said. */
  scope?: string;
  /**
   * The user, as claims with OpenID Connect Core 1.0 §5.1 names where one fits (`sub`, `email`,
   * `name`, `given_name`, `picture`, …): `req.user`. `sub` is required from a code exchange; a
   * refresh may leave `claims` out to keep the session's. `iss` is set to the adapter's `issuer`.
   */
  claims?: AdapterClaims;
  /** Other members of the response to keep with the session, as `req.oidc.extra`. */
  extra?: Record<string, unknown>;
}

/**
 * A provider that is not an OpenID Provider (no discovery, no ID token), e.g. WorkOS's
 * `/user_management/authenticate` or a GitHub-style OAuth 2.0 server, given as `adapter` to
 * `authCallback()`. Its methods throw {@link AuthError}s for the provider's refusals (a refused
 * code is `invalid_grant`, 400; see {@link readProviderJson}); any other error they throw becomes
 * a 502 (`provider_unreachable` for a network failure, `provider_timeout`, 504, for a timeout,
 * else `invalid_provider_response`).
 */
export interface ProviderAdapter {
  /** The issuer identifier sessions are bound to (`req.user.iss`): an absolute URL of the provider. */
  readonly issuer: string;
  /** The scope used when `authCallback()` sets none. */
  readonly defaultScope?: string;
  /** The authorization request URL (RFC 6749 §4.1.1) with `state` and the PKCE `S256` challenge. */
  authorizationUrl(request: AdapterAuthorizationRequest): URL;
  /** Exchanges the authorization code for tokens and the user's claims. */
  exchangeCode(request: AdapterCodeRequest): Promise<AdapterTokens>;
  /**
   * Refreshes the tokens (RFC 6749 §6). Without it, a refresh that falls due (`autoRefresh`, or
   * `req.oidc.refresh()`) ends the session, as a refused refresh token would.
   */
  refresh?(request: AdapterRefreshRequest): Promise<AdapterTokens>;
  /** Where to send the browser to end the provider's session too (`undefined`: nowhere). */
  endSessionUrl?(request: { claims: Readonly<Record<string, unknown>>; postLogoutRedirectUri: string; clientId: string }): URL | undefined;
}

/**
 * Checks a URL an adapter sends credentials, codes or tokens to: absolute, and `https:` (`http:`
 * only on a loopback host, for tests and development).
 *
 * @param value - the URL
 * @param name - how to name it in the error, e.g. `'oauth2(): option "tokenEndpoint"'`
 * @throws TypeError naming `name` when the URL is not usable
 */
export function checkProviderUrl(value: unknown, name: string): URL {
  let url: URL;
  try {
    url = new URL(value as string);
  } catch {
    throw new TypeError(`${name} must be an absolute URL (got ${JSON.stringify(value)})`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    throw new TypeError(`${name} must use https: (http: only on a loopback host), got ${JSON.stringify(url.origin)}`);
  }
  return url;
}

/**
 * The authorization request URL (RFC 6749 §4.1.1 with PKCE `S256`, RFC 7636 §4.3): `endpoint`
 * with `params` and then the protocol's own parameters (`client_id`, `redirect_uri`,
 * `response_type=code`, `state`, `code_challenge`, `code_challenge_method`), which `params`
 * cannot override.
 */
export function authorizationRequestUrl(endpoint: string, request: AdapterAuthorizationRequest, params: Readonly<Record<string, string>>): URL {
  const url = new URL(endpoint);
  const all = {
    ...params,
    client_id: request.clientId,
    redirect_uri: request.redirectUri,
    response_type: 'code',
    state: request.state,
    code_challenge: request.codeChallenge,
    code_challenge_method: 'S256',
  };
  for (const [name, value] of Object.entries(all)) url.searchParams.set(name, value);
  return url;
}

/**
 * Reads a provider's JSON answer. A non-2xx answer, or a 2xx whose body carries an OAuth `error`
 * (GitHub answers errors with 200), becomes an {@link AuthError}: `invalid_grant` (400) for a
 * refused code or refresh token (RFC 6749 §5.2), `invalid_client` (502) for refused client
 * credentials, other codes 502.
 *
 * @throws AuthError as above, or `invalid_provider_response` (502) when the body is not a JSON object
 */
export async function readProviderJson(response: Response): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await response.json();
  } catch (err) {
    throw new AuthError('invalid_provider_response', 502, `The provider answered ${response.status} without a JSON body`, { cause: err });
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AuthError('invalid_provider_response', 502, `The provider answered ${response.status} without a JSON object`);
  }
  const json = body as Record<string, unknown>;
  if (response.ok && json.error === undefined) return json;
  const code = oauthErrorCode(json.error, 'invalid_provider_response');
  const status = code === 'invalid_grant' ? 400 : 502;
  throw new AuthError(code, status, `The provider refused the request (${code}, HTTP ${response.status})`);
}
