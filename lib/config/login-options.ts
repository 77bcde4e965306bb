/**
 * The options of the login: the routes, what the authorization request carries, and how long a
 * login may take.
 *
 * @packageDocumentation
 */

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

/** Options of `authCallback()`: the routes and the authorization request. Every duration is in **seconds**. */
export interface LoginOptions {
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
   * How the provider returns the authorization response: `'query'` (a redirect, RFC 6749 §4.1.2)
   * or `'form_post'` (an auto-submitted POST, OAuth 2.0 Form Post Response Mode), which keeps
   * the code out of URLs and logs. Default `'query'`. The callback accepts both either way.
   *
   * With `'form_post'` the POST arrives cross-site when the provider is on another site, and a
   * `SameSite=Lax` cookie is not sent with it; so the pending-login cookie is then
   * `SameSite=None; Secure`. Needs an https `baseURL` (or a loopback host).
   */
  responseMode?: 'query' | 'form_post';
  /** Lifetime of a pending login (from `/login` to the callback), in seconds. Default `3600`. */
  transactionDuration?: number;
  /**
   * Sign in, without a click, a user already signed in at the provider: a browser's first page
   * load without a session (a `GET` whose `Sec-Fetch-Dest` is `document`, or that prefers HTML)
   * is sent on a login with `prompt=none` (OpenID Connect Core 1.0 §3.1.2.1) and comes back
   * signed in, or anonymous when the provider answers `login_required` (or another §3.1.2.6
   * error), with no error shown. Tried once per browser session (a session cookie marks it,
   * logout sets it too, so a user who signs out stays out); a provider that cannot be reached
   * leaves the page anonymous. Costs the first page load two redirects; crawlers, which keep no
   * cookies, get them on every page. Not with a `prompt` fixed in `authorizationParams`, nor
   * with an `adapter`.
   *
   * @defaultValue `false`
   */
  attemptSilentLogin?: boolean;
}
