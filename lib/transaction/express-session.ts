/**
 * The app's express-session, when it runs: renewed at login (a new id, the app's data kept) and
 * destroyed at logout. Its store's failures are `store_unavailable` (503), held to
 * `storeTimeout` like this package's own records.
 *
 * @packageDocumentation
 */
import type { HttpRequest } from '../http.js';
import { callStore } from '../session/record-store.js';

/**
 * The part of an express-session `Session` used here, typed structurally so that this package
 * neither needs `@types/express-session` nor adds anything to its `SessionData`.
 */
interface ExpressSession {
  regenerate(callback: (err?: unknown) => void): unknown;
  save(callback: (err?: unknown) => void): unknown;
  destroy(callback: (err?: unknown) => void): unknown;
  [key: string]: unknown;
}

/** Where 0.1.x kept pending logins in the express-session; dropped wherever it is found. */
const LEGACY_TRANSACTIONS_KEY = 'oidcTransactions';

/** The request's express-session, or `undefined` when express-session did not run on it. */
function expressSessionOf(req: HttpRequest): ExpressSession | undefined {
  const session = (req as unknown as { session?: ExpressSession | null }).session;
  return session !== null && typeof session?.regenerate === 'function' ? session : undefined;
}

/** What the app's express-session says of its cookie on this request (express-session's `Cookie`, read structurally). */
export interface ExpressSessionCookie {
  /** `cookie.secure` as express-session resolved it for this session: `true`, `false` (`'auto'` becomes one of them). */
  secure: unknown;
  /** `cookie.sameSite`: `true` (Strict), `false`, `'lax'`, `'strict'`, `'none'` (any case). */
  sameSite: unknown;
  /** `true` when the request carried express-session's cookie for this session: its cookie evidently reaches the app. */
  carried: boolean;
}

/**
 * The request's express-session cookie settings, or `undefined` when express-session did not run
 * on it. `carried` looks for the session id in the `Cookie` header (express-session's cookie is
 * `s:<id>.<signature>`), so it needs neither the cookie's name nor its secret.
 */
export function expressSessionCookieOf(req: HttpRequest): ExpressSessionCookie | undefined {
  const session = expressSessionOf(req);
  const cookie = session?.cookie as { secure?: unknown; sameSite?: unknown } | undefined;
  if (cookie === undefined || cookie === null || typeof cookie !== 'object') return undefined;
  const id = (req as { sessionID?: unknown }).sessionID;
  const carried = typeof id === 'string' && id.length >= 16 && (req.headers.cookie?.includes(encodeURIComponent(id)) === true || req.headers.cookie?.includes(id) === true);
  return { secure: cookie.secure, sameSite: cookie.sameSite, carried };
}

/**
 * At login, replaces the request's express-session (if any) under a new id, against session
 * fixation (OWASP ASVS V3.2.1): the app's data in it is carried over and saved; a session with
 * no data is destroyed instead, so that a login leaves no empty record in the store.
 *
 * @param timeout - `storeTimeout`, in seconds
 * @throws AuthError `store_unavailable` (503) when the store fails or does not answer in time
 */
export async function renewExpressSession(req: HttpRequest, timeout: number): Promise<void> {
  const session = expressSessionOf(req);
  if (session === undefined) return;
  const keep: Record<string, unknown> = {};
  for (const key of Object.keys(session)) {
    if (key !== 'cookie' && key !== LEGACY_TRANSACTIONS_KEY) keep[key] = session[key];
  }
  if (Object.keys(keep).length === 0) {
    await callStore(timeout, (done) => session.destroy(done));
    return;
  }
  // The data is carried over inside regenerate's own callback, so that a store answering after
  // storeTimeout (this login then answers 503) still keeps it under the new id.
  await callStore(timeout, (done) => session.regenerate((err) => {
    const renewed = expressSessionOf(req);
    if (err || renewed === undefined) {
      done(err);
      return;
    }
    Object.assign(renewed, keep);
    renewed.save(done); // in the store before the browser follows the redirect
  }));
}

/**
 * Destroys the request's express-session in its store (logout); nothing without express-session.
 *
 * @throws AuthError `store_unavailable` (503)
 */
export async function destroyExpressSession(req: HttpRequest, timeout: number): Promise<void> {
  const session = expressSessionOf(req);
  if (session !== undefined) await callStore(timeout, (done) => session.destroy(done));
}
