/**
 * Records this package keeps in the express-session store, next to express-session's own:
 * server-side sessions (`sessionStorage: 'store'`) and back-channel logout marks. Any
 * express-session store works (MemoryStore, connect-redis, …), and every app instance sharing
 * the store sees the same records.
 *
 * A record is stored like an express-session session: with a `cookie.expires`, from which
 * stores derive its time to live, and after which they no longer return it. Every call is held to
 * `storeTimeout`: a store that fails or does not answer in time is a 503 `store_unavailable`,
 * never a hung request (node-redis, for one, queues commands while disconnected).
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import type { HttpRequest } from '../http.js';
import { AuthError } from '../errors.js';

/** The part of an express-session `Store` used here (typed structurally, like req-session.ts). */
interface SessionStore {
  get(id: string, callback: (err: unknown, data?: unknown) => void): void;
  set(id: string, data: unknown, callback?: (err?: unknown) => void): void;
  destroy(id: string, callback?: (err?: unknown) => void): void;
}

/** Key prefix of every record of this package: express-session's own ids never contain `:`. */
const PREFIX = 'oidc:';

/**
 * A record key made of `kind` and `parts`, hashed (SHA-256, base64url) so that no part (an
 * issuer URL, a `sub`) reaches the store's key space as given.
 */
export function recordKey(kind: string, ...parts: string[]): string {
  return `${PREFIX}${kind}:${createHash('sha256').update(parts.join('\n')).digest('base64url')}`;
}

/** The 503 of a store that failed (`cause`) or did not answer within `timeout` seconds. */
function storeUnavailable(cause: unknown, timeout?: number): AuthError {
  return new AuthError('store_unavailable', 503,
    cause === undefined
      ? `The session store did not answer within ${timeout} s (storeTimeout): try again shortly`
      : 'The session store failed: try again shortly',
    cause === undefined ? undefined : { cause });
}

/**
 * Runs a store call that reports through `callback`, held to `timeout` seconds: its error, or no
 * answer in time, rejects with {@link storeUnavailable}; a late answer is ignored.
 */
export function callStore<T>(timeout: number, run: (callback: (err: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(storeUnavailable(undefined, timeout));
    }, timeout * 1000);
    const done = (err: unknown, value?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err !== undefined && err !== null) reject(err instanceof AuthError ? err : storeUnavailable(err));
      else resolve(value);
    };
    try {
      run(done);
    } catch (err) {
      done(err ?? new Error('the store threw'));
    }
  });
}

/** This package's records in one request's express-session store, each call held to `storeTimeout`. */
export interface RecordStore {
  /** The record under `key`, or `undefined` when there is none or it expired. */
  get<T extends object>(key: string): Promise<T | undefined>;
  /** Stores `value` under `key` until `expiresAt` (seconds since the epoch). */
  set(key: string, value: object, expiresAt: number): Promise<void>;
  /** Removes the record under `key`. */
  destroy(key: string): Promise<void>;
}

/**
 * The records of this request's express-session store.
 *
 * @param timeout - `storeTimeout`, in seconds
 * @throws AuthError `session_not_mounted` (500) when express-session did not run first
 */
export function storeOf(req: HttpRequest, timeout: number): RecordStore {
  const store = (req as unknown as { sessionStore?: SessionStore }).sessionStore;
  if (store === undefined || typeof store.get !== 'function') {
    throw new AuthError('session_not_mounted', 500,
      'express-session is not mounted before authCallback(): server-side sessions and back-channel logout keep their records in its store. '
      + 'Add app.use(session({ ... })) before authCallback(), or give it as authCallback({ session: session({ ... }) })');
  }
  return {
    async get<T extends object>(key: string): Promise<T | undefined> {
      const data = await callStore<unknown>(timeout, (done) => store.get(key, done));
      return data === null || typeof data !== 'object' ? undefined : data as T;
    },
    async set(key: string, value: object, expiresAt: number): Promise<void> {
      const expires = new Date(expiresAt * 1000);
      const record = { ...value, cookie: { expires, originalMaxAge: Math.max(0, expires.getTime() - Date.now()) } };
      await callStore(timeout, (done) => store.set(key, record, done));
    },
    async destroy(key: string): Promise<void> {
      await callStore(timeout, (done) => store.destroy(key, done));
    },
  };
}
