/**
 * The app's express-session, when it runs: run by `authCallback()` itself (the `session` option),
 * renewed at login (a new id, the app's data kept) and destroyed at logout. Its store's failures
 * are `store_unavailable` (503), held to `storeTimeout` like this package's own records.
 *
 * @packageDocumentation
 */
import type { HttpRequest, HttpResponse } from '../http.js';
import { debugOf } from '../debug.js';
import { callStore } from '../session/record-store.js';

const debug = debugOf('session');

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

/** express-session's middleware, as the `session` option gives it. */
type ExpressSessionMiddleware = (req: HttpRequest, res: HttpResponse, next: (err?: unknown) => void) => void;

/**
 * Holds express-session's own write at the end of the response to `timeout` seconds.
 * express-session saves a changed session, or touches a loaded one (`resave: false` with a store
 * that has `touch()`, connect-redis among them), after the status line and the body (all but its
 * last byte) went out, and ends the response only once its store answers: a store that never
 * answers would leave the response unfinished for ever. After `timeout` seconds the connection is
 * closed instead. No 503 can be answered any more, as the status was sent; the store's late answer
 * finds nothing left to write to.
 *
 * Only express-session's wait for its store is timed, not the rest of the response's end: called
 * before express-session runs, this marks the `res.end` express-session will wrap (and call on,
 * once its store answered, or at once when it has nothing to write); the function it returns,
 * called after express-session ran, wraps express-session's own `res.end` and starts the timer
 * only when express-session did not call on to the marked one. A `res.end` mounted before (the
 * `compression` middleware's, which ends the response only once zlib and a slow client drained
 * the body) may take as long as it needs.
 *
 * @param timeout - `storeTimeout`, in seconds
 * @returns what to call once express-session ran on the request (wrapped `res.end` or not)
 */
function limitEndOfResponseSave(res: HttpResponse, timeout: number): () => void {
  type End = (...args: unknown[]) => HttpResponse;
  const below = res.end as End;
  let reached = false;
  let timer: NodeJS.Timeout | undefined;
  res.end = function endBelowExpressSession(this: HttpResponse, ...args: unknown[]): HttpResponse {
    reached = true; // express-session's store answered, or it had nothing to write
    clearTimeout(timer);
    return below.apply(this, args);
  } as typeof res.end;
  return function limitExpressSessionEnd(): void {
    const expressSessionEnd = res.end as End;
    res.end = function endWithinStoreTimeout(this: HttpResponse, ...args: unknown[]): HttpResponse {
      const returned = expressSessionEnd.apply(this, args);
      if (!reached && timer === undefined) { // express-session waits for its store before it ends the response
        timer = setTimeout(() => {
          if (reached || res.writableEnded) return;
          debug('express-session\'s store did not save the session within %d s (storeTimeout): connection closed', timeout);
          res.destroy();
        }, timeout * 1000);
        res.once('close', () => clearTimeout(timer));
      }
      return returned;
    } as typeof res.end;
  };
}

/**
 * Runs express-session (the `session` option) on a request, its session load held to `timeout`
 * seconds, and its store's answer at the end of the response too (see {@link limitEndOfResponseSave}).
 * express-session returns at once on a request it already ran on. A late answer of its store,
 * after `timeout`, goes nowhere: the request was answered with the 503 already.
 *
 * @param timeout - `storeTimeout`, in seconds
 * @throws AuthError `store_unavailable` (503) when its store fails or does not answer in time
 */
export async function runExpressSession(middleware: ExpressSessionMiddleware, req: HttpRequest, res: HttpResponse, timeout: number): Promise<void> {
  const limitExpressSessionEnd = limitEndOfResponseSave(res, timeout);
  try {
    await callStore(timeout, (done) => middleware(req, res, done));
  } finally {
    // express-session wrapped res.end as it started (before its store answered): wrapped again
    // here, the time limit runs before express-session's own end.
    limitExpressSessionEnd();
  }
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
