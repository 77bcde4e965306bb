/**
 * `sessionStorage: 'cookie'` (the default): the tokens sealed into the session cookie itself, so
 * nothing is kept on the server for a signed-in user.
 *
 * @packageDocumentation
 */
import { maxHeaderSize } from 'node:http';
import { AuthError } from '../errors.js';
import { MAX_PENDING_TRANSACTIONS, MAX_TRANSACTION_COOKIE_BYTES } from '../transaction/transaction.js';
import type { Sealer } from './seal.js';
import { sealCookiePayload, sessionOfTokens } from './session-codec.js';
import type { AuthSession, SealedSession } from './session.js';
import type { SessionStorage } from './storage.js';

/**
 * Room left in a request's headers for everything but the session cookie, in bytes: 4 KiB for
 * the browser's own headers and the app's other cookies, and the pending-login cookies, which
 * every request carries until the callback. Node refuses a request whose headers exceed
 * `http.maxHeaderSize` (16 KiB unless `--max-http-header-size` raises it) with 431, so a larger
 * session cookie would lock its user out.
 */
const HEADER_ROOM = 4096 + MAX_PENDING_TRANSACTIONS * MAX_TRANSACTION_COOKIE_BYTES;

/** The largest sealed session the cookie may carry, in bytes (6 KiB with Node's default 16 KiB headers). */
export const MAX_SEALED_SESSION_BYTES = maxHeaderSize - HEADER_ROOM;

/** The tokens in the cookie. */
export class CookieStorage implements SessionStorage {
  readonly #sealer: Sealer;

  /** @param sealer - the session cookie's sealer */
  constructor(sealer: Sealer) {
    this.#sealer = sealer;
  }

  open(payload: Partial<SealedSession>, times: Parameters<SessionStorage['open']>[1]): AuthSession | undefined {
    if (typeof payload.idToken !== 'string' && (payload.claims === null || typeof payload.claims !== 'object')) return undefined;
    return sessionOfTokens(payload as SealedSession, times);
  }

  async load(): Promise<undefined> {
    return undefined; // a cookie session is never a reference
  }

  /**
   * @throws AuthError `session_too_large` (500) when the sealed cookie exceeds
   *   {@link MAX_SEALED_SESSION_BYTES}: the browser would send it back in a request Node refuses
   */
  async save(_req: unknown, tokens: SealedSession, createdAt: number, expiresAt: number): Promise<{ value: string }> {
    const value = sealCookiePayload(this.#sealer, { ...tokens, createdAt }, expiresAt);
    if (value.length > MAX_SEALED_SESSION_BYTES) {
      throw new AuthError('session_too_large', 500,
        `The sealed session is ${value.length} bytes, more than the ${MAX_SEALED_SESSION_BYTES} a request's headers can carry back `
        + `(Node's maximum header size is ${maxHeaderSize} bytes): request fewer scopes or claims, set sessionStorage: 'store', or raise --max-http-header-size`);
    }
    return { value };
  }

  async remove(): Promise<void> {
    // Nothing on the server: clearing the cookie ends the session.
  }
}
