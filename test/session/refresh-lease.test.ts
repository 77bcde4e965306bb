/**
 * lib/session/refresh-lease.ts against a real `redis-server` (the built-in lease over node-redis):
 * the lease covers its holder's worst case, a holder never starts the token request once its lease
 * may run out before it and the write, a waiting request never takes the lease over when holding
 * it would outlast its own deadline, a late write by an earlier holder wins over ending the
 * session, and tokens that could not be written keep the lease until they are (`release()`).
 *
 * The record store here is a Map behind the lease's `sessions` (load, saveRecord, forget), and
 * the token request is the test's own function, counting its calls: what is tested is the lease.
 */
import { afterAll, afterEach, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { createClient } from 'redis';
import { AuthError } from '../../lib/errors.js';
import type { HttpRequest } from '../../lib/http.js';
import { recordKey } from '../../lib/session/record-store.js';
import { leaseMs, refreshUnderLease, type LeaseDeps, type Refreshed } from '../../lib/session/refresh-lease.js';
import { redisLock as redisLockOf, type RefreshLock } from '../../lib/session/refresh-lock.js';
import type { AuthSession, SealedTokens } from '../../lib/session/session.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

/** The lock on the test's node-redis client: `redisLockOf()` finds one for every supported client. */
function redisLock(redis: Parameters<typeof redisLockOf>[0]): RefreshLock {
  const lock = redisLockOf(redis);
  if (lock === undefined) throw new Error('no refresh lock on the node-redis client');
  return lock;
}

let redis: RedisServer;
let client: ReturnType<typeof createClient>;
beforeAll(async () => {
  redis = await startRedisServer();
  client = createClient({ url: redis.url, disableOfflineQueue: true });
  await client.connect();
});
afterAll(async () => {
  await client?.close();
  await redis?.stop();
});
afterEach(() => {
  jest.restoreAllMocks();
});

const req = {} as HttpRequest;
const claims = { iss: 'https://op.example', sub: 'alice' };
let refs = 0;

/** A session of `tokens`, its record in `records`, and the lease's deps with the given timeouts (seconds). */
function setup(httpTimeout: number, storeTimeout: number, { failWrites = false, lock = redisLock(client) }: { failWrites?: boolean; lock?: RefreshLock } = {}) {
  const ref = `ref-${++refs}`;
  const records = new Map<string, { tokens: SealedTokens; expiresAt: number }>();
  const at = (n: number): SealedTokens => ({ accessToken: `at-${n}`, tokenType: 'Bearer', refreshToken: `rt-${n}` });
  const now = Math.floor(Date.now() / 1000);
  records.set(ref, { tokens: at(1), expiresAt: now + 3600 });
  const session: AuthSession & { ref: string } = { tokens: at(1), claims, createdAt: now, touchedAt: now, expiresAt: now + 3600, staleKey: false, ref };
  const sessions: LeaseDeps['sessions'] = {
    load: async (_req, opened) => {
      const record = records.get((opened as { ref: string }).ref);
      return record && { ...session, tokens: record.tokens, recordExpiresAt: record.expiresAt };
    },
    saveRecord: async (_req, tokens, _claims, _createdAt, id) => {
      if (failWrites) throw new AuthError('store_unavailable', 503, 'The session store failed');
      const expiresAt = Math.floor(Date.now() / 1000) + 3600;
      records.set(id, { tokens, expiresAt });
      return expiresAt;
    },
    forget: async (_req, s) => {
      records.delete(s!.ref!);
    },
  };
  const context: LeaseDeps = { options: { httpTimeout, storeTimeout, refreshLock: lock }, sessions };
  const calls: string[] = [];
  /** The token request: from the record's refresh token, `at-2` tokens. */
  const refresh = async (current: AuthSession): Promise<Refreshed> => {
    calls.push(current.tokens.refreshToken!);
    return { tokens: at(2), claims };
  };
  return { ref, records, session, context, calls, refresh, at, leaseKey: recordKey('refresh-lock', ref) };
}

describe('leaseMs(): the holder\'s worst case', () => {
  test('covers taking the lease and reading the record, discovery, the token request and its DPoP-Nonce retry, a JWKS fetched again, and the write retried within storeTimeout', () => {
    for (const [httpTimeout, storeTimeout] of [[10, 5], [2, 1], [30, 0.5]] as const) {
      const worst = (2 * storeTimeout + 4 * httpTimeout + 2 * storeTimeout) * 1000;
      expect(leaseMs({ httpTimeout, storeTimeout })).toBeGreaterThan(worst);
    }
    expect(leaseMs({ httpTimeout: 10, storeTimeout: 5 })).toBe(62_000);
  });
});

describe('the holder', () => {
  test('never starts the token request once its lease may run out before it and the write (a paused process): 503 refresh_failed, nothing spent, the lease given up', async () => {
    const ttl = leaseMs({ httpTimeout: 0.5, storeTimeout: 0.5 });
    const realNow = Date.now.bind(Date);
    let shift = 0;
    jest.spyOn(Date, 'now').mockImplementation(() => realNow() + shift);
    const lock = redisLock(client);
    // The process stalls while the lease is taken: the clock has moved a whole lease on when it resumes.
    const bed = setup(0.5, 0.5, {
      lock: {
        acquire: async (key, token, ttlMs) => {
          const taken = await lock.acquire(key, token, ttlMs);
          shift += ttl;
          return taken;
        },
        release: (key, token) => lock.release(key, token),
      },
    });
    const err = await refreshUnderLease(bed.context, req, bed.session, undefined, bed.refresh).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect((err as AuthError).code).toBe('refresh_failed');
    expect((err as AuthError).status).toBe(503);
    expect(bed.calls).toEqual([]);
    expect(bed.records.get(bed.ref)!.tokens.accessToken).toBe('at-1');
    expect(await client.exists(bed.leaseKey)).toBe(0);
  });

  test('a refresh refused (invalid_grant) after an earlier holder, its lease run out, wrote new tokens: those tokens are the answer, the record kept', async () => {
    const bed = setup(0.5, 0.5);
    const refused = async (current: AuthSession): Promise<Refreshed> => {
      bed.calls.push(current.tokens.refreshToken!);
      // The earlier holder writes its refresh's tokens now, having spent rt-1: this one is refused.
      bed.records.set(bed.ref, { tokens: bed.at(3), expiresAt: Math.floor(Date.now() / 1000) + 3600 });
      throw new AuthError('session_ended', 401, 'The provider no longer accepts this session: sign in again');
    };
    const answer = await refreshUnderLease(bed.context, req, bed.session, undefined, refused);
    expect(answer.tokens.accessToken).toBe('at-3');
    expect(bed.calls).toEqual(['rt-1']);
    expect(bed.records.get(bed.ref)!.tokens.accessToken).toBe('at-3');
    expect(await client.exists(bed.leaseKey)).toBe(0);
  });

  test('a refresh refused with no new tokens in the record ends the session: the record deleted', async () => {
    const bed = setup(0.5, 0.5);
    const refused = async (): Promise<Refreshed> => {
      throw new AuthError('session_ended', 401, 'The provider no longer accepts this session: sign in again');
    };
    const err = await refreshUnderLease(bed.context, req, bed.session, undefined, refused).then(() => undefined, (e: unknown) => e);
    expect((err as AuthError).code).toBe('session_ended');
    expect(bed.records.has(bed.ref)).toBe(false);
  });

  test('tokens it could not write keep the lease, with release() to give it up once they are written; a written refresh carries the record\'s expiry', async () => {
    const failing = setup(0.5, 0.5, { failWrites: true });
    const unsaved = await refreshUnderLease(failing.context, req, failing.session, undefined, failing.refresh);
    expect(unsaved.unsaved).toBe(true);
    expect(unsaved.tokens.accessToken).toBe('at-2');
    expect(await client.exists(failing.leaseKey)).toBe(1);
    expect(typeof unsaved.release).toBe('function');
    await unsaved.release!();
    expect(await client.exists(failing.leaseKey)).toBe(0);

    const bed = setup(0.5, 0.5);
    const written = await refreshUnderLease(bed.context, req, bed.session, undefined, bed.refresh);
    expect(written.unsaved).toBeUndefined();
    expect(written.release).toBeUndefined();
    expect(written.expiresAt).toBe(bed.records.get(bed.ref)!.expiresAt);
  });
});

describe('a waiting request', () => {
  test('does not take a lease freed after it waited longer than storeTimeout (its hold would outlast its deadline): 503 refresh_failed at the lease time and storeTimeout, no token request', async () => {
    const bed = setup(0.1, 0.2);
    const ttl = leaseMs(bed.context.options); // 0.4 + 0.8 + 0.8 + 2 s
    // Another instance holds the lease for 1 s, then it runs out without new tokens.
    expect(await client.set(bed.leaseKey, 'another-instance', { NX: true, PX: 1000 })).toBe('OK');
    const started = Date.now();
    const err = await refreshUnderLease(bed.context, req, bed.session, undefined, bed.refresh).then(() => undefined, (e: unknown) => e);
    const waited = Date.now() - started;
    expect((err as AuthError).code).toBe('refresh_failed');
    expect((err as AuthError).status).toBe(503);
    expect(bed.calls).toEqual([]);
    expect(waited).toBeGreaterThanOrEqual(ttl + 200 - 50);
    expect(waited).toBeLessThan(ttl + 200 + 1000);
  }, 15_000);

  test('takes a lease freed within storeTimeout (its holder failed without new tokens) and refreshes', async () => {
    const bed = setup(0.1, 1);
    expect(await client.set(bed.leaseKey, 'another-instance', { NX: true, PX: 300 })).toBe('OK');
    const answer = await refreshUnderLease(bed.context, req, bed.session, undefined, bed.refresh);
    expect(answer.tokens.accessToken).toBe('at-2');
    expect(bed.calls).toEqual(['rt-1']);
    expect(await client.exists(bed.leaseKey)).toBe(0);
  });
});
