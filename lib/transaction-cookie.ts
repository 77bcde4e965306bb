/**
 * The pending login's copy for a cross-site form post (`responseMode: 'form_post'`).
 *
 * The provider returns a form_post response by a POST from its own site, and browsers do not
 * send a `SameSite=Lax` cookie (express-session's default) with a cross-site POST: the callback
 * would find no pending login. So a form_post login also seals its transaction into a cookie of
 * its own, `SameSite=None; Secure; HttpOnly`, scoped to the callback path and named after a hash
 * of its `state` (so that two tabs do not overwrite each other), which the callback reads when
 * the express-session has no pending login, and clears in every case.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { parse, serialize, type SerializeOptions } from 'cookie';
import type { ResolvedOptions } from './options.js';
import type { Sealer } from './seal.js';
import type { Transaction } from './transaction.js';

/** What the transaction cookie seals: the transaction, and the `state` it belongs to. */
interface SealedTransaction {
  state: string;
  transaction: Transaction;
}

export class TransactionCookie {
  readonly #prefix: string;
  readonly #attributes: SerializeOptions;
  readonly #sealer: Sealer;
  readonly #duration: number;

  constructor(options: ResolvedOptions, sealer: Sealer) {
    this.#prefix = `${options.cookie.name}_tx_`;
    this.#attributes = {
      httpOnly: true,
      // SameSite=None is dropped by browsers without Secure; they accept Secure from http://localhost.
      secure: true,
      sameSite: 'none',
      path: options.basePath + options.routes.callback,
      ...(options.cookie.domain !== undefined && { domain: options.cookie.domain }),
    };
    this.#sealer = sealer;
    this.#duration = options.transactionDuration;
  }

  /** The cookie name for `state`: the prefix and 16 characters of its SHA-256, base64url. */
  #name(state: string): string {
    return this.#prefix + createHash('sha256').update(state).digest('base64url').slice(0, 16);
  }

  /** Adds the cookie of a new login's transaction to the response. */
  write(res: Response, state: string, transaction: Transaction): void {
    const expiresAt = transaction.createdAt + this.#duration;
    const value = this.#sealer.seal({ state, transaction } satisfies SealedTransaction, expiresAt);
    res.append('Set-Cookie', serialize(this.#name(state), value, { ...this.#attributes, maxAge: this.#duration }));
  }

  /**
   * The transaction the request's cookie holds for `state`, if any (sealed by a configured
   * secret, for this very `state`, not expired); its cookie is cleared in any case.
   */
  take(req: Request, res: Response, state: string | undefined): Transaction | undefined {
    if (state === undefined || req.headers.cookie === undefined) return undefined;
    const name = this.#name(state);
    const value = parse(req.headers.cookie)[name];
    if (value === undefined) return undefined;
    res.append('Set-Cookie', serialize(name, '', { ...this.#attributes, maxAge: 0, expires: new Date(0) }));
    const opened = this.#sealer.unseal<SealedTransaction>(value);
    return opened?.payload.state === state ? opened.payload.transaction : undefined;
  }
}
