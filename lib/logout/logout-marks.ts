/**
 * Back-channel logout marks (OpenID Connect Back-Channel Logout 1.0): what the back-channel
 * route writes into the express-session store, and every request of a session checks, so that
 * a logout received by one instance ends the session on all of them.
 *
 * A mark by `sid` ends that provider session's logins; a mark by `sub` alone ends the user's
 * sessions that started before it, so a login after the logout is not affected. Each mark lasts
 * as long as any session it can end (`sessionDuration`); a logout token's `jti` is remembered as
 * long as the token could be replayed.
 *
 * @packageDocumentation
 */
import { recordKey, type RecordStore } from '../session/record-store.js';

/** A logout mark in the store: when the logout was received, in seconds since the epoch. */
interface LogoutMark {
  at: number;
}

/** The logout marks in one request's store. Times are in seconds since the epoch. */
export class LogoutMarks {
  readonly #store: RecordStore;
  readonly #sessionDuration: number;

  /**
   * @param store - the request's records (see `storeOf()`)
   * @param sessionDuration - the longest a session lives, in seconds: how long a mark is kept
   */
  constructor(store: RecordStore, sessionDuration: number) {
    this.#store = store;
    this.#sessionDuration = sessionDuration;
  }

  /** Marks the provider session `sid`, or every session of `sub` started until now, as logged out at `iss`. */
  async mark(iss: string, named: { sid: string } | { sub: string }): Promise<void> {
    const now = Date.now() / 1000;
    const key = 'sid' in named ? recordKey('logout-sid', iss, named.sid) : recordKey('logout-sub', iss, named.sub);
    await this.#store.set(key, { at: now } satisfies LogoutMark, Math.floor(now) + this.#sessionDuration);
  }

  /** `true` when a logout token of `iss` with this `jti` was received already. */
  async received(iss: string, jti: string): Promise<boolean> {
    return await this.#store.get(recordKey('logout-jti', iss, jti)) !== undefined;
  }

  /** Remembers a logout token's `jti` for `seconds`, against its replay. */
  async remember(iss: string, jti: string, seconds: number): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    await this.#store.set(recordKey('logout-jti', iss, jti), { at: now }, now + seconds);
  }

  /**
   * `true` when a back-channel logout ended the session of `claims` that started at `createdAt`:
   * a mark for its `sid`, or a mark for its `sub` made when or after the session started.
   *
   * @throws AuthError `store_unavailable` (503)
   */
  async ended(claims: { iss: string; sub: string; sid?: unknown }, createdAt: number): Promise<boolean> {
    const { iss, sub, sid } = claims;
    const [bySub, bySid] = await Promise.all([
      this.#store.get<LogoutMark>(recordKey('logout-sub', iss, sub)),
      typeof sid === 'string' ? this.#store.get<LogoutMark>(recordKey('logout-sid', iss, sid)) : undefined,
    ]);
    return bySid !== undefined || (bySub !== undefined && typeof bySub.at === 'number' && createdAt <= bySub.at);
  }
}
