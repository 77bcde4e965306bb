/**
 * What the routes need from an authorization server: the one interface behind which an OpenID
 * Provider ({@link Issuer}, driven by openid-client) and a plain OAuth 2.0 provider (a
 * {@link ProviderAdapter}, e.g. WorkOS's `/user_management/authenticate`) look the same.
 *
 * @packageDocumentation
 */
import type { DPoPKey } from './dpop-key.js';
import type { CodeExchangeChecks, RefreshedTokens, TokenSet, UserInfoClaims } from './oidc/openid-provider.js';

/** Options of {@link Provider.fetchResource}. */
export interface ResourceRequest {
  /** HTTP method. Default `GET`. */
  method?: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** The part of a session that ending it at the provider may need. */
export interface EndingSession {
  /** The session's ID token, sent as `id_token_hint` (OpenID Connect RP-Initiated Logout 1.0 §2). */
  idToken?: string;
  /** The session's claims (a provider adapter may read its session id, e.g. `sid`, from them). */
  claims: Readonly<Record<string, unknown>>;
}

/**
 * One authorization server as the routes use it. Every method that talks to the server throws an
 * `AuthError`: `invalid_grant` (400) for a refused code or refresh token, 502/504 for the
 * server's faults.
 */
export interface Provider {
  /** The client identifier registered at this server (RFC 6749 §2.2). */
  readonly clientId: string;
  /** The `redirect_uri` of logins at this server (RFC 6749 §3.1.2): the callback URL. */
  readonly redirectUri: string;
  /** The issuer identifier: sessions and transactions are bound to it (RFC 9700 §4.4.2). */
  identifier(): Promise<string>;
  /** `true` when every authorization response must carry `iss` (RFC 9207 §3). */
  sendsIssInResponse(): Promise<boolean>;
  /** `true` when the server advertises DPoP (`dpop_signing_alg_values_supported`, RFC 9449 §5.1). */
  supportsDPoP(): Promise<boolean>;
  /**
   * The authorization request URL for a new transaction (RFC 6749 §4.1.1, RFC 7636 §4.3), with
   * `params` (the app's `authorizationParams` and this login's own) beside the protocol's.
   */
  authorizationUrl(checks: CodeExchangeChecks, params: Readonly<Record<string, string>>): Promise<URL>;
  /** Exchanges the authorization code (RFC 6749 §4.1.3) and validates what comes back. */
  exchangeCode(callbackUrl: URL, checks: CodeExchangeChecks & { maxAge?: number }, dpop?: DPoPKey): Promise<TokenSet>;
  /** Refreshes the tokens (RFC 6749 §6). */
  refresh(refreshToken: string, dpop?: DPoPKey): Promise<RefreshedTokens>;
  /** Fetches the user's claims with the access token; their `sub` must be `expectedSubject`. */
  fetchUserInfo(accessToken: string, expectedSubject: string, dpop?: DPoPKey): Promise<UserInfoClaims>;
  /** Calls a resource server with the access token; the response is returned whatever its status. */
  fetchResource(accessToken: string, url: URL, init: ResourceRequest, dpop?: DPoPKey): Promise<Response>;
  /** Where to send the browser to end the provider's session too; `undefined` when it has no such endpoint. */
  endSessionUrl(session: EndingSession | undefined, postLogoutRedirectUri: string): Promise<URL | undefined>;
  /** The JWKS URL that signs logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.6). */
  jwksUri(): Promise<string>;
}
