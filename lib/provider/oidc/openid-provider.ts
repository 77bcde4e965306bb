/**
 * The OpenID Provider, through `openid-client`: discovery (cached, retried after a failure), the
 * authorization URL, the authorization code exchange with ID token validation, refresh,
 * UserInfo, protected resources and the end-session URL. `provider/oidc/` is the one folder that
 * imports openid-client.
 *
 * @packageDocumentation
 */
import * as client from 'openid-client';
import { chooseAuthMethod, clientAuthentication, importClientKey } from './client-authentication.js';
import { capturingFetch, tokenResponseCapture, type TokenResponseCapture } from './token-response-capture.js';
import { dpopOptions, isUnknownKey, validatedTokenSet, type TokenEndpointResponse } from './token-exchange.js';
import { translateError } from './translate-error.js';
import { withUserAgent } from '../user-agent.js';
import type { DPoPKey } from '../dpop-key.js';
import { AuthError } from '../../errors.js';
import { debugOf } from '../../debug.js';
import type { IssuerOptions } from '../../config/resolved-options.js';
import { defaultKeyAlgorithm } from '../../config/key-algorithms.js';
import type {
  CodeExchangeChecks, EndSessionRequest, EndingSession, Provider, RefreshedTokens, ResourceRequest, TokenSet, UserInfoClaims,
} from '../provider.js';

const debug = debugOf('provider');

/**
 * Checks that the provider accepts a request object signed with `alg` (RFC 9101) the way it is
 * about to be sent: its algorithm in `request_object_signing_alg_values_supported` when the
 * provider publishes that list; by the `request` parameter (not pushed), only when it publishes
 * `request_parameter_supported: true` (OpenID Connect Discovery 1.0 §3, whose default is
 * `false`); pushed (RFC 9126 §3), when it publishes either.
 *
 * @throws AuthError `request_object_unsupported` (502) naming what the metadata lacks and the fix
 */
function checkRequestObjectSupport(metadata: client.ServerMetadata, alg: string, pushed: boolean): void {
  const algs = metadata.request_object_signing_alg_values_supported;
  const listed = Array.isArray(algs);
  if (listed && !algs.includes(alg)) {
    throw new AuthError('request_object_unsupported', 502,
      `requestObject signs with ${alg}, but the provider's request_object_signing_alg_values_supported lists only ${algs.join(', ') || 'nothing'} `
      + '(RFC 9101, OpenID Connect Discovery 1.0 §3): set requestObject: { alg } to one of them (with a key of that type), or allow the algorithm at the provider');
  }
  if (!pushed && metadata.request_parameter_supported !== true) {
    throw new AuthError('request_object_unsupported', 502,
      'requestObject is set, but the provider does not publish request_parameter_supported: true (OpenID Connect Discovery 1.0 §3, RFC 9101 §5.1), '
      + 'so it would ignore or refuse the signed request: turn request objects on at the provider, or push them (pushedAuthorizationRequests, RFC 9126)');
  }
  if (pushed && !listed && metadata.request_parameter_supported !== true) {
    throw new AuthError('request_object_unsupported', 502,
      'requestObject is set, but the provider publishes neither request_object_signing_alg_values_supported nor request_parameter_supported '
      + '(OpenID Connect Discovery 1.0 §3, RFC 9101): turn request objects on at the provider, or set requestObject: false');
  }
}

/**
 * The OpenID Provider behind one `authCallback()`: discovered once, on first use.
 *
 * Concurrent first requests share one discovery; a failed discovery is not cached, so the next
 * request tries again (the provider may have been down at start-up).
 */
export class OpenIdProvider implements Provider {
  readonly #options: IssuerOptions;
  #configuration: Promise<client.Configuration> | undefined;
  #requestObjectSigner: Promise<{ alg: string; key: client.PrivateKey }> | undefined;

  constructor(options: IssuerOptions) {
    this.#options = options;
  }

  /** The client identifier registered at this provider. */
  get clientId(): string {
    return this.#options.clientId;
  }

  /** The `redirect_uri` of logins at this provider. */
  get redirectUri(): string {
    return this.#options.redirectUri.href;
  }

  /** The issuer identifier as configured: discovery refuses a document that names another. */
  get issuer(): string {
    return this.#options.issuerIdentifier;
  }

  /**
   * The provider's `openid-client` configuration, discovered on first call (OpenID Connect
   * Discovery 1.0 §4), then cached.
   *
   * @throws AuthError `provider_unreachable` (502), `provider_timeout` (504) or
   *   `invalid_provider_response` (502, e.g. the document's `issuer` is not the configured one)
   */
  configuration(): Promise<client.Configuration> {
    if (this.#configuration === undefined) {
      const o = this.#options;
      const started = performance.now();
      const pending = client
        .discovery(o.issuer, o.clientId, this.#clientMetadata(), client.None(), {
          timeout: o.httpTimeout,
          ...(o.insecureIssuer && { execute: [client.allowInsecureRequests] }),
          [client.customFetch]: withUserAgent(o.customFetch) as client.CustomFetch,
        })
        .then((discovered) => {
          // openid-client compares normalised URLs; Discovery §4.3 wants the identical string.
          const metadata = discovered.serverMetadata();
          const published = metadata.issuer;
          if (published !== o.issuerIdentifier) {
            throw new AuthError('invalid_provider_response', 502,
              `The provider's discovery document names the issuer "${published}", not the configured "${o.issuerIdentifier}"; `
              + 'set issuer to exactly the value the provider publishes (OpenID Connect Discovery 1.0 §4.3)');
          }
          debug('discovered %s in %d ms%s%s%s', o.issuerIdentifier, Math.round(performance.now() - started),
            metadata.pushed_authorization_request_endpoint === undefined ? '' : ', PAR endpoint',
            metadata.end_session_endpoint === undefined ? ', no end_session_endpoint' : '',
            metadata.authorization_response_iss_parameter_supported === true ? ', sends iss' : '');
          return this.#build(metadata);
        })
        .catch((err: unknown) => {
          this.#configuration = undefined;
          const error = translateError(err, 'discovery');
          debug('discovery of %s failed in %d ms: %s (the next request tries again)', o.issuerIdentifier, Math.round(performance.now() - started), error.code);
          throw error;
        });
      this.#configuration = pending;
    }
    return this.#configuration;
  }

  /**
   * The client metadata openid-client checks and sends by. With `mutualTls`, the token, UserInfo,
   * PAR (and revocation, introspection) requests go to the provider's `mtls_endpoint_aliases`
   * when it publishes them (RFC 8705 §5): a provider may ask for client certificates only there.
   */
  #clientMetadata(mutualTls = false): Partial<client.ClientMetadata> {
    return {
      // Pinned so that a provider advertising `none` or `HS256` cannot downgrade the check.
      id_token_signed_response_alg: this.#options.idTokenSigningAlg,
      [client.clockTolerance]: this.#options.clockTolerance,
      ...(mutualTls && { use_mtls_endpoint_aliases: true }),
    };
  }

  /**
   * A configuration for `metadata` with this client's authentication method (chosen from the
   * options and the provider's `token_endpoint_auth_methods_supported`) and the settings every
   * configuration of this issuer carries. Its JWKS cache starts empty. A client that uses mutual
   * TLS (a `tls_client_auth` method, RFC 8705 §2, or a `clientCertificate` for certificate-bound
   * tokens, §3) uses the provider's `mtls_endpoint_aliases` (§5).
   */
  async #build(metadata: client.ServerMetadata): Promise<client.Configuration> {
    const o = this.#options;
    const method = chooseAuthMethod(o, metadata.token_endpoint_auth_methods_supported);
    const mutualTls = method === 'tls_client_auth' || method === 'self_signed_tls_client_auth' || o.mutualTls;
    const configuration = new client.Configuration(metadata, o.clientId, this.#clientMetadata(mutualTls), await clientAuthentication(o, method));
    client.enableNonRepudiationChecks(configuration); // the ID token's signature is checked, code flow included
    if (o.insecureIssuer) client.allowInsecureRequests(configuration);
    configuration.timeout = o.httpTimeout;
    configuration[client.customFetch] = capturingFetch(withUserAgent(o.customFetch));
    return configuration;
  }

  /**
   * Replaces `stale` by a configuration with the same metadata and an empty JWKS cache, so the
   * next key lookup fetches the JWKS again. Concurrent callers holding the same stale
   * configuration share one replacement.
   */
  async #withFreshKeys(stale: client.Configuration): Promise<client.Configuration> {
    const current = await this.configuration();
    if (current !== stale) return current;
    const fresh = await this.#build(stale.serverMetadata());
    this.#configuration = Promise.resolve(fresh);
    return fresh;
  }

  /**
   * The issuer identifier the provider's metadata declares; `iss` in an authorization response
   * must equal it (RFC 9207 §2.4).
   */
  async identifier(): Promise<string> {
    return (await this.configuration()).serverMetadata().issuer;
  }

  /**
   * The provider's `jwks_uri` (OpenID Connect Discovery 1.0 §3), for validating logout tokens.
   *
   * @throws AuthError when discovery fails (502/504), or the provider publishes no `jwks_uri` (502)
   */
  async jwksUri(): Promise<string> {
    const uri = (await this.configuration()).serverMetadata().jwks_uri;
    if (uri === undefined) throw new AuthError('invalid_provider_response', 502, 'The provider publishes no jwks_uri');
    return uri;
  }

  /**
   * `true` when the provider promises `iss` in every authorization response (RFC 9207 §3).
   */
  async sendsIssInResponse(): Promise<boolean> {
    return (await this.configuration()).serverMetadata().authorization_response_iss_parameter_supported === true;
  }

  /** `true` when the provider advertises DPoP (`dpop_signing_alg_values_supported`, RFC 9449 §5.1). */
  async supportsDPoP(): Promise<boolean> {
    const algs = (await this.configuration()).serverMetadata().dpop_signing_alg_values_supported;
    return Array.isArray(algs) && algs.length > 0;
  }

  /**
   * Builds the authorization request URL (RFC 6749 §4.1.1, OpenID Connect Core 1.0 §3.1.2.1,
   * RFC 7636 §4.3 with `S256`). With pushed authorization requests (RFC 9126) — when the
   * provider requires them (`require_pushed_authorization_requests`), or
   * `pushedAuthorizationRequests` is `'required'`, or `true` and the provider advertises a
   * `pushed_authorization_request_endpoint` — the parameters are posted there with client
   * authentication, and the URL carries only `client_id` and `request_uri`. With `requestObject`,
   * the parameters are first signed into a request object (RFC 9101), sent as `request` or pushed.
   *
   * @param checks - `state`, `nonce` and the PKCE `code_verifier` of the new transaction
   * @param params - the other parameters: `authorizationParams` and this login's (see `readLoginRequest()`)
   * @throws AuthError when discovery fails (502/504); `par_unsupported` (502) when PAR is
   *   required but the provider has no PAR endpoint; `request_object_unsupported` (502) when the
   *   provider does not accept the request object as it would be sent; the PAR endpoint's
   *   refusal (502) or fault
   */
  async authorizationUrl(checks: CodeExchangeChecks, params: Readonly<Record<string, string>>): Promise<URL> {
    const o = this.#options;
    const configuration = await this.configuration();
    const codeChallenge = await client.calculatePKCECodeChallenge(checks.codeVerifier);
    const parameters: Record<string, string> = {
      ...params,
      response_type: 'code',
      redirect_uri: o.redirectUri.href,
      scope: o.scope,
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
      // `query` is the code flow's default response mode (OAuth 2.0 Multiple Response Types §2.1).
      ...(o.responseMode === 'form_post' && { response_mode: 'form_post' }),
    };
    const metadata = configuration.serverMetadata();
    const pushed = this.#pushes(metadata);
    let request: URLSearchParams | Record<string, string> = parameters;
    if (o.requestObject !== undefined) {
      const { alg, key } = await this.#requestObjectKey();
      checkRequestObjectSupport(metadata, alg, pushed);
      try {
        // The header names the configured alg: oauth4webapi names an Ed25519 key's "Ed25519" (RFC 9864), the same signature as "EdDSA".
        ({ searchParams: request } = await client.buildAuthorizationUrlWithJAR(configuration, parameters, key, {
          [client.modifyAssertion]: (header) => { header.alg = alg; },
        }));
      } catch (err) {
        throw translateError(err, 'discovery'); // e.g. metadata without an authorization_endpoint
      }
    }
    if (pushed) {
      try {
        return await client.buildAuthorizationUrlWithPAR(configuration, request);
      } catch (err) {
        throw translateError(err, 'par');
      }
    }
    try {
      return client.buildAuthorizationUrl(configuration, request);
    } catch (err) {
      throw translateError(err, 'discovery'); // e.g. metadata without an authorization_endpoint
    }
  }

  /**
   * The key request objects are signed with (`clientPrivateKey`), imported once, and its
   * algorithm: `requestObject.alg`, else `clientAssertionAlg`, else the key's default. The
   * start-up checks made sure the key can sign with it.
   */
  #requestObjectKey(): Promise<{ alg: string; key: client.PrivateKey }> {
    if (this.#requestObjectSigner === undefined) {
      const o = this.#options;
      const alg = o.requestObject?.alg ?? o.clientAssertionAlg ?? defaultKeyAlgorithm(o.clientPrivateKey!);
      this.#requestObjectSigner = importClientKey(o, alg).then((key) => ({ alg, key }));
    }
    return this.#requestObjectSigner;
  }

  /**
   * `true` when this login's parameters go by pushed authorization request (RFC 9126): the
   * provider requires it (`require_pushed_authorization_requests`, §5), or
   * `pushedAuthorizationRequests` is `'required'`, or `true` and the provider publishes an
   * endpoint.
   *
   * @throws AuthError `par_unsupported` (502) when PAR is required (either way) but the provider
   *   publishes no `pushed_authorization_request_endpoint`: sending the parameters through the
   *   browser instead would break the requirement without a word
   */
  #pushes(metadata: client.ServerMetadata): boolean {
    const option = this.#options.pushedAuthorizationRequests;
    const offered = metadata.pushed_authorization_request_endpoint !== undefined;
    if (metadata.require_pushed_authorization_requests === true) {
      if (!offered) {
        throw new AuthError('par_unsupported', 502,
          'The provider\'s metadata sets require_pushed_authorization_requests but publishes no pushed_authorization_request_endpoint '
          + '(RFC 9126 §5), so no login can start: fix the provider\'s PAR configuration (publish the endpoint, or stop requiring PAR)');
      }
      return true;
    }
    if (option === 'required' && !offered) {
      throw new AuthError('par_unsupported', 502,
        'pushedAuthorizationRequests is \'required\' but the provider publishes no pushed_authorization_request_endpoint (RFC 9126 §5): '
        + 'turn pushed authorization requests on at the provider, or set pushedAuthorizationRequests: true to push only where the provider offers it');
    }
    return option !== false && offered;
  }

  /**
   * Exchanges the authorization code at the token endpoint (RFC 6749 §4.1.3), with the
   * `tokenEndpointParams` option's parameters, and validates the
   * response and its ID token, signature included (OpenID Connect Core 1.0 §3.1.3.5–§3.1.3.7):
   * `iss`, `aud` (and `azp` when several audiences), `exp` and `nbf` within `clockTolerance`
   * seconds, `iat` present and not more than `clockTolerance` seconds in the future, `nonce`, and,
   * when `checks.maxAge` is set, `auth_time` present and within it.
   *
   * Signing keys rotate (OpenID Connect Core 1.0 §10.1.1): when the ID token names a `kid` the
   * cached JWKS does not have, the JWKS is fetched once more and the same token response (the
   * code cannot be exchanged twice) is validated again against it. A `kid` still unknown then is
   * refused.
   *
   * @param callbackUrl - `redirect_uri` with the authorization response's parameters as query
   * @param checks - the transaction's `state`, `nonce` and `code_verifier`; `maxAge` in seconds
   * @throws AuthError `invalid_grant` (400) when the code is refused; `invalid_id_token` (502)
   *   when the ID token fails validation; 502/504 for other provider faults
   */
  async exchangeCode(callbackUrl: URL, checks: CodeExchangeChecks & { maxAge?: number }, dpop?: DPoPKey): Promise<TokenSet> {
    const grantChecks: client.AuthorizationCodeGrantChecks = {
      expectedState: checks.state,
      expectedNonce: checks.nonce,
      pkceCodeVerifier: checks.codeVerifier,
      idTokenExpected: true,
      ...(checks.maxAge !== undefined && { maxAge: checks.maxAge }),
    };
    let response: TokenEndpointResponse;
    try {
      response = await this.#grant(async (configuration) => client.authorizationCodeGrant(
        configuration, callbackUrl, grantChecks, this.#options.tokenEndpointParams, await dpopOptions(configuration, dpop),
      ));
    } catch (err) {
      throw translateError(err, 'token');
    }
    const tokens = validatedTokenSet(response, this.#options);
    if (tokens.idToken === undefined || tokens.claims === undefined) {
      throw new AuthError('invalid_provider_response', 502, 'The token endpoint returned no ID token');
    }
    return tokens as TokenSet;
  }

  /**
   * Refreshes the tokens (RFC 6749 §6). A new ID token, when the provider sends one, is validated
   * like the login's (signature, `iss`, `aud`, `exp`, `iat`); the caller compares its `sub` and
   * `iss` with the session's (OpenID Connect Core 1.0 §12.2).
   *
   * @param refreshToken - the session's refresh token
   * @param params - parameters over the `refreshParams` option's (checked by the caller)
   * @returns the new tokens; `idToken` and `claims` only when the provider issued a new ID token,
   *   `refreshToken` only when it rotated it
   * @throws AuthError `invalid_grant` (400) when the refresh token is refused (expired, revoked);
   *   `invalid_id_token` (502); 502/504 for other provider faults
   */
  async refresh(refreshToken: string, dpop?: DPoPKey, params?: Readonly<Record<string, string>>): Promise<RefreshedTokens> {
    const parameters = { ...this.#options.refreshParams, ...params };
    let response: TokenEndpointResponse;
    try {
      response = await this.#grant(async (configuration) => client.refreshTokenGrant(configuration, refreshToken, parameters, await dpopOptions(configuration, dpop)));
    } catch (err) {
      throw translateError(err, 'token');
    }
    return validatedTokenSet(response, this.#options);
  }

  /**
   * Runs one token endpoint grant. Signing keys rotate (OpenID Connect Core 1.0 §10.1.1): when the
   * ID token names a `kid` the cached JWKS lacks, the JWKS is fetched once more and the same token
   * response (a grant cannot be repeated) is validated again against it.
   */
  async #grant(grant: (configuration: client.Configuration) => Promise<TokenEndpointResponse>): Promise<TokenEndpointResponse> {
    let configuration = await this.configuration();
    const capture: TokenResponseCapture = {};
    return tokenResponseCapture.run(capture, async () => {
      try {
        return await grant(configuration);
      } catch (err) {
        if (!isUnknownKey(err) || capture.response === undefined) throw err;
        configuration = await this.#withFreshKeys(configuration);
        capture.replay = capture.response();
        return grant(configuration);
      }
    });
  }

  /**
   * Fetches the UserInfo claims with the access token (OpenID Connect Core 1.0 §5.3) and checks
   * that their `sub` is the ID token's (§5.3.4: otherwise the response must not be used).
   *
   * @param accessToken - the access token of the session
   * @param expectedSubject - the ID token's `sub`
   * @throws AuthError `invalid_userinfo` (502) when `sub` differs or the answer is malformed;
   *   502/504 when the provider fails or has no `userinfo_endpoint`
   */
  async fetchUserInfo(accessToken: string, expectedSubject: string, dpop?: DPoPKey): Promise<UserInfoClaims> {
    const configuration = await this.configuration();
    try {
      return await client.fetchUserInfo(configuration, accessToken, expectedSubject, await dpopOptions(configuration, dpop)) as UserInfoClaims;
    } catch (err) {
      throw translateError(err, 'userinfo');
    }
  }

  /**
   * Calls a resource server with the access token (RFC 6750 `Bearer`, or RFC 9449 `DPoP` with a
   * proof signed by `dpop`, retried once with the server's `DPoP-Nonce` when it asks for one).
   * The response is returned as it is, whatever its status.
   *
   * @throws AuthError `provider_unreachable` (502) or `provider_timeout` (504) when the resource
   *   server cannot be reached
   */
  async fetchResource(accessToken: string, url: URL, init: ResourceRequest, dpop?: DPoPKey): Promise<Response> {
    const configuration = await this.configuration();
    try {
      return await client.fetchProtectedResource(
        configuration, accessToken, url, init.method ?? 'GET', init.body ?? null, new Headers(init.headers), await dpopOptions(configuration, dpop),
      );
    } catch (err) {
      throw translateError(err, 'resource');
    }
  }

  /**
   * The RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0 §2), or `undefined`
   * when the provider has no `end_session_endpoint` or cannot be reached (logout must still
   * end the local session).
   *
   * @param session - the session being ended, if any: its ID token is sent as `id_token_hint`
   * @param postLogoutRedirectUri - where the provider sends the browser afterwards
   */
  async endSessionUrl(session: EndingSession | undefined, request: EndSessionRequest): Promise<URL | undefined> {
    const idTokenHint = session?.idToken;
    let configuration: client.Configuration;
    try {
      configuration = await this.configuration();
    } catch {
      return undefined;
    }
    if (configuration.serverMetadata().end_session_endpoint === undefined) return undefined;
    const params: Record<string, string> = { ...request.params, post_logout_redirect_uri: request.postLogoutRedirectUri, state: request.state };
    if (idTokenHint !== undefined) params.id_token_hint = idTokenHint;
    try {
      return client.buildEndSessionUrl(configuration, params);
    } catch {
      return undefined; // an unusable end_session_endpoint (e.g. http: for an https: issuer)
    }
  }
}

