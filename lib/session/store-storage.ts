/**
 * `sessionStorage: 'store'`: the tokens sealed into a record of the express-session store (any
 * store, e.g. connect-redis), the cookie carrying only a sealed reference to it, so that logout
 * deletes the record and a copied cookie stops working at once, on every instance.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import type { HttpRequest } from '../http.js';
import { debugOf } from '../debug.js';
import { recordKey, storeOf } from './record-store.js';
import type { Sealer } from './seal.js';
import { sessionOfTokens } from './session-codec.js';
import type { AuthSession, SealedReference, SealedTokens, SessionReference } from './session.js';
import type { SessionStorage, SessionTimes } from './storage.js';

const debug = debugOf('session');

/** A store record: the tokens, sealed with the record key. */
interface StoredSession {
  sealed: string;
}

/** The store record of the session `ref`. */
function sessionKey(ref: string): string {
  return recordKey('session', ref);
}

/** The tokens in a store record, the cookie naming it. */
export class StoreStorage implements SessionStorage {
  readonly #cookieSealer: Sealer;
  readonly #recordSealer: Sealer;
  readonly #timeout: number;

  /**
   * @param cookieSealer - the session cookie's sealer (for the reference)
   * @param recordSealer - the store record's sealer (its own key)
   * @param timeout - `storeTimeout`, in seconds
   */
  constructor(cookieSealer: Sealer, recordSealer: Sealer, timeout: number) {
    this.#cookieSealer = cookieSealer;
    this.#recordSealer = recordSealer;
    this.#timeout = timeout;
  }

  open(payload: Partial<SealedReference>, times: SessionTimes): SessionReference | undefined {
    return typeof payload.ref === 'string' ? { ref: payload.ref, ...times } : undefined; // else: a cookie of the other mode
  }

  async load(req: HttpRequest, reference: SessionReference): Promise<AuthSession | undefined> {
    const record = await storeOf(req, this.#timeout).get<StoredSession>(sessionKey(reference.ref));
    const opened = typeof record?.sealed === 'string' ? this.#recordSealer.unseal<SealedTokens>(record.sealed) : undefined;
    if (opened === undefined) {
      debug('session not in the store: logged out, revoked or expired');
      return undefined;
    }
    const { ref, ...times } = reference;
    const session = sessionOfTokens(opened.payload, times);
    return session && { ...session, ref };
  }

  async save(req: HttpRequest, tokens: SealedTokens, createdAt: number, expiresAt: number, ref: string | undefined): Promise<{ value: string; ref: string }> {
    const storedRef = ref ?? randomBytes(32).toString('base64url');
    const record: StoredSession = { sealed: this.#recordSealer.seal(tokens, expiresAt) };
    await storeOf(req, this.#timeout).set(sessionKey(storedRef), record, expiresAt);
    return { value: this.#cookieSealer.seal({ ref: storedRef, createdAt } satisfies SealedReference, expiresAt), ref: storedRef };
  }

  async remove(req: HttpRequest, session: { ref?: string } | undefined): Promise<void> {
    if (session?.ref !== undefined) await storeOf(req, this.#timeout).destroy(sessionKey(session.ref));
  }
}
