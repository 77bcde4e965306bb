// @ts-check
/**
 * The load generator of long-run.js: one autocannon (its JavaScript API) for the whole run, in its
 * own process, so that its own drift over a long life shows too. The orchestrator asks `sample`
 * (the responses since the last `sample`, by class, and this process's CPU time and memory, heap
 * read after a full GC when node runs with `--expose-gc`).
 *
 * Environment: `LOAD_URL`, `LOAD_COOKIE` (the `Cookie` header, may be empty), `LOAD_CONNECTIONS`,
 * `LOAD_SECONDS`.
 */
// @ts-expect-error autocannon ships no types
import autocannon from 'autocannon';
import { serveParent } from './child.js';

let ok = 0;
let failed = 0;
const cookie = process.env.LOAD_COOKIE;
const instance = autocannon({
  url: process.env.LOAD_URL ?? '',
  connections: Number(process.env.LOAD_CONNECTIONS ?? 10),
  duration: Number(process.env.LOAD_SECONDS ?? 60),
  ...(cookie ? { headers: { cookie } } : {}),
});
instance.on('response', (/** @type {unknown} */ _client, /** @type {number} */ statusCode) => {
  if (statusCode >= 200 && statusCode < 300) ok++;
  else failed++;
});
instance.on('reqError', () => {
  failed++;
});

serveParent({
  sample: () => {
    const gc = /** @type {undefined | (() => void)} */ (globalThis.gc);
    const result = { ok, failed, cpu: process.cpuUsage(), memory: (gc?.(), process.memoryUsage()) };
    ok = 0;
    failed = 0;
    return result;
  },
}, {});
