/**
 * What the routes need from an authorization server: the one interface behind which an OpenID
 * Provider ({@link Issuer}, driven by openid-client) and a plain OAuth 2.0 provider (a
 * {@link ProviderAdapter}, e.g. WorkOS's `/user_management/authenticate`) look the same.
 *
 * @packageDocumentation
 */
import type { DPoPKey } from './dpop-key.js';

/**
 * The signed-in user as `req.user` holds them: always `sub` (the user's identifier at the issuer,
 * OpenID Connect Core 1.0 §2), plus what the provider released (`email`, `name`, … with the
 * names of §5.1) and the claims the app's `afterCallback` added. The claims that describe the
 * ID token rather than the user (`iss`, `aud`, `exp`, `sid`, … : option `identityClaimFilter`)
 * are left out; `req.oidc.claims` ({@link UserClaims}) has them.
 */
export interface User {
  /** Subject: the user's identifier at the issuer, never reassigned (OpenID Connect Core 1.0 §2). */
  sub: string;
  /** The user's email address (§5.1). */
  email?: string;
  /** `true` when the provider verified `email` (§5.1). */
  email_verified?: boolean;
  /** The user's full name (§5.1). */
  name?: string;
  /** Any other claim the provider released, or the app's `afterCallback` added. */
  [claim: string]: unknown;
}

/**
 * The session's claims, as `req.oidc.claims` holds them: always `iss` (the issuer the session is
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

/** Options of {@link Provider.fetchResource}. */
export interface ResourceRequest {
  /** HTTP method. Default `GET`. */
  method?: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** Where the browser goes after the provider's logout, and what the logout request carries. */
export interface EndSessionRequest {
  /** `post_logout_redirect_uri`: `baseURL`, the one URI registered (RP-Initiated Logout 1.0 §2). */
  postLogoutRedirectUri: string;
  /** The logout's `state`, checked when the browser comes back to `postLogoutRedirectUri`. */
  state: string;
  /** The app's `logoutParams`. */
  params: Readonly<Record<string, string>>;
  /**
   * The page to land on, absolute: for a provider adapter, whose logout returns there directly
   * (it sends no `state` back), e.g. WorkOS's `return_to`.
   */
  returnTo: string;
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
  /**
   * The issuer identifier as configured, known without discovery: what {@link Provider.identifier}
   * resolves to (discovery refuses a document naming another). For events and debug lines.
   */
  readonly issuer: string;
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
  /**
   * Refreshes the tokens (RFC 6749 §6), with `params` (checked: none of the protocol's) beside
   * the protocol's; only an OpenID Provider is given any.
   */
  refresh(refreshToken: string, dpop?: DPoPKey, params?: Readonly<Record<string, string>>): Promise<RefreshedTokens>;
  /** Fetches the user's claims with the access token; their `sub` must be `expectedSubject`. */
  fetchUserInfo(accessToken: string, expectedSubject: string, dpop?: DPoPKey): Promise<UserInfoClaims>;
  /** Calls a resource server with the access token; the response is returned whatever its status. */
  fetchResource(accessToken: string, url: URL, init: ResourceRequest, dpop?: DPoPKey): Promise<Response>;
  /**
   * Where to send the browser to end the provider's session too; `undefined` when it has no such
   * endpoint, or cannot be reached.
   */
  endSessionUrl(session: EndingSession | undefined, request: EndSessionRequest): Promise<URL | undefined>;
  /** The JWKS URL that signs logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.6). */
  jwksUri(): Promise<string>;
}
