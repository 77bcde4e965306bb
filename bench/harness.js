// @ts-check
/**
 * What the bench scripts (run.js, long-run.js, profile.js) share: free loopback ports, the
 * `BENCH_*` settings, a real redis-server for the connect-redis contestants (as
 * test/support/redis-server.ts starts one), the provider with one client per contestant, and the
 * contestants' servers.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canPin, pinned, startNode } from './child.js';
import { login } from './login.js';

/** The core of the servers; the load generator, the login driver, the provider and Redis run on {@link LOAD_CPU}. */
export const SERVER_CPU = 0;
export const LOAD_CPU = 1;

/**
 * A positive number from the environment.
 *
 * @param {string} name
 * @param {number} fallback
 * @returns {number}
 */
export function setting(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new TypeError(`${name} must be a positive number, got "${value}"`);
  return number;
}

/**
 * The value of `--name value` (or `--name=value`) on the command line.
 *
 * @param {string} name
 * @returns {string | undefined}
 */
export function argument(name) {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) return args[i + 1];
    if (args[i]?.startsWith(`--${name}=`)) return args[i]?.slice(name.length + 3);
  }
  return undefined;
}

/**
 * @param {string} name
 * @returns {boolean} `--name` is on the command line
 */
export function flag(name) {
  return process.argv.slice(2).includes(`--${name}`);
}

/** @returns {Promise<number>} a free loopback port */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/**
 * @param {number} port
 * @returns {Promise<boolean>} a Redis on `port` answers `PING`
 */
function answersPing(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (/** @type {boolean} */ ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

/**
 * A redis-server on a free loopback port, pinned to `cpu`, without persistence; `REDIS_SERVER`
 * names the executable (default `redis-server` on `PATH`; `npm test`'s pretest installs it).
 *
 * @param {number} cpu
 * @returns {Promise<{ url: string, stop: () => Promise<void> }>}
 */
export async function startRedis(cpu) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
  const port = await freePort();
  const [command, args] = pinned(cpu, [process.env.REDIS_SERVER ?? 'redis-server',
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning']);
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const failed = new Promise((_, reject) => {
    child.once('error', (err) => reject(new Error(`redis-server could not be started (${err.message}): apt-get install redis-server, or set REDIS_SERVER`)));
    child.once('exit', (code) => reject(new Error(`redis-server exited at start-up (${code})`)));
  });
  const deadline = Date.now() + 10_000;
  while (!(await Promise.race([answersPing(port), failed]))) {
    if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on port ${port} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  failed.catch(() => {}); // its exit from now on is stop()'s
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => {
      const done = () => {
        rmSync(dir, { recursive: true, force: true });
        resolve(undefined);
      };
      if (child.exitCode !== null || child.signalCode !== null) done();
      else {
        child.once('exit', done);
        child.kill('SIGTERM');
      }
    }),
  };
}

/** @typedef {import('./contestants.js').Contestant} Contestant */

/**
 * The processes of a bench run: the provider, a redis-server when a contestant needs one, and one
 * server per contestant. {@link Bench.stop} ends them all.
 */
export class Bench {
  /** @type {import('./child.js').Child[]} */
  children = [];
  /** @type {{ url: string, stop: () => Promise<void> } | undefined} */
  redis;
  issuer = '';
  /** @type {import('./child.js').Child | undefined} */
  provider;

  /**
   * Starts the provider (with one client per contestant that logs in), Redis if any contestant
   * needs it, and each contestant's server on {@link SERVER_CPU}.
   *
   * @param {Contestant[]} contestants
   * @param {{ nodeArgs?: string[] }} [options] more arguments for the servers' `node`
   */
  async start(contestants, { nodeArgs = [] } = {}) {
    for (const c of contestants) c.port = await freePort();
    const clients = contestants.filter((c) => c.logs).map((c) => ({
      client_id: c.clientId, client_secret: c.clientSecret, redirect_uris: [`http://127.0.0.1:${c.port}/callback`],
    }));
    const { child: provider, ready } = await startNode(fileURLToPath(new URL('provider.js', import.meta.url)), {
      cpu: LOAD_CPU,
      env: { BENCH_PROVIDER_PORT: String(await freePort()), BENCH_CLIENTS: JSON.stringify(clients) },
    });
    this.children.push(provider);
    this.provider = provider;
    this.issuer = ready.issuer;
    if (contestants.some((c) => c.redis)) this.redis = await startRedis(LOAD_CPU);
    for (const c of contestants) {
      const { child } = await startNode(fileURLToPath(new URL(`servers/${c.script}.js`, import.meta.url)), {
        cpu: SERVER_CPU,
        nodeArgs: ['--expose-gc', ...nodeArgs],
        env: {
          ...c.env, BENCH_PORT: String(c.port), BENCH_ISSUER: this.issuer, BENCH_CLIENT_ID: c.clientId, BENCH_CLIENT_SECRET: c.clientSecret,
          ...(c.redis && this.redis !== undefined && { BENCH_REDIS_URL: this.redis.url }),
        },
      });
      this.children.push(child);
      c.server = child;
    }
  }

  /** Ends every process this bench started. */
  async stop() {
    await Promise.all(this.children.map((child) => child.stop()));
    await this.redis?.stop();
  }
}

/**
 * Runs this script again pinned to {@link LOAD_CPU} (it drives the logins and belongs away from
 * the servers) and exits with its status; returns at once in the pinned run, or without taskset.
 */
export function pinSelf() {
  if (!canPin || process.env.BENCH_PINNED !== undefined) return;
  const { status } = spawnSync('taskset', ['-c', String(LOAD_CPU), process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_PINNED: '1' },
  });
  process.exit(status ?? 1);
}

/**
 * Logs `user` in to `c` and keeps the cookie header the browser now sends to it.
 *
 * @param {Contestant} c
 * @param {import('./login.js').User} user
 */
export async function signIn(c, user) {
  const result = await login(`http://127.0.0.1:${c.port}`, user);
  c.cookieHeader = result.cookieHeader;
  return result;
}
