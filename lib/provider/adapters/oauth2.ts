/**
 * A plain OAuth 2.0 provider (RFC 6749): an authorization endpoint, a token endpoint and a user
 * endpoint, no ID token. The protocol work (the code exchange with PKCE, refresh, the call to the
 * user endpoint) is openid-client's, given the endpoints instead of discovering them.
 *
 * @packageDocumentation
 */
import * as client from 'openid-client';
import { AuthError } from '../../errors.js';
import { translateError } from '../oidc/translate-error.js';
import { isLoopbackHost } from '../../config/checks.js';
import { authorizationRequestUrl, checkProviderUrl, readProviderJson, type AdapterClaims, type AdapterFetch, type AdapterTokens, type ProviderAdapter } from './adapter.js';

/** Options of {@link oauth2}. */
export interface OAuth2Options {
  /** The identifier sessions are bound to (`req.user.iss`), e.g. `'https://github.com'`. */
  issuer: string;
  /** The authorization endpoint (RFC 6749 §3.1). */
  authorizationEndpoint: string;
  /** The token endpoint (RFC 6749 §3.2). */
  tokenEndpoint: string;
  /** The endpoint that returns the signed-in user as JSON, called with the access token (`Bearer`). */
  userEndpoint: string;
  /** The user endpoint's JSON as claims; `sub` (a string) is required: the user's stable identifier. */
  userClaims(user: Record<string, unknown>): AdapterClaims;
  /** The scope when `authCallback()` sets none. Default `''` (none sent). */
  defaultScope?: string;
  /** How the client authenticates at the token endpoint. Default `'client_secret_basic'` (RFC 6749 §2.3.1). */
  clientAuthMethod?: 'client_secret_basic' | 'client_secret_post';
  /** Headers sent to the user endpoint, e.g. an API version. */
  userEndpointHeaders?: Record<string, string>;
  /**
   * The provider's own error codes mapped to RFC 6749 §5.2's, e.g.
   * `{ bad_verification_code: 'invalid_grant' }`, so that a refused code is a 400, not a 502.
   */
  errorCodes?: Record<string, string>;
}

/**
 * A `fetch` for the token endpoint that gives errors their RFC 6749 §5.2 shape: a 200 whose body
 * is an `error` (GitHub answers so) becomes a 400, and the provider's own codes are renamed.
 */
function tokenFetch(fetch: AdapterFetch, errorCodes: Readonly<Record<string, string>>): client.CustomFetch {
  return async (url, init) => {
    const response = await fetch(url, init as RequestInit);
    if (!(response.headers.get('content-type') ?? '').includes('json')) return response;
    const body = await response.clone().json().catch(() => undefined) as Record<string, unknown> | undefined;
    if (typeof body?.error !== 'string' || body.access_token !== undefined) return response;
    const error = errorCodes[body.error] ?? body.error;
    return new Response(JSON.stringify({ ...body, error }), {
      status: response.ok ? 400 : response.status,
      headers: { 'content-type': 'application/json' },
    });
  };
}

/**
 * An adapter for a plain OAuth 2.0 provider (`adapter: oauth2({...})`): the authorization code
 * flow with PKCE `S256` and `state`, the code exchanged at `tokenEndpoint`, and the user read from
 * `userEndpoint` with the access token and mapped to claims by `userClaims`. Refresh uses the
 * refresh token when the provider issued one. There is no logout endpoint: logout ends the local
 * session. See {@link github} for a complete profile built on it.
 */
export function oauth2(options: OAuth2Options): ProviderAdapter {
  for (const key of ['issuer', 'authorizationEndpoint', 'tokenEndpoint', 'userEndpoint'] as const) checkProviderUrl(options[key], `oauth2(): option "${key}"`);
  if (typeof options.userClaims !== 'function') throw new TypeError('oauth2(): option "userClaims" must be a function (user) => ({ sub, ... })');
  const metadata: client.ServerMetadata = {
    issuer: options.issuer,
    authorization_endpoint: options.authorizationEndpoint,
    token_endpoint: options.tokenEndpoint,
  };
  const insecure = [options.tokenEndpoint, options.userEndpoint].some((endpoint) => {
    const url = new URL(endpoint);
    return url.protocol === 'http:' && isLoopbackHost(url.hostname);
  });

  function configuration(clientId: string, clientSecret: string | undefined, fetch: AdapterFetch): client.Configuration {
    const authentication = clientSecret === undefined
      ? client.None()
      : options.clientAuthMethod === 'client_secret_post' ? client.ClientSecretPost(clientSecret) : client.ClientSecretBasic(clientSecret);
    const config = new client.Configuration(metadata, clientId, undefined, authentication);
    config[client.customFetch] = tokenFetch(fetch, options.errorCodes ?? {});
    if (insecure) client.allowInsecureRequests(config); // a provider on loopback (tests, development)
    return config;
  }

  function tokens(response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers): Omit<AdapterTokens, 'claims'> {
    return {
      accessToken: response.access_token,
      tokenType: response.token_type,
      ...(response.refresh_token !== undefined && { refreshToken: response.refresh_token }),
      ...(response.expiresIn() !== undefined && { expiresIn: response.expiresIn() }),
      ...(typeof response.scope === 'string' && { scope: response.scope }),
    };
  }

  return {
    issuer: options.issuer,
    defaultScope: options.defaultScope ?? '',
    authorizationUrl(request) {
      return authorizationRequestUrl(options.authorizationEndpoint, request, {
        ...request.params,
        ...(request.scope !== '' && { scope: request.scope }),
      });
    },
    async exchangeCode(request) {
      const config = configuration(request.clientId, request.clientSecret, request.fetch);
      let response;
      try {
        response = await client.authorizationCodeGrant(config, request.callbackUrl, {
          pkceCodeVerifier: request.codeVerifier,
          expectedState: request.state,
          idTokenExpected: false,
        });
      } catch (err) {
        throw translateError(err, 'token');
      }
      let userResponse: Response;
      try {
        userResponse = await client.fetchProtectedResource(
          config, response.access_token, new URL(options.userEndpoint), 'GET', null,
          new Headers({ accept: 'application/json', ...options.userEndpointHeaders }),
        );
      } catch (err) {
        throw translateError(err, 'resource');
      }
      const user = await readProviderJson(userResponse);
      let claims;
      try {
        claims = options.userClaims(user);
      } catch (err) {
        throw new AuthError('invalid_provider_response', 502, 'The user endpoint\'s answer could not be mapped to claims', { cause: err });
      }
      return { ...tokens(response), claims };
    },
    async refresh(request) {
      const config = configuration(request.clientId, request.clientSecret, request.fetch);
      try {
        return tokens(await client.refreshTokenGrant(config, request.refreshToken));
      } catch (err) {
        throw translateError(err, 'token');
      }
    },
  };
}
