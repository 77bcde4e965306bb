/**
 * Session cookies already opened, by their sealed value, so that the requests of a signed-in
 * user cost a map lookup instead of an AES-GCM decryption and two JSON parses each.
 *
 * Only values the sealer opened get in (a forged or tampered cookie never does); at most `limit`
 * are kept, the oldest dropped first, so memory does not grow with the number of sessions; an
 * entry is used only until its seal's `exp`. Each hit gets its own copy of the claims (handlers
 * may change `req.user`); the tokens are frozen and shared.
 *
 * @packageDocumentation
 */
import type { AuthSession, SessionReference } from './auth-session.js';

/** How many opened cookies one `authCallback()` keeps (about 3 KB each with a typical ID token). */
export const SESSION_CACHE_LIMIT = 256;

interface Entry {
  session: AuthSession | SessionReference;
  /** `JSON.stringify(session.claims)`, parsed again for each hit: every request gets its own `req.user`. */
  claimsJson: string | undefined;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}

export class SessionCache {
  readonly #entries = new Map<string, Entry>();
  readonly #limit: number;

  constructor(limit = SESSION_CACHE_LIMIT) {
    this.#limit = limit;
  }

  /**
   * The session `sealed` opened to, when it is cached and its seal has not expired at `now`
   * (seconds since the epoch); its claims are a fresh copy.
   */
  get(sealed: string, now: number): AuthSession | SessionReference | undefined {
    const entry = this.#entries.get(sealed);
    if (entry === undefined) return undefined;
    if (entry.session.expiresAt <= now) {
      this.#entries.delete(sealed);
      return undefined;
    }
    return entry.claimsJson === undefined ? entry.session : { ...(entry.session as AuthSession), claims: JSON.parse(entry.claimsJson) };
  }

  /** Keeps what `sealed` opened to; its tokens are frozen from now on. */
  set(sealed: string, session: AuthSession | SessionReference): void {
    if (this.#entries.size >= this.#limit) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    if ('tokens' in session) {
      deepFreeze(session.tokens);
      this.#entries.set(sealed, { session: Object.freeze({ ...session }), claimsJson: JSON.stringify(session.claims) });
    } else {
      this.#entries.set(sealed, { session: Object.freeze({ ...session }), claimsJson: undefined });
    }
  }
}
