/**
 * What one `authCallback()` shares with its routes and with `requireAuth()`: the resolved
 * options and the parts built from them once, at start-up, and each request's session. Only the
 * routes and the guard import it; the building blocks (`session/`, `provider/`,
 * `transaction/`) are handed what they use.
 *
 * @packageDocumentation
 */
import type { HttpRequest } from './http.js';
import type { Challenge } from './guard/challenge.js';
import type { ProviderRegistry } from './provider/provider-registry.js';
import type { RenewalDeps } from './session/renewal.js';
import type { AuthSession } from './session/session.js';
import { userOf } from './session/user-claims.js';
import type { User } from './provider/provider.js';
import type { TransactionCookie } from './transaction/transaction-cookie.js';
import type { LogoutStateCookie } from './logout/logout-state.js';
import type { SilentLogin } from './login/silent-login.js';

/** Everything built once per `authCallback()`: the options, the providers, the sessions, … */
export interface Context extends RenewalDeps {
  /** The provider (or, with `tenants`, providers) requests, transactions and sessions talk to. */
  readonly providers: ProviderRegistry;
  /** What `requireAuth()` answers a request without a session with. */
  readonly challenge: Challenge;
  /** The pending logins, in the browser's cookies. */
  readonly transactionCookie: TransactionCookie;
  /** The pending logout's `state`, in the browser's cookie. */
  readonly logoutState: LogoutStateCookie;
  /** `attemptSilentLogin`'s once-per-browser-session mark. */
  readonly silentLogin: SilentLogin;
}

/** What `authCallback()` found for a request. */
interface Attached {
  context: Context;
  session: AuthSession | undefined;
  /** `req.user` as set (the app may replace `req.user`, not this). */
  user: User | undefined;
}

/**
 * Each request's {@link Attached}, beside the request rather than on it: Express's request
 * objects have a swapped prototype, and every property added to one costs a slow store.
 */
const attached = new WeakMap<HttpRequest, Attached>();

/** Attaches `context` and the request's session (if any) to `req`, and sets `req.user` (see `userOf()`). */
export function attach(req: HttpRequest, context: Context, session: AuthSession | undefined): void {
  const user = session === undefined ? undefined : userOf(session.claims, session.tokens.appClaims, context.options.identityClaimFilter);
  attached.set(req, { context, session, user });
  (req as { user?: unknown }).user = user;
}

/** The `authCallback()` context of this request, or `undefined` when it did not run. */
export function contextOf(req: HttpRequest): Context | undefined {
  return attached.get(req)?.context;
}

/** `req.user` as `authCallback()` set it, or `undefined` without a session. */
export function userOfRequest(req: HttpRequest): User | undefined {
  return attached.get(req)?.user;
}

/** The request's valid session, or `undefined`. */
export function authSessionOf(req: HttpRequest): AuthSession | undefined {
  return attached.get(req)?.session;
}
