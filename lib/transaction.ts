/**
 * The pending login transaction: what `/login` must remember for the callback to prove that
 * the authorization response answers a request this browser made.
 *
 * Transactions are kept in the express-session under one key, {@link TRANSACTIONS_KEY}, as a map
 * from `state` to the transaction, so two tabs logging in at once each finish their own login.
 * Their number ({@link MAX_PENDING_TRANSACTIONS}) and age (`transactionDuration`) are bounded.
 * A transaction is read once: the callback removes it whatever the outcome (RFC 6749 §10.12,
 * RFC 9700 §4.7.1).
 *
 * @packageDocumentation
 */
import type { DPoPKey } from './dpop-key.js';
import type { ExpressSession } from './req-session.js';

/** The express-session key under which pending transactions are kept. */
export const TRANSACTIONS_KEY = 'oidcTransactions';

/** Pending transactions kept per session at most; the oldest is dropped first. */
export const MAX_PENDING_TRANSACTIONS = 10;

/** One pending login, keyed by its `state`. */
export interface Transaction {
  /**
   * The issuer the login started at: the callback exchanges the code there and nowhere else
   * (RFC 9700 §4.4.2). Absent in transactions stored before multi-issuer support.
   */
  issuer?: string;
  /** `nonce` sent in the authorization request; the ID token must carry it (OpenID Connect Core 1.0 §3.1.2.1). */
  nonce: string;
  /** PKCE `code_verifier` (RFC 7636 §4.1); only its S256 `code_challenge` left the server. */
  codeVerifier: string;
  /** Same-origin path to send the browser to after login. */
  returnTo: string;
  /** When the login started, in seconds since the epoch. */
  createdAt: number;
  /** `max_age` sent, in seconds: the ID token's `auth_time` is then required and checked. */
  maxAge?: number;
  /** `prompt=none` was sent: `login_required` and its kin mean "not signed in", not an error. */
  silent?: boolean;
  /** The login's DPoP key pair (option `dpop`), whose thumbprint was sent as `dpop_jkt`. */
  dpopKey?: DPoPKey;
}

type Pending = Record<string, Transaction>;

/** What the callback finds for its `state`. */
export type TakenTransaction =
  | { kind: 'found'; transaction: Transaction }
  | { kind: 'expired' }
  /** No pending transaction at all: no login started, or this callback was already used. */
  | { kind: 'none' }
  /** Transactions are pending, but none for this `state`: all of them are dropped. */
  | { kind: 'state_mismatch' };

function pendingOf(session: ExpressSession): Pending | undefined {
  const pending = session[TRANSACTIONS_KEY];
  return pending !== null && typeof pending === 'object' ? (pending as Pending) : undefined;
}

/**
 * Adds a transaction, after dropping expired ones and, above {@link MAX_PENDING_TRANSACTIONS},
 * the oldest.
 *
 * @param state - the `state` value sent to the provider
 * @param duration - lifetime of a transaction, in seconds
 * @param now - the current time, in seconds since the epoch
 */
export function storeTransaction(session: ExpressSession, state: string, transaction: Transaction, duration: number, now: number): void {
  const live = Object.entries(pendingOf(session) ?? {})
    .filter(([, t]) => typeof t?.createdAt === 'number' && t.createdAt + duration > now)
    .sort(([, a], [, b]) => a.createdAt - b.createdAt)
    .slice(-(MAX_PENDING_TRANSACTIONS - 1));
  session[TRANSACTIONS_KEY] = Object.fromEntries([...live, [state, transaction]]);
}

/**
 * Removes and returns the transaction for `state`. When `state` matches none, every pending
 * transaction is dropped: the callback was forged or replayed, and none of them may be used by it.
 *
 * @param state - the callback's `state` parameter, if any
 * @param duration - lifetime of a transaction, in seconds
 * @param now - the current time, in seconds since the epoch
 */
export function takeTransaction(session: ExpressSession, state: string | undefined, duration: number, now: number): TakenTransaction {
  const pending = pendingOf(session);
  if (pending === undefined || Object.keys(pending).length === 0) {
    delete session[TRANSACTIONS_KEY];
    return { kind: 'none' };
  }
  if (state === undefined || !Object.hasOwn(pending, state)) {
    delete session[TRANSACTIONS_KEY];
    return { kind: 'state_mismatch' };
  }
  const transaction = pending[state]!;
  const rest: Pending = { ...pending };
  delete rest[state];
  if (Object.keys(rest).length === 0) delete session[TRANSACTIONS_KEY];
  else session[TRANSACTIONS_KEY] = rest;
  if (typeof transaction.createdAt !== 'number' || transaction.createdAt + duration <= now) return { kind: 'expired' };
  return { kind: 'found', transaction };
}

/** The pending transactions to carry into a regenerated session (another tab's login), if any. */
export function pendingTransactions(session: ExpressSession): Record<string, unknown> {
  const pending = pendingOf(session);
  return pending !== undefined && Object.keys(pending).length > 0 ? { [TRANSACTIONS_KEY]: pending } : {};
}
