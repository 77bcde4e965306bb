// @ts-check
/**
 * The contestants: one server each in bench/servers/, all behind the same provider with the same
 * client settings (client_secret_basic, scope `openid profile email`, code flow with PKCE).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * @typedef {object} Contestant
 * @property {string} key
 * @property {string} script its server: bench/servers/{script}.js
 * @property {Record<string, string>} [env] more environment for its server
 * @property {string} label
 * @property {boolean} logs it has login routes (all but the bare route)
 * @property {boolean} loginBench its login is measured
 * @property {boolean} memory the memory phase runs it
 * @property {boolean} isThisPackage the printout's goals are checked for it
 * @property {string} [baseline] the key of the contestant its guarded req/s is held to (a goal:
 *   ≥ 0.90 × the baseline's, in the same round); this package's set-ups only
 * @property {string} [cookieFrom] the key of the contestant whose browser `Cookie` header it is sent
 *   (a route without login, measured with the same request as that one's)
 * @property {boolean} [redis] its server's express-session store is connect-redis on the bench's redis-server
 * @property {RegExp} sessionCookie the names of its session cookie (and its chunks)
 * @property {string} clientId
 * @property {string} clientSecret
 * @property {number} port
 * @property {import('./child.js').Child} [server]
 * @property {string} [cookieHeader] the browser's `Cookie` header to the app after its latest login
 */

/**
 * The installed version of a dependency.
 *
 * @param {string} name
 * @returns {string}
 */
function versionOf(name) {
  const path = fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8')).version;
}

/**
 * The contestants, in the order each round runs them.
 *
 * @param {string | undefined} compare the dist/ directory of another build of this package to run too
 * @param {string | undefined} only comma-separated keys: only these (and their baselines, and
 *   the bare route); all when `undefined`
 * @returns {Contestant[]}
 */
export function contestants(compare, only) {
  const oidcSession = /^oidc_session(\.\d+)?$/;
  /** @type {Omit<Contestant, 'clientId' | 'clientSecret' | 'port'>[]} */
  const list = [
    { key: 'bare', script: 'bare', label: 'bare Express route, no auth (ceiling)', logs: false, loginBench: false, memory: false, isThisPackage: false, sessionCookie: /^$/ },
    {
      key: 'bare-cookie', script: 'bare', label: 'bare Express route, sent the session option\'s Cookie header', logs: false, loginBench: false, memory: false,
      isThisPackage: false, cookieFrom: 'this-package-session-option', sessionCookie: /^$/,
    },
    {
      key: 'this-package', script: 'this-package', label: 'express-oidc-callback, app.use(session(…))', logs: true, loginBench: true, memory: true,
      isThisPackage: true, baseline: 'express-session', sessionCookie: oidcSession,
    },
    {
      key: 'this-package-session-option', script: 'this-package', label: 'express-oidc-callback, session option', logs: true, loginBench: true, memory: true,
      isThisPackage: true, baseline: 'bare', sessionCookie: oidcSession, env: { BENCH_SESSION_OPTION: '1' },
    },
    {
      key: 'this-package-store-redis', script: 'this-package', label: 'express-oidc-callback, sessionStorage \'store\' + connect-redis', logs: true, loginBench: false, memory: false,
      isThisPackage: true, baseline: 'express-session-redis', redis: true, sessionCookie: oidcSession,
      env: { BENCH_SESSION_OPTION: '1', BENCH_SESSION_STORAGE: 'store' },
    },
    // BENCH_COMPARE_SESSION_OPTION=1: the compared build with the session option (else app.use(session(…))).
    ...(compare === undefined ? [] : [process.env.BENCH_COMPARE_SESSION_OPTION === '1' ? {
      key: 'this-package-compare', script: 'this-package', label: `express-oidc-callback from ${compare}, session option`, logs: true, loginBench: true, memory: true,
      isThisPackage: true, baseline: 'bare', sessionCookie: oidcSession, env: { BENCH_SESSION_OPTION: '1', BENCH_DIST: resolve(compare, 'index.js') },
    } : {
      key: 'this-package-compare', script: 'this-package', label: `express-oidc-callback from ${compare}`, logs: true, loginBench: true, memory: true,
      isThisPackage: true, baseline: 'express-session', sessionCookie: oidcSession, env: { BENCH_DIST: resolve(compare, 'index.js') },
    }]),
    { key: 'express-openid-connect', script: 'express-openid-connect', label: `express-openid-connect ${versionOf('express-openid-connect')}`, logs: true, loginBench: true, memory: true, isThisPackage: false, sessionCookie: /^appSession(\.\d+)?$/ },
    {
      key: 'express-session', script: 'express-session', label: `express-session ${versionOf('express-session')} + MemoryStore, holding the token set`, logs: true, loginBench: false, memory: false,
      isThisPackage: false, sessionCookie: /^connect\.sid$/,
    },
    {
      key: 'express-session-redis', script: 'express-session', label: `express-session ${versionOf('express-session')} + connect-redis ${versionOf('connect-redis')}, holding the token set`, logs: true,
      loginBench: false, memory: false, isThisPackage: false, redis: true, sessionCookie: /^connect\.sid$/,
    },
    { key: 'iron-session', script: 'iron-session', label: `iron-session ${versionOf('iron-session')}`, logs: true, loginBench: false, memory: false, isThisPackage: false, sessionCookie: /^iron_session$/ },
  ];
  const keys = only?.split(',').map((k) => k.trim()).filter((k) => k !== '');
  const unknown = keys?.filter((k) => !list.some((c) => c.key === k)) ?? [];
  if (unknown.length > 0) throw new TypeError(`unknown contestant ${unknown.join(', ')}: one of ${list.map((c) => c.key).join(', ')}`);
  /** @type {Set<string> | undefined} */
  const wanted = keys === undefined ? undefined : new Set(['bare', ...keys, ...list.filter((c) => keys.includes(c.key)).flatMap((c) => [c.baseline ?? 'bare', c.cookieFrom ?? 'bare'])]);
  for (const c of list) if (wanted !== undefined && c.cookieFrom !== undefined && wanted.has(c.cookieFrom)) wanted.add(c.key);
  // Client ids and secrets keep their index in the whole list whatever the selection: one length for all.
  return list.map((c, i) => ({
    ...c,
    // Client ids and secrets of one length, so that every ID token (its `aud`) has the same size.
    clientId: `bench-rp-${i}`,
    clientSecret: `bench-client-secret-${i}-0123456789abcdef`,
    port: 0,
  })).filter((c) => wanted === undefined || wanted.has(c.key));
}
