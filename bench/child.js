// @ts-check
/**
 * Child processes of the benchmark: each one `node` pinned to one core with `taskset`, talking
 * to the orchestrator over an IPC channel (`process.send`). A child announces itself with
 * `{ type: 'ready', ... }`; the orchestrator asks it questions with {@link Child.call}.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';

/** `true` when `taskset` exists and there are at least two cores to split. */
export const canPin = cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/**
 * The command line that runs `args` on core `cpu` (unpinned when pinning is not possible).
 *
 * @param {number} cpu
 * @param {string[]} args e.g. `[process.execPath, 'script.js']`
 * @returns {[string, string[]]}
 */
export function pinned(cpu, args) {
  const [command, ...rest] = args;
  if (command === undefined) throw new TypeError('pinned(): no command');
  return canPin ? ['taskset', ['-c', String(cpu), ...args]] : [command, rest];
}

/** A running child process with an IPC channel. */
export class Child {
  /** @type {import('node:child_process').ChildProcess} */
  #process;
  #nextId = 1;
  /** @type {Map<number, (value: any) => void>} */
  #pending = new Map();

  /** @param {import('node:child_process').ChildProcess} child */
  constructor(child) {
    this.#process = child;
    child.on('message', (/** @type {any} */ message) => {
      const resolve = this.#pending.get(message?.id);
      if (resolve === undefined) return;
      this.#pending.delete(message.id);
      resolve(message.value);
    });
  }

  /** The child's process id. */
  get pid() {
    return /** @type {number} */ (this.#process.pid);
  }

  /**
   * Asks the child something; it answers `{ id, value }`.
   *
   * @param {string} type
   * @returns {Promise<any>}
   */
  call(type) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, resolve);
      this.#process.send({ id, type }, (err) => {
        if (err) reject(err);
      });
    });
  }

  /** Ends the child (SIGTERM to its own pid) and waits for it to exit. */
  stop() {
    return new Promise((resolve) => {
      if (this.#process.exitCode !== null || this.#process.signalCode !== null) {
        resolve(undefined);
        return;
      }
      this.#process.once('exit', () => resolve(undefined));
      this.#process.kill('SIGTERM');
    });
  }
}

/**
 * Starts `node [nodeArgs] script` on core `cpu` and waits for its `ready` message.
 *
 * @param {string} script absolute path
 * @param {object} options
 * @param {number} options.cpu
 * @param {Record<string, string>} [options.env] added to this process's environment
 * @param {string[]} [options.nodeArgs] e.g. `['--expose-gc']`
 * @returns {Promise<{ child: Child, ready: any }>}
 */
export function startNode(script, { cpu, env = {}, nodeArgs = [] }) {
  const [command, args] = pinned(cpu, [process.execPath, ...nodeArgs, script]);
  const proc = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const child = new Child(proc);
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
 * In a child: answers the orchestrator's calls with `handlers[type]()`, and exits when the
 * orchestrator goes away.
 *
 * @param {Record<string, () => unknown>} handlers
 * @param {Record<string, unknown>} ready what the `ready` message carries
 */
export function serveParent(handlers, ready) {
  if (process.send === undefined) throw new Error('start this file from bench/run.js (it needs an IPC channel)');
  process.on('message', async (/** @type {any} */ message) => {
    const handler = handlers[message?.type];
    if (handler === undefined) return;
    process.send?.({ id: message.id, value: await handler() });
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  process.send({ type: 'ready', ...ready });
}
