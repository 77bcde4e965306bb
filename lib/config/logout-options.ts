/**
 * The options of logout: whether it ends the provider's session too, and what the request to
 * its `end_session_endpoint` carries.
 *
 * @packageDocumentation
 */

/** The parameters of a logout request this package sets (RP-Initiated Logout 1.0 §2); `logoutParams` may not. */
const OWN_LOGOUT_PARAMS: ReadonlySet<string> = new Set(['id_token_hint', 'post_logout_redirect_uri', 'state', 'client_id']);

/**
 * Checks `logoutParams` (the option's, or `req.oidc.logout()`'s): an object of strings, none of
 * them a parameter this package sets.
 *
 * @param refuse - throws the caller's error for `key` (e.g. `logoutParams.state`) and `problem`
 * @returns a frozen copy
 */
export function checkLogoutParams(params: unknown, key: string, refuse: (key: string, problem: string) => never): Readonly<Record<string, string>> {
  if (params === undefined) return Object.freeze({});
  if (params === null || typeof params !== 'object' || Array.isArray(params)) refuse(key, 'must be an object of strings');
  const copy: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    if (OWN_LOGOUT_PARAMS.has(name)) refuse(`${key}.${name}`, 'is set by express-oidc-callback (RP-Initiated Logout 1.0 §2): leave it out');
    if (typeof value !== 'string') refuse(`${key}.${name}`, 'must be a string');
    copy[name] = value;
  }
  return Object.freeze(copy);
}

/** Options of `authCallback()`: logout (OpenID Connect RP-Initiated Logout 1.0). */
export interface LogoutOptions {
  /**
   * Whether logout also ends the user's session at the provider: the browser is sent to its
   * `end_session_endpoint` (with `id_token_hint`, `post_logout_redirect_uri` = `baseURL`, and a
   * `state` this package checks on return), when it publishes one. `false` ends the local session
   * only: the user is still signed in at the provider, and the next login may not ask for a
   * password. `req.oidc.logout({ idpLogout })` decides per request.
   *
   * @defaultValue `true`
   */
  idpLogout?: boolean;
  /**
   * Extra parameters of the logout request to the provider (e.g. `logout_hint`, `ui_locales`, or
   * a vendor's own such as Auth0's `federated`). `id_token_hint`, `post_logout_redirect_uri`,
   * `state` and `client_id` are this package's: setting one is a start-up error.
   *
   * @defaultValue `{}`
   */
  logoutParams?: Record<string, string>;
}
