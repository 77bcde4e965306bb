// @ts-check
/**
 * A real Redis for the soak: `redis-server` on a loopback port, its data in a temporary folder
 * with the append-only file on and fsynced on every write (`--appendonly yes --appendfsync
 * always`), so that a restart finds every write Redis acknowledged. `down()` stops it (SIGTERM:
 * Redis's own graceful shutdown) and `up()` starts it again on the same port and folder.
 * The JavaScript twin of test/support/redis-server.ts (which has no persistence: tests restart
 * with `SHUTDOWN SAVE`).
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';

/** The executable; `REDIS_SERVER` overrides the one found on `PATH`. */
const BINARY = process.env.REDIS_SERVER ?? 'redis-server';
const START_TIMEOUT_MS = 10_000;

/**
 * `true` when a Redis on `port` answers `PING` with `+PONG`.
 *
 * @param {number} port
 * @returns {Promise<boolean>}
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
 * @param {import('node:child_process').ChildProcess} child
 * @returns {Promise<void>}
 */
function waitForExit(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts redis-server on `port` with its data in `dir`, once it answers PING.
 *
 * @param {number} port
 * @param {string} dir
 * @returns {Promise<import('node:child_process').ChildProcess>}
 */
async function startOn(port, dir) {
  const child = spawn(BINARY, [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'yes',
    '--appendfsync', 'always',
    '--dir', dir,
    '--daemonize', 'no',
    '--loglevel', 'warning',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => { output += chunk.toString(); });
  child.stderr?.on('data', (chunk) => { output += chunk.toString(); });
  /** @type {Error | undefined} */
  let spawnError;
  child.once('error', (err) => { spawnError = err; });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    if (spawnError !== undefined) {
      throw new Error(`redis-server could not be started (${spawnError.message}): install it (apt-get install redis-server) or set REDIS_SERVER to its path`);
    }
    if (child.exitCode !== null) throw new Error(`redis-server exited at start-up (code ${child.exitCode}): ${output.trim()}`);
    if (await answersPing(port)) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not answer PING on port ${port} within ${START_TIMEOUT_MS} ms: ${output.trim()}`);
    }
  }
}

/**
 * @typedef {object} SoakRedis
 * @property {string} url `redis://127.0.0.1:<port>`
 * @property {() => Promise<void>} down stops the server (SIGTERM, its graceful shutdown); connections are refused until `up()`
 * @property {() => Promise<void>} up starts it again on the same port, with the data it had
 * @property {() => Promise<void>} stop stops it for good
 * @property {() => void} kill kills it at once (SIGKILL), for an orchestrator that exits on an error
 */

/**
 * Starts `redis-server` on `port`, its data in `dir`.
 *
 * @param {number} port
 * @param {string} dir an existing, empty folder
 * @returns {Promise<SoakRedis>}
 */
export async function startRedis(port, dir) {
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let running = await startOn(port, dir);
  const down = async () => {
    const child = running;
    if (child === undefined) return;
    running = undefined;
    const exited = waitForExit(child);
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    down,
    async up() {
      if (running === undefined) running = await startOn(port, dir);
    },
    stop: down,
    kill() {
      running?.kill('SIGKILL');
    },
  };
}
