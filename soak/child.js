// @ts-check
/**
 * Child processes of the soak, each `node` with an IPC channel to the orchestrator
 * (`process.send`): a child announces itself with `{ type: 'ready', ... }`, answers the
 * orchestrator's questions ({@link Child.call}), and may push `{ type: 'event', ... }` messages as
 * things happen (the provider's grants: a count kept in the child would die with it).
 * Adapted from bench/child.js, without its CPU pinning: the soak is not a benchmark.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** @returns {Promise<number>} a TCP port free on 127.0.0.1 right now */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A running child process with an IPC channel. */
export class Child {
  /** @type {import('node:child_process').ChildProcess} */
  #process;
  #nextId = 1;
  /** @type {Map<number, (value: any) => void>} */
  #pending = new Map();

  /**
   * @param {import('node:child_process').ChildProcess} child
   * @param {(message: any) => void} onEvent called with each `{ type: 'event' }` message
   */
  constructor(child, onEvent) {
    this.#process = child;
    child.on('message', (/** @type {any} */ message) => {
      if (message?.type === 'event') {
        onEvent(message);
        return;
      }
      const resolve = this.#pending.get(message?.id);
      if (resolve === undefined) return;
      this.#pending.delete(message.id);
      resolve(message.value);
    });
    child.once('exit', () => {
      for (const resolve of this.#pending.values()) resolve(undefined);
      this.#pending.clear();
    });
  }

  /** The child's process id. */
  get pid() {
    return /** @type {number} */ (this.#process.pid);
  }

  /** `true` until the process exits. */
  get running() {
    return this.#process.exitCode === null && this.#process.signalCode === null;
  }

  /**
   * Asks the child something; it answers `{ id, value }` (`undefined` when it exits first).
   *
   * @param {string} type
   * @returns {Promise<any>}
   */
  call(type) {
    if (!this.running) return Promise.resolve(undefined);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, resolve);
      this.#process.send({ id, type }, (err) => {
        if (err) {
          this.#pending.delete(id);
          reject(err);
        }
      });
    });
  }

  /**
   * Ends the child with `signal` (to its own pid) and waits for it to exit; SIGKILL after `graceMs`.
   *
   * @param {NodeJS.Signals} [signal]
   * @param {number} [graceMs]
   * @returns {Promise<void>}
   */
  stop(signal = 'SIGTERM', graceMs = 5000) {
    return new Promise((resolve) => {
      if (!this.running) {
        resolve();
        return;
      }
      const timer = setTimeout(() => this.#process.kill('SIGKILL'), graceMs);
      this.#process.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#process.kill(signal);
    });
  }
}

/**
 * Starts `node [nodeArgs] script` and waits for its `ready` message.
 *
 * @param {string} script absolute path
 * @param {object} options
 * @param {Record<string, string>} [options.env] added to this process's environment
 * @param {string[]} [options.nodeArgs] e.g. `['--expose-gc']`
 * @param {(message: any) => void} [options.onEvent] receives the child's `{ type: 'event' }` messages
 * @returns {Promise<{ child: Child, ready: any }>}
 */
export function startNode(script, { env = {}, nodeArgs = [], onEvent = () => {} }) {
  const proc = spawn(process.execPath, [...nodeArgs, script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const child = new Child(proc, onEvent);
  return new Promise((resolve, reject) => {
    const onExit = (/** @type {number | null} */ code) => reject(new Error(`${script} exited (${code}) before it was ready`));
    proc.once('exit', onExit);
    proc.once('error', reject);
    proc.on('message', function onReady(/** @type {any} */ message) {
      if (message?.type !== 'ready') return;
      proc.off('message', onReady);
      proc.off('exit', onExit);
      resolve({ child, ready: message });
    });
  });
}

/**
 * In a child: answers the orchestrator's calls with `handlers[type]()`, runs `onStop` on SIGTERM
 * before exiting, and exits when the orchestrator goes away.
 *
 * @param {Record<string, () => unknown>} handlers
 * @param {Record<string, unknown>} ready what the `ready` message carries
 * @param {() => Promise<void>} [onStop] a graceful stop (close the server, finish requests in flight)
 */
export function serveParent(handlers, ready, onStop = async () => {}) {
  if (process.send === undefined) throw new Error('start this file from soak/run.js (it needs an IPC channel)');
  process.on('message', async (/** @type {any} */ message) => {
    const handler = handlers[message?.type];
    if (handler === undefined) return;
    const value = await handler();
    if (process.connected) process.send?.({ id: message.id, value });
  });
  process.on('disconnect', () => process.exit(0));
  process.once('SIGTERM', () => {
    onStop().finally(() => process.exit(0));
  });
  process.send({ type: 'ready', ...ready });
}

/**
 * In a child: pushes `{ type: 'event', ...event }` to the orchestrator (dropped when it is gone).
 *
 * @param {Record<string, unknown>} event
 */
export function pushEvent(event) {
  if (process.connected) process.send?.({ type: 'event', ...event });
}
