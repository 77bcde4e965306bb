/**
 * Unit tests of lib/transaction/transaction-cookie.ts: pending logins are sealed into the browser's cookies,
 * one per `state`, read once (RFC 6749 §10.12, RFC 9700 §4.7.1), bounded in age and number, and
 * nothing of them is kept on the server. A small cookie jar stands in for the browser.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, test } from '@jest/globals';
import { parseSetCookie } from 'cookie';
import { resolveOptions } from '../../lib/config/resolve-options.js';
import { type AuthCallbackConfig } from '../../lib/config/options.js';
import { Sealer } from '../../lib/session/seal.js';
import { TransactionCookie } from '../../lib/transaction/transaction-cookie.js';
import { MAX_PENDING_TRANSACTIONS, MAX_TRANSACTION_COOKIE_BYTES, type Transaction } from '../../lib/transaction/transaction.js';

const SECRET = 'a-test-secret-of-at-least-32-characters-0123456789';
const DURATION = 600;
const T0 = Math.floor(Date.now() / 1000);

function options(config: Partial<AuthCallbackConfig> = {}) {
  return resolveOptions({ issuer: 'https://op.example.com', clientId: 'app', baseURL: 'https://app.example.com', secret: SECRET, transactionDuration: DURATION, ...config });
}

function tx(createdAt: number, label = String(createdAt)): Transaction {
  return {
    issuer: 'https://op.example.com', redirectUri: 'https://app.example.com/callback',
    nonce: `nonce-${label}`, codeVerifier: `verifier-${label}`, returnTo: `/return/${label}`, createdAt,
  };
}

/** A browser's cookie jar for one site: what the responses set, sent back on the next request. */
class Jar {
  readonly cookies = new Map<string, string>();
  /** Every Set-Cookie of the last response, parsed. */
  last: ReturnType<typeof parseSetCookie>[] = [];

  request(): IncomingMessage {
    const header = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    return { headers: header ? { cookie: header } : {} } as IncomingMessage;
  }

  response(): ServerResponse & { apply(): void } {
    const headers = new Map<string, unknown>();
    const apply = (setCookies: string[]): void => {
      this.last = setCookies.map((c) => parseSetCookie(c));
      for (const c of this.last) {
        if (c.maxAge === 0) this.cookies.delete(c.name);
        else this.cookies.set(c.name, c.value ?? '');
      }
    };
    return {
      getHeader: (name: string) => headers.get(name.toLowerCase()),
      setHeader: (name: string, value: unknown) => { headers.set(name.toLowerCase(), value); },
      apply: () => apply((headers.get('set-cookie') as string[] | undefined) ?? []),
    } as unknown as ServerResponse & { apply(): void };
  }

  /** Writes one login's transaction, as /login does. */
  write(store: TransactionCookie, state: string, transaction: Transaction): void {
    const res = this.response();
    store.write(this.request(), res, state, transaction);
    res.apply();
  }

  take(store: TransactionCookie, state: string | undefined, now = T0) {
    const res = this.response();
    const taken = store.take(this.request(), res, state, now);
    res.apply();
    return taken;
  }
}

function newStore(config: Partial<AuthCallbackConfig> = {}): TransactionCookie {
  const o = options(config);
  return new TransactionCookie(o, new Sealer(o.secrets, 'transaction'));
}

describe('write() / take(): one sealed cookie per login, keyed by state', () => {
  test('a written transaction is found by its state, exactly as written', () => {
    const store = newStore();
    const jar = new Jar();
    jar.write(store, 'state-a', tx(T0));
    expect(jar.take(store, 'state-a')).toEqual({ kind: 'found', transaction: tx(T0) });
  });

  test('the cookie is sealed: neither the code_verifier nor the nonce can be read from it', () => {
    const store = newStore();
    const jar = new Jar();
    jar.write(store, 'state-a', tx(T0));
    const [value] = [...jar.cookies.values()];
    expect(value).toMatch(/^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(Buffer.from(value!.split('.')[3]!, 'base64url').toString('latin1')).not.toContain('verifier-');
  });

  test('on an https baseURL without a domain it is a __Host- cookie: Secure, Path=/, no Domain, HttpOnly, SameSite=Lax, for transactionDuration', () => {
    const store = newStore();
    const jar = new Jar();
    jar.write(store, 'state-a', tx(T0));
    expect(jar.last).toHaveLength(1);
    expect(jar.last[0]).toMatchObject({ secure: true, path: '/', httpOnly: true, sameSite: 'lax', maxAge: DURATION });
    expect(jar.last[0]!.name).toMatch(/^__Host-oidc_session_tx_[\w-]{16}$/);
    expect(jar.last[0]!.domain).toBeUndefined();
  });

  test('with a cookie domain (or on http) it has no prefix, and still Path=/ (each new login sees, and bounds, the others)', () => {
    const jar = new Jar();
    jar.write(newStore({ cookie: { domain: 'example.com' } }), 'state-a', tx(T0));
    expect(jar.last[0]).toMatchObject({ path: '/', domain: 'example.com', secure: true });
    expect(jar.last[0]!.name).toMatch(/^oidc_session_tx_/);
    const http = new Jar();
    http.write(newStore({ baseURL: 'http://localhost:3000', issuer: 'http://localhost:4000' }), 'state-a', tx(T0));
    expect(http.last[0]).toMatchObject({ path: '/', sameSite: 'lax' });
    expect(http.last[0]!.secure).toBeFalsy();
  });

  test(`a cookie over MAX_TRANSACTION_COOKIE_BYTES (${MAX_TRANSACTION_COOKIE_BYTES}) is refused with 400 and not written: every request carries it until the callback`, () => {
    const store = newStore();
    const jar = new Jar();
    const long = { ...tx(T0), acrValues: ['urn:' + 'x'.repeat(MAX_TRANSACTION_COOKIE_BYTES)] };
    expect(() => jar.write(store, 'state-a', long)).toThrow(expect.objectContaining({ code: 'invalid_request', status: 400 }));
    expect(jar.cookies.size).toBe(0);
    jar.write(store, 'state-a', tx(T0));
    const [name, value] = [...jar.cookies][0]!;
    expect(name.length + 1 + value.length).toBeLessThanOrEqual(MAX_TRANSACTION_COOKIE_BYTES);
  });

  test('responseMode form_post: SameSite=None; Secure, since the response arrives as a cross-site POST', () => {
    const jar = new Jar();
    jar.write(newStore({ responseMode: 'form_post' }), 'state-a', tx(T0));
    expect(jar.last[0]).toMatchObject({ sameSite: 'none', secure: true });
  });

  test('two logins pending at once (two tabs) are both found, each by its own state', () => {
    const store = newStore();
    const jar = new Jar();
    jar.write(store, 'tab-1', tx(T0, 'one'));
    jar.write(store, 'tab-2', tx(T0 + 5, 'two'));
    expect(jar.take(store, 'tab-2')).toEqual({ kind: 'found', transaction: tx(T0 + 5, 'two') });
    expect(jar.take(store, 'tab-1')).toEqual({ kind: 'found', transaction: tx(T0, 'one') });
  });

  test('a cookie sealed with another secret, or for another purpose, does not open', () => {
    const jar = new Jar();
    jar.write(newStore({ secret: 'another-secret-of-at-least-32-characters-xyz' }), 'state-a', tx(T0));
    expect(jar.take(newStore(), 'state-a')).toEqual({ kind: 'state_mismatch' });
    // A session-cookie sealer's value under this state's cookie name.
    const store = newStore();
    const other = new Jar();
    other.write(store, 'state-a', tx(T0));
    const [name] = [...other.cookies.keys()];
    other.cookies.set(name!, new Sealer([SECRET], 'session-cookie').seal({ state: 'state-a', transaction: tx(T0) }, T0 + DURATION));
    expect(other.take(store, 'state-a')).toEqual({ kind: 'state_mismatch' });
  });
});

describe('take(): a transaction is read once (RFC 6749 §10.12, RFC 9700 §4.7.1)', () => {
  test('take clears its cookie', () => {
    const store = newStore();
    const jar = new Jar();
    jar.write(store, 'state-a', tx(T0));
    expect(jar.take(store, 'state-a').kind).toBe('found');
    expect(jar.cookies.size).toBe(0);
    expect(jar.last).toEqual([expect.objectContaining({ maxAge: 0, value: '' })]);
  });

  test('a second take of the same state (a replayed callback) finds none', () => {
    const store = newStore();
    const jar = new Jar();
    jar.write(store, 'state-a', tx(T0));
    jar.take(store, 'state-a');
    expect(jar.take(store, 'state-a')).toEqual({ kind: 'none', cookies: 'none' });
  });

  test('a replayed state while another login is pending is a state mismatch, and leaves that other login pending (a replay cannot cancel another tab\'s)', () => {
    const store = newStore();
    const jar = new Jar();
    jar.write(store, 'state-a', tx(T0, 'a'));
    jar.write(store, 'state-b', tx(T0, 'b'));
    expect(jar.take(store, 'state-a').kind).toBe('found');
    expect(jar.take(store, 'state-a')).toEqual({ kind: 'state_mismatch' });
    expect(jar.take(store, 'state-b')).toEqual({ kind: 'found', transaction: tx(T0, 'b') });
  });

  test('take of one state leaves the others pending', () => {
    const store = newStore();
    const jar = new Jar();
    for (const s of ['a', 'b', 'c']) jar.write(store, s, tx(T0, s));
    jar.take(store, 'b');
    expect(jar.cookies.size).toBe(2);
    expect(jar.take(store, 'a').kind).toBe('found');
    expect(jar.take(store, 'c').kind).toBe('found');
  });
});

describe('take(): nothing pending, or an unknown state', () => {
  test('with no transaction cookie at all, any state gives "none"', () => {
    const store = newStore();
    expect(new Jar().take(store, 'state-a')).toEqual({ kind: 'none', cookies: 'none' });
    expect(new Jar().take(store, undefined)).toEqual({ kind: 'none', cookies: 'none' });
  });

  test('"none" says what the request carried instead: no cookie, only others\' (foreign), or some of this authCallback()\'s (own)', () => {
    const store = newStore();
    const jar = new Jar();
    jar.cookies.set('connect.sid', 's%3Aabc');
    jar.cookies.set('theme', 'dark');
    expect(jar.take(store, 'state-a')).toEqual({ kind: 'none', cookies: 'foreign' });
    for (const own of ['__Host-oidc_session', '__Host-oidc_session_silent', 'oidc_session.0']) {
      const withOwn = new Jar();
      withOwn.cookies.set('connect.sid', 's%3Aabc');
      withOwn.cookies.set(own, 'x');
      expect(withOwn.take(store, 'state-a')).toEqual({ kind: 'none', cookies: 'own' });
    }
    const named = newStore({ cookie: { name: 'appauth' } });
    const other = new Jar();
    other.cookies.set('__Host-oidc_session', 'x');
    expect(other.take(named, 'state-a')).toEqual({ kind: 'none', cookies: 'foreign' });
  });

  test('an unknown state is a state mismatch that clears nothing: a forged callback cannot cancel this browser\'s pending logins', () => {
    const store = newStore();
    const jar = new Jar();
    jar.write(store, 'state-a', tx(T0, 'a'));
    jar.write(store, 'state-b', tx(T0, 'b'));
    expect(jar.take(store, 'forged')).toEqual({ kind: 'state_mismatch' });
    expect(jar.last).toEqual([]);
    expect(jar.take(store, 'state-a').kind).toBe('found');
    expect(jar.take(store, 'state-b').kind).toBe('found');
  });

  test('a missing state (no state parameter) or an empty one is a state mismatch', () => {
    const store = newStore();
    for (const state of [undefined, '']) {
      const jar = new Jar();
      jar.write(store, 'state-a', tx(T0));
      expect(jar.take(store, state)).toEqual({ kind: 'state_mismatch' });
      expect(jar.cookies.size).toBe(1);
    }
  });

  test('a cookie moved under another state\'s name is refused: the sealed state must be the callback\'s', () => {
    const store = newStore();
    const jar = new Jar();
    jar.write(store, 'state-a', tx(T0, 'a'));
    const victim = new Jar();
    victim.write(store, 'state-b', tx(T0, 'b'));
    const [nameB] = [...victim.cookies.keys()];
    const [valueA] = [...jar.cookies.values()];
    victim.cookies.set(nameB!, valueA!);
    expect(victim.take(store, 'state-b')).toEqual({ kind: 'state_mismatch' });
    expect(victim.cookies.has(nameB!)).toBe(false); // cleared: it was under this state's name
  });

  test('a tampered cookie is a state mismatch', () => {
    const store = newStore();
    const jar = new Jar();
    jar.write(store, 'state-a', tx(T0));
    const [name, value] = [...jar.cookies][0]!;
    const i = value.lastIndexOf('.') - 5; // a character of the ciphertext, changed to another
    jar.cookies.set(name, `${value.slice(0, i)}${value[i] === 'A' ? 'B' : 'A'}${value.slice(i + 1)}`);
    expect(jar.take(store, 'state-a')).toEqual({ kind: 'state_mismatch' });
  });
});

describe('take(): expiry (transactionDuration)', () => {
  test('just before createdAt + duration it is found', () => {
    const store = newStore();
    const jar = new Jar();
    jar.write(store, 'state-a', tx(T0));
    expect(jar.take(store, 'state-a', T0 + DURATION - 1).kind).toBe('found');
  });

  test('at or after createdAt + duration it is "expired", without its content, and its cookie is cleared', () => {
    const store = newStore();
    const jar = new Jar();
    jar.write(store, 'state-a', tx(T0));
    expect(jar.take(store, 'state-a', T0 + DURATION)).toEqual({ kind: 'expired' });
    expect(jar.cookies.size).toBe(0);
  });

  test('the cookie lives no longer than the transaction (Max-Age = transactionDuration)', () => {
    const jar = new Jar();
    jar.write(newStore({ transactionDuration: 90 }), 'state-a', tx(T0));
    expect(jar.last[0]!.maxAge).toBe(90);
  });
});

describe('write(): bounds on number and age', () => {
  test(`at most MAX_PENDING_TRANSACTIONS (${MAX_PENDING_TRANSACTIONS}) are kept; the oldest is cleared first`, () => {
    const store = newStore();
    const jar = new Jar();
    for (let i = 0; i < MAX_PENDING_TRANSACTIONS + 3; i++) jar.write(store, `s${i}`, tx(T0 + i, `t${i}`));
    expect(jar.cookies.size).toBe(MAX_PENDING_TRANSACTIONS);
    for (let i = 3; i < MAX_PENDING_TRANSACTIONS + 3; i++) expect(jar.take(store, `s${i}`).kind).toBe('found');
    expect(jar.take(store, 's0')).toEqual({ kind: 'none', cookies: 'none' }); // s0, s1, s2 were cleared
  });

  test('the newest is always kept, and "oldest" is by createdAt, not by the order of the cookies', () => {
    const store = newStore();
    const jar = new Jar();
    const times = [T0 + 30, T0 + 10, T0 + 20, T0 + 40];
    times.forEach((t, i) => jar.write(store, `s${i}`, tx(t, `t${i}`)));
    jar.write(store, 'newest', tx(T0 + 50, 'new'));
    expect(jar.cookies.size).toBe(MAX_PENDING_TRANSACTIONS);
    expect(jar.take(store, 'newest').kind).toBe('found');
    expect(jar.take(store, 's1')).toEqual({ kind: 'state_mismatch' }); // T0 + 10, the oldest, was cleared
  });

  test('expired and unopenable transaction cookies are cleared when another login starts', () => {
    const store = newStore();
    const jar = new Jar();
    jar.write(store, 'old', tx(T0 - DURATION - 1, 'old'));
    const [oldName] = [...jar.cookies.keys()];
    jar.cookies.set(`${oldName!.slice(0, -3)}xyz`, 'garbage');
    jar.write(store, 'new', tx(T0, 'new'));
    expect(jar.cookies.size).toBe(1);
    expect(jar.take(store, 'new').kind).toBe('found');
  });

  test('other cookies of the site are never touched', () => {
    const store = newStore();
    const jar = new Jar();
    jar.cookies.set('connect.sid', 's%3Aabc');
    jar.cookies.set('__Host-oidc_session', 'x.y.z');
    jar.write(store, 'state-a', tx(T0));
    jar.take(store, 'state-a');
    expect([...jar.cookies.keys()].sort()).toEqual(['__Host-oidc_session', 'connect.sid']);
  });
});
