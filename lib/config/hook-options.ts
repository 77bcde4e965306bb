/**
 * The app's hooks into a login: data of its own carried through it (`loginState`), and a last
 * word once the provider has answered (`afterCallback`).
 *
 * @packageDocumentation
 */
import type { Request, Response } from 'express';
import type { UserClaims } from '../provider/provider.js';

/** JSON data: what `loginState` may carry through a login. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [name: string]: JsonValue };

/** What `afterCallback` is given: the new session, before it is sealed. Times in seconds since the epoch. */
export interface AfterCallbackSession {
  /** The issuer the user signed in at. */
  readonly issuer: string;
  /** The session's claims: the ID token's, over UserInfo's when fetched (frozen; what `req.oidc.claims` will be). */
  readonly claims: Readonly<UserClaims>;
  /** The ID token; `undefined` with a provider adapter. */
  readonly idToken: string | undefined;
  /** The access token (RFC 6749 §1.4), as `req.oidc.accessToken` will be. */
  readonly accessToken: string;
  /** `Bearer` (RFC 6750) or `DPoP` (RFC 9449). */
  readonly tokenType: string;
  /** The refresh token (RFC 6749 §1.5), when the provider issued one. */
  readonly refreshToken: string | undefined;
  /** When the access token expires; `undefined` when the provider did not say. */
  readonly expiresAt: number | undefined;
  /** What `loginState(req)` returned when the login started; `undefined` without one. */
  readonly loginState: JsonValue | undefined;
}

/**
 * What `afterCallback` returns: `undefined` or `true` to sign the user in as is; `{ claims }` to
 * sign them in with these claims added to `req.user` (sealed with the session, kept across
 * refreshes); `false` to refuse the login.
 */
export type AfterCallbackResult = void | boolean | {
  /** Claims of the app's own, added to `req.user`: JSON data, never `sub`, `iss` or an `identityClaimFilter` name. */
  claims?: Record<string, JsonValue>;
};

/** Options of `authCallback()`: the app's hooks into each login. */
export interface HookOptions {
  /**
   * Called when a login starts, after its request is checked: data of the app's own to carry
   * through the login (an invitation code, the plan picked on the pricing page). It is sealed
   * into the pending-login cookie, never sent to the provider, and given back to `afterCallback`
   * as `session.loginState`: the app gets back exactly what it gave, not the query (eoc's
   * `getLoginState`). At most 512 bytes of JSON.
   *
   * Errors: a throw or rejection, a value that is not JSON data, or one too large, is an
   * {@link AuthError} `hook_failed` (500) passed to `next()`, the error as `cause`; no login starts.
   *
   * @defaultValue none
   */
  loginState?: (req: Request) => JsonValue | undefined | Promise<JsonValue | undefined>;
  /**
   * Called after the callback has checked everything (the code exchanged, the ID token
   * validated, UserInfo fetched), before the session is sealed: the app's last word on the login.
   * Return `{ claims }` to add claims of the app's own to `req.user` (roles from its database, its
   * own user id); they are sealed with the session, kept across refreshes, and may not replace
   * `sub` or a claim `identityClaimFilter` names. Return `false` to refuse the login: no session
   * is made and {@link AuthError} `login_refused` (403) is passed to `next()`, unless the hook
   * has answered the request itself (e.g. redirected to a sign-up page).
   *
   * Errors: a throw or rejection is passed to `next()` as is when it is an {@link AuthError},
   * else as `hook_failed` (500) with the error as `cause`; no session is made either way.
   *
   * @defaultValue none: every login that passes the checks signs the user in
   * @example
   * ```ts
   * afterCallback: async (req, res, session) => {
   *   const account = await accounts.findBySub(session.claims.sub);
   *   if (account === undefined) return false;
   *   return { claims: { accountId: account.id, roles: account.roles } };
   * }
   * ```
   */
  afterCallback?: (req: Request, res: Response, session: AfterCallbackSession) => AfterCallbackResult | Promise<AfterCallbackResult>;
}
