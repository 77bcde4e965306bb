// @ts-check
/**
 * The load generator of long-run.js: one autocannon (its JavaScript API) for the whole run, in its
 * own process, so that its own drift over a long life shows too. Its connections share one cookie
 * jar, as the tabs of one browser do: a `Set-Cookie` in a response (the session cookie resealed
 * when its idle lifetime is extended, every `sessionTouchInterval`) replaces the cookie that the
 * following requests of every connection send. (autocannon's command line sends a fixed `Cookie`
 * header: after 5 minutes each request would then ask for a touch that never reaches the
 * browser, and pay for a reseal.) The orchestrator asks `sample`: the responses since the last
 * `sample`, by class, the `Set-Cookie` headers received, and this process's CPU time and memory
 * (heap read after a full GC when node runs with `--expose-gc`).
 *
 * Environment: `LOAD_URL`, `LOAD_COOKIE` (the `Cookie` header, may be empty), `LOAD_CONNECTIONS`,
 * `LOAD_SECONDS`.
 */
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';
import { serveParent } from './child.js';

/** The jar: cookie name → value, in the order the header sends them. */
const jar = new Map((process.env.LOAD_COOKIE ?? '').split('; ').filter((pair) => pair.includes('=')).map((pair) => {
  const eq = pair.indexOf('=');
  return /** @type {[string, string]} */ ([pair.slice(0, eq), pair.slice(eq + 1)]);
}));
let cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
/** Bumped by every `Set-Cookie`; each connection sends the jar of its version. */
let version = 0;
let setCookies = 0;

/**
 * Applies one `Set-Cookie` header to the jar: a value replaces the cookie, an empty or expired one
 * removes it.
 *
 * @param {string} header
 */
function setCookie(header) {
  const [pair = '', ...attributes] = header.split(';');
  const eq = pair.indexOf('=');
  if (eq === -1) return;
  const name = pair.slice(0, eq).trim();
  const value = pair.slice(eq + 1).trim();
  const expired = attributes.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a) || /^\s*expires\s*=\s*thu, 01 jan 1970/i.test(a));
  if (value === '' || expired) jar.delete(name);
  else jar.set(name, value);
  cookie = [...jar].map(([n, v]) => `${n}=${v}`).join('; ');
  version++;
  setCookies++;
}

let ok = 0;
let failed = 0;
const instance = autocannon({
  url: process.env.LOAD_URL ?? '',
  connections: Number(process.env.LOAD_CONNECTIONS ?? 10),
  duration: Number(process.env.LOAD_SECONDS ?? 60),
  ...(cookie ? { headers: { cookie } } : {}),
});
/** @type {WeakMap<object, number>} each connection's jar version */
const versions = new WeakMap();
instance.on('response', (/** @type {any} */ client, /** @type {number} */ statusCode) => {
  if (statusCode >= 200 && statusCode < 300) ok++;
  else failed++;
  const seen = versions.get(client);
  if (seen === undefined) {
    // From its next response on, this connection reads the headers for Set-Cookie.
    client.on('headers', (/** @type {{ headers: string[] }} */ { headers }) => {
      for (let i = 0; i < headers.length; i += 2) if (headers[i]?.toLowerCase() === 'set-cookie') setCookie(headers[i + 1] ?? '');
    });
  }
  if (seen !== version) {
    if (seen !== undefined || version > 0) client.setHeaders({ cookie });
    versions.set(client, version);
  }
});
instance.on('reqError', () => {
  failed++;
});

serveParent({
  sample: () => {
    const gc = /** @type {undefined | (() => void)} */ (globalThis.gc);
    const result = { ok, failed, setCookies, cpu: process.cpuUsage(), memory: (gc?.(), process.memoryUsage()) };
    ok = 0;
    failed = 0;
    setCookies = 0;
    return result;
  },
}, {});
