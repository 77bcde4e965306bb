/**
 * Records this package keeps in the express-session store, next to express-session's own:
 * server-side sessions (`sessionStorage: 'store'`) and back-channel logout marks. Any
 * express-session store works (MemoryStore, connect-redis, …), and every app instance sharing
 * the store sees the same records.
 *
 * A record is stored like an express-session session: with a `cookie.expires`, from which
 * stores derive its time to live, and after which they no longer return it.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { AuthError } from './errors.js';

/** The part of an express-session `Store` used here (typed structurally, like req-session.ts). */
export interface SessionStore {
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

/**
 * The express-session store of this request.
 *
 * @throws AuthError `session_not_mounted` (500) when express-session did not run first
 */
export function storeOf(req: Request): SessionStore {
  const store = (req as unknown as { sessionStore?: SessionStore }).sessionStore;
  if (store === undefined || typeof store.get !== 'function') {
    throw new AuthError('session_not_mounted', 500,
      'express-session is not mounted before authCallback(): server-side sessions and back-channel logout keep their records in its store');
  }
  return store;
}

/** The record under `key`, or `undefined` when there is none or it expired. */
export function getRecord<T extends object>(store: SessionStore, key: string): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    store.get(key, (err, data) => {
      if (err) reject(storeError(err));
      else resolve(data === null || typeof data !== 'object' ? undefined : data as T);
    });
  });
}

/**
 * Stores `value` under `key` until `expiresAt` (seconds since the epoch).
 */
export function setRecord(store: SessionStore, key: string, value: object, expiresAt: number): Promise<void> {
  const expires = new Date(expiresAt * 1000);
  const record = { ...value, cookie: { expires, originalMaxAge: Math.max(0, expires.getTime() - Date.now()) } };
  return new Promise((resolve, reject) => {
    store.set(key, record, (err) => (err ? reject(storeError(err)) : resolve()));
  });
}

/** Removes the record under `key`. */
export function destroyRecord(store: SessionStore, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    store.destroy(key, (err) => (err ? reject(storeError(err)) : resolve()));
  });
}

function storeError(cause: unknown): AuthError {
  return new AuthError('store_unavailable', 503, 'The session store failed: try again shortly', { cause });
}
