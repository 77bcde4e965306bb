/**
 * Pending logins, kept in the browser: each login seals its {@link Transaction} into a cookie of
 * its own, named after a hash of its `state` (two tabs do not overwrite each other), which the
 * callback reads once and clears whatever the outcome (RFC 6749 §10.12, RFC 9700 §4.7.1).
 * Nothing reaches the server's store until a login succeeds, so anonymous requests to `/login`
 * leave nothing behind; the `code_verifier` and a DPoP private key are encrypted at rest.
 *
 * The cookie is `HttpOnly`, sealed with the transaction key (AES-256-GCM, its own HKDF label),
 * lives `transactionDuration` seconds, and is `SameSite=Lax`, which browsers send on the
 * provider's redirect back (a top-level GET); with `responseMode: 'form_post'` it is
 * `SameSite=None; Secure`, since that response arrives as a cross-site POST. It has `Path=/`, so
 * that each new login sees (and bounds) the others; on an https `baseURL` without a cookie
 * `domain` it is a `__Host-` cookie: a sibling subdomain cannot plant a login of its own in this
 * browser (RFC 6265bis §4.1.3.2). At most {@link MAX_PENDING_TRANSACTIONS} of at most
 * {@link MAX_TRANSACTION_COOKIE_BYTES} each: their total is kept out of the session cookie's
 * share of the request headers, so no number of logins can make the app's requests too large.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse, serialize, type SerializeOptions } from 'cookie';
import type { ResolvedOptions } from '../config/resolved-options.js';
import type { Sealer } from '../session/seal.js';
import { appendSetCookie } from '../http.js';
import { AuthError } from '../errors.js';
import { MAX_PENDING_TRANSACTIONS, MAX_TRANSACTION_COOKIE_BYTES, type TakenTransaction, type Transaction } from './transaction.js';

/** What the cookie seals: the transaction, and the `state` it belongs to. */
interface SealedTransaction {
  state: string;
  transaction: Transaction;
}

/** The pending logins of one `authCallback()`, in the browser's cookies. */
export class TransactionCookie {
  readonly #prefix: string;
  /** The cookie name every cookie of this `authCallback()` starts with, once a `__Host-`/`__Secure-` prefix is dropped. */
  readonly #base: string;
  readonly #attributes: SerializeOptions;
  readonly #sealer: Sealer;
  readonly #duration: number;

  /**
   * @param sealer - a sealer for the `'transaction'` purpose
   */
  constructor(options: ResolvedOptions, sealer: Sealer) {
    const formPost = options.responseMode === 'form_post';
    const hostOnly = options.cookie.secure && options.cookie.domain === undefined;
    const base = options.cookie.name.replace(/^__(Host|Secure)-/, '');
    this.#prefix = `${hostOnly ? '__Host-' : ''}${base}_tx_`;
    this.#base = base;
    this.#attributes = {
      httpOnly: true,
      // SameSite=None is dropped by browsers without Secure; they accept Secure from http://localhost.
      secure: formPost || options.cookie.secure,
      sameSite: formPost ? 'none' : 'lax',
      path: '/',
      ...(options.cookie.domain !== undefined && { domain: options.cookie.domain }),
    };
    this.#sealer = sealer;
    this.#duration = options.transactionDuration;
  }

  /** The cookie name for `state`: the prefix and 16 characters of its SHA-256, base64url. */
  #name(state: string): string {
    return this.#prefix + createHash('sha256').update(state).digest('base64url').slice(0, 16);
  }

  /** The transaction cookies the request carries, by name. */
  #present(req: IncomingMessage): Map<string, string> {
    const header = req.headers.cookie;
    const found = new Map<string, string>();
    if (header === undefined || !header.includes(this.#prefix)) return found;
    for (const [name, value] of Object.entries(parse(header))) {
      if (name.startsWith(this.#prefix) && value !== undefined) found.set(name, value);
    }
    return found;
  }

  /** Opens a cookie's value whatever its age (the age is the caller's to judge); `undefined` when it is not one this sealer made. */
  #open(value: string): SealedTransaction | undefined {
    const payload = this.#sealer.unseal<SealedTransaction>(value, -Infinity)?.payload;
    const transaction = payload?.transaction;
    return typeof payload?.state === 'string' && transaction !== null && typeof transaction === 'object' && typeof transaction.createdAt === 'number'
      ? payload : undefined;
  }

  /**
   * Adds the cookie of a new login's transaction to the response, and clears the request's
   * pending logins that have expired, do not open, or (above {@link MAX_PENDING_TRANSACTIONS})
   * are the oldest.
   *
   * @throws AuthError `invalid_request` (400) when the cookie would exceed
   *   {@link MAX_TRANSACTION_COOKIE_BYTES} (a long `returnTo` or `acr_values`)
   */
  write(req: IncomingMessage, res: ServerResponse, state: string, transaction: Transaction): void {
    const value = this.#sealer.seal({ state, transaction } satisfies SealedTransaction, transaction.createdAt + this.#duration);
    const name = this.#name(state);
    if (name.length + 1 + value.length > MAX_TRANSACTION_COOKIE_BYTES) {
      throw new AuthError('invalid_request', 400, 'This login\'s returnTo or parameters are too long to keep until the callback: shorten them');
    }
    const cleared: string[] = [];
    const live: { name: string; createdAt: number }[] = [];
    for (const [pending, sealed] of this.#present(req)) {
      const createdAt = this.#open(sealed)?.transaction.createdAt;
      if (createdAt === undefined || createdAt + this.#duration <= transaction.createdAt) cleared.push(pending);
      else live.push({ name: pending, createdAt });
    }
    live.sort((a, b) => a.createdAt - b.createdAt);
    cleared.push(...live.slice(0, Math.max(0, live.length - (MAX_PENDING_TRANSACTIONS - 1))).map((c) => c.name));
    appendSetCookie(res, [
      ...cleared.map((c) => this.#expired(c)),
      serialize(name, value, { ...this.#attributes, maxAge: this.#duration }),
    ]);
  }

  /**
   * Takes the transaction of `state` from the request's cookies: its cookie is cleared whatever
   * the outcome. The browser's other pending logins are left alone: a callback with an unknown
   * `state` (forged, replayed, or a login dropped as the oldest) cannot cancel another tab's.
   *
   * @param state - the callback's `state` parameter, if any
   * @param now - the current time, in seconds since the epoch
   */
  take(req: IncomingMessage, res: ServerResponse, state: string | undefined, now: number): TakenTransaction {
    const present = this.#present(req);
    if (present.size === 0) return { kind: 'none', cookies: this.#carried(req) };
    const name = state === undefined ? undefined : this.#name(state);
    const value = name === undefined ? undefined : present.get(name);
    if (name === undefined || value === undefined) return { kind: 'state_mismatch' };
    this.#clear(res, [name]);
    const opened = this.#open(value);
    if (opened === undefined || opened.state !== state) return { kind: 'state_mismatch' };
    const { transaction } = opened;
    return transaction.createdAt + this.#duration <= now ? { kind: 'expired' } : { kind: 'found', transaction };
  }

  /** What a request without a pending login carries: no cookie, only others' cookies, or some of this `authCallback()`'s. */
  #carried(req: IncomingMessage): 'none' | 'foreign' | 'own' {
    const header = req.headers.cookie;
    if (header === undefined || header.trim() === '') return 'none';
    const names = Object.keys(parse(header));
    if (names.length === 0) return 'none';
    return names.some((name) => name.replace(/^__(Host|Secure)-/, '').startsWith(this.#base)) ? 'own' : 'foreign';
  }

  #clear(res: ServerResponse, names: Iterable<string>): void {
    appendSetCookie(res, [...names].map((name) => this.#expired(name)));
  }

  #expired(name: string): string {
    return serialize(name, '', { ...this.#attributes, maxAge: 0, expires: new Date(0) });
  }
}

