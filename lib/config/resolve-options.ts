/**
 * The configuration of `authCallback()`: its public shape, its defaults, and the checks that
 * turn a bad option into a `TypeError` at start-up, before the first request.
 *
 * @packageDocumentation
 */
import { createPrivateKey, type JsonWebKey as NodeJsonWebKey } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { JWK } from 'jose';
import { CLIENT_AUTH_METHODS, type ClientAuthMethod } from '../provider/oidc/client-authentication.js';
import { certificateFetch, checkClientCertificate, type ClientCertificate } from '../provider/oidc/client-certificate.js';
import type { ProviderAdapter } from '../provider/adapters/adapter.js';

/** Paths of the routes `authCallback()` serves, relative to `baseURL`. */
export interface RoutesConfig {
  /** Starts a login. Default `'/login'`. `false` to serve no login route. */
  login?: string | false;
  /** Receives the authorization response; `redirect_uri` = `baseURL` + this path. Default `'/callback'`. */
  callback?: string;
  /** Ends the session. Default `'/logout'`. `false` to serve no logout route. */
  logout?: string | false;
  /**
   * Receives the provider's `logout_token` (`POST`, OpenID Connect Back-Channel Logout 1.0 §2.5)
   * and ends the sessions it names on every instance sharing the express-session store; register
   * `baseURL` + this path as the client's `backchannel_logout_uri`. Default `false` (no route, and
   * no per-request check).
   */
  backchannelLogout?: string | false;
}

/** Attributes of the sealed session cookie. `HttpOnly` and `Path=/` are always set. */
export interface CookieConfig {
  /**
   * Cookie name; RFC 6265 §4.1.1 token characters only. Default `'__Host-oidc_session'` on an
   * https `baseURL` without `domain` (a `__Host-` cookie cannot be planted or shadowed from a
   * sibling subdomain, RFC 6265bis §4.1.3.2), else `'oidc_session'`.
   */
  name?: string;
  /** `Domain` attribute. Default: none (host-only cookie, the safest; with it, the default name has no `__Host-` prefix). */
  domain?: string;
  /** `SameSite` attribute. Default `'lax'`; `'none'` needs an `https:` `baseURL`. */
  sameSite?: 'lax' | 'strict' | 'none';
}

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

/**
 * Options of {@link authCallback}. Required: `baseURL`, `secret`, and either `issuer` and
 * `clientId`, or `tenants`, or `adapter` and `clientId`.
 *
 * Every duration is in **seconds**, as OAuth's own `expires_in` (RFC 6749 §5.1).
 */
export interface AuthCallbackConfig {
  /**
   * Issuer identifier of the OpenID Provider, an absolute URL. Its metadata is discovered at
   * `issuer + '/.well-known/openid-configuration'` (OpenID Connect Discovery 1.0 §4) and its
   * `issuer` must equal this value exactly. `http:` is allowed only on a loopback host
   * (`localhost`, `127.0.0.0/8`, `[::1]`) unless `allowInsecureRequests` is set.
   * Required unless `tenants` or `adapter` is set (and not allowed with them).
   */
  issuer?: string;
  /** Several issuers, resolved per request: see {@link TenantsConfig}. */
  tenants?: TenantsConfig;
  /**
   * A provider that is not an OpenID Provider, driven by an adapter (e.g. `workos()` for WorkOS's
   * `/user_management/authenticate`, `github()`, or your own {@link ProviderAdapter}). With it,
   * `scope` need not contain `openid`, and the options that only an OpenID Provider serves
   * (`fetchUserInfo`, `dpop`, `pushedAuthorizationRequests`, `clientAuthMethod`,
   * `routes.backchannelLogout`) are refused.
   */
  adapter?: ProviderAdapter;
  /**
   * Client identifier registered at the provider (RFC 6749 §2.2). Required, unless
   * `tenants.client` gives one per issuer.
   */
  clientId?: string;
  /**
   * Client secret (RFC 6749 §2.3.1), for `client_secret_basic`, `client_secret_post` or
   * `client_secret_jwt`. Without a secret or a private key the client is public (`none`) and
   * relies on PKCE alone.
   */
  clientSecret?: string;
  /**
   * How the client authenticates at the token endpoint (OpenID Connect Core 1.0 §9):
   * `client_secret_basic`, `client_secret_post`, `client_secret_jwt` (need `clientSecret`),
   * `private_key_jwt` (needs `clientPrivateKey`), `tls_client_auth` or
   * `self_signed_tls_client_auth` (RFC 8705 mutual TLS: need `clientCertificate`, or a
   * `customFetch` that presents the client certificate; never chosen automatically) or `none`. Default: the first of those the
   * credentials allow that the provider lists in `token_endpoint_auth_methods_supported`
   * (`private_key_jwt`, then `client_secret_basic`, `client_secret_post`, `client_secret_jwt`).
   */
  clientAuthMethod?: ClientAuthMethod;
  /**
   * The client's private key for `private_key_jwt` (RFC 7523 §2.2): a private JWK (with `d`) or a
   * PKCS#8 PEM string. Its public half is registered at the provider (`jwks` or `jwks_uri`).
   */
  clientPrivateKey?: JWK | string;
  /** The `kid` sent in the client assertion's header. Default: the JWK's `kid`. */
  clientKeyId?: string;
  /**
   * The `private_key_jwt` assertion's JWS algorithm. Default: the JWK's `alg`, else RS256 (RSA),
   * ES256 (P-256), EdDSA (Ed25519). (`client_secret_jwt` always signs HS256.)
   */
  clientAssertionAlg?: string;
  /**
   * A client certificate and its key (PEM) presented on every connection to the provider, for
   * mutual TLS (RFC 8705 §2: `tls_client_auth`, `self_signed_tls_client_auth`; §3: certificate-
   * bound tokens), with `ca` to trust a provider on a private PKI. Checked at start-up (the key
   * must be the certificate's). Not with `customFetch`: one that presents a certificate itself
   * replaces it.
   */
  clientCertificate?: ClientCertificate;
  /**
   * A `fetch` for every request to the provider (discovery, JWKS, token, UserInfo), e.g. one
   * that goes through a proxy or presents a client certificate. Called as `fetch(url, init)` and
   * must return a `Response`. Default: the global `fetch`.
   */
  customFetch?: (url: string, init: RequestInit) => Promise<Response>;
  /**
   * The app's external URL, as the browser sees it, e.g. `https://app.example.com`. The
   * `redirect_uri` is `baseURL` + `routes.callback`; `post_logout_redirect_uri` is `baseURL`.
   * A path in it (`https://example.com/app`) is the prefix under which a reverse proxy serves the app.
   * An `https:` `baseURL` makes the session cookie `Secure`.
   */
  baseURL: string;
  /**
   * Secret(s) from which the session cookie's encryption key is derived (HKDF-SHA-256), each at
   * least 32 characters. An array rotates keys: the first seals new cookies, every one opens.
   */
  secret: string | string[];
  /**
   * Space-separated scopes; must contain `openid` (except with an `adapter`). Default
   * `'openid profile email'`, or the adapter's `defaultScope`.
   */
  scope?: string;
  /** Route paths. Defaults: `{ login: '/login', callback: '/callback', logout: '/logout' }`. */
  routes?: RoutesConfig;
  /**
   * Extra authorization request parameters sent on every login, e.g. `{ audience: 'https://api' }`
   * (Auth0) or `{ prompt: 'login' }`: the app's policy, which `/login`'s query cannot change (see
   * `loginParams`). The protocol's own parameters (`state`, `nonce`, `code_challenge`,
   * `redirect_uri`, …) cannot be set. What they ask for is checked in the ID token:
   *
   * - `max_age` (seconds, a string of digits): the ID token must carry `auth_time`, not older than
   *   `max_age` plus `clockTolerance` (OpenID Connect Core 1.0 §3.1.2.1, §3.1.3.7 item 13), else
   *   401 `max_age_exceeded`;
   * - `acr_values`, or a `claims` request (§5.5) marking `acr` essential: the ID token's `acr` must
   *   be one of the values asked for, else 401 `acr_mismatch`;
   * - `organization` (Auth0) or `organization_id` (Scalekit, WorkOS): the token must name that
   *   organization (Auth0: `org_id` for an `org_…` id, else `org_name`, lowercase; otherwise
   *   `organization_id`, or Scalekit's `oid`), else 403 `organization_mismatch`.
   *
   * A refused login leaves no session.
   */
  authorizationParams?: Record<string, string>;
  /**
   * How the provider returns the authorization response: `'query'` (a redirect, RFC 6749 §4.1.2)
   * or `'form_post'` (an auto-submitted POST, OAuth 2.0 Form Post Response Mode), which keeps
   * the code out of URLs and logs. Default `'query'`. The callback accepts both either way.
   *
   * With `'form_post'` the POST arrives cross-site when the provider is on another site, and a
   * `SameSite=Lax` cookie is not sent with it; so the pending-login cookie is then
   * `SameSite=None; Secure`. Needs an https `baseURL` (or a loopback host).
   */
  responseMode?: 'query' | 'form_post';
  /**
   * Sender-constrain the tokens with DPoP (RFC 9449): each login gets its own key pair (sealed
   * with the pending login, then with the session), its thumbprint is sent as `dpop_jkt`, and the
   * code exchange carries a DPoP proof. When the provider binds the tokens (`token_type` `DPoP`),
   * refreshes, UserInfo and `req.oidc.fetchResource()` carry proofs too (a server's `DPoP-Nonce`
   * is honoured); when it does not (`token_type` `Bearer`: a provider without DPoP), the tokens
   * are used as bearer tokens and the key is dropped.
   *
   * - `true`: DPoP when the provider binds, bearer otherwise;
   * - `'required'`: a provider that does not advertise DPoP (`dpop_signing_alg_values_supported`,
   *   RFC 9449 §5.1) or answers with a `Bearer` token refuses the login: 502 `dpop_unsupported`;
   * - `false`: no DPoP.
   *
   * Default `false`.
   */
  dpop?: boolean | 'required';
  /** The DPoP key pair's JWS algorithm: `ES256`, `ES384`, `ES512`, `Ed25519` or `EdDSA` (one is generated per login). Default `'ES256'`. */
  dpopAlg?: string;
  /**
   * Fetch the UserInfo claims at login (OpenID Connect Core 1.0 §5.3) and add them to `req.user`;
   * the ID token's own claims win over UserInfo's. A UserInfo response whose `sub` is not the ID
   * token's is not used, and the login fails with `invalid_userinfo` (502; §5.3.4). Default `false`.
   */
  fetchUserInfo?: boolean;
  /**
   * The only JWS algorithm accepted for ID token signatures, sent as the client's
   * `id_token_signed_response_alg` (OpenID Connect Registration §2), so a provider cannot
   * advertise a downgrade. Default `'RS256'` (OpenID Connect Core 1.0 §15.1). `none` is refused.
   */
  idTokenSigningAlg?: string;
  /**
   * Allowed clock difference with the provider, in seconds: an ID token whose `exp` passed more
   * than this long ago, or whose `iat` (or `nbf`) is more than this far in the future, is refused
   * (OpenID Connect Core 1.0 §3.1.3.7 items 9–10). Default `30`.
   */
  clockTolerance?: number;
  /** Timeout of each HTTP request to the provider, in seconds. Default `10`. */
  httpTimeout?: number;
  /**
   * Time limit of each call this package makes to the express-session store (server-side session
   * records, back-channel logout marks, the app's express-session renewed at login), and of
   * express-session's own session load when it is given as the `session` option, in seconds: a
   * store that fails or does not answer in time is a 503 `store_unavailable`, never a hung
   * request. express-session mounted with `app.use()` makes its own store calls, which this does
   * not bound. Default `5`.
   */
  storeTimeout?: number;
  /** Lifetime of a pending login (from `/login` to the callback), in seconds. Default `3600`. */
  transactionDuration?: number;
  /**
   * Absolute lifetime of a session from login, in seconds: no activity extends it. Default
   * `604800` (7 days).
   */
  sessionDuration?: number;
  /**
   * Idle (rolling) lifetime of a session, in seconds: a session unused this long ends, and each
   * use extends it, never past `sessionDuration`. `false` turns idle expiry off. Default `86400`
   * (1 day).
   */
  sessionIdleDuration?: number | false;
  /**
   * How often activity re-issues the session cookie to extend its idle lifetime, at most once per
   * this many seconds (not on every request). Default `300`, or half of `sessionIdleDuration`
   * when that is shorter; must be shorter than `sessionIdleDuration`.
   */
  sessionTouchInterval?: number;
  /**
   * Send the authorization request's parameters by pushed authorization request (RFC 9126) when
   * the provider advertises a `pushed_authorization_request_endpoint`: they travel over the back
   * channel, authenticated, instead of through the browser. Default `false`; a provider that sets
   * `require_pushed_authorization_requests` gets them pushed whatever this says.
   */
  pushedAuthorizationRequests?: boolean;
  /**
   * Authorization request parameters a login may add from `/login`'s query, e.g.
   * `/login?prompt=login&login_hint=ann@example.com`. Each may appear once; `prompt` must hold
   * OpenID Connect Core 1.0 §3.1.2.1 values and `max_age` digits (it then makes `auth_time`
   * required for that login). Protocol parameters cannot be listed.
   *
   * `authorizationParams` is the app's policy and always wins: a name it fixes is left out of the
   * default list, and listing one here is a `TypeError` at start-up. `max_age` is the exception:
   * a login may shorten the app's (the smaller one is sent and checked), never lengthen it.
   *
   * Default `['prompt', 'login_hint', 'max_age', 'acr_values', 'ui_locales']`, less the names
   * `authorizationParams` fixes; `[]` turns it off. Add the names that choose where the user
   * authenticates (`organization`, `connection`, `organization_id`, `connection_id`) only when
   * every connection they can name is trusted: a link from any site can set them, and a
   * connection an attacker runs could sign the user in as the attacker's user (login CSRF).
   */
  loginParams?: string[];
  /**
   * Where the token set lives. `'cookie'` (default): sealed into the session cookie; nothing is
   * kept on the server, and logout cannot recall a copied cookie before it expires. `'store'`:
   * sealed into a record of the express-session store (any store, e.g. connect-redis), the cookie
   * carrying only a sealed reference; logout deletes the record, so a copied cookie stops working
   * at once, and token sets of any size fit.
   */
  sessionStorage?: 'cookie' | 'store';
  /**
   * The express-session middleware (`session({ ... })`), given here instead of mounted for the
   * whole app, for what this package keeps in its store: server-side sessions
   * (`sessionStorage: 'store'`) and back-channel logout marks. `authCallback()` then runs it only
   * where those are read or written: its own routes, and every request that carries a session.
   * With cookie sessions and no back-channel logout it never runs: nothing is kept on the server
   * (pending logins are sealed cookies too). The app's other requests skip express-session's
   * cookie signature check and store read.
   *
   * Mount express-session with `app.use()` instead when the app's own routes use `req.session`;
   * `authCallback()` then gives it a new id at each login, the app's data kept (no session
   * fixation). When express-session already ran on a request, it is not run again. Its store's
   * failure, or no answer within `storeTimeout`, is a 503 `store_unavailable`. Default: unset.
   */
  session?: RequestHandler;
  /**
   * Refresh the tokens before the request's handler runs when the access token has expired, or
   * expires within `refreshMargin` seconds, and the session holds a refresh token (RFC 6749 §6).
   * Default `true`.
   */
  autoRefresh?: boolean;
  /** Seconds before the access token's expiry at which `autoRefresh` refreshes it. Default `60`. */
  refreshMargin?: number;
  /** Session cookie attributes. */
  cookie?: CookieConfig;
  /**
   * Allow plain-`http:` requests to a provider that is not on a loopback host. Default `false`.
   * For test networks only: tokens and the client secret then cross the network in clear text.
   */
  allowInsecureRequests?: boolean;
}

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
  readonly pushedAuthorizationRequests: boolean;
  readonly loginParams: readonly string[];
  readonly autoRefresh: boolean;
  readonly refreshMargin: number;
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

/** The options of one issuer and its client: what an {@link Issuer} is built from. */
export type IssuerOptions = ResolvedOptions & { readonly issuer: URL; readonly issuerIdentifier: string; readonly clientId: string };

/** Minimum secret length, in characters. */
export const MIN_SECRET_LENGTH = 32;

/** Parameters the login route sets itself; `authorizationParams` may not override them. */
const PROTOCOL_PARAMS = new Set([
  'response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce',
  'code_challenge', 'code_challenge_method', 'response_mode', 'request', 'request_uri',
]);

/**
 * Parameters a login may take from `/login`'s query by default. Not the ones that choose where the
 * user authenticates (`organization`, `connection`, …): with those, a link from any site could
 * send a user to a connection an attacker runs, and sign them in as the attacker's user.
 */
const DEFAULT_LOGIN_PARAMS = ['prompt', 'login_hint', 'max_age', 'acr_values', 'ui_locales'];

/** JWS algorithms of a login's DPoP key pair (RFC 9449 §5.1): quick to generate. */
const DPOP_ALGS = new Set(['ES256', 'ES384', 'ES512', 'Ed25519', 'EdDSA']);

/** RFC 6265 §4.1.1 `cookie-name` = RFC 7230 `token`. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** JWS algorithms an ID token may be signed with; `none` and the HMAC family (which need the client secret as key) excluded. */
const ASYMMETRIC_JWS_ALGS = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'Ed25519', 'EdDSA']);

function fail(key: string, problem: string): never {
  throw new TypeError(`authCallback(): option "${key}" ${problem}`);
}

function assertString(value: unknown, key: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) fail(key, 'is required and must be a non-empty string');
}

function assertSeconds(value: unknown, key: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    fail(key, `must be a number of seconds, at least ${min} (got ${String(value)})`);
  }
  return value;
}

function assertRoute(value: unknown, key: string, fallback: string, allowFalse: boolean): string | false {
  if (value === undefined) return fallback;
  if (value === false && allowFalse) return false;
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || /[?#\s\\]/.test(value)) {
    fail(key, `must be a path starting with "/"${allowFalse ? ' or false' : ''} (got ${JSON.stringify(value)})`);
  }
  return value;
}

function parseAbsoluteUrl(value: string, key: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(key, `must be an absolute http(s) URL (got ${JSON.stringify(value)})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    fail(key, `must be an absolute http(s) URL (got ${JSON.stringify(value)})`);
  }
  if (url.username || url.password) fail(key, 'must not contain credentials');
  if (url.search || url.hash) fail(key, 'must not contain a query or a fragment');
  return url;
}

/**
 * `true` for `localhost` (and its subdomains, RFC 6761 §6.3), `127.0.0.0/8` and `[::1]`.
 *
 * @param hostname - a URL's `hostname` (IPv6 in brackets, as WHATWG URL gives it)
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Checks a client's registration: `clientId`, and the credentials its `clientAuthMethod` needs.
 *
 * @param prefix - prepended to each key in error messages (`''`, or `'tenants.client(): '`)
 * @throws TypeError naming the bad key
 */
function checkClient(config: TenantClient & { customFetch?: unknown }, prefix: string): void {
  const key = (name: string): string => prefix + name;
  assertString(config.clientId, key('clientId'));
  if (config.clientSecret !== undefined) assertString(config.clientSecret, key('clientSecret'));
  const clientAuthMethod = config.clientAuthMethod;
  if (clientAuthMethod !== undefined && !(CLIENT_AUTH_METHODS as readonly string[]).includes(clientAuthMethod)) {
    fail(key('clientAuthMethod'), `must be one of ${CLIENT_AUTH_METHODS.join(', ')} (got ${JSON.stringify(clientAuthMethod)})`);
  }
  if (clientAuthMethod?.startsWith('client_secret_') && config.clientSecret === undefined) fail(key('clientSecret'), `is required by clientAuthMethod "${clientAuthMethod}"`);
  const clientPrivateKey = config.clientPrivateKey;
  if (clientPrivateKey !== undefined) {
    const isPem = typeof clientPrivateKey === 'string' && clientPrivateKey.includes('-----BEGIN PRIVATE KEY-----');
    const isJwk = typeof clientPrivateKey === 'object' && clientPrivateKey !== null && typeof clientPrivateKey.kty === 'string' && typeof clientPrivateKey.d === 'string';
    if (!isPem && !isJwk) fail(key('clientPrivateKey'), 'must be a private JWK (with "d") or a PKCS#8 PEM string ("-----BEGIN PRIVATE KEY-----")');
    try {
      createPrivateKey(isPem ? clientPrivateKey as string : { key: clientPrivateKey as NodeJsonWebKey, format: 'jwk' });
    } catch {
      fail(key('clientPrivateKey'), 'is not a private key Node.js can import (a PKCS#8 PEM, or a private JWK)');
    }
  }
  if (clientAuthMethod === 'private_key_jwt' && clientPrivateKey === undefined) fail(key('clientPrivateKey'), 'is required by clientAuthMethod "private_key_jwt"');
  if (clientAuthMethod?.endsWith('tls_client_auth') && config.customFetch === undefined) {
    fail(key('clientCertificate'), `(or a customFetch that presents one) is required by clientAuthMethod "${clientAuthMethod}" (RFC 8705 §2)`);
  }
  if (config.clientKeyId !== undefined) assertString(config.clientKeyId, key('clientKeyId'));
  if (config.clientAssertionAlg !== undefined) assertString(config.clientAssertionAlg, key('clientAssertionAlg'));
  if (config.customFetch !== undefined && typeof config.customFetch !== 'function') fail(key('customFetch'), 'must be a function (url, init) => Promise<Response>');

}

/**
 * Checks `authCallback()`'s configuration and fills in the defaults.
 *
 * @param config - the options given to `authCallback()`
 * @returns the frozen, resolved options
 * @throws TypeError naming the bad key, e.g. `authCallback(): option "secret" must be at least 32 characters`
 */
export function resolveOptions(config: AuthCallbackConfig): ResolvedOptions {
  if (config === null || typeof config !== 'object') {
    throw new TypeError('authCallback(): expected an options object: authCallback({ issuer, clientId, baseURL, secret })');
  }
  const { tenants, adapter } = config;
  if (tenants !== undefined && adapter !== undefined) fail('tenants', 'cannot be combined with adapter');
  if (tenants !== undefined || adapter !== undefined) {
    if (config.issuer !== undefined) fail('issuer', `must not be set with ${tenants !== undefined ? 'tenants' : 'adapter'}, which names the issuer itself`);
  } else {
    assertString(config.issuer, 'issuer');
  }
  if (tenants !== undefined) {
    if (tenants === null || typeof tenants !== 'object' || typeof tenants.issuer !== 'function') fail('tenants', 'must be an object with an issuer(req) function');
    if (tenants.client !== undefined && typeof tenants.client !== 'function') fail('tenants.client', 'must be a function (issuer) => client');
    if (tenants.cacheSize !== undefined && (!Number.isInteger(tenants.cacheSize) || tenants.cacheSize < 1)) fail('tenants.cacheSize', 'must be a whole number, at least 1');
    if (tenants.allowSharedCallback !== undefined && typeof tenants.allowSharedCallback !== 'boolean') fail('tenants.allowSharedCallback', 'must be a boolean');
  }
  if (adapter !== undefined) checkAdapter(adapter, config);
  if (config.clientCertificate !== undefined) {
    if (config.customFetch !== undefined) fail('clientCertificate', 'cannot be combined with customFetch: present the certificate in your customFetch instead');
    checkClientCertificate(config.clientCertificate);
  }
  const customFetch = config.clientCertificate !== undefined ? certificateFetch(config.clientCertificate) : config.customFetch;
  if (tenants?.client === undefined || config.clientId !== undefined) checkClient({ ...config, customFetch } as TenantClient, '');
  assertString(config.baseURL, 'baseURL');
  const allowInsecure = config.allowInsecureRequests ?? false;
  if (typeof allowInsecure !== 'boolean') fail('allowInsecureRequests', 'must be a boolean');
  const issuer = config.issuer === undefined ? undefined : parseIssuer(config.issuer, 'issuer', allowInsecure);

  const baseURL = parseAbsoluteUrl(config.baseURL, 'baseURL');
  const basePath = baseURL.pathname.replace(/\/+$/, '');

  const secrets = Array.isArray(config.secret) ? config.secret : [config.secret];
  if (secrets.length === 0) fail('secret', 'must be a string or a non-empty array of strings');
  for (const s of secrets) {
    if (typeof s !== 'string') fail('secret', 'must be a string or a non-empty array of strings');
    if (s.length < MIN_SECRET_LENGTH) fail('secret', `must be at least ${MIN_SECRET_LENGTH} characters (a random value, e.g. openssl rand -base64 48)`);
  }

  const scope = config.scope ?? adapter?.defaultScope ?? 'openid profile email';
  if (typeof scope !== 'string' || (adapter === undefined && !scope.split(' ').includes('openid'))) fail('scope', 'must be a space-separated string that contains "openid"');

  const routesIn = config.routes ?? {};
  if (typeof routesIn !== 'object') fail('routes', 'must be an object');
  const routes = {
    login: assertRoute(routesIn.login, 'routes.login', '/login', true),
    callback: assertRoute(routesIn.callback, 'routes.callback', '/callback', false) as string,
    logout: assertRoute(routesIn.logout, 'routes.logout', '/logout', true),
    backchannelLogout: routesIn.backchannelLogout === undefined ? false : assertRoute(routesIn.backchannelLogout, 'routes.backchannelLogout', '', true),
  };
  const paths = [routes.login, routes.callback, routes.logout, routes.backchannelLogout].filter((p) => p !== false);
  if (new Set(paths).size !== paths.length) fail('routes', 'must name a different path for each route');

  const authorizationParams: Record<string, string> = {};
  for (const [k, v] of Object.entries(config.authorizationParams ?? {})) {
    if (PROTOCOL_PARAMS.has(k)) fail(`authorizationParams.${k}`, 'is set by the login route itself and cannot be overridden');
    if (typeof v !== 'string') fail(`authorizationParams.${k}`, 'must be a string');
    authorizationParams[k] = v;
  }
  const maxAgeParam = authorizationParams.max_age;
  if (maxAgeParam !== undefined && !/^\d{1,10}$/.test(maxAgeParam)) fail('authorizationParams.max_age', 'must be a whole number of seconds, as a string of digits');
  const maxAge = maxAgeParam === undefined ? undefined : Number(maxAgeParam);
  const essentialAcr = authorizationParams.claims === undefined ? undefined : essentialAcrOf(authorizationParams.claims);
  const responseMode = config.responseMode ?? 'query';
  if (responseMode !== 'query' && responseMode !== 'form_post') fail('responseMode', 'must be "query" or "form_post"');
  if (responseMode === 'form_post' && baseURL.protocol !== 'https:' && !isLoopbackHost(baseURL.hostname)) {
    fail('responseMode', '"form_post" needs an https: baseURL: its pending-login cookie is SameSite=None, which browsers keep only when Secure');
  }
  const dpop = config.dpop ?? false;
  if (typeof dpop !== 'boolean' && dpop !== 'required') fail('dpop', 'must be true, false or \'required\'');
  const dpopAlg = config.dpopAlg ?? 'ES256';
  // An RSA key pair per login costs ~100 ms of CPU: anonymous /login requests would be a cheap DoS.
  if (!DPOP_ALGS.has(dpopAlg)) fail('dpopAlg', `must be one of ${[...DPOP_ALGS].join(', ')} (an elliptic-curve or EdDSA key: one is generated per login)`);
  const fetchUserInfo = config.fetchUserInfo ?? false;
  if (typeof fetchUserInfo !== 'boolean') fail('fetchUserInfo', 'must be a boolean');

  const idTokenSigningAlg = config.idTokenSigningAlg ?? 'RS256';
  if (!ASYMMETRIC_JWS_ALGS.has(idTokenSigningAlg)) {
    fail('idTokenSigningAlg', `must be one of ${[...ASYMMETRIC_JWS_ALGS].join(', ')} (got ${JSON.stringify(idTokenSigningAlg)})`);
  }

  const cookieIn = config.cookie ?? {};
  const secure = baseURL.protocol === 'https:';
  // RFC 6265bis §4.1.3.2: a __Host- cookie cannot be set, nor shadowed, from a sibling subdomain.
  const cookieName = cookieIn.name ?? (secure && cookieIn.domain === undefined ? '__Host-oidc_session' : 'oidc_session');
  if (typeof cookieName !== 'string' || !COOKIE_NAME.test(cookieName)) fail('cookie.name', 'must be a cookie token (letters, digits, !#$%&\'*+-.^_`|~)');
  if (cookieIn.domain !== undefined) assertString(cookieIn.domain, 'cookie.domain');
  const sameSite = cookieIn.sameSite ?? 'lax';
  if (sameSite !== 'lax' && sameSite !== 'strict' && sameSite !== 'none') fail('cookie.sameSite', 'must be "lax", "strict" or "none"');
  if (sameSite === 'none' && !secure) fail('cookie.sameSite', '"none" requires an https: baseURL (browsers drop SameSite=None cookies without Secure)');
  // RFC 6265bis §4.1.3: browsers drop __Secure- cookies without Secure, and __Host- ones also with a Domain.
  if ((cookieName.startsWith('__Secure-') || cookieName.startsWith('__Host-')) && !secure) {
    fail('cookie.name', 'with a __Secure- or __Host- prefix requires an https: baseURL');
  }
  if (cookieName.startsWith('__Host-') && cookieIn.domain !== undefined) fail('cookie.domain', 'must not be set with a __Host- cookie name');

  const sessionDuration = assertSeconds(config.sessionDuration, 'sessionDuration', 7 * 24 * 3600, 1);
  const sessionIdleDuration = config.sessionIdleDuration === false
    ? undefined
    : assertSeconds(config.sessionIdleDuration, 'sessionIdleDuration', 24 * 3600, 1);
  const defaultTouchInterval = sessionIdleDuration === undefined ? 300 : Math.min(300, sessionIdleDuration / 2);
  const sessionTouchInterval = assertSeconds(config.sessionTouchInterval, 'sessionTouchInterval', defaultTouchInterval);
  if (sessionIdleDuration !== undefined && sessionTouchInterval >= sessionIdleDuration) {
    fail('sessionTouchInterval', `must be shorter than sessionIdleDuration (${sessionIdleDuration} s), or a session in use would expire before its next touch`);
  }
  const pushedAuthorizationRequests = config.pushedAuthorizationRequests ?? false;
  if (typeof pushedAuthorizationRequests !== 'boolean') fail('pushedAuthorizationRequests', 'must be a boolean');
  const loginParamsIn = config.loginParams ?? DEFAULT_LOGIN_PARAMS;
  if (!Array.isArray(loginParamsIn) || loginParamsIn.some((p) => typeof p !== 'string' || p.length === 0)) fail('loginParams', 'must be an array of parameter names');
  for (const p of loginParamsIn) if (PROTOCOL_PARAMS.has(p)) fail('loginParams', `cannot list the protocol parameter "${p}"`);
  // The app's authorizationParams are its policy: a login may not change one (max_age it may only shorten).
  const fixed = (p: string): boolean => p !== 'max_age' && Object.hasOwn(authorizationParams, p);
  if (config.loginParams !== undefined) {
    const clash = loginParamsIn.find(fixed);
    if (clash !== undefined) fail('loginParams', `lists "${clash}", which authorizationParams fixes: a login cannot change the app's value; remove it from one of them`);
  }
  const loginParams = loginParamsIn.filter((p) => !fixed(p));
  const sessionStorage = config.sessionStorage ?? 'cookie';
  if (sessionStorage !== 'cookie' && sessionStorage !== 'store') fail('sessionStorage', 'must be "cookie" or "store"');
  if (config.session !== undefined && typeof config.session !== 'function') fail('session', 'must be the express-session middleware, session({ ... })');
  const autoRefresh = config.autoRefresh ?? true;
  if (typeof autoRefresh !== 'boolean') fail('autoRefresh', 'must be a boolean');

  return Object.freeze({
    issuer,
    issuerIdentifier: config.issuer,
    clientId: config.clientId,
    tenants: tenants === undefined ? undefined : Object.freeze({
      issuer: tenants.issuer.bind(tenants),
      ...(tenants.client !== undefined && { client: tenants.client.bind(tenants) }),
      cacheSize: tenants.cacheSize ?? 100,
      allowSharedCallback: tenants.allowSharedCallback ?? false,
    }),
    adapter,
    clientSecret: config.clientSecret,
    clientAuthMethod: config.clientAuthMethod,
    clientPrivateKey: config.clientPrivateKey,
    clientKeyId: config.clientKeyId,
    clientAssertionAlg: config.clientAssertionAlg,
    customFetch,
    baseURL,
    basePath,
    redirectUri: new URL(basePath + routes.callback, baseURL.origin),
    postLogoutRedirectUri: config.baseURL,
    secrets: Object.freeze([...secrets]),
    scope,
    routes: Object.freeze(routes),
    authorizationParams: Object.freeze(authorizationParams),
    maxAge,
    essentialAcr,
    fetchUserInfo,
    dpop,
    dpopAlg,
    responseMode,
    idTokenSigningAlg,
    clockTolerance: assertSeconds(config.clockTolerance, 'clockTolerance', 30),
    httpTimeout: assertSeconds(config.httpTimeout, 'httpTimeout', 10, 0.001),
    storeTimeout: assertSeconds(config.storeTimeout, 'storeTimeout', 5, 0.001),
    transactionDuration: assertSeconds(config.transactionDuration, 'transactionDuration', 3600, 1),
    sessionDuration,
    sessionIdleDuration,
    sessionTouchInterval,
    sessionStorage,
    session: config.session,
    pushedAuthorizationRequests,
    loginParams: Object.freeze([...loginParams]),
    autoRefresh,
    refreshMargin: assertSeconds(config.refreshMargin, 'refreshMargin', 60),
    cookie: Object.freeze({ name: cookieName, domain: cookieIn.domain, sameSite, secure }),
    insecureIssuer: issuer?.protocol === 'http:',
    allowInsecureRequests: allowInsecure,
  });
}

/** Options only an OpenID Provider serves: refused with an `adapter`. */
const OPENID_ONLY_OPTIONS = ['fetchUserInfo', 'dpop', 'pushedAuthorizationRequests', 'clientAuthMethod', 'clientPrivateKey', 'idTokenSigningAlg'] as const;

/** Checks an `adapter` and the options that cannot go with it. */
function checkAdapter(adapter: ProviderAdapter, config: AuthCallbackConfig): void {
  if (adapter === null || typeof adapter !== 'object' || typeof adapter.issuer !== 'string'
    || typeof adapter.authorizationUrl !== 'function' || typeof adapter.exchangeCode !== 'function') {
    fail('adapter', 'must be a ProviderAdapter: { issuer, authorizationUrl(), exchangeCode() }, e.g. workos()');
  }
  parseAbsoluteUrl(adapter.issuer, 'adapter.issuer');
  for (const key of OPENID_ONLY_OPTIONS) {
    if (config[key] !== undefined && config[key] !== false) fail(key, 'needs an OpenID Provider: it cannot be used with adapter');
  }
  if (config.routes?.backchannelLogout !== undefined && config.routes.backchannelLogout !== false) {
    fail('routes.backchannelLogout', 'needs an OpenID Provider: it cannot be used with adapter');
  }
  if (config.authorizationParams?.max_age !== undefined) {
    fail('authorizationParams.max_age', 'needs an OpenID Provider (an ID token\'s auth_time proves it): it cannot be used with adapter');
  }
}

/**
 * The values of an essential `acr` request in a `claims` parameter (OpenID Connect Core 1.0
 * §5.5.1.1: `{"id_token":{"acr":{"essential":true,"values":[…]}}}`, or `value`), which the ID
 * token's `acr` must then be one of (any, when none is listed); `undefined` when `acr` is not
 * requested as essential.
 *
 * @throws TypeError when `claims` is not a JSON object
 */
function essentialAcrOf(claims: string): readonly string[] | undefined {
  let request: unknown;
  try {
    request = JSON.parse(claims);
  } catch {
    fail('authorizationParams.claims', 'must be a JSON object (OpenID Connect Core 1.0 §5.5)');
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) fail('authorizationParams.claims', 'must be a JSON object (OpenID Connect Core 1.0 §5.5)');
  const acr = (request as { id_token?: { acr?: { essential?: unknown; value?: unknown; values?: unknown } } }).id_token?.acr;
  if (acr?.essential !== true) return undefined;
  const values = typeof acr.value === 'string' ? [acr.value] : Array.isArray(acr.values) ? acr.values.filter((v): v is string => typeof v === 'string') : [];
  return Object.freeze(values); // empty: any acr, but one must be there
}

/** An issuer identifier as a URL: absolute http(s), and `http:` only on loopback unless `allowInsecure`. */
function parseIssuer(value: string, key: string, allowInsecure: boolean): URL {
  const issuer = parseAbsoluteUrl(value, key);
  if (issuer.protocol === 'http:' && !isLoopbackHost(issuer.hostname) && !allowInsecure) {
    fail(key, `uses http: on a host that is not loopback (${issuer.hostname}); use https:, or set allowInsecureRequests: true on a test network`);
  }
  return issuer;
}

/**
 * An issuer's own `redirect_uri` (see {@link TenantClient.redirectUri}): under `baseURL` +
 * `routes.callback` + `/`, without a query or fragment.
 *
 * @throws TypeError naming `tenants.client().redirectUri`
 */
function ownRedirectUri(options: ResolvedOptions, value: unknown): URL {
  const key = 'tenants.client().redirectUri';
  assertString(value, key);
  const url = parseAbsoluteUrl(value, key);
  const shared = options.redirectUri.href;
  if (!url.href.startsWith(`${shared}/`) || url.href.length === shared.length + 1) {
    fail(key, `must be ${shared}/ followed by a path of its own (got ${JSON.stringify(value)})`);
  }
  return url;
}

/**
 * The options of one tenant: `options` with the issuer `issuer` and the client `client` (or the
 * top-level client when `client` is `undefined`).
 *
 * @throws TypeError naming the bad key, when `tenants.issuer()` returned something that is not an
 *   issuer URL, or `tenants.client()` a client without its credentials
 */
export function tenantOptions(options: ResolvedOptions, issuer: string, client: TenantClient | undefined): IssuerOptions {
  const url = parseIssuer(issuer, 'tenants.issuer() result', options.allowInsecureRequests);
  if (client !== undefined) checkClient({ ...client, customFetch: options.customFetch }, 'tenants.client().');
  const registration = client ?? options;
  return Object.freeze({
    ...options,
    ...(client?.redirectUri !== undefined && { redirectUri: ownRedirectUri(options, client.redirectUri) }),
    issuer: url,
    issuerIdentifier: issuer,
    insecureIssuer: url.protocol === 'http:',
    clientId: registration.clientId!,
    clientSecret: registration.clientSecret,
    clientAuthMethod: registration.clientAuthMethod,
    clientPrivateKey: registration.clientPrivateKey,
    clientKeyId: registration.clientKeyId,
    clientAssertionAlg: registration.clientAssertionAlg,
  });
}
