/**
 * The options of several issuers (tenants) behind one app.
 *
 * @packageDocumentation
 */
import type { Request } from 'express';
import type { JWK } from 'jose';
import type { ClientAuthMethod } from './client-options.js';

/**
 * A client registered at one issuer: its identifier and credentials, as in
 * {@link AuthCallbackConfig}'s keys of the same names.
 */
export interface TenantClient {
  /** Client identifier registered at the issuer (RFC 6749 §2.2). */
  clientId: string;
  /** Client secret (RFC 6749 §2.3.1): see {@link AuthCallbackConfig.clientSecret}. */
  clientSecret?: string;
  /** See {@link AuthCallbackConfig.clientAuthMethod}; chosen from the issuer's metadata when unset. */
  clientAuthMethod?: ClientAuthMethod;
  /** Private key for `private_key_jwt`: see {@link AuthCallbackConfig.clientPrivateKey}. */
  clientPrivateKey?: JWK | string;
  /** See {@link AuthCallbackConfig.clientKeyId}. */
  clientKeyId?: string;
  /** See {@link AuthCallbackConfig.clientAssertionAlg}. */
  clientAssertionAlg?: string;
  /**
   * This issuer's own `redirect_uri`, registered at it alone: `baseURL` + `routes.callback` + `/`
   * + a path of your choice, e.g. `https://app.example.com/callback/acme`. A response arriving
   * there is accepted only for a login started at this issuer, and one for this issuer only there
   * (RFC 9700 §4.4.2: a client of several authorization servers must tell their responses apart,
   * by `iss` or by distinct redirect URIs). Needed for an issuer that does not send `iss`
   * (RFC 9207), unless {@link TenantsConfig.allowSharedCallback}. Default: the shared
   * `baseURL` + `routes.callback`.
   */
  redirectUri?: string;
}

/**
 * Several issuers (tenants) behind one app, resolved per request: e.g. Asgardeo's
 * `https://api.asgardeo.io/t/{organization}/oauth2/token` or PingOne's
 * `https://auth.pingone.com/{envID}/as`, the organization or environment taken from the request's
 * host, a path segment or a query parameter.
 *
 * Each login is bound to the issuer it started at: the callback exchanges the code there and
 * nowhere else, and refuses an `iss` that names another (RFC 9700 §4.4.2, RFC 9207). Each session
 * is bound to its issuer too: on a request whose issuer is another one, it reads as "not signed
 * in". Each issuer's discovery is cached, at most `cacheSize` of them.
 */
export interface TenantsConfig {
  /**
   * The issuer identifier for this request: where its login goes, and the issuer its session must
   * belong to. Return `undefined` (or `null`) when the request names no tenant (a login then gets 400
   * `unknown_issuer`; a session is accepted whatever its issuer). Called on the login route and on
   * every request that carries a session, so keep it cheap and never let it build an issuer from
   * unchecked input (a path segment like `../x`): look the tenant up, or check it against a pattern.
   * On the login route, `req.query.returnTo` is the page `requireAuth()` came from, when the
   * tenant is in the page's path.
   */
  issuer(req: Request): string | null | undefined | Promise<string | null | undefined>;
  /**
   * The client registered at `issuer`, or `undefined` when this app does not sign in there. Also
   * decides which issuers a third-party-initiated login (`/login?iss=…`, OpenID Connect Core 1.0
   * §4) and a back-channel logout token may name. Default: the top-level `clientId`,
   * `clientSecret`, … for every issuer `issuer()` returns, and no other.
   *
   * Asked each time the app talks to an issuer (login, callback, refresh, UserInfo, logout, a
   * logout token), not on page requests: an issuer it stops accepting is refused from then on,
   * and a client it changes (a rotated secret) is used from the next call, the issuer discovered
   * again. Keep it cheap: an in-memory lookup, or cache your directory's answers.
   */
  client?(issuer: string): TenantClient | undefined | Promise<TenantClient | undefined>;
  /** How many issuers' discovered metadata is kept, least recently used dropped first. Default `100`. */
  cacheSize?: number;
  /**
   * Accept, at the shared `redirect_uri`, an issuer that does not promise `iss` in its
   * authorization responses (no `authorization_response_iss_parameter_supported`, RFC 9207 §3).
   * The callback then cannot tell which issuer answered: one issuer (a tenant an attacker
   * registered, say) could forward a user's login to another and receive that issuer's code and
   * `code_verifier` (the mix-up attack, RFC 9700 §4.4). Set it only when every issuer
   * `tenants.issuer()` can name is trusted; otherwise give such issuers their own
   * {@link TenantClient.redirectUri}. Default `false`: a login at such an issuer is refused,
   * 500 `mix_up_unprotected`.
   */
  allowSharedCallback?: boolean;
}

