/**
 * Unit tests of lib/transaction.ts, with a plain object as the session: pending logins are kept
 * by `state`, read once (RFC 6749 §10.12, RFC 9700 §4.7.1), bounded in age and number.
 */
import { describe, expect, test } from '@jest/globals';
import type { ExpressSession } from '../lib/req-session.js';
import {
  MAX_PENDING_TRANSACTIONS,
  TRANSACTIONS_KEY,
  pendingTransactions,
  storeTransaction,
  takeTransaction,
  type Transaction,
} from '../lib/transaction.js';

const DURATION = 600;
const T0 = 1_700_000_000;

/** A plain object standing in for the express-session (only its data properties are used). */
function newSession(): ExpressSession {
  return {} as ExpressSession;
}

function tx(createdAt: number, label = String(createdAt)): Transaction {
  return { nonce: `nonce-${label}`, codeVerifier: `verifier-${label}`, returnTo: `/return/${label}`, createdAt };
}

function pendingStates(session: ExpressSession): string[] {
  const pending = session[TRANSACTIONS_KEY] as Record<string, Transaction> | undefined;
  return pending === undefined ? [] : Object.keys(pending).sort();
}

describe('storeTransaction() / takeTransaction(): keyed by state', () => {
  test('a stored transaction is found by its state', () => {
    const session = newSession();
    const stored = tx(T0);
    storeTransaction(session, 'state-a', stored, DURATION, T0);
    expect(takeTransaction(session, 'state-a', DURATION, T0 + 1)).toEqual({ kind: 'found', transaction: stored });
  });

  test('transactions are kept under the one session key TRANSACTIONS_KEY, as a map from state', () => {
    const session = newSession();
    storeTransaction(session, 'state-a', tx(T0), DURATION, T0);
    expect(Object.keys(session)).toEqual([TRANSACTIONS_KEY]);
    expect(session[TRANSACTIONS_KEY]).toEqual({ 'state-a': tx(T0) });
  });

  test('two logins pending at once (two tabs) are both retrievable, each by its own state', () => {
    const session = newSession();
    storeTransaction(session, 'tab-1', tx(T0, 'one'), DURATION, T0);
    storeTransaction(session, 'tab-2', tx(T0 + 5, 'two'), DURATION, T0 + 5);
    expect(takeTransaction(session, 'tab-2', DURATION, T0 + 10)).toEqual({ kind: 'found', transaction: tx(T0 + 5, 'two') });
    expect(takeTransaction(session, 'tab-1', DURATION, T0 + 10)).toEqual({ kind: 'found', transaction: tx(T0, 'one') });
  });

  test('storing leaves other session data alone', () => {
    const session = newSession();
    session.user = { sub: 'alice' };
    storeTransaction(session, 'state-a', tx(T0), DURATION, T0);
    takeTransaction(session, 'state-a', DURATION, T0);
    expect(session.user).toEqual({ sub: 'alice' });
  });
});

describe('takeTransaction(): a transaction is read once (RFC 6749 §10.12, RFC 9700 §4.7.1)', () => {
  test('take removes it; with nothing else pending the session key is deleted', () => {
    const session = newSession();
    storeTransaction(session, 'state-a', tx(T0), DURATION, T0);
    expect(takeTransaction(session, 'state-a', DURATION, T0).kind).toBe('found');
    expect(TRANSACTIONS_KEY in session).toBe(false);
  });

  test('a second take of the same state (a replayed callback) finds none', () => {
    const session = newSession();
    storeTransaction(session, 'state-a', tx(T0), DURATION, T0);
    takeTransaction(session, 'state-a', DURATION, T0);
    expect(takeTransaction(session, 'state-a', DURATION, T0)).toEqual({ kind: 'none' });
  });

  test('a replayed state while another login is pending is a state mismatch, and drops that other login too', () => {
    const session = newSession();
    storeTransaction(session, 'state-a', tx(T0, 'a'), DURATION, T0);
    storeTransaction(session, 'state-b', tx(T0, 'b'), DURATION, T0);
    expect(takeTransaction(session, 'state-a', DURATION, T0).kind).toBe('found');
    expect(pendingStates(session)).toEqual(['state-b']);
    expect(takeTransaction(session, 'state-a', DURATION, T0)).toEqual({ kind: 'state_mismatch' });
    expect(takeTransaction(session, 'state-b', DURATION, T0)).toEqual({ kind: 'none' });
  });

  test('take of one state leaves the others pending', () => {
    const session = newSession();
    for (const s of ['a', 'b', 'c']) storeTransaction(session, s, tx(T0, s), DURATION, T0);
    takeTransaction(session, 'b', DURATION, T0);
    expect(pendingStates(session)).toEqual(['a', 'c']);
  });
});

describe('takeTransaction(): nothing pending, or an unknown state', () => {
  test('with no transaction at all, any state gives "none"', () => {
    expect(takeTransaction(newSession(), 'state-a', DURATION, T0)).toEqual({ kind: 'none' });
    expect(takeTransaction(newSession(), undefined, DURATION, T0)).toEqual({ kind: 'none' });
  });

  test('an empty or malformed pending map gives "none" and is removed', () => {
    for (const value of [{}, 'garbage', 42, null]) {
      const session = newSession();
      session[TRANSACTIONS_KEY] = value;
      expect(takeTransaction(session, 'state-a', DURATION, T0)).toEqual({ kind: 'none' });
      expect(TRANSACTIONS_KEY in session).toBe(false);
    }
  });

  test('an unknown state is a state mismatch and drops every pending transaction', () => {
    const session = newSession();
    storeTransaction(session, 'state-a', tx(T0, 'a'), DURATION, T0);
    storeTransaction(session, 'state-b', tx(T0, 'b'), DURATION, T0);
    expect(takeTransaction(session, 'forged', DURATION, T0)).toEqual({ kind: 'state_mismatch' });
    expect(TRANSACTIONS_KEY in session).toBe(false);
    expect(takeTransaction(session, 'state-a', DURATION, T0)).toEqual({ kind: 'none' });
    expect(pendingTransactions(session)).toEqual({});
  });

  test('a missing state (no state parameter) is a state mismatch and drops every pending transaction', () => {
    const session = newSession();
    storeTransaction(session, 'state-a', tx(T0), DURATION, T0);
    expect(takeTransaction(session, undefined, DURATION, T0)).toEqual({ kind: 'state_mismatch' });
    expect(TRANSACTIONS_KEY in session).toBe(false);
  });

  test('the empty string as state matches nothing', () => {
    const session = newSession();
    storeTransaction(session, 'state-a', tx(T0), DURATION, T0);
    expect(takeTransaction(session, '', DURATION, T0)).toEqual({ kind: 'state_mismatch' });
  });

  test.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    'the state %j finds nothing inherited from Object.prototype',
    (state) => {
      const session = newSession();
      storeTransaction(session, 'state-a', tx(T0), DURATION, T0);
      const taken = takeTransaction(session, state, DURATION, T0);
      expect(taken).toEqual({ kind: 'state_mismatch' });
      expect(TRANSACTIONS_KEY in session).toBe(false);
    },
  );

  test('a state of "__proto__" on an empty session finds nothing either', () => {
    expect(takeTransaction(newSession(), '__proto__', DURATION, T0)).toEqual({ kind: 'none' });
  });
});

describe('takeTransaction(): expiry (transactionDuration)', () => {
  test('a transaction just before createdAt + duration is found', () => {
    const session = newSession();
    storeTransaction(session, 'state-a', tx(T0), DURATION, T0);
    expect(takeTransaction(session, 'state-a', DURATION, T0 + DURATION - 1).kind).toBe('found');
  });

  test('a transaction at or after createdAt + duration is "expired", and is removed', () => {
    for (const now of [T0 + DURATION, T0 + DURATION + 1, T0 + 10 * DURATION]) {
      const session = newSession();
      storeTransaction(session, 'state-a', tx(T0), DURATION, T0);
      expect(takeTransaction(session, 'state-a', DURATION, now)).toEqual({ kind: 'expired' });
      expect(takeTransaction(session, 'state-a', DURATION, T0)).toEqual({ kind: 'none' });
    }
  });

  test('an expired transaction does not reveal its content', () => {
    const session = newSession();
    storeTransaction(session, 'state-a', tx(T0), DURATION, T0);
    expect(takeTransaction(session, 'state-a', DURATION, T0 + DURATION)).not.toHaveProperty('transaction');
  });

  test('a transaction without a numeric createdAt is "expired"', () => {
    const session = newSession();
    session[TRANSACTIONS_KEY] = { 'state-a': { nonce: 'n', codeVerifier: 'v', returnTo: '/', createdAt: String(T0) } };
    expect(takeTransaction(session, 'state-a', DURATION, T0)).toEqual({ kind: 'expired' });
  });
});

describe('storeTransaction(): bounds on number and age', () => {
  test(`at most MAX_PENDING_TRANSACTIONS (${MAX_PENDING_TRANSACTIONS}) are kept; the oldest is dropped first`, () => {
    const session = newSession();
    for (let i = 0; i <= MAX_PENDING_TRANSACTIONS; i++) storeTransaction(session, `s${i}`, tx(T0 + i), DURATION, T0 + i);
    const states = pendingStates(session);
    expect(states).toHaveLength(MAX_PENDING_TRANSACTIONS);
    expect(states).not.toContain('s0');
    expect(states).toContain(`s${MAX_PENDING_TRANSACTIONS}`);
    expect(takeTransaction(session, 's0', DURATION, T0 + 20)).toEqual({ kind: 'state_mismatch' });
  });

  test('the newest is always kept, and the cap holds however many are stored', () => {
    const session = newSession();
    for (let i = 0; i < 3 * MAX_PENDING_TRANSACTIONS; i++) {
      storeTransaction(session, `s${i}`, tx(T0 + i), DURATION, T0 + i);
      expect(pendingStates(session).length).toBeLessThanOrEqual(MAX_PENDING_TRANSACTIONS);
      expect(pendingStates(session)).toContain(`s${i}`);
    }
    const expected = Array.from({ length: MAX_PENDING_TRANSACTIONS }, (_, k) => `s${2 * MAX_PENDING_TRANSACTIONS + k}`).sort();
    expect(pendingStates(session)).toEqual(expected);
  });

  test('"oldest" is by createdAt, not by insertion order', () => {
    const session = newSession();
    // Inserted newest first: s0 has the latest createdAt, s(MAX-1) the earliest.
    for (let i = 0; i < MAX_PENDING_TRANSACTIONS; i++) {
      storeTransaction(session, `s${i}`, tx(T0 + 100 - i), DURATION, T0 + 100);
    }
    storeTransaction(session, 'new', tx(T0 + 101), DURATION, T0 + 101);
    const states = pendingStates(session);
    expect(states).toHaveLength(MAX_PENDING_TRANSACTIONS);
    expect(states).not.toContain(`s${MAX_PENDING_TRANSACTIONS - 1}`);
    expect(states).toContain('s0');
    expect(states).toContain('new');
  });

  test('expired transactions are pruned when another is stored', () => {
    const session = newSession();
    storeTransaction(session, 'old', tx(T0), DURATION, T0);
    storeTransaction(session, 'recent', tx(T0 + 100), DURATION, T0 + 100);
    storeTransaction(session, 'new', tx(T0 + DURATION), DURATION, T0 + DURATION);
    expect(pendingStates(session)).toEqual(['new', 'recent']);
  });

  test('malformed entries (no numeric createdAt, null) are pruned when another is stored', () => {
    const session = newSession();
    session[TRANSACTIONS_KEY] = { bad: { createdAt: 'yesterday' }, worse: null, fine: tx(T0) };
    storeTransaction(session, 'new', tx(T0 + 1), DURATION, T0 + 1);
    expect(pendingStates(session)).toEqual(['fine', 'new']);
  });

  test('a malformed pending value (not an object) is replaced', () => {
    const session = newSession();
    session[TRANSACTIONS_KEY] = 'garbage';
    storeTransaction(session, 'new', tx(T0), DURATION, T0);
    expect(session[TRANSACTIONS_KEY]).toEqual({ new: tx(T0) });
  });
});

describe('pendingTransactions(): what to carry into a regenerated session', () => {
  test('is empty when nothing is pending', () => {
    expect(pendingTransactions(newSession())).toEqual({});
    const session = newSession();
    session[TRANSACTIONS_KEY] = {};
    expect(pendingTransactions(session)).toEqual({});
  });

  test('carries every pending transaction under TRANSACTIONS_KEY', () => {
    const session = newSession();
    storeTransaction(session, 'tab-1', tx(T0, 'one'), DURATION, T0);
    storeTransaction(session, 'tab-2', tx(T0, 'two'), DURATION, T0);
    expect(pendingTransactions(session)).toEqual({ [TRANSACTIONS_KEY]: { 'tab-1': tx(T0, 'one'), 'tab-2': tx(T0, 'two') } });
  });

  test('what it returns, assigned to a fresh session, lets the other tab finish its login', () => {
    const session = newSession();
    storeTransaction(session, 'tab-1', tx(T0, 'one'), DURATION, T0);
    storeTransaction(session, 'tab-2', tx(T0, 'two'), DURATION, T0);
    expect(takeTransaction(session, 'tab-1', DURATION, T0).kind).toBe('found');
    const regenerated = Object.assign(newSession(), pendingTransactions(session));
    expect(takeTransaction(regenerated, 'tab-2', DURATION, T0)).toEqual({ kind: 'found', transaction: tx(T0, 'two') });
  });

  test('other session data is not carried', () => {
    const session = newSession();
    session.user = { sub: 'alice' };
    storeTransaction(session, 'tab-1', tx(T0), DURATION, T0);
    expect(Object.keys(pendingTransactions(session))).toEqual([TRANSACTIONS_KEY]);
  });
});
