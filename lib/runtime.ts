/**
 * What one `authCallback()` shares with its routes and with `requireAuth()`: the resolved
 * options and the objects built from them once, at start-up. It travels on the request under
 * a private WeakMap keyed by the request, so `requireAuth()` needs no arguments to find it.
 *
 * @packageDocumentation
 */
import type { Request } from 'express';
import { debuglog } from 'node:util';
import type { ResolvedOptions } from './config/resolved-options.js';
import type { Providers } from './provider/provider-registry.js';
import type { Sealer } from './session/seal.js';
import type { SessionCache } from './session/session-cache.js';
import type { SessionCookie } from './session/session-cookie.js';
import type { Guard } from './guard/require-auth.js';
import type { AuthSession } from './session/session.js';
import type { RefreshFlights } from './session/token-refresh.js';
import type { TransactionCookie } from './transaction/transaction-cookie.js';

/** Debug lines, shown with `NODE_DEBUG=express-oidc-callback`. */
export const debug = debuglog('express-oidc-callback');

/** Everything built once per `authCallback()`. */
export interface Context {
  readonly options: ResolvedOptions;
  /** The provider (or, with `tenants`, providers) requests, transactions and sessions talk to. */
  readonly providers: Providers;
  readonly sealer: Sealer;
  readonly cookie: SessionCookie;
  /** Session cookies already opened, so a user's next requests skip the decryption. */
  readonly sessionCache: SessionCache;
  readonly guard: Guard;
  /** Token refreshes in flight, shared by the requests of one session. */
  readonly refreshes: RefreshFlights;
  /** The pending login's copy for a cross-site form post (`responseMode: 'form_post'`). */
  readonly transactionCookie: TransactionCookie;
}

/** What `authCallback()` found for a request. */
interface Attached {
  context: Context;
  session: AuthSession | undefined;
}

/**
 * Each request's {@link Attached}, beside the request rather than on it: Express's request
 * objects have a swapped prototype, and every property added to one costs a slow store (the
 * benchmark's guarded requests paid several microseconds for two symbol-keyed properties).
 */
const attached = new WeakMap<Request, Attached>();

/** Attaches `context` and the request's session (if any) to `req`, and sets `req.user` to the session's claims. */
export function attach(req: Request, context: Context, session: AuthSession | undefined): void {
  attached.set(req, { context, session });
  req.user = session?.claims;
}

/** The `authCallback()` context of this request, or `undefined` when it did not run. */
export function contextOf(req: Request): Context | undefined {
  return attached.get(req)?.context;
}

/** The request's valid session, or `undefined`. */
export function sessionOf(req: Request): AuthSession | undefined {
  return attached.get(req)?.session;
}
