/**
 * The seam for authorization servers that are not OpenID Providers: a {@link ProviderAdapter}
 * knows one server's authorization URL, code exchange and (optionally) refresh and logout; this
 * module turns it into a {@link Provider} the routes use like an OpenID Provider. The
 * transaction (`state`, PKCE), the sealed session, the guard, refresh and logout orchestration
 * stay the middleware's.
 *
 * An adapter for a GitHub-style provider (a token endpoint and a user endpoint) is one file: see
 * `adapters/oauth2.ts` and `adapters/github.ts`.
 *
 * @packageDocumentation
 */
import { types } from 'node:util';
import type { DPoPKey } from '../dpop-key.js';
import { AuthError, oauthErrorCode } from '../../errors.js';
import { redacted, type CodeExchangeChecks, type RefreshedTokens, type TokenSet, type UserClaims, type UserInfoClaims } from '../oidc/openid-provider.js';
import { calculatePKCECodeChallenge } from 'openid-client';
import { isLoopbackHost, type ResolvedOptions } from '../../config/resolve-options.js';
import type { EndingSession, Provider, ResourceRequest } from '../provider.js';

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

/**
 * `err` as the AuthError the adapter meant, or the 502/504 a fault of the provider is; the cause
 * kept is {@link redacted} (an adapter's own error may carry the provider's answer).
 */
function adapterError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  const name = (err as Error | undefined)?.name;
  const cause = redacted(err);
  if (name === 'TimeoutError' || name === 'AbortError') return new AuthError('provider_timeout', 504, 'The provider did not answer in time', { cause });
  // fetch()'s network failure: a TypeError with a cause (ECONNREFUSED, …), maybe of another realm (a customFetch).
  if ((err instanceof TypeError || (types.isNativeError(err) && err.name === 'TypeError')) && (err as TypeError & { cause?: unknown }).cause !== undefined) {
    return new AuthError('provider_unreachable', 502, 'The provider could not be reached', { cause });
  }
  return new AuthError('invalid_provider_response', 502, 'The provider\'s answer could not be used', { cause });
}

/**
 * A {@link ProviderAdapter} as the {@link Provider} the routes use: state and PKCE are the
 * middleware's, the adapter's errors are translated, and its claims get the adapter's `iss`.
 * What only an OpenID Provider has is refused: UserInfo (use the adapter's claims), DPoP,
 * back-channel logout.
 */
export class AdapterProvider implements Provider {
  readonly #adapter: ProviderAdapter;
  readonly #options: ResolvedOptions & { clientId: string };
  readonly #fetch: AdapterFetch;

  constructor(adapter: ProviderAdapter, options: ResolvedOptions & { clientId: string }) {
    this.#adapter = adapter;
    this.#options = options;
    const base = options.customFetch ?? fetch;
    const timeout = options.httpTimeout * 1000;
    // `httpTimeout` bounds every request, also when the caller brings its own signal (openid-client's
    // 30 s, jose's 5 s for a JWKS): whichever fires first aborts it.
    this.#fetch = (url, init = {}) => {
      const limit = AbortSignal.timeout(timeout);
      return base(String(url), { ...init, signal: init.signal ? AbortSignal.any([init.signal, limit]) : limit });
    };
  }

  get clientId(): string {
    return this.#options.clientId;
  }

  get redirectUri(): string {
    return this.#options.redirectUri.href;
  }

  /** DPoP needs an OpenID Provider's metadata: `dpop` is refused with an adapter at start-up. */
  async supportsDPoP(): Promise<boolean> {
    return false;
  }

  async identifier(): Promise<string> {
    return this.#adapter.issuer;
  }

  /** An adapter's provider does not send RFC 9207 `iss`; one that does is still checked by the callback. */
  async sendsIssInResponse(): Promise<boolean> {
    return false;
  }

  /**
   * @throws AuthError `invalid_request` (400) for a login asking for `max_age`: only an ID token's
   *   `auth_time` proves when the user authenticated, so a re-authentication the app asked for
   *   could not be checked (OpenID Connect Core 1.0 §3.1.2.1). (`authorizationParams.max_age` is
   *   refused with an adapter at start-up.)
   */
  async authorizationUrl(checks: CodeExchangeChecks, params: Readonly<Record<string, string>>): Promise<URL> {
    const o = this.#options;
    if (params.max_age !== undefined) {
      throw new AuthError('invalid_request', 400, 'The login parameter "max_age" needs an OpenID Provider: this provider cannot prove when the user authenticated');
    }
    return this.#adapter.authorizationUrl({
      clientId: o.clientId,
      redirectUri: o.redirectUri.href,
      state: checks.state,
      codeChallenge: await calculatePKCECodeChallenge(checks.codeVerifier),
      scope: o.scope,
      params,
    });
  }

  async exchangeCode(callbackUrl: URL, checks: CodeExchangeChecks): Promise<TokenSet> {
    const o = this.#options;
    let tokens: AdapterTokens;
    try {
      tokens = await this.#adapter.exchangeCode({
        code: callbackUrl.searchParams.get('code') ?? '',
        codeVerifier: checks.codeVerifier,
        redirectUri: o.redirectUri.href,
        callbackUrl,
        state: checks.state,
        clientId: o.clientId,
        clientSecret: o.clientSecret,
        fetch: this.#fetch,
        clockTolerance: o.clockTolerance,
      });
    } catch (err) {
      throw adapterError(err);
    }
    if (typeof tokens?.claims?.sub !== 'string' || tokens.claims.sub.length === 0) {
      throw new AuthError('invalid_provider_response', 502, 'The provider adapter gave no user (claims.sub)');
    }
    return { ...this.#tokenSet(tokens), claims: this.#claims(tokens.claims) };
  }

  async refresh(refreshToken: string): Promise<RefreshedTokens> {
    const o = this.#options;
    if (this.#adapter.refresh === undefined) throw new AuthError('invalid_grant', 400, 'This provider adapter cannot refresh tokens');
    let tokens: AdapterTokens;
    try {
      tokens = await this.#adapter.refresh({ refreshToken, clientId: o.clientId, clientSecret: o.clientSecret, fetch: this.#fetch, clockTolerance: o.clockTolerance });
    } catch (err) {
      throw adapterError(err);
    }
    return { ...this.#tokenSet(tokens), ...(tokens.claims !== undefined && { claims: this.#claims(tokens.claims) }) };
  }

  #claims(claims: { sub: string; [claim: string]: unknown }): UserClaims {
    return { ...claims, iss: this.#adapter.issuer };
  }

  #tokenSet(tokens: AdapterTokens): Omit<TokenSet, 'claims'> {
    if (typeof tokens?.accessToken !== 'string' || tokens.accessToken.length === 0) {
      throw new AuthError('invalid_provider_response', 502, 'The provider adapter gave no access token');
    }
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = tokens.expiresIn;
    return {
      accessToken: tokens.accessToken,
      tokenType: (tokens.tokenType ?? 'bearer').toLowerCase(),
      ...(tokens.refreshToken !== undefined && { refreshToken: tokens.refreshToken }),
      ...(typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 && { expiresAt: now + Math.floor(expiresIn) }),
      ...(tokens.scope !== undefined && { scope: tokens.scope }),
      ...(tokens.extra !== undefined && { extra: tokens.extra }),
    };
  }

  async fetchUserInfo(): Promise<UserInfoClaims> {
    throw new AuthError('internal_error', 500, 'fetchUserInfo() needs an OpenID Provider: a provider adapter gives the user\'s claims at login (req.user)');
  }

  /** Calls a resource server with `Authorization: Bearer` (RFC 6750 §2.1). */
  async fetchResource(accessToken: string, url: URL, init: ResourceRequest, dpop?: DPoPKey): Promise<Response> {
    if (dpop !== undefined) throw new AuthError('internal_error', 500, 'DPoP needs an OpenID Provider');
    try {
      return await this.#fetch(url, {
        method: init.method ?? 'GET',
        ...(init.body !== undefined && { body: init.body }),
        headers: { ...init.headers, authorization: `Bearer ${accessToken}` },
      });
    } catch (err) {
      throw adapterError(err);
    }
  }

  async endSessionUrl(session: EndingSession | undefined, postLogoutRedirectUri: string): Promise<URL | undefined> {
    if (session === undefined || this.#adapter.endSessionUrl === undefined) return undefined;
    try {
      return this.#adapter.endSessionUrl({ claims: session.claims, postLogoutRedirectUri, clientId: this.#options.clientId });
    } catch {
      return undefined; // logout must still end the local session
    }
  }

  async jwksUri(): Promise<string> {
    throw new AuthError('internal_error', 500, 'Back-channel logout needs an OpenID Provider');
  }
}
