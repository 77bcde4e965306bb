/**
 * Where a session's tokens live: one interface, two implementations (`sessionStorage`): sealed
 * into the session cookie (`cookie-storage.ts`), or into a record of the express-session store
 * that the cookie names (`store-storage.ts`). Nothing else in `session/` branches on the mode.
 *
 * @packageDocumentation
 */
import type { HttpRequest } from '../http.js';
import type { AuthSession, SealedReference, SealedSession, SealedTokens, SessionReference } from './session.js';

/** The times every opened session cookie carries, in seconds since the epoch. */
export type SessionTimes = Pick<AuthSession, 'createdAt' | 'touchedAt' | 'expiresAt' | 'staleKey'>;

/** How a storage keeps and gives back a session's tokens. */
export interface SessionStorage {
  /**
   * The session an opened session cookie holds: the session itself, or a reference to
   * {@link SessionStorage.load}; `undefined` when the payload is not one this storage wrote.
   */
  open(payload: Partial<SealedSession & SealedReference>, times: SessionTimes): AuthSession | SessionReference | undefined;
  /**
   * The session a reference names; `undefined` when its record is gone (logged out, revoked, expired).
   *
   * @throws AuthError `store_unavailable` (503)
   */
  load(req: HttpRequest, reference: SessionReference): Promise<AuthSession | undefined>;
  /**
   * Keeps `tokens` until `expiresAt` (seconds since the epoch): the session cookie's new value,
   * and the record's id when there is one (`ref`, rewritten in place when given).
   *
   * @param persist - `false` when the record `ref` already holds `tokens`: only the cookie's
   *   value is made (default `true`)
   * @throws AuthError `session_too_large` (500) for a cookie that would not fit in a request's
   *   headers; `store_unavailable` (503)
   */
  save(req: HttpRequest, tokens: SealedTokens, createdAt: number, expiresAt: number, ref: string | undefined, persist?: boolean): Promise<{ value: string; ref?: string }>;
  /**
   * Forgets the session's record on the server, if it has one, so that a copy of its cookie no
   * longer works anywhere.
   *
   * @throws AuthError `store_unavailable` (503)
   */
  remove(req: HttpRequest, session: { ref?: string } | undefined): Promise<void>;
}
