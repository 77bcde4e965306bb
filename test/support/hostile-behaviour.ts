/**
 * What the hostile provider of test/support/hostile-provider.ts does (its modes, per endpoint,
 * and {@link Behaviour}, which a test mutates before the request it wants to break) and what it
 * records (requests, issued codes and tokens).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Request, Response } from 'express';
import type { Edits } from './fake-server.js';
import type { ProviderKey, SigningAlg } from './hostile-keys.js';

/** How `/.well-known/openid-configuration` answers. */
export type DiscoveryMode =
  | 'ok'
  /** 500 with a plain-text body. */
  | 'error-500'
  /** 200 with an HTML page instead of JSON. */
  | 'html'
  /** A valid document whose `issuer` is not this provider's issuer identifier. */
  | 'wrong-issuer'
  /** A valid document whose `issuer` is this provider's issuer identifier plus a trailing `/` (`http://localhost:<port>/`). */
  | 'issuer-trailing-slash'
  /** Never answers. */
  | 'hang';

/** How `/jwks` answers. */
export type JwksMode = 'ok' | 'error-500' | 'hang';

/** How `/authorize` answers (always a 302 back to `redirect_uri`). */
export type AuthorizeMode =
  | 'ok'
  /** `error=access_denied` instead of a code. */
  | 'access_denied'
  /** A code, with an `iss` that is not the issuer. */
  | 'wrong-iss'
  /** A code, without `iss`. */
  | 'no-iss';

/** How `/token` answers an authorization code grant (a refresh token grant follows {@link RefreshMode}). */
export type TokenMode =
  /** Checks the grant; a valid token response (its ID token shaped by {@link IdTokenMode}), or the RFC 6749 §5.2 error a correct provider would give. */
  | 'ok'
  /** 400 `{"error":"invalid_grant"}`. */
  | 'invalid_grant'
  /** 401 `{"error":"invalid_client"}` with `WWW-Authenticate: Basic` (RFC 6749 §5.2). */
  | 'invalid_client'
  /** 200 with an HTML page (which contains a token-like string, to catch it being echoed). */
  | 'not-json'
  /** Never answers. */
  | 'hang';

/** How `/token` answers a refresh token grant (RFC 6749 §6). */
export type RefreshMode =
  /**
   * Checks the grant (client authentication, a refresh token it issued and has not rotated away or
   * revoked) and answers as {@link Behaviour.rotateRefreshToken} and {@link Behaviour.refreshIdToken}
   * say, or with the RFC 6749 §5.2 error a correct provider would give (`invalid_grant` for an
   * unknown refresh token).
   */
  | 'ok'
  /** 400 `{"error":"invalid_grant"}`, as for an expired or revoked refresh token (RFC 6749 §5.2). The refresh token stays valid. */
  | 'invalid_grant'
  /** 500 with a plain-text body. */
  | 'error-500'
  /** 200 with an HTML page (which contains a token-like string, to catch it being echoed). */
  | 'html'
  /** Never answers. */
  | 'hang';

/** What is wrong with the ID token of a successful token response (of a code exchange, or of a refresh). */
export type IdTokenMode =
  | 'ok'
  /** Valid claims, `kid` of the provider's key, signed with another key. */
  | 'bad-signature'
  /** Unsecured JWS: `alg: none`, empty signature. */
  | 'alg-none'
  | 'wrong-iss'
  | 'wrong-aud'
  | 'wrong-nonce'
  /** `exp` an hour ago (far beyond any clock tolerance). */
  | 'expired';

/** The provider's endpoints, as counted in {@link RequestCounts}. */
export type Endpoint = 'discovery' | 'jwks' | 'authorize' | 'token' | 'userinfo' | 'endSession';

/** A hand-written answer for one endpoint; it replaces the endpoint's mode (the request is still counted and recorded). */
export type Override = (req: Request, res: Response) => void | Promise<void>;

export interface Behaviour {
  discovery: DiscoveryMode;
  jwks: JwksMode;
  authorize: AuthorizeMode;
  token: TokenMode;
  /** How a refresh token grant is answered. Default `ok`. */
  refresh: RefreshMode;
  /**
   * A successful refresh issues a new refresh token and revokes the one it was given (rotation,
   * RFC 9700 §4.14.2); `false`: the response has no `refresh_token`, and the old one stays valid.
   * Default `true`.
   */
  rotateRefreshToken: boolean;
  /**
   * A successful refresh carries a new ID token (OpenID Connect Core 1.0 §12.2), built like the
   * login's (same `auth_time`, no `nonce`); `false`: no `id_token` in the response. Default `true`.
   */
  refreshIdToken: boolean;
  /**
   * `expires_in` of every successful token response (code exchange and refresh), in seconds;
   * `undefined` leaves it out. Default `3600`.
   */
  expiresIn: number | undefined;
  /** Extra members of every successful token response (code exchange and refresh), e.g. `{ refresh_expires_in: 60 }`. Default `{}`. */
  tokenResponseExtras: Record<string, unknown>;
  idToken: IdTokenMode;
  /** `error_description` sent with `authorize: 'access_denied'`. */
  errorDescription: string;
  /**
   * Claims merged over the ID token's own, after {@link IdTokenMode} has shaped them; a claim set
   * to `undefined` is removed (e.g. `{ sub: undefined }`). Read when an ID token is signed, so set
   * after a login it changes only the refreshed ID tokens (e.g. `{ sub: 'eve' }`). The built claims are `iss`, `sub`,
   * `aud`, `iat`, `exp` (an hour after `iat`), `auth_time` (when `/authorize` signed the user in),
   * `nonce` (when the authorization request had one), `name`, `email`, `email_verified`.
   */
  claims: Edits;
  /**
   * The ID token's `at_hash` (OpenID Connect Core 1.0 §3.1.3.6): none (default), the access
   * token's (the left half of its SHA-256, base64url), or one of another token.
   */
  atHash: 'none' | 'correct' | 'wrong';
  /** Applied last to the ID token's claims (after {@link Behaviour.claims}); its result is the payload. */
  transformClaims: ((claims: Record<string, unknown>) => Record<string, unknown>) | undefined;
  /**
   * Fields merged over the ID token's JWS protected header `{ alg, kid, typ: 'JWT' }`; `undefined`
   * removes one (e.g. `{ kid: undefined }`, `{ crit: ['exp'], exp: 1 }`). Only the header changes:
   * the signature is still made with {@link Behaviour.alg}'s key.
   */
  header: Edits;
  /** How the ID token is signed. Default `RS256`. `ES256` creates (and publishes) an ES256 key on first use. */
  alg: SigningAlg;
  /** Sign with this key instead of the current key of {@link Behaviour.alg}; its `kid` and `alg` go into the header (e.g. a key never published). */
  signingKey: ProviderKey | undefined;
  /** Rotate the RS256 key ({@link HostileProvider.rotateKey}) right before signing the next ID token; turns itself off once done. */
  rotateBeforeSigning: boolean;
  /** Fields merged over the discovery document (after {@link DiscoveryMode}); `undefined` removes one. */
  metadata: Edits;
  /**
   * The issuer identifier the provider declares everywhere: discovery's `issuer` (mode `ok`), the
   * authorization response's `iss` (mode `ok`) and the ID token's `iss` (mode `ok`), e.g.
   * `` `${issuer}/` `` for an Auth0-style identifier with a trailing slash. The endpoints stay under
   * {@link HostileProvider.issuer}. Default: {@link HostileProvider.issuer}.
   */
  issuerIdentifier: string | undefined;
  /** Claims merged over the userinfo response `{ sub, name, email, email_verified, picture }`; `undefined` removes one. */
  userinfoClaims: Edits;
  /** Advertise `end_session_endpoint` in discovery. */
  endSession: boolean;
  /** Per-endpoint answers that take precedence over the modes above. */
  overrides: Partial<Record<Endpoint, Override>>;
}

/** Requests received, per endpoint. */
export interface RequestCounts {
  discovery: number;
  jwks: number;
  authorize: number;
  token: number;
  userinfo: number;
  endSession: number;
}

/** One request to `/authorize`. */
export interface AuthorizeRecord {
  params: URLSearchParams;
  /** The code it issued, when it issued one. */
  code: string | undefined;
}

/** One request to `/token`, as received. */
export interface TokenRequestRecord {
  headers: IncomingHttpHeaders;
  /** The raw request body. */
  body: string;
  /** The body parsed as `application/x-www-form-urlencoded`. */
  params: URLSearchParams;
}

/** One request to `/userinfo`, as received. */
export interface UserinfoRequestRecord {
  method: string;
  headers: IncomingHttpHeaders;
  /** The raw request body (`''` for a GET). */
  body: string;
}

/** Everything secret the provider handed out, so a test can check none of it leaks. */
export interface Issued {
  codes: string[];
  accessTokens: string[];
  refreshTokens: string[];
  idTokens: string[];
}

export function defaultBehaviour(): Behaviour {
  return {
    discovery: 'ok',
    jwks: 'ok',
    authorize: 'ok',
    token: 'ok',
    refresh: 'ok',
    rotateRefreshToken: true,
    refreshIdToken: true,
    expiresIn: 3600,
    tokenResponseExtras: {},
    idToken: 'ok',
    errorDescription: 'The user denied the request',
    claims: {},
    atHash: 'none',
    transformClaims: undefined,
    header: {},
    alg: 'RS256',
    signingKey: undefined,
    rotateBeforeSigning: false,
    metadata: {},
    issuerIdentifier: undefined,
    userinfoClaims: {},
    endSession: true,
    overrides: {},
  };
}
