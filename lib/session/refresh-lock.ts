/**
 * The refresh lease: a short lock in the store all instances share, so that one instance at a
 * time refreshes a session (`sessionStorage: 'store'`). express-session's `Store` has no
 * set-if-absent, so the lease is taken through the store's Redis client (node-redis or ioredis,
 * found on connect-redis's `store.client`, or given as the `refreshLock` option), or through a
 * {@link RefreshLock} of the app's own for another store.
 *
 * @packageDocumentation
 */
import { debugOf } from '../debug.js';
import type { HttpRequest } from '../http.js';
import { callStore } from './record-store.js';

const debug = debugOf('refresh');

/**
 * A lease with an owner and an expiry, taken atomically, in a store every app instance shares:
 * the `refreshLock` option for a store other than Redis. Both calls are held to `storeTimeout`
 * (a failure or no answer in time is a 503 `store_unavailable`).
 *
 * @example A lease in PostgreSQL
 * ```ts
 * // create table leases (key text primary key, token text, until timestamptz)
 * const refreshLock: RefreshLock = {
 *   async acquire(key, token, ttlMs) {
 *     const { rowCount } = await pool.query(
 *       `insert into leases values ($1, $2, now() + $3 * interval '1 millisecond')
 *        on conflict (key) do update set token = $2, until = excluded.until where leases.until < now()`,
 *       [key, token, ttlMs]);
 *     return rowCount === 1;
 *   },
 *   async release(key, token) {
 *     await pool.query('delete from leases where key = $1 and token = $2', [key, token]);
 *   },
 * };
 * ```
 */
export interface RefreshLock {
  /**
   * Takes the lease `key` for `ttlMs` milliseconds, recording `token` as its owner, unless
   * another owner holds it and its time has not run out; atomically (as Redis
   * `SET key token PX ttlMs NX`).
   *
   * @returns `true` when this call took the lease, `false` when another owner holds it
   */
  acquire(key: string, token: string, ttlMs: number): Promise<boolean>;
  /**
   * Gives the lease `key` up, only when `token` still owns it (its time may have run out and
   * another owner taken it since): compare and delete in one step, or document the race.
   */
  release(key: string, token: string): Promise<void>;
}

/**
 * A node-redis (v4, v5) or ioredis (v5) client, as the `refreshLock` option: the lease is a
 * `SET key token PX ttl NX`, released by a Lua script that deletes it only for its owner.
 * Typed loosely: both clients' overloaded methods fit.
 */
export interface RedisLockClient {
  /** `SET`: node-redis `set(key, value, { NX: true, PX: ms })`, ioredis `set(key, value, 'PX', ms, 'NX')`. */
  set: (...args: never[]) => unknown;
  /** `EVAL`: node-redis `eval(script, { keys, arguments })`, ioredis `eval(script, numberOfKeys, ...keysAndArgs)`. */
  eval: (...args: never[]) => unknown;
}

/** Deletes `KEYS[1]` only when it still holds `ARGV[1]` (the owner's token): one atomic step in Redis. */
const RELEASE_SCRIPT = 'if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end';

type Call = (...args: unknown[]) => Promise<unknown>;

/** node-redis has `isOpen`; ioredis a `status` string. `undefined` for anything else. */
function redisKind(client: unknown): 'node-redis' | 'ioredis' | undefined {
  if (client === null || typeof client !== 'object') return undefined;
  const c = client as Record<string, unknown>;
  if (typeof c.set !== 'function' || typeof c.eval !== 'function') return undefined;
  if (typeof c.isOpen === 'boolean') return 'node-redis';
  if (typeof c.status === 'string') return 'ioredis';
  return undefined;
}

/** `true` for a node-redis or ioredis client. */
export function isRedisClient(value: unknown): value is RedisLockClient {
  return redisKind(value) !== undefined;
}

/** `true` for an object with `acquire()` and `release()`. */
export function isRefreshLock(value: unknown): value is RefreshLock {
  return value !== null && typeof value === 'object'
    && typeof (value as RefreshLock).acquire === 'function' && typeof (value as RefreshLock).release === 'function';
}

/** The {@link RefreshLock} of a node-redis or ioredis client, its keys under `prefix`. */
export function redisLock(client: RedisLockClient, prefix = ''): RefreshLock {
  const set = (client.set as unknown as Call).bind(client);
  const evaluate = (client.eval as unknown as Call).bind(client);
  if (redisKind(client) === 'node-redis') {
    return {
      async acquire(key, token, ttlMs) {
        return await set(prefix + key, token, { NX: true, PX: ttlMs }) !== null;
      },
      async release(key, token) {
        await evaluate(RELEASE_SCRIPT, { keys: [prefix + key], arguments: [token] });
      },
    };
  }
  return {
    async acquire(key, token, ttlMs) {
      return await set(prefix + key, token, 'PX', ttlMs, 'NX') !== null;
    },
    async release(key, token) {
      await evaluate(RELEASE_SCRIPT, 1, prefix + key, token);
    },
  };
}

/** The locks found on stores (connect-redis's `client`), once per store; `null`: none. */
const found = new WeakMap<object, RefreshLock | null>();

/**
 * The lease of the request's store: `configured` when the app gave one, else the Redis client of
 * a connect-redis store (`store.client`, its keys under `store.prefix`); `undefined` when there is
 * none (MemoryStore, another store) or `refreshLock` is `false`.
 */
export function refreshLockOf(req: HttpRequest, configured: RefreshLock | 'auto' | false): RefreshLock | undefined {
  if (configured !== 'auto') return configured === false ? undefined : configured;
  const store = (req as unknown as { sessionStore?: { client?: unknown; prefix?: unknown } }).sessionStore;
  if (store === undefined || store === null || typeof store !== 'object') return undefined;
  let lock = found.get(store);
  if (lock === undefined) {
    lock = isRedisClient(store.client) ? redisLock(store.client, typeof store.prefix === 'string' ? store.prefix : '') : null;
    found.set(store, lock);
    debug(lock === null
      ? 'no refresh lease: the session store has no Redis client (one instance at a time is not ensured; see the refreshLock option)'
      : 'refresh lease through the session store\'s Redis client');
  }
  return lock ?? undefined;
}

/** `lock`'s calls, each held to `timeout` seconds (a failure or no answer: 503 `store_unavailable`). */
export function timedLock(lock: RefreshLock, timeout: number): RefreshLock {
  return {
    acquire: async (key, token, ttlMs) => (await callStore<boolean>(timeout, (done) => {
      lock.acquire(key, token, ttlMs).then((taken) => done(null, taken), (err: unknown) => done(err ?? new Error('acquire() failed')));
    })) === true,
    release: async (key, token) => {
      await callStore(timeout, (done) => {
        lock.release(key, token).then(() => done(null), (err: unknown) => done(err ?? new Error('release() failed')));
      });
    },
  };
}
