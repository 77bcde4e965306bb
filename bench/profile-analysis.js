// @ts-check
/**
 * What a server's CPU goes to under load: a CPU profile of the load window (servers/serve.js
 * `profileStart` / `profileStop`, the inspector's sampling profiler, as `node --cpu-prof`), its
 * self time summed by where the code comes from (this package's dist/, `cookie`, express-session,
 * openid-client and jose, Express and its helpers, Node's own code: http, net, streams, crypto;
 * garbage collection, …), a V8 builtin's or native function's counted for its nearest caller
 * with a script (JSON.stringify in Express's res.json() is Express's, a WeakMap lookup in this
 * package is this package's, writev in node:net is Node's). Each
 * category's share of the sampled (non-idle) time is applied to the server's CPU time per
 * request over the same window (`process.cpuUsage()`): the profiler samples wall-clock time, which
 * on a shared machine includes time the process waited for a core, so its shares are kept and
 * its absolute times are not.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTest } from './load.js';
import { LOAD_CPU } from './harness.js';
import { table } from './stats.js';

/** The packages counted as Express's (what Express 5 requires to route and answer a request). */
const EXPRESS_FAMILY = new Set([
  'express', 'router', 'finalhandler', 'path-to-regexp', 'parseurl', 'send', 'etag', 'fresh', 'content-type', 'content-disposition',
  'mime-types', 'mime-db', 'media-typer', 'type-is', 'qs', 'body-parser', 'encodeurl', 'escape-html', 'on-finished', 'statuses',
  'http-errors', 'depd', 'debug', 'ms', 'range-parser', 'vary', 'merge-descriptors', 'proxy-addr', 'forwarded', 'ipaddr.js', 'cookie-signature',
  'setprototypeof', 'inherits', 'is-promise', 'safe-buffer', 'iconv-lite', 'raw-body', 'bytes', 'unpipe', 'ee-first', 'serve-static', 'once', 'wrappy',
]);

/** The categories, in the order the tables show them. */
export const CATEGORIES = ['this package', 'cookie', 'accepts', 'express-session', 'connect-redis + redis', 'openid-client, jose, undici', 'iron-session',
  'express-openid-connect', 'Express', 'node core', 'GC', 'other'];

/** This repository's dist/ (and a compared build's, `BENCH_COMPARE`): "this package". */
const ownDist = [fileURLToPath(new URL('../dist/', import.meta.url)), ...(process.env.BENCH_COMPARE ? [process.env.BENCH_COMPARE] : [])];

/**
 * The category of a profile node's code.
 *
 * @param {{ functionName: string, url: string }} frame
 * @returns {string | undefined} `undefined` for idle time
 */
export function categoryOf({ functionName, url }) {
  if (functionName === '(idle)') return undefined;
  if (functionName === '(garbage collector)') return 'GC';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  if (ownDist.some((dir) => path.startsWith(dir))) return 'this package';
  const inModules = path.lastIndexOf('/node_modules/');
  if (inModules !== -1) {
    const [scope, name] = path.slice(inModules + '/node_modules/'.length).split('/');
    const pkg = scope?.startsWith('@') ? `${scope}/${name}` : scope ?? '';
    if (pkg === 'cookie') return 'cookie';
    if (pkg === 'accepts' || pkg === 'negotiator') return 'accepts';
    if (pkg === 'express-session' || pkg === 'uid-safe' || pkg === 'random-bytes' || pkg === 'on-headers' || pkg === 'crc') return 'express-session';
    if (pkg === 'connect-redis' || pkg.startsWith('@redis/') || pkg === 'redis' || pkg === 'cluster-key-slot') return 'connect-redis + redis';
    if (pkg === 'openid-client' || pkg === 'oauth4webapi' || pkg === 'jose' || pkg === 'undici') return 'openid-client, jose, undici';
    if (pkg === 'iron-session' || pkg === 'iron-webcrypto' || pkg === 'uncrypto') return 'iron-session';
    if (pkg === 'express-openid-connect' || pkg === 'joi' || pkg.startsWith('@hapi/') || pkg === 'futoin-hkdf' || pkg === 'cb' || pkg === 'url-join') return 'express-openid-connect';
    if (EXPRESS_FAMILY.has(pkg)) return 'Express';
    return 'other';
  }
  if (path.startsWith('node:') || (url === '' && functionName !== '(program)' && functionName !== '(root)')) return 'node core'; // a builtin without a caller with a URL
  return 'other';
}

/**
 * @typedef {object} ProfileSummary
 * @property {Record<string, number>} perRequest µs of server CPU per request, by category
 * @property {number} busy the share of the profile's time that was not idle (0 to 1)
 * @property {{ name: string, us: number }[]} ownTop this package's functions with the most self time, µs per request
 */

/**
 * Self time by category, per request.
 *
 * @param {any} profile a `.cpuprofile` (Profiler.Profile)
 * @param {number} cpu the server's CPU time per request over the profile's window, µs
 * @returns {ProfileSummary}
 */
export function summarise(profile, cpu) {
  /** @type {Map<number, any>} */
  const nodes = new Map(profile.nodes.map((/** @type {any} */ n) => [n.id, n]));
  /** @type {Map<number, number>} */
  const parents = new Map();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  /**
   * The frame a node's time is counted for: a V8 builtin or a native function (no script URL:
   * `JSON.stringify`, `WeakMap.prototype.set`, `RegExp.prototype.exec`, `writev`, …) counts for
   * the nearest caller that has one, so that the work this package asks of V8 is its own.
   *
   * @param {number} id
   * @returns {any}
   */
  const frameOf = (id) => {
    let frame = nodes.get(id)?.callFrame;
    if (frame === undefined || frame.url !== '' || frame.functionName.startsWith('(')) return frame;
    for (let up = parents.get(id); up !== undefined; up = parents.get(up)) {
      const caller = nodes.get(up)?.callFrame;
      if (caller !== undefined && caller.url !== '') return caller;
    }
    return frame;
  };
  /** @type {Map<number, number>} */
  const self = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) self.set(samples[i], (self.get(samples[i]) ?? 0) + Math.max(0, timeDeltas[i + 1] ?? 0));
  /** @type {Record<string, number>} */
  const perRequest = Object.fromEntries(CATEGORIES.map((c) => [c, 0]));
  /** @type {Map<string, number>} */
  const own = new Map();
  let sampled = 0;
  let total = 0;
  for (const us of self.values()) total += us;
  for (const [id, us] of self) {
    const frame = frameOf(id);
    const category = frame === undefined ? 'other' : categoryOf(frame);
    if (category === undefined) continue;
    perRequest[category] = (perRequest[category] ?? 0) + us;
    sampled += us;
    if (category === 'this package') {
      const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*\/dist\//, '')}:${frame.lineNumber + 1}`;
      own.set(name, (own.get(name) ?? 0) + us);
    }
  }
  const scale = sampled === 0 ? 0 : cpu / sampled;
  for (const category of Object.keys(perRequest)) perRequest[category] = (perRequest[category] ?? 0) * scale;
  const ownTop = [...own].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([name, us]) => ({ name, us: us * scale }));
  return { perRequest, busy: total === 0 ? 0 : sampled / total, ownTop };
}

/**
 * @typedef {object} ProfiledLoad
 * @property {number} rps
 * @property {number} requests
 * @property {number} cpu server CPU µs per request (process.cpuUsage(), every thread)
 * @property {ProfileSummary} profile
 */

/**
 * Load on `c`'s guarded route for `seconds`, the server profiled meanwhile.
 *
 * @param {import('./contestants.js').Contestant} c signed in (its `cookieHeader` set)
 * @param {{ seconds: number, connections: number, saveTo?: string }} options `saveTo`: a folder to
 *   write the `.cpuprofile` to (`{key}-{time}.cpuprofile`), to open in Chrome DevTools
 * @returns {Promise<ProfiledLoad>}
 */
export async function profiledLoad(c, { seconds, connections, saveTo }) {
  const server = /** @type {import('./child.js').Child} */ (c.server);
  await server.call('profileStart');
  const cpuBefore = await server.call('cpu');
  const result = await loadTest({ url: `http://127.0.0.1:${c.port}/profile`, cpu: LOAD_CPU, connections, cookie: c.cookieHeader, seconds });
  const cpu = ((await server.call('cpu')) - cpuBefore) / result.requests;
  const json = await server.call('profileStop');
  if (saveTo !== undefined) writeFileSync(join(saveTo, `${c.key}-${Date.now()}.cpuprofile`), json);
  return { rps: result.rps, requests: result.requests, cpu, profile: summarise(JSON.parse(json), cpu) };
}

/**
 * Logins by `users` at once on `c` for `seconds`, the server profiled meanwhile: µs of server CPU
 * per login by category, and the provider's CPU per login beside it.
 *
 * @param {import('./contestants.js').Contestant} c
 * @param {import('./child.js').Child} provider
 * @param {(until: () => boolean) => Promise<number>} logins runs logins until `until()`, returns their count
 * @param {number} seconds
 * @returns {Promise<ProfiledLoad & { providerCpu: number }>} `rps` is logins/s, `cpu` µs per login
 */
export async function profiledLogins(c, provider, logins, seconds) {
  const server = /** @type {import('./child.js').Child} */ (c.server);
  await server.call('profileStart');
  const [cpuBefore, providerBefore] = [await server.call('cpu'), await provider.call('cpu')];
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  const count = await logins(() => performance.now() >= deadline);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = ((await server.call('cpu')) - cpuBefore) / count;
  const providerCpu = ((await provider.call('cpu')) - providerBefore) / count;
  const json = await server.call('profileStop');
  return { rps: count / elapsed, requests: count, cpu, providerCpu, profile: summarise(JSON.parse(json), cpu) };
}

/**
 * The table of µs per request by category, one row per contestant (the medians of its runs).
 *
 * @param {{ label: string, runs: ProfiledLoad[] }[]} rows
 * @param {(values: number[]) => string} show e.g. median [min–max]
 * @param {string} [unit] what one is: `request` (default) or `login`
 * @returns {string}
 */
export function formatProfiles(rows, show, unit = 'request') {
  const used = CATEGORIES.filter((cat) => rows.some((r) => r.runs.some((run) => (run.profile.perRequest[cat] ?? 0) >= 0.5)));
  return table(
    ['contestant', `${unit === 'request' ? 'req' : 'logins'}/s (profiled)`, `server CPU µs/${unit}`, ...used.map((cat) => `${cat} µs`)],
    rows.map(({ label, runs }) => [label, show(runs.map((r) => r.rps)), show(runs.map((r) => r.cpu)),
      ...used.map((cat) => show(runs.map((r) => r.profile.perRequest[cat] ?? 0)))]),
  );
}
