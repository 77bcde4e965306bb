// @ts-check
/**
 * What anonymous logins leave behind: `BENCH_ANONYMOUS_LOGINS` (100,000) `GET /login` requests,
 * none ever finished, against an app with express-session and its MemoryStore mounted for the
 * whole app, then the store's records and the heap after a full garbage collection. A pending
 * login is a sealed cookie in the browser, so the store should hold nothing and the heap should
 * come back to where it started.
 *
 * The reference, measured in the same run: the same requests to a route that keeps a pending
 * login in express-session, as 0.1.x did (one MemoryStore record per request, without expiry).
 *
 * Run with `npm run bench:anonymous` (node --expose-gc). Prints a markdown table to stdout.
 */
import { createServer, Agent, request } from 'node:http';
import { randomBytes } from 'node:crypto';
import express from 'express';
import session from 'express-session';
import { authCallback } from '../dist/index.js';
import { startDevProvider } from '../example-app/dev-provider.js';

const REQUESTS = Number(process.env.BENCH_ANONYMOUS_LOGINS ?? 100_000);
const CONCURRENCY = 32;
const SECRET = 'a-benchmark-secret-of-at-least-32-characters';
const TRANSACTION_DURATION = 3600;

const gc = /** @type {() => void} */ (globalThis.gc);
if (typeof gc !== 'function') throw new Error('run with node --expose-gc (npm run bench:anonymous does)');

/** @param {import('node:http').Server} server @returns {Promise<number>} */
function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(/** @type {import('node:net').AddressInfo} */ (server.address()).port)));
}

/** The heap in use after full collections, in bytes. */
async function settledHeap() {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

/** @param {import('express-session').MemoryStore} store @returns {Promise<Record<string, any>>} */
function records(store) {
  return new Promise((resolve, reject) => store.all((err, all) => (err ? reject(err) : resolve(/** @type {Record<string, any>} */ (all ?? {})))));
}

/**
 * `count` GETs of `url`, `CONCURRENCY` at a time, each a new browser (no cookie); every answer
 * must be a 302. The time they took, in seconds.
 *
 * @param {string} url
 * @param {number} count
 */
async function hammer(url, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let sent = 0;
  let wrong = 0;
  const one = () => new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      if (res.statusCode !== 302) wrong++;
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
  const worker = async () => {
    while (sent < count) {
      sent++;
      await one();
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  if (wrong > 0) throw new Error(`${wrong} answers to ${url} were not 302`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/**
 * One setup: an app on its own port, hammered; what its store and the heap hold afterwards.
 *
 * @param {string} label
 * @param {(app: import('express').Express, baseURL: string) => void} mount
 */
async function measure(label, mount) {
  const server = createServer();
  const port = await listen(server);
  const baseURL = `http://localhost:${port}`;
  const store = new session.MemoryStore();
  const app = express();
  app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false }));
  mount(app, baseURL);
  server.on('request', app);
  await hammer(`${baseURL}/login`, 2000); // warm-up: discovery, JIT; then a clean store
  await new Promise((resolve, reject) => store.clear((err) => (err ? reject(err) : resolve(undefined))));
  const heapBefore = await settledHeap();
  const seconds = await hammer(`${baseURL}/login`, REQUESTS);
  const held = await records(store);
  const now = Date.now();
  // Seconds each record still has to live; Infinity without an expiry (MemoryStore keeps it for ever).
  const lives = Object.values(held).map((r) => r?.cookie?.expires ? (new Date(r.cookie.expires).getTime() - now) / 1000 : Infinity);
  const heapAfter = await settledHeap();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  return {
    label,
    perSecond: REQUESTS / seconds,
    records: Object.keys(held).length,
    withoutExpiry: lives.filter((l) => l === Infinity).length,
    outliving: lives.filter((l) => l > TRANSACTION_DURATION).length,
    heapGrowthMB: (heapAfter - heapBefore) / 2 ** 20,
  };
}

const provider = await startDevProvider({ clients: [{ client_id: 'bench', client_secret: 'bench-client-secret', redirect_uris: ['http://localhost/callback'] }] });
try {
  const ours = await measure('this package: GET /login', (app, baseURL) => {
    app.use(authCallback({ issuer: provider.issuer, clientId: 'bench', clientSecret: 'bench-client-secret', baseURL, secret: SECRET, transactionDuration: TRANSACTION_DURATION }));
  });
  const reference = await measure('reference: a pending login kept in express-session (0.1.x)', (app) => {
    app.get('/login', (req, res) => {
      /** @type {any} */ (req.session).oidcTransactions = { [randomBytes(32).toString('base64url')]: { nonce: randomBytes(32).toString('base64url'), codeVerifier: randomBytes(32).toString('base64url'), returnTo: '/', createdAt: Math.floor(Date.now() / 1000) } };
      res.redirect(302, `${provider.issuer}/auth`);
    });
  });
  const mb = (/** @type {number} */ n) => `${n >= 0 ? '+' : ''}${n.toFixed(1)} MB`;
  const print = (/** @type {string} */ line) => process.stdout.write(`${line}\n`);
  print(`\n${REQUESTS.toLocaleString('en')} anonymous GET /login (${CONCURRENCY} at a time, each without cookies), express-session's MemoryStore, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}\n`);
  print('| setup | logins started/s | store records after | of them without expiry | of them outliving transactionDuration | heap after GC vs before |');
  print('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of [ours, reference]) {
    print(`| ${r.label} | ${Math.round(r.perSecond).toLocaleString('en')} | ${r.records.toLocaleString('en')} | ${r.withoutExpiry.toLocaleString('en')} | ${r.outliving.toLocaleString('en')} | ${mb(r.heapGrowthMB)} |`);
  }
  print(`\nheap growth per request: this package ${(ours.heapGrowthMB * 2 ** 20 / REQUESTS).toFixed(0)} bytes, reference ${(reference.heapGrowthMB * 2 ** 20 / REQUESTS).toFixed(0)} bytes`);
} finally {
  await provider.close();
}
