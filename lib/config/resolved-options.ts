/**
 * The checked configuration every module reads, built once by `resolveOptions()`.
 *
 * @packageDocumentation
 */
import type { RequestHandler } from 'express';
import type { JWK } from 'jose';
import type { ProviderAdapter } from '../provider/adapters/adapter.js';
import type { ClientAuthMethod } from './client-options.js';
import type { AuthCallbackEvents } from './event-options.js';
import type { HookOptions } from './hook-options.js';
import type { TenantsConfig } from './tenants.js';

/** The validated configuration every module reads; built once by {@link resolveOptions}. */
export interface ResolvedOptions {
  /** The configured `issuer`; `undefined` with `tenants` or an `adapter`. */
  readonly issuer: URL | undefined;
  /** The issuer identifier exactly as configured; discovery's `issuer` must be this string. */
  readonly issuerIdentifier: string | undefined;
  /** `clientId`; `undefined` only when `tenants.client` gives one per issuer. */
  readonly clientId: string | undefined;
  readonly tenants: Readonly<Required<Omit<TenantsConfig, 'client'>>> & Pick<TenantsConfig, 'client'> | undefined;
  readonly adapter: ProviderAdapter | undefined;
  readonly clientSecret: string | undefined;
  readonly clientAuthMethod: ClientAuthMethod | undefined;
  readonly clientPrivateKey: JWK | string | undefined;
  readonly clientKeyId: string | undefined;
  readonly clientAssertionAlg: string | undefined;
  readonly customFetch: ((url: string, init: RequestInit) => Promise<Response>) | undefined;
  /** `true` when `clientCertificate` is set: every connection to the provider presents it (RFC 8705). */
  readonly mutualTls: boolean;
  readonly baseURL: URL;
  /** `baseURL`'s path without a trailing slash: `''` for a root `baseURL`. */
  readonly basePath: string;
  /** `baseURL` + `routes.callback`, the exact `redirect_uri` (RFC 6749 §3.1.2). */
  readonly redirectUri: URL;
  /** `baseURL` exactly as configured: the `post_logout_redirect_uri` to register at the provider. */
  readonly postLogoutRedirectUri: string;
  readonly secrets: readonly string[];
  readonly scope: string;
  readonly routes: {
    readonly login: string | false;
    readonly callback: string;
    readonly logout: string | false;
    readonly backchannelLogout: string | false;
  };
  readonly authorizationParams: Readonly<Record<string, string>>;
  /** `authorizationParams.max_age`, in seconds, when set: `auth_time` is then required and checked. */
  readonly maxAge: number | undefined;
  /** The values of an essential `acr` request in `authorizationParams.claims` (OpenID Connect Core 1.0 §5.5.1.1), when set. */
  readonly essentialAcr: readonly string[] | undefined;
  readonly fetchUserInfo: boolean;
  readonly dpop: boolean | 'required';
  /** The DPoP key pair's algorithm (used when `dpop` is on). */
  readonly dpopAlg: string;
  readonly responseMode: 'query' | 'form_post';
  readonly idTokenSigningAlg: string;
  readonly clockTolerance: number;
  readonly httpTimeout: number;
  readonly storeTimeout: number;
  readonly transactionDuration: number;
  readonly sessionDuration: number;
  /** Idle lifetime in seconds; `undefined` when idle expiry is off. */
  readonly sessionIdleDuration: number | undefined;
  readonly sessionTouchInterval: number;
  readonly sessionStorage: 'cookie' | 'store';
  /** `session`: the express-session middleware `authCallback()` runs itself, or `undefined`. */
  readonly session: RequestHandler | undefined;
  readonly pushedAuthorizationRequests: boolean | 'required';
  /**
   * Signed request objects (JAR): `undefined` when off; `alg` the configured algorithm, or
   * `undefined` for the client key's own (`clientAssertionAlg`, else the key's default).
   */
  readonly requestObject: { readonly alg: string | undefined } | undefined;
  /** Extra parameters of the authorization code exchange (checked: none of the protocol's). */
  readonly tokenEndpointParams: Readonly<Record<string, string>>;
  /** Extra parameters of every refresh (checked: none of the protocol's). */
  readonly refreshParams: Readonly<Record<string, string>>;
  readonly loginParams: readonly string[];
  readonly autoRefresh: boolean;
  readonly refreshMargin: number;
  /** Claims left out of `req.user` (`identityClaimFilter`). */
  readonly identityClaimFilter: ReadonlySet<string>;
  readonly loginState: HookOptions['loginState'];
  readonly idpLogout: boolean;
  readonly attemptSilentLogin: boolean;
  readonly logoutParams: Readonly<Record<string, string>>;
  readonly afterCallback: HookOptions['afterCallback'];
  /** The `events` listeners (each a function when set), frozen. */
  readonly events: Readonly<AuthCallbackEvents>;
  readonly cookie: {
    readonly name: string;
    readonly domain: string | undefined;
    readonly sameSite: 'lax' | 'strict' | 'none';
    readonly secure: boolean;
  };
  /** `true` when the issuer is `http:` (loopback, or allowed by `allowInsecureRequests`). */
  readonly insecureIssuer: boolean;
  readonly allowInsecureRequests: boolean;
}

/** The options of one issuer and its client: what an `OpenIdProvider` is built from. */
export type IssuerOptions = ResolvedOptions & { readonly issuer: URL; readonly issuerIdentifier: string; readonly clientId: string };

