/**
 * The one module that talks to `openid-client`: discovery (cached, retried after a failure),
 * the authorization URL, the authorization code exchange with ID token validation, the
 * end-session URL, and the translation of `openid-client`'s errors into {@link AuthError}s.
 *
 * @packageDocumentation
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { types } from 'node:util';
import * as client from 'openid-client';
import { chooseAuthMethod, clientAuthentication } from './client-authentication.js';
import { importDPoPKey, type DPoPKey } from '../dpop-key.js';
import { AuthError, oauthErrorCode } from '../../errors.js';
import type { IssuerOptions } from '../../config/resolve-options.js';
import type { EndingSession, Provider, ResourceRequest } from '../provider.js';

/**
 * The signed-in user's claims, as `req.user` holds them: always `iss` (the issuer the session is
 * bound to) and `sub` (the user's identifier there, OpenID Connect Core 1.0 §2), plus what the
 * provider released (`email`, `name`, … with the names of §5.1). An OpenID Provider's sessions
 * carry the ID token's claims ({@link IdTokenClaims}); a provider adapter's carry what its user
 * endpoint gave. Times are in seconds since the epoch.
 */
export interface UserClaims {
  /** Issuer identifier: the issuer the session is bound to. */
  iss: string;
  /** Subject: the user's identifier at the issuer, never reassigned (OpenID Connect Core 1.0 §2). */
  sub: string;
  /** Audience: this client's `client_id` (among others, then with `azp`). */
  aud?: string | string[];
  /** Expiry of the ID token, in seconds since the epoch (not the session's). */
  exp?: number;
  /** When the ID token was issued, in seconds since the epoch. */
  iat?: number;
  /** When the user last authenticated at the provider, in seconds since the epoch (§2, with `max_age`). */
  auth_time?: number;
  /** The provider's session id (OpenID Connect Front-Channel/Back-Channel Logout). */
  sid?: string;
  /** The user's email address (§5.1). */
  email?: string;
  /** `true` when the provider verified `email` (§5.1). */
  email_verified?: boolean;
  /** The user's full name (§5.1). */
  name?: string;
  /** Any other claim the provider released. */
  [claim: string]: unknown;
}

/**
 * Claims of a validated ID token (OpenID Connect Core 1.0 §2 and §5.1): at least `iss`, `sub`,
 * `aud`, `exp`, `iat`, plus whatever profile claims the provider released (`email`, `name`, …).
 * Times are in seconds since the epoch.
 */
export interface IdTokenClaims extends UserClaims {
  /** Audience: this client's `client_id`, maybe among others. */
  aud: string | string[];
  /** Expiry of the ID token, in seconds since the epoch. */
  exp: number;
  /** When the ID token was issued, in seconds since the epoch. */
  iat: number;
  /** The login's `nonce`, checked against the transaction's (§3.1.3.7 item 11). */
  nonce?: string;
  /** Authorized party: this client's `client_id` (§2), checked when present. */
  azp?: string;
  /** Access token hash (§3.1.3.6), checked against the access token when present. */
  at_hash?: string;
}

/** The result of a successful authorization code exchange (RFC 6749 §5.1), validated. */
export interface TokenSet {
  /**
   * The ID token, a compact JWS whose signature, `iss`, `aud`, `exp`, `iat` and `nonce` were
   * checked. Always present from an OpenID Provider; absent from a provider adapter.
   */
  idToken?: string;
  /** The ID token's claims, or the user's claims a provider adapter gave. */
  claims: UserClaims;
  /**
   * Members of the token response a provider adapter keeps beside the tokens (WorkOS:
   * `organization_id`, `authentication_method`, `impersonator`), as `req.oidc.extra`.
   */
  extra?: Record<string, unknown>;
  /** The access token (opaque or JWT: never parsed here). */
  accessToken: string;
  /** Token type, e.g. `Bearer` or `DPoP` (RFC 6749 §7.1). */
  tokenType: string;
  /** The refresh token, when the provider issued one. */
  refreshToken?: string;
  /** When the access token expires, in seconds since the epoch; absent when the provider gave no `expires_in`. */
  expiresAt?: number;
  /** Granted scope, when the provider returned it (RFC 6749 §5.1). */
  scope?: string;
  /**
   * When the provider's own session ends, in seconds since the epoch, when it says so: from a
   * `refresh_expires_in` in the token response (Keycloak and others; `0` means no limit).
   */
  providerSessionExpiresAt?: number;
}

/**
 * The result of a refresh (RFC 6749 §6): a {@link TokenSet} whose ID token and claims are present
 * only when the provider issued a new ID token.
 */
export type RefreshedTokens = Omit<TokenSet, 'claims'> & Partial<Pick<TokenSet, 'claims'>>;

type TokenEndpointResponse = Awaited<ReturnType<typeof client.authorizationCodeGrant>>;

/** What the callback proved about the login it finishes: the values the login stored. */
export interface CodeExchangeChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Claims of a UserInfo response (OpenID Connect Core 1.0 §5.3.2), its `sub` checked. */
export interface UserInfoClaims {
  /** The subject: must equal the ID token's `sub` (§5.3.4). */
  sub: string;
  /** Any other claim the UserInfo endpoint returned (§5.1). */
  [claim: string]: unknown;
}

/**
 * The token endpoint's answer to one code exchange, held while openid-client validates it, so
 * that it can be validated once more against a re-fetched JWKS (see {@link Issuer.exchangeCode}).
 */
interface TokenResponseCapture {
  /** Makes a copy of the token endpoint's response, from its status, headers and body read once. */
  response?: () => Response;
  /** When set, the next token request is answered with this instead of going to the network. */
  replay?: Response;
}

const tokenResponseCapture = new AsyncLocalStorage<TokenResponseCapture>();

/**
 * The `fetch` every configuration uses: `base` (the `customFetch` option, or the global `fetch`),
 * and inside a token grant it keeps a copy of the token endpoint's response (the one `POST` of
 * the grant), or answers with the copy when replaying.
 */
function capturingFetch(base: (url: string, init: RequestInit) => Promise<Response>): client.CustomFetch {
  return async function fetchWithCapture(url: string, init: client.CustomFetchOptions): Promise<Response> {
    const capture = tokenResponseCapture.getStore();
    if (capture === undefined || init.method !== 'POST') return base(url, init as RequestInit);
    if (capture.replay !== undefined) {
      const replay = capture.replay;
      capture.replay = undefined;
      return replay;
    }
    const response = await base(url, init as RequestInit);
    // Read once (a token response is small) rather than response.clone(), whose tee keeps both
    // branches' buffers until the unread one is collected.
    const body = await response.arrayBuffer();
    const { status, statusText, headers } = response;
    const nullBody = status === 204 || status === 205 || status === 304; // a Response of these takes no body
    capture.response = () => new Response(nullBody ? null : body.slice(0), { status, statusText, headers });
    return capture.response();
  };
}

/** openid-client's DPoP option for `key`, or none. */
async function dpopOptions(configuration: client.Configuration, key: DPoPKey | undefined): Promise<client.DPoPOptions | undefined> {
  return key === undefined ? undefined : { DPoP: client.getDPoPHandle(configuration, await importDPoPKey(key)) };
}

/**
 * The `at_hash` of `token` for an ID token signed with `alg` (OpenID Connect Core 1.0 §3.1.3.6):
 * the left half of its hash, base64url, the hash being the one `alg` uses (SHA-256 for `*256`,
 * SHA-384, SHA-512; SHA-512 for EdDSA/Ed25519).
 */
export function tokenHash(token: string, alg: string): string {
  const hash = alg.endsWith('384') ? 'sha384' : alg.endsWith('512') || alg === 'EdDSA' || alg === 'Ed25519' ? 'sha512' : 'sha256';
  const digest = createHash(hash).update(token, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** A positive, finite number of seconds. */
function isPositiveSeconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/**
 * `true` when the ID token's `kid` named no key of the cached JWKS (oauth4webapi's "no applicable
 * keys found"): the provider may have rotated its keys since the JWKS was fetched.
 */
function isUnknownKey(err: unknown): boolean {
  if (!(err instanceof client.ClientError) || err.code !== 'OAUTH_KEY_SELECTION_FAILED') return false;
  const detail = (err.cause as { cause?: { candidates?: unknown } } | undefined)?.cause;
  return Array.isArray(detail?.candidates) && detail.candidates.length === 0;
}

/**
 * Fresh `state`, `nonce` and PKCE `code_verifier` for one login: 32 random bytes each, base64url
 * (RFC 7636 §4.1, RFC 6749 §10.10).
 */
export function randomChecks(): CodeExchangeChecks {
  return { state: client.randomState(), nonce: client.randomNonce(), codeVerifier: client.randomPKCECodeVerifier() };
}

/**
 * The OpenID Provider behind one `authCallback()`: discovered once, on first use.
 *
 * Concurrent first requests share one discovery; a failed discovery is not cached, so the next
 * request tries again (the provider may have been down at start-up).
 */
export class Issuer implements Provider {
  readonly #options: IssuerOptions;
  #configuration: Promise<client.Configuration> | undefined;

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
      const pending = client
        .discovery(o.issuer, o.clientId, this.#clientMetadata(), client.None(), {
          timeout: o.httpTimeout,
          ...(o.insecureIssuer && { execute: [client.allowInsecureRequests] }),
          ...(o.customFetch !== undefined && { [client.customFetch]: o.customFetch as client.CustomFetch }),
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
          return this.#build(metadata);
        })
        .catch((err: unknown) => {
          this.#configuration = undefined;
          throw translateError(err, 'discovery');
        });
      this.#configuration = pending;
    }
    return this.#configuration;
  }

  #clientMetadata(): Partial<client.ClientMetadata> {
    return {
      // Pinned so that a provider advertising `none` or `HS256` cannot downgrade the check.
      id_token_signed_response_alg: this.#options.idTokenSigningAlg,
      [client.clockTolerance]: this.#options.clockTolerance,
    };
  }

  /**
   * A configuration for `metadata` with this client's authentication method (chosen from the
   * options and the provider's `token_endpoint_auth_methods_supported`) and the settings every
   * configuration of this issuer carries. Its JWKS cache starts empty.
   */
  async #build(metadata: client.ServerMetadata): Promise<client.Configuration> {
    const o = this.#options;
    const method = chooseAuthMethod(o, metadata.token_endpoint_auth_methods_supported);
    const configuration = new client.Configuration(metadata, o.clientId, this.#clientMetadata(), await clientAuthentication(o, method));
    client.enableNonRepudiationChecks(configuration); // the ID token's signature is checked, code flow included
    if (o.insecureIssuer) client.allowInsecureRequests(configuration);
    configuration.timeout = o.httpTimeout;
    configuration[client.customFetch] = capturingFetch(o.customFetch ?? fetch);
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
   * provider requires them (`require_pushed_authorization_requests`), or advertises a
   * `pushed_authorization_request_endpoint` and `pushedAuthorizationRequests` is on — the
   * parameters are posted there with client authentication, and the URL carries only
   * `client_id` and `request_uri`.
   *
   * @param checks - `state`, `nonce` and the PKCE `code_verifier` of the new transaction
   * @param params - the other parameters: `authorizationParams` and this login's (see `readLoginRequest()`)
   * @throws AuthError when discovery fails (502/504); the PAR endpoint's refusal (502) or fault
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
    const pushed = metadata.require_pushed_authorization_requests === true
      || (o.pushedAuthorizationRequests && metadata.pushed_authorization_request_endpoint !== undefined);
    if (pushed) {
      try {
        return await client.buildAuthorizationUrlWithPAR(configuration, parameters);
      } catch (err) {
        throw translateError(err, 'par');
      }
    }
    try {
      return client.buildAuthorizationUrl(configuration, parameters);
    } catch (err) {
      throw translateError(err, 'discovery'); // e.g. metadata without an authorization_endpoint
    }
  }

  /**
   * Exchanges the authorization code at the token endpoint (RFC 6749 §4.1.3) and validates the
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
      response = await this.#grant(async (configuration) => client.authorizationCodeGrant(configuration, callbackUrl, grantChecks, undefined, await dpopOptions(configuration, dpop)));
    } catch (err) {
      throw translateError(err, 'token');
    }
    const tokens = this.#tokenSet(response);
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
   * @returns the new tokens; `idToken` and `claims` only when the provider issued a new ID token,
   *   `refreshToken` only when it rotated it
   * @throws AuthError `invalid_grant` (400) when the refresh token is refused (expired, revoked);
   *   `invalid_id_token` (502); 502/504 for other provider faults
   */
  async refresh(refreshToken: string, dpop?: DPoPKey): Promise<RefreshedTokens> {
    let response: TokenEndpointResponse;
    try {
      response = await this.#grant(async (configuration) => client.refreshTokenGrant(configuration, refreshToken, undefined, await dpopOptions(configuration, dpop)));
    } catch (err) {
      throw translateError(err, 'token');
    }
    return this.#tokenSet(response);
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
   * The validated response as a token set, with what openid-client leaves to its caller checked
   * too (OpenID Connect Core 1.0 §3.1.3.7, §3.1.3.8): `iat` not beyond `clockTolerance` in the
   * future (item 10), `azp`, when present, this client (item 5, whatever `aud` holds), and
   * `at_hash`, when present, the access token's hash.
   */
  #tokenSet(response: TokenEndpointResponse): RefreshedTokens {
    const claims = response.claims() as IdTokenClaims | undefined;
    const now = Math.floor(Date.now() / 1000);
    if (claims !== undefined) {
      // openid-client checks that iat is a number only.
      if (claims.iat > now + this.#options.clockTolerance) {
        throw new AuthError('invalid_id_token', 502, 'The ID token failed validation (its iat is in the future beyond clockTolerance)');
      }
      // openid-client compares azp only when aud names several audiences.
      if (claims.azp !== undefined && claims.azp !== this.#options.clientId) {
        throw new AuthError('invalid_id_token', 502, 'The ID token failed validation (its azp is not this client_id, OpenID Connect Core 1.0 §3.1.3.7 item 5)');
      }
      if (claims.at_hash !== undefined && claims.at_hash !== tokenHash(response.access_token, this.#options.idTokenSigningAlg)) {
        throw new AuthError('invalid_id_token', 502, 'The ID token failed validation (its at_hash does not match the access token, OpenID Connect Core 1.0 §3.1.3.8)');
      }
    }
    const expiresIn = response.expiresIn();
    return {
      ...(response.id_token !== undefined && claims !== undefined && { idToken: response.id_token, claims }),
      accessToken: response.access_token,
      tokenType: response.token_type,
      ...(response.refresh_token !== undefined && { refreshToken: response.refresh_token }),
      ...(expiresIn !== undefined && { expiresAt: now + expiresIn }),
      ...(typeof response.scope === 'string' && { scope: response.scope }),
      ...(isPositiveSeconds(response.refresh_expires_in) && { providerSessionExpiresAt: now + response.refresh_expires_in }),
    };
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
  async endSessionUrl(session: EndingSession | undefined, postLogoutRedirectUri: string): Promise<URL | undefined> {
    const idTokenHint = session?.idToken;
    let configuration: client.Configuration;
    try {
      configuration = await this.configuration();
    } catch {
      return undefined;
    }
    if (configuration.serverMetadata().end_session_endpoint === undefined) return undefined;
    const params: Record<string, string> = { post_logout_redirect_uri: postLogoutRedirectUri };
    if (idTokenHint !== undefined) params.id_token_hint = idTokenHint;
    try {
      return client.buildEndSessionUrl(configuration, params);
    } catch {
      return undefined; // an unusable end_session_endpoint (e.g. http: for an https: issuer)
    }
  }
}

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

function oauthErrorOfChallenge(err: client.WWWAuthenticateChallengeError): string {
  return oauthErrorCode(err.cause[0]?.parameters.error, 'invalid_client');
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
