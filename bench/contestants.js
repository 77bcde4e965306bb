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
 * @returns {Contestant[]}
 */
export function contestants(compare) {
  const oidcSession = /^oidc_session(\.\d+)?$/;
  const list = [
    { key: 'bare', script: 'bare', label: 'bare Express route, no auth (ceiling)', logs: false, loginBench: false, memory: false, isThisPackage: false, sessionCookie: /^$/ },
    { key: 'this-package', script: 'this-package', label: 'express-oidc-callback, app.use(session(…))', logs: true, loginBench: true, memory: true, isThisPackage: true, sessionCookie: oidcSession },
    {
      key: 'this-package-session-option', script: 'this-package', label: 'express-oidc-callback, session option', logs: true, loginBench: true, memory: true,
      isThisPackage: true, sessionCookie: oidcSession, env: { BENCH_SESSION_OPTION: '1' },
    },
    ...(compare === undefined ? [] : [{
      key: 'this-package-compare', script: 'this-package', label: `express-oidc-callback from ${compare}`, logs: true, loginBench: true, memory: true,
      isThisPackage: true, sessionCookie: oidcSession, env: { BENCH_DIST: resolve(compare, 'index.js') },
    }]),
    { key: 'express-openid-connect', script: 'express-openid-connect', label: `express-openid-connect ${versionOf('express-openid-connect')}`, logs: true, loginBench: true, memory: true, isThisPackage: false, sessionCookie: /^appSession(\.\d+)?$/ },
    { key: 'express-session', script: 'express-session', label: `express-session ${versionOf('express-session')} + MemoryStore`, logs: true, loginBench: false, memory: false, isThisPackage: false, sessionCookie: /^connect\.sid$/ },
    { key: 'iron-session', script: 'iron-session', label: `iron-session ${versionOf('iron-session')}`, logs: true, loginBench: false, memory: false, isThisPackage: false, sessionCookie: /^iron_session$/ },
  ];
  return list.map((c, i) => ({
    ...c,
    // Client ids and secrets of one length, so that every ID token (its `aud`) has the same size.
    clientId: `bench-rp-${i}`,
    clientSecret: `bench-client-secret-${i}-0123456789abcdef`,
    port: 0,
  }));
}
