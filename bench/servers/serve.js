// @ts-check
/**
 * What every contestant's server shares: its configuration from the environment, listening on
 * loopback, its express-session store, and the orchestrator's questions: `memory` (answered
 * after a full garbage collection when node runs with `--expose-gc`), `memoryNow` (without one),
 * `cpu` (the CPU time used so far), `records` (how many records the app's express-session store
 * holds), and `profileStart` / `profileStop` (a CPU profile of the time between the two, through
 * the inspector, as `--cpu-prof` takes one; `profileStop` answers the `.cpuprofile` JSON).
 *
 * Environment: `BENCH_PORT`, `BENCH_ISSUER`, `BENCH_CLIENT_ID`, `BENCH_CLIENT_SECRET`;
 * `BENCH_REDIS_URL`, when set, makes {@link sessionStore} a connect-redis store on that Redis.
 */
import { createServer } from 'node:http';
import { Session } from 'node:inspector/promises';
import session from 'express-session';
import { serveParent } from '../child.js';

/** The app's external URL (loopback; the provider is on `localhost`, so the two keep separate cookies). */
export const port = Number(process.env.BENCH_PORT ?? 0);
export const baseURL = `http://127.0.0.1:${port}`;
export const issuer = process.env.BENCH_ISSUER ?? '';
export const clientId = process.env.BENCH_CLIENT_ID ?? '';
export const clientSecret = process.env.BENCH_CLIENT_SECRET ?? '';
/** The one scope every contestant asks for, so that all get the same token set. */
export const scope = 'openid profile email';
/** Secret of the sealed cookies (and express-session's signature); at least 32 characters. */
export const secret = 'bench-secret-bench-secret-bench-secret-0123456789';

/** @returns {NodeJS.MemoryUsage} */
function memory() {
  const gc = /** @type {undefined | (() => void)} */ (globalThis.gc);
  if (gc !== undefined) {
    gc();
    gc();
  }
  return process.memoryUsage();
}

/**
 * The express-session store of the app: connect-redis on `BENCH_REDIS_URL` (one client, as an
 * app has), else a MemoryStore.
 *
 * @returns {Promise<import('express-session').Store>}
 */
export async function sessionStore() {
  const url = process.env.BENCH_REDIS_URL;
  if (!url) return new session.MemoryStore();
  const [{ RedisStore }, { createClient }] = await Promise.all([import('connect-redis'), import('redis')]);
  const client = createClient({ url });
  await client.connect();
  return new RedisStore({ client });
}

/** The inspector session of a running CPU profile. */
const inspector = new Session();
inspector.connect();

/** Starts a CPU profile (sampling every `BENCH_PROFILE_INTERVAL` µs, default 200). */
async function profileStart() {
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: Number(process.env.BENCH_PROFILE_INTERVAL ?? 200) });
  await inspector.post('Profiler.start');
  return true;
}

/** @returns {Promise<string>} the profile since {@link profileStart}, as `.cpuprofile` JSON */
async function profileStop() {
  const { profile } = await inspector.post('Profiler.stop');
  await inspector.post('Profiler.disable');
  return JSON.stringify(profile);
}

/** @returns {number} CPU time this process has used, user and system, in microseconds */
function cpu() {
  const { user, system } = process.cpuUsage();
  return user + system;
}

/**
 * How many records an express-session store holds (`undefined` when it cannot say).
 *
 * @param {import('express-session').Store | undefined} store
 * @returns {Promise<number | undefined>}
 */
function recordsOf(store) {
  return new Promise((resolve) => {
    if (store?.length === undefined) resolve(undefined);
    else store.length((err, length) => resolve(err ? undefined : length));
  });
}

/**
 * Serves `app` on 127.0.0.1:`BENCH_PORT` and tells the orchestrator.
 *
 * @param {import('node:http').RequestListener} app
 * @param {import('express-session').Store} [store] the app's express-session store, whose records
 *   the orchestrator counts (`records`)
 */
export function serve(app, store) {
  createServer(app).listen(port, '127.0.0.1', () => serveParent({
    memory, memoryNow: () => process.memoryUsage(), cpu, records: () => recordsOf(store), profileStart, profileStop,
  }, { port }));
}
