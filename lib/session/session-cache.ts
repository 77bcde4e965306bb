/**
 * Session cookies already opened, by their sealed value, so that the requests of a signed-in
 * user cost a map lookup instead of an AES-GCM decryption and two JSON parses each.
 *
 * Only values the sealer opened get in (a forged or tampered cookie never does); at most `limit`
 * are kept, the oldest dropped first, so memory does not grow with the number of sessions; an
 * entry is used only until its seal's `exp`. The session is frozen and shared (its claims are
 * frozen from the start); each request gets its own `req.user`, a copy (see `userOf()`, which
 * works out its members once for the claims shared here).
 *
 * @packageDocumentation
 */
import type { AuthSession, SessionReference } from './session.js';
import { deepFreeze, shareClaims } from './user-claims.js';

/** How many opened cookies one `authCallback()` keeps (about 3 KB each with a typical ID token). */
const SESSION_CACHE_LIMIT = 256;

interface Entry {
  /** The whole sealed value: a hit must equal it, not only its key. */
  sealed: string;
  session: AuthSession | SessionReference;
}

/**
 * The map key of a sealed value: its last 22 characters, the AES-GCM tag (a JWE's fifth part,
 * 16 bytes). Hashing 22 characters instead of the whole cookie (about 1,100) is what a lookup
 * costs; a value that only shares a tag with a cached one is a miss, as the entry's whole value
 * is compared.
 */
function keyOf(sealed: string): string {
  return sealed.slice(-22);
}

/** The opened session cookies of one `authCallback()`: at most `limit` (default {@link SESSION_CACHE_LIMIT}). */
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
    const entry = this.#entries.get(keyOf(sealed));
    if (entry === undefined || entry.sealed !== sealed) return undefined;
    if (entry.session.expiresAt <= now) {
      this.#entries.delete(keyOf(sealed));
      return undefined;
    }
    return entry.session;
  }

  /** Keeps what `sealed` opened to; its tokens are frozen from now on. */
  set(sealed: string, session: AuthSession | SessionReference): void {
    if (this.#entries.size >= this.#limit) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
    if ('tokens' in session) {
      deepFreeze(session.tokens); // its claims are frozen already (userClaims())
      shareClaims(session.claims);
    }
    this.#entries.set(keyOf(sealed), { sealed, session: Object.freeze({ ...session }) });
  }
}
