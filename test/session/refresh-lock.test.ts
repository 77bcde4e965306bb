/**
 * lib/session/refresh-lock.ts against a real `redis-server` and node-redis: the lease is taken
 * atomically by one owner, given up only by its owner, runs out by itself, is found on a
 * connect-redis store (under its key prefix) and nowhere else, and a hung Redis is a 503
 * `store_unavailable` within `storeTimeout`. A node-redis 4 client in `legacyMode` (connect-redis
 * 6 and earlier) is used through its `v4` commands: node-redis 5, installed here, has no
 * legacyMode, so {@link LegacyModeClient} stands in for it, shaped as node-redis 4's, over the
 * real client and redis-server.
 */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { RedisStore } from 'connect-redis';
import { MemoryStore } from 'express-session';
import { createClient } from 'redis';
import type { HttpRequest } from '../../lib/http.js';
import { isRedisClient, redisLock, refreshLockOf, timedLock, type RedisLockClient, type RefreshLock } from '../../lib/session/refresh-lock.js';
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

/**
 * A node-redis 4 client in `legacyMode`, as its source has it (lib/client/index.ts,
 * `#legacyMode()`, `#legacySendCommand()`, `transformLegacyCommandArguments()`): its commands take
 * a callback and return `undefined`; their arguments are flattened and numbers made strings, an
 * object sent as it is (a malformed command); a failure without a callback is an `'error'` event;
 * its promise commands are `v4`; `options.legacyMode` is `true`; `isOpen` a boolean. Over the
 * real node-redis 5 client, whose `set()` and `eval()` take what node-redis 4's `v4` ones take.
 */
class LegacyModeClient extends EventEmitter {
  readonly options = { legacyMode: true };
  readonly v4: { set: typeof client.set; eval: typeof client.eval } | undefined;

  constructor(private readonly real: typeof client, withV4 = true) {
    super();
    this.v4 = withV4 ? { set: real.set.bind(real), eval: real.eval.bind(real) } : undefined;
  }

  get isOpen(): boolean {
    return this.real.isOpen;
  }

  set(...args: unknown[]): undefined {
    return this.legacySendCommand('SET', args);
  }

  eval(...args: unknown[]): undefined {
    return this.legacySendCommand('EVAL', args);
  }

  private legacySendCommand(name: string, args: unknown[]): undefined {
    const callback = typeof args.at(-1) === 'function' ? args.pop() as (err: unknown, reply?: unknown) => void : undefined;
    const command = [name, ...args].flat().map((arg) => (typeof arg === 'number' ? String(arg) : arg)) as string[];
    const promise = this.real.sendCommand(command);
    if (callback !== undefined) promise.then((reply) => callback(null, reply), (err: unknown) => callback(err));
    else promise.catch((err: unknown) => this.emit('error', err));
    return undefined;
  }
}

/** A request whose express-session store is `store`. */
function requestWith(store: unknown): HttpRequest {
  return { sessionStore: store } as unknown as HttpRequest;
}

describe('redisLock() over node-redis', () => {
  test('one owner at a time: a second acquire is refused until the owner releases; another token cannot release it', async () => {
    const lock = redisLock(client, 'p:')!;
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
    const lock = redisLock(client)!;
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
    const lock = redisLock(client)!;
    const taken = await Promise.all(Array.from({ length: 50 }, (_, i) => lock.acquire('lease-3', `owner-${i}`, 5000)));
    expect(taken.filter(Boolean)).toHaveLength(1);
    await client.del('lease-3');
  });
});

describe('redisLock() over node-redis 4 in legacyMode (connect-redis 6 and earlier)', () => {
  test('through client.v4: one owner at a time, 50 concurrent acquires of one lease take it once, released by its owner; no command goes wrong (no \'error\' event)', async () => {
    const legacy = new LegacyModeClient(client);
    const errors: unknown[] = [];
    legacy.on('error', (err) => errors.push(err));
    const lock = redisLock(legacy as unknown as RedisLockClient, 'legacy:')!;
    const taken = await Promise.all(Array.from({ length: 50 }, (_, i) => lock.acquire('lease-l1', `owner-${i}`, 5000)));
    expect(taken.filter(Boolean)).toHaveLength(1);
    const owner = `owner-${taken.indexOf(true)}`;
    expect(await client.get('legacy:lease-l1')).toBe(owner);
    expect(await client.pTTL('legacy:lease-l1')).toBeGreaterThan(0);
    await lock.release('lease-l1', 'someone-else');
    expect(await client.get('legacy:lease-l1')).toBe(owner);
    await lock.release('lease-l1', owner);
    expect(await client.exists('legacy:lease-l1')).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 50)); // a late 'error' event would have come by now
    expect(errors).toEqual([]);
  });

  test('found on a connect-redis 6 store (store.client, store.prefix) the same way; a legacy client without v4 is no lease at all', async () => {
    const lock = refreshLockOf(requestWith({ client: new LegacyModeClient(client), prefix: 'sess6:' }), 'auto');
    expect(lock).toBeDefined();
    expect(await lock!.acquire('lease-l2', 'me', 5000)).toBe(true);
    expect(await lock!.acquire('lease-l2', 'other', 5000)).toBe(false);
    expect(await client.get('sess6:lease-l2')).toBe('me');
    await lock!.release('lease-l2', 'me');
    const noV4 = new LegacyModeClient(client, false);
    expect(isRedisClient(noV4)).toBe(true);
    expect(redisLock(noV4 as unknown as RedisLockClient)).toBeUndefined();
    expect(refreshLockOf(requestWith({ client: noV4, prefix: 'sess6:' }), 'auto')).toBeUndefined();
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
    const lock = timedLock(redisLock(client)!, 0.3);
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
