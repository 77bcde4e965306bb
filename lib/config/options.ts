/**
 * The options of `authCallback()`, as the app writes them. Types only: `resolve-options.ts`
 * checks them and fills in the defaults.
 *
 * @packageDocumentation
 */
import type { ProviderAdapter } from '../provider/adapters/adapter.js';
import type { ClientOptions } from './client-options.js';
import type { EventOptions } from './event-options.js';
import type { HookOptions } from './hook-options.js';
import type { LogoutOptions } from './logout-options.js';
import type { LoginOptions } from './login-options.js';
import type { SessionOptions } from './session-options.js';
import type { TenantsConfig } from './tenants.js';

/**
 * Options of {@link authCallback}. Required: `baseURL`, `secret`, and either `issuer` and
 * `clientId`, or `tenants`, or `adapter` and `clientId`. The others are grouped by what they are
 * about: {@link ClientOptions}, {@link LoginOptions}, {@link LogoutOptions}, {@link SessionOptions},
 * {@link HookOptions}, {@link EventOptions}.
 *
 * Every duration is in **seconds**, as OAuth's own `expires_in` (RFC 6749 §5.1).
 */
export interface AuthCallbackConfig extends ClientOptions, LoginOptions, LogoutOptions, SessionOptions, HookOptions, EventOptions {
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
}
