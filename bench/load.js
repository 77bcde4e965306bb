// @ts-check
/**
 * The load generator: autocannon's command line, in its own process pinned to the load core,
 * its `--json` result read back. Every response must be a 2xx: a session that stopped working
 * (a 302 to the login route is fast) would otherwise measure the wrong thing.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { pinned } from './child.js';

const autocannon = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

/**
 * @typedef {object} LoadResult
 * @property {number} rps requests per second (completed requests / duration)
 * @property {number} p50 latency, ms
 * @property {number} p99 latency, ms
 * @property {number} requests completed requests
 */

/**
 * Runs autocannon against `url`.
 *
 * @param {object} options
 * @param {string} options.url
 * @param {number} options.cpu the core the load generator runs on
 * @param {number} options.connections
 * @param {string} [options.cookie] the `Cookie` header of every request
 * @param {number} [options.seconds] how long (unless `amount`)
 * @param {number} [options.amount] how many requests
 * @returns {Promise<LoadResult>}
 */
export function loadTest({ url, cpu, connections, cookie, seconds = 5, amount }) {
  const args = [autocannon, '--json', '-n', '-c', String(connections)];
  if (amount !== undefined) args.push('-a', String(amount));
  else args.push('-d', String(seconds));
  if (cookie) args.push('-H', `cookie:${cookie}`);
  args.push(url);
  const [command, rest] = pinned(cpu, [process.execPath, ...args]);
  return new Promise((resolve, reject) => {
    const child = spawn(command, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => { out += chunk; });
    child.stderr.on('data', (chunk) => { err += chunk; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`autocannon exited ${code}: ${err}`));
        return;
      }
      const result = JSON.parse(out);
      const failed = result.non2xx + result.errors + result.timeouts;
      if (failed > 0) {
        reject(new Error(`autocannon ${url}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts of ${result.requests.total}`));
        return;
      }
      // `duration` is in seconds; `requests.total` counts completed requests.
      resolve({
        rps: result.requests.total / result.duration,
        p50: result.latency.p50,
        p99: result.latency.p99,
        requests: result.requests.total,
      });
    });
  });
}
