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
 * A node-redis 4 client in `legacyMode` (as connect-redis 6 and earlier asked for) is used through
 * its promise commands, `client.v4`. Typed loosely: both clients' overloaded methods fit.
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

/** `true` for an object with `set()` and `eval()`. */
function hasSetAndEval(value: unknown): value is RedisLockClient {
  return value !== null && typeof value === 'object'
    && typeof (value as Record<string, unknown>).set === 'function' && typeof (value as Record<string, unknown>).eval === 'function';
}

/** node-redis has `isOpen`; ioredis a `status` string. `undefined` for anything else. */
function redisKind(client: unknown): 'node-redis' | 'ioredis' | undefined {
  if (!hasSetAndEval(client)) return undefined;
  const c = client as unknown as Record<string, unknown>;
  if (typeof c.isOpen === 'boolean') return 'node-redis';
  if (typeof c.status === 'string') return 'ioredis';
  return undefined;
}

/** `c[key]`, `undefined` when reading it throws (node-redis 4's `v4` getter outside legacyMode). */
function readSafely(c: Record<string, unknown>, key: string): unknown {
  try {
    return c[key];
  } catch {
    return undefined;
  }
}

/**
 * The promise commands of a node-redis client: `client.v4` in `legacyMode` (node-redis 4, whose
 * own `set()` then takes a callback, returns `undefined`, and sends an object argument to Redis as
 * a malformed command, reported as an `'error'` event of the client), else the client itself.
 * `undefined` for a legacy-mode client without `v4`.
 */
function nodeRedisCommands(client: RedisLockClient): RedisLockClient | undefined {
  const c = client as unknown as Record<string, unknown>;
  const v4 = readSafely(c, 'v4');
  if (hasSetAndEval(v4)) return v4;
  const options = readSafely(c, 'options');
  const legacy = options !== null && typeof options === 'object' && (options as { legacyMode?: unknown }).legacyMode === true;
  return legacy ? undefined : client;
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

/**
 * The {@link RefreshLock} of a node-redis or ioredis client, its keys under `prefix`. A lease is
 * taken only when Redis answers `OK` to the `SET … NX` (`null`: another owner holds it).
 *
 * @returns `undefined` for a node-redis client in `legacyMode` without `client.v4`, whose
 *   callback commands cannot say whether the lease was taken
 */
export function redisLock(client: RedisLockClient, prefix = ''): RefreshLock | undefined {
  if (redisKind(client) === 'node-redis') {
    const commands = nodeRedisCommands(client);
    if (commands === undefined) return undefined;
    const set = (commands.set as unknown as Call).bind(commands);
    const evaluate = (commands.eval as unknown as Call).bind(commands);
    return {
      async acquire(key, token, ttlMs) {
        return await set(prefix + key, token, { NX: true, PX: ttlMs }) === 'OK';
      },
      async release(key, token) {
        await evaluate(RELEASE_SCRIPT, { keys: [prefix + key], arguments: [token] });
      },
    };
  }
  const set = (client.set as unknown as Call).bind(client);
  const evaluate = (client.eval as unknown as Call).bind(client);
  return {
    async acquire(key, token, ttlMs) {
      return await set(prefix + key, token, 'PX', ttlMs, 'NX') === 'OK';
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
    const redis = isRedisClient(store.client);
    lock = redis ? redisLock(store.client as RedisLockClient, typeof store.prefix === 'string' ? store.prefix : '') ?? null : null;
    found.set(store, lock);
    if (lock !== null) debug('refresh lease through the session store\'s Redis client');
    else if (redis) debug('no refresh lease: the session store\'s node-redis client is in legacyMode without client.v4 (one instance at a time is not ensured; give a client\'s promise API as the refreshLock option)');
    else debug('no refresh lease: the session store has no Redis client (one instance at a time is not ensured; see the refreshLock option)');
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
