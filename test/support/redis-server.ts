/**
 * A real Redis for tests: `redis-server` started on a free 127.0.0.1 port, with no periodic
 * persistence (`--save ''`, `--appendonly no`, its dump file in a fresh temporary folder),
 * answered PING before it is handed over, and stopped after. No machine keeps a Redis between
 * sessions, so each test file starts its own. For outage tests it can hang (`pause()`) and
 * go down and come back with its data (`down()`, `up()`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './http-server.js';

export interface RedisServer {
  /** `redis://127.0.0.1:<port>`, for `createClient({ url })`. */
  url: string;
  port: number;
  /** Stops the server and waits for its process to exit. */
  stop(): Promise<void>;
  /** Freezes the server (SIGSTOP): connections stay open and commands get no answer, as a hung Redis. */
  pause(): void;
  /** Lets a paused server go on (SIGCONT). */
  resume(): void;
  /** Saves the data and stops the server (`SHUTDOWN SAVE`): connections are refused until {@link RedisServer.up}. */
  down(): Promise<void>;
  /** Starts the server again on the same port, with the data {@link RedisServer.down} saved. */
  up(): Promise<void>;
}

/** One running redis-server process. */
interface Running {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** The executable; `REDIS_SERVER` overrides the one found on `PATH`. */
const BINARY = process.env.REDIS_SERVER ?? 'redis-server';
const INSTALL_HINT = 'install it (Debian/Ubuntu: apt-get update && apt-get install -y redis-server), '
  + 'or set REDIS_SERVER to its path; .ci/run installs it on CI';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;


/** `true` when a Redis on `port` answers `PING` with `+PONG`. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Sends `SHUTDOWN SAVE` to the server on `port`: it writes its dump file and exits. */
function shutdownSaving(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('error', () => resolve());
    socket.once('close', () => resolve());
    socket.once('connect', () => socket.write('SHUTDOWN SAVE\r\n'));
  });
}

/** One attempt on `port`: the server once it answers PING, or why it did not start. */
async function startOn(port: number, dir: string): Promise<Running | { failure: string; portTaken: boolean }> {
  const child = spawn(BINARY, [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--dir', dir,
    '--daemonize', 'no',
    '--loglevel', 'warning',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await waitForExit(child);
    clearTimeout(timer);
  };

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const outcome = await Promise.race([
      spawnError.then((err) => ({ err })),
      exited.then(() => ({ exited: true as const })),
      new Promise<{ tick: true }>((resolve) => setTimeout(() => resolve({ tick: true }), 25)),
    ]);
    if ('err' in outcome) {
      const code = (outcome.err as NodeJS.ErrnoException).code;
      throw new Error(code === 'ENOENT'
        ? `redis-server not found (tried "${BINARY}"): ${INSTALL_HINT}`
        : `redis-server could not be started (${outcome.err.message}): ${INSTALL_HINT}`);
    }
    if ('exited' in outcome) {
      return { failure: `redis-server exited at start-up (code ${child.exitCode}): ${output.trim()}`, portTaken: /address already in use/i.test(output) };
    }
    if (await answersPing(port)) {
      return { child, stop };
    }
    if (Date.now() > deadline) {
      await stop();
      return { failure: `redis-server did not answer PING on port ${port} within ${START_TIMEOUT_MS} ms: ${output.trim()}`, portTaken: false };
    }
  }
}

/**
 * Starts `redis-server` on a free loopback port and waits until it answers `PING`.
 *
 * @throws Error saying how to install it, when the executable is missing
 */
export async function startRedisServer(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-test-'));
  let last = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const result = await startOn(port, dir);
    if ('failure' in result) {
      last = result.failure;
      if (!result.portTaken) break;
      continue;
    }
    let running: Running | undefined = result;
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      async stop() {
        running?.child.kill('SIGCONT');
        await running?.stop();
        running = undefined;
        rmSync(dir, { recursive: true, force: true });
      },
      pause() {
        running?.child.kill('SIGSTOP');
      },
      resume() {
        running?.child.kill('SIGCONT');
      },
      async down() {
        const child = running?.child;
        if (child === undefined) return;
        const exited = waitForExit(child);
        await shutdownSaving(port);
        await exited;
        running = undefined;
      },
      async up() {
        if (running !== undefined) return;
        const again = await startOn(port, dir);
        if ('failure' in again) throw new Error(again.failure);
        running = again;
      },
    };
  }
  throw new Error(last);
}
