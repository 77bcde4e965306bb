/**
 * lib/session/refresh-lock.ts against a real `redis-server` and node-redis: the lease is taken
 * atomically by one owner, given up only by its owner, runs out by itself, is found on a
 * connect-redis store (under its key prefix) and nowhere else, and a hung Redis is a 503
 * `store_unavailable` within `storeTimeout`.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { RedisStore } from 'connect-redis';
import { MemoryStore } from 'express-session';
import { createClient } from 'redis';
import type { HttpRequest } from '../../lib/http.js';
import { isRedisClient, redisLock, refreshLockOf, timedLock, type RefreshLock } from '../../lib/session/refresh-lock.js';
import { AuthError } from '../../lib/errors.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

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

/** A request whose express-session store is `store`. */
function requestWith(store: unknown): HttpRequest {
  return { sessionStore: store } as unknown as HttpRequest;
}

describe('redisLock() over node-redis', () => {
  test('one owner at a time: a second acquire is refused until the owner releases; another token cannot release it', async () => {
    const lock = redisLock(client, 'p:');
    expect(await lock.acquire('lease-1', 'owner-a', 5000)).toBe(true);
    expect(await lock.acquire('lease-1', 'owner-b', 5000)).toBe(false);
    expect(await client.get('p:lease-1')).toBe('owner-a');
    await lock.release('lease-1', 'owner-b'); // not the owner: nothing happens
    expect(await client.get('p:lease-1')).toBe('owner-a');
    await lock.release('lease-1', 'owner-a');
    expect(await client.exists('p:lease-1')).toBe(0);
    expect(await lock.acquire('lease-1', 'owner-b', 5000)).toBe(true);
    await lock.release('lease-1', 'owner-b');
  });

  test('the lease runs out after its time (a crashed owner cannot hold it): then another takes it', async () => {
    const lock = redisLock(client);
    expect(await lock.acquire('lease-2', 'crashed', 150)).toBe(true);
    const ttl = await client.pTTL('lease-2');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(150);
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await lock.acquire('lease-2', 'next', 5000)).toBe(true);
    await lock.release('lease-2', 'crashed'); // the crashed owner's late release leaves the new owner's lease
    expect(await client.get('lease-2')).toBe('next');
    await lock.release('lease-2', 'next');
  });

  test('50 concurrent acquires of one lease: exactly one succeeds', async () => {
    const lock = redisLock(client);
    const taken = await Promise.all(Array.from({ length: 50 }, (_, i) => lock.acquire('lease-3', `owner-${i}`, 5000)));
    expect(taken.filter(Boolean)).toHaveLength(1);
    await client.del('lease-3');
  });
});

describe('refreshLockOf(): where the lease comes from', () => {
  test('unset (\'auto\'): connect-redis\'s client, its keys under the store\'s prefix; the same lock for every request of the store', async () => {
    const store = new RedisStore({ client, prefix: 'app1:' });
    expect(isRedisClient(store.client)).toBe(true);
    const lock = refreshLockOf(requestWith(store), 'auto');
    expect(lock).toBeDefined();
    expect(refreshLockOf(requestWith(store), 'auto')).toBe(lock);
    expect(await lock!.acquire('lease-4', 'me', 5000)).toBe(true);
    expect(await client.get('app1:lease-4')).toBe('me');
    await lock!.release('lease-4', 'me');
    expect(await client.exists('app1:lease-4')).toBe(0);
  });

  test('none with MemoryStore, without a store, or with refreshLock false; the app\'s own as given', () => {
    expect(refreshLockOf(requestWith(new MemoryStore()), 'auto')).toBeUndefined();
    expect(refreshLockOf(requestWith(undefined), 'auto')).toBeUndefined();
    expect(refreshLockOf(requestWith(new RedisStore({ client })), false)).toBeUndefined();
    const own: RefreshLock = { acquire: async () => true, release: async () => undefined };
    expect(refreshLockOf(requestWith(new MemoryStore()), own)).toBe(own);
  });
});

describe('timedLock(): each call held to storeTimeout', () => {
  test('a hung Redis is a 503 store_unavailable within the timeout, not a hung request', async () => {
    const lock = timedLock(redisLock(client), 0.3);
    redis.pause();
    try {
      const started = Date.now();
      const err = await lock.acquire('lease-5', 'me', 5000).then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect((err as AuthError).code).toBe('store_unavailable');
      expect((err as AuthError).status).toBe(503);
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      redis.resume();
    }
    await client.del('lease-5');
  });

  test('a RefreshLock that rejects is a 503 store_unavailable, its error as the cause', async () => {
    const failing: RefreshLock = { acquire: () => Promise.reject(new Error('the database is down')), release: () => Promise.reject(new Error('down')) };
    const err = await timedLock(failing, 1).acquire('k', 't', 1000).then(() => undefined, (e: unknown) => e);
    expect((err as AuthError).code).toBe('store_unavailable');
    expect(((err as AuthError).cause as Error).message).toBe('the database is down');
  });
});
