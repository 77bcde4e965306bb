/**
 * A {@link ProviderAdapter} as the {@link Provider} the routes use, like an OpenID Provider.
 *
 * @packageDocumentation
 */
import { types } from 'node:util';
import type { DPoPKey } from '../dpop-key.js';
import { AuthError, redacted } from '../../errors.js';
import type {
  CodeExchangeChecks, EndSessionRequest, EndingSession, Provider, RefreshedTokens, ResourceRequest, TokenSet, UserClaims, UserInfoClaims,
} from '../provider.js';
import { codeChallenge } from '../oidc/checks.js';
import { tokenSetOf } from '../token-set.js';
import { withUserAgent } from '../user-agent.js';
import type { ResolvedOptions } from '../../config/resolved-options.js';
import type { AdapterFetch, AdapterTokens, ProviderAdapter } from './adapter.js';

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
    const base = withUserAgent(options.customFetch);
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

  get issuer(): string {
    return this.#adapter.issuer;
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
      codeChallenge: await codeChallenge(checks.codeVerifier),
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
    return tokenSetOf(tokens ?? { accessToken: undefined }, Math.floor(Date.now() / 1000));
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

  /** The adapter's logout URL, returning straight to the page (an adapter's provider sends no `state` back). */
  async endSessionUrl(session: EndingSession | undefined, request: EndSessionRequest): Promise<URL | undefined> {
    if (session === undefined || this.#adapter.endSessionUrl === undefined) return undefined;
    try {
      return this.#adapter.endSessionUrl({ claims: session.claims, postLogoutRedirectUri: request.returnTo, clientId: this.#options.clientId });
    } catch {
      return undefined; // logout must still end the local session
    }
  }

  async jwksUri(): Promise<string> {
    throw new AuthError('internal_error', 500, 'Back-channel logout needs an OpenID Provider');
  }
}
