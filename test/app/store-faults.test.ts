/**
 * Store faults and store record lifetimes, end to end: a real `redis-server` through connect-redis
 * and node-redis, express-session given to `authCallback()` (its `session` option), server-side
 * sessions (`sessionStorage: 'store'`) and back-channel logout, the hostile provider (refresh
 * token rotation, logout tokens signed by the test), a real cookie jar.
 *
 * - Records expire with their sessions: Redis's PTTL of a session record follows the session's
 *   idle expiry, is extended by activity, never passes the absolute lifetime; a logout mark lasts
 *   `sessionDuration`; logout deletes the record.
 * - An outage (Redis down, or hung) is a 503 `store_unavailable` within `storeTimeout` on every
 *   route, the session cookie is kept, and once Redis is back nothing is lost.
 * - A refresh whose tokens cannot be written does not lose the session, though the provider
 *   rotated the refresh token.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { RedisStore } from 'connect-redis';
import express, { type Express } from 'express';
import session from 'express-session';
import { authCallback, requireAuth, type AuthCallbackConfig, type RefreshLock } from 'express-oidc-callback';
import { createClient } from 'redis';
import { recordKey } from '../../lib/session/record-store.js';
import { Sealer } from '../../lib/session/seal.js';
import { Browser, type Page } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { serveApp } from '../support/http-server.js';
import { ROUTE, expectAccepted, form, hostile, logoutClaims, mint, postLogout, useLogoutTokenProvider, type Answer } from '../support/logout-tokens.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { CLIENT_ID, CLIENT_SECRET, SECRET, SESSION_SECRET } from '../support/testbed.js';

/** authCallback()'s storeTimeout here, in seconds. */
const STORE_TIMEOUT = 0.5;
/** A store fault's 503 comes within storeTimeout; this bound (ms) leaves a second for the rest of the request. */
const ANSWER_BOUND_MS = (STORE_TIMEOUT + 1) * 1000;
const COOKIE = 'oidc_session';
/** The hostile provider's user. */
const USER = 'mallory';
const JSON_ACCEPT = { accept: 'application/json' };

type ClientOptions = NonNullable<Parameters<typeof createClient>[0]>;

interface App {
  baseURL: string;
  close(): Promise<void>;
}

/** What the session cookie holds (`sessionStorage: 'store'`), times in seconds since the epoch. */
interface Reference {
  ref: string;
  createdAt: number;
  iat: number;
  exp: number;
}

useLogoutTokenProvider();

let redis: RedisServer;
/** A client of the test's own, to read what Redis holds. */
let inspector: ReturnType<typeof createClient>;
beforeAll(async () => {
  redis = await startRedisServer();
  inspector = createClient({ url: redis.url });
  inspector.on('error', () => undefined); // while Redis is down
  await inspector.connect();
});
afterAll(async () => {
  inspector?.destroy();
  await redis?.stop();
});

const running: App[] = [];
afterEach(async () => {
  redis.resume();
  await redis.up();
  await Promise.all(running.splice(0).map((app) => app.close()));
  hostile.behaviour.expiresIn = 3600;
});

/**
 * An app with server-side sessions in Redis (connect-redis on a node-redis client made with
 * `clientOptions`), express-session given as the `session` option, the back-channel logout route,
 * `GET /api/me` (every claim, 401 when signed out), `POST /api/refresh` (`req.oidc.refresh()`)
 * and errors as JSON.
 */
async function startApp(auth: Partial<AuthCallbackConfig> = {}, clientOptions: ClientOptions = {}, routes?: (app: Express) => void): Promise<App> {
  const client = createClient({ url: redis.url, ...clientOptions });
  client.on('error', () => undefined); // reconnection errors while Redis is down: these tests cause them
  await client.connect();
  const store = new RedisStore({ client });
  const server = await serveApp((baseURL) => {
    const app = express();
    app.use(authCallback({
      issuer: hostile.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET,
      sessionStorage: 'store',
      storeTimeout: STORE_TIMEOUT,
      routes: { backchannelLogout: ROUTE },
      session: session({ store, secret: SESSION_SECRET, resave: false, saveUninitialized: false }),
      ...auth,
    }));
    app.get('/api/me', requireAuth({ redirect: false }), (req, res) => { res.json(req.oidc.claims); });
    app.post('/api/refresh', requireAuth({ redirect: false }), async (req, res, next) => {
      try {
        await req.oidc.refresh();
        res.json({ refreshed: true });
      } catch (err) {
        next(err);
      }
    });
    routes?.(app);
    app.use(errorAsJson);
    return app;
  });
  const app = { baseURL: server.baseURL, close: async () => { await server.close(); client.destroy(); } };
  running.push(app);
  return app;
}

/** Signs in through the hostile provider with ID token claims over its own (e.g. `{ sid }`). */
async function signIn(app: App, claims: Record<string, unknown> = {}): Promise<Browser> {
  hostile.behaviour.claims = claims;
  const browser = new Browser();
  try {
    const landed = await browser.visit(`${app.baseURL}/login?returnTo=%2Fapi%2Fme`);
    expect(landed.status).toBe(200);
    expect(JSON.parse(landed.body)).toMatchObject({ sub: USER, ...claims });
  } finally {
    hostile.behaviour.claims = {};
  }
  return browser;
}

async function me(browser: Browser, app: App): Promise<Page> {
  return browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
}

/** `run`'s answer, and how long it took in milliseconds. */
async function timed<T>(run: () => Promise<T>): Promise<{ answer: T; ms: number }> {
  const started = Date.now();
  const answer = await run();
  return { answer, ms: Date.now() - started };
}

/** `GET /api/me` until it is not a 5xx (node-redis reconnects on its own schedule), at most 5 s. */
async function meOnceBack(browser: Browser, app: App): Promise<Page> {
  let page = await me(browser, app);
  for (let i = 0; page.status >= 500 && i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    page = await me(browser, app);
  }
  return page;
}

/** A store fault's answer: 503 store_unavailable as JSON, no raw store error in it, the session cookie (or a chunk) neither set nor cleared. */
function expectStoreUnavailable(page: Page | Answer): void {
  expect(page.status).toBe(503);
  const body = JSON.parse(page.body) as { code: string; message: string };
  expect(body.code).toBe('store_unavailable');
  expect(body.message).not.toMatch(/ClientOfflineError|ECONNREFUSED|Socket|closed/i);
  expect(page.headers.getSetCookie().filter((c) => /^oidc_session(\.\d+)?=/.test(c))).toEqual([]);
}

async function cookieOf(browser: Browser, app: App): Promise<string> {
  const value = await browser.cookie(app.baseURL, COOKIE);
  if (value === undefined) throw new Error(`no ${COOKIE} cookie`);
  return value;
}

async function referenceOf(browser: Browser, app: App): Promise<Reference> {
  return new Sealer([SECRET]).unseal<Reference>(await cookieOf(browser, app))!.payload;
}

/** The Redis key of a record this package names `key` (connect-redis's prefix, `sess:`). */
function redisKey(key: string): string {
  return `sess:${key}`;
}

/** Sleeps until `at` (seconds since the epoch). */
async function until(at: number): Promise<void> {
  const ms = at * 1000 - Date.now();
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Takes Redis down (`SHUTDOWN SAVE`, connections refused) or freezes it (SIGSTOP: connections open, no answers). */
const FAULTS = {
  down: { start: () => redis.down(), end: () => redis.up() },
  hung: { start: () => redis.pause(), end: () => redis.resume() },
} as const;

/**
 * Runs `fault` when the provider receives its next token request, before the request is
 * handled: the provider answers (and rotates the refresh token) after the store failed.
 */
function onNextTokenRequest(fault: () => unknown): void {
  const server = hostile.server;
  const listeners = server.listeners('request') as RequestListener[];
  const restore = (): void => {
    server.removeAllListeners('request');
    for (const listener of listeners) server.on('request', listener);
  };
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const forward = (): void => {
      for (const listener of listeners) listener.call(server, req, res);
    };
    if (req.method !== 'POST' || req.url !== '/token') {
      forward();
      return;
    }
    restore();
    Promise.resolve(fault()).then(forward, forward); // the request body waits, unread, meanwhile
  });
}

describe('store records expire with their sessions (Redis PTTL)', () => {
  /**
   * The session record's PTTL is the cookie's own expiry (connect-redis hands Redis whole seconds,
   * rounded up); the cookie's expiry is the idle one, capped by the absolute one.
   */
  async function expectRecordExpiresWithCookie(
    browser: Browser, app: App, duration: number, idle: number, providerEnd: (reference: Reference) => number = () => Infinity,
  ): Promise<Reference> {
    const reference = await referenceOf(browser, app);
    const ours = Math.min(Math.floor(reference.createdAt) + duration, reference.iat + idle);
    const provider = providerEnd(reference);
    if (provider >= ours) {
      expect(reference.exp).toBe(ours);
    } else { // the provider's end was read from its answer, up to a second before the cookie was sealed (iat)
      expect(reference.exp).toBeGreaterThanOrEqual(provider - 1);
      expect(reference.exp).toBeLessThanOrEqual(provider);
    }
    const pttl = await inspector.pTTL(redisKey(recordKey('session', reference.ref)));
    const remaining = reference.exp * 1000 - Date.now();
    expect(pttl).toBeGreaterThan(remaining - 500);
    expect(pttl).toBeLessThanOrEqual(remaining + 1000);
    return reference;
  }

  test('written at login until the idle expiry, extended by activity, never past the absolute lifetime; gone when the session ends', async () => {
    const duration = 6;
    const idle = 4;
    const app = await startApp({ sessionDuration: duration, sessionIdleDuration: idle, sessionTouchInterval: 1 });
    const browser = await signIn(app);
    const atLogin = await expectRecordExpiresWithCookie(browser, app, duration, idle);
    const start = Math.floor(atLogin.createdAt);
    expect(atLogin.exp).toBe(atLogin.iat + idle); // the idle expiry: the absolute one is later

    // Activity after sessionTouchInterval extends the idle expiry, and the record's TTL with it.
    await until(atLogin.iat + 1.05);
    expect((await me(browser, app)).status).toBe(200);
    const renewed = await expectRecordExpiresWithCookie(browser, app, duration, idle);
    expect(renewed.exp).toBeGreaterThan(atLogin.exp);

    // Near the end, the absolute lifetime caps it: the record expires with the session, not idle seconds later.
    await until(start + duration - idle + 0.05);
    expect((await me(browser, app)).status).toBe(200);
    const capped = await expectRecordExpiresWithCookie(browser, app, duration, idle);
    expect(capped.exp).toBe(start + duration);
    await until(capped.iat + 1.05);
    expect((await me(browser, app)).status).toBe(200);
    expect((await expectRecordExpiresWithCookie(browser, app, duration, idle)).exp).toBe(start + duration);

    // Once the session is over, Redis holds no record of it.
    await until(start + duration + 1.05);
    expect(await inspector.exists(redisKey(recordKey('session', capped.ref)))).toBe(0);
    expect((await me(browser, app)).status).toBe(401);
  });

  test('a provider session that ends sooner (refresh_expires_in) caps the record, at login and after a refresh', async () => {
    const app = await startApp();
    hostile.behaviour.tokenResponseExtras = { refresh_expires_in: 60 };
    try {
      const browser = await signIn(app);
      const reference = await expectRecordExpiresWithCookie(browser, app, 7 * 24 * 3600, 24 * 3600, (r) => r.iat + 60);
      hostile.behaviour.tokenResponseExtras = { refresh_expires_in: 90 }; // the provider extends its session at a refresh
      const refresh = await browser.request(`${app.baseURL}/api/refresh`, { method: 'POST', headers: JSON_ACCEPT });
      expect(refresh.status).toBe(200);
      const refreshed = await expectRecordExpiresWithCookie(browser, app, 7 * 24 * 3600, 24 * 3600, (r) => r.iat + 90);
      expect(refreshed.exp).toBeGreaterThan(reference.exp);
    } finally {
      hostile.behaviour.tokenResponseExtras = {};
    }
  });

  test('logout deletes the record at once', async () => {
    const app = await startApp();
    const browser = await signIn(app);
    const key = redisKey(recordKey('session', (await referenceOf(browser, app)).ref));
    expect(await inspector.exists(key)).toBe(1);
    expect((await browser.request(`${app.baseURL}/logout`)).status).toBe(302);
    expect(await inspector.exists(key)).toBe(0);
  });

  test('a back-channel logout mark lasts sessionDuration (the longest a session it ends can live); the token\'s jti as long as it could be replayed', async () => {
    const duration = 3600;
    const app = await startApp({ sessionDuration: duration });
    const browser = await signIn(app, { sid: 'ttl-sid' });
    const bySid = logoutClaims({ sid: 'ttl-sid' });
    const bySub = logoutClaims({ sub: 'ttl-user' });
    expectAccepted(await postLogout(app.baseURL, form(await mint(bySid))));
    expectAccepted(await postLogout(app.baseURL, form(await mint(bySub))));
    expect((await me(browser, app)).status).toBe(401);

    for (const key of [recordKey('logout-sid', hostile.issuer, 'ttl-sid'), recordKey('logout-sub', hostile.issuer, 'ttl-user')]) {
      const pttl = await inspector.pTTL(redisKey(key));
      expect(pttl).toBeGreaterThan((duration - 5) * 1000);
      expect(pttl).toBeLessThanOrEqual((duration + 1) * 1000);
    }
    // A logout token is accepted for 120 s after its iat, plus clockTolerance (30 s) either side.
    const jtiPttl = await inspector.pTTL(redisKey(recordKey('logout-jti', hostile.issuer, bySid.jti!)));
    expect(jtiPttl).toBeGreaterThan((180 - 5) * 1000);
    expect(jtiPttl).toBeLessThanOrEqual((180 + 1) * 1000);
  });
});

describe.each(Object.keys(FAULTS) as (keyof typeof FAULTS)[])('Redis %s (node-redis defaults: commands queued while disconnected)', (fault) => {
  test('a signed-in request is a 503 within storeTimeout, its cookie kept; once Redis is back the same cookie works', async () => {
    const app = await startApp();
    const browser = await signIn(app);
    const cookie = await cookieOf(browser, app);
    await FAULTS[fault].start();
    try {
      const { answer, ms } = await timed(() => me(browser, app));
      expectStoreUnavailable(answer);
      expect(ms).toBeLessThan(ANSWER_BOUND_MS);
      expect(await cookieOf(browser, app)).toBe(cookie);
    } finally {
      await FAULTS[fault].end();
    }
    const back = await meOnceBack(browser, app);
    expect(back.status).toBe(200);
    expect(JSON.parse(back.body)).toMatchObject({ sub: USER });
    expect(await cookieOf(browser, app)).toBe(cookie);
  });

  test('/login of a signed-in browser and the callback of a new login are 503s, not 500s; a new login works once Redis is back', async () => {
    const app = await startApp();
    const signedIn = await signIn(app);
    const newcomer = new Browser();
    const started = await newcomer.request(`${app.baseURL}/login`); // needs no store: the pending login is a cookie
    expect(started.status).toBe(302);
    const authorize = await newcomer.request(started.headers.get('location')!);
    expect(authorize.status).toBe(302);
    const callback = authorize.headers.get('location')!;
    expect(callback.startsWith(`${app.baseURL}/callback?`)).toBe(true);

    await FAULTS[fault].start();
    try {
      const login = await timed(() => signedIn.request(`${app.baseURL}/login`, { headers: JSON_ACCEPT }));
      expectStoreUnavailable(login.answer);
      expect(login.ms).toBeLessThan(ANSWER_BOUND_MS);
      const answered = await timed(() => newcomer.request(callback, { headers: JSON_ACCEPT }));
      expectStoreUnavailable(answered.answer);
      expect(answered.ms).toBeLessThan(ANSWER_BOUND_MS);
      expect(await newcomer.cookie(app.baseURL, COOKIE)).toBeUndefined();
    } finally {
      await FAULTS[fault].end();
    }
    expect((await meOnceBack(signedIn, app)).status).toBe(200);
    const again = await newcomer.visit(`${app.baseURL}/login?returnTo=%2Fapi%2Fme`);
    expect(again.url).toBe(`${app.baseURL}/api/me`);
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toMatchObject({ sub: USER });
  });

  test('a back-channel logout is a 503 (the provider may retry, §2.5), and the same logout token retried once Redis is back ends the session', async () => {
    const app = await startApp();
    const sid = `outage-${fault}`;
    const browser = await signIn(app, { sid });
    const token = await mint(logoutClaims({ sid }));
    await FAULTS[fault].start();
    try {
      const { answer, ms } = await timed(() => postLogout(app.baseURL, form(token)));
      expectStoreUnavailable(answer);
      expect(answer.headers.get('cache-control')).toBe('no-store'); // a cached error would answer the retry
      expect(ms).toBeLessThan(ANSWER_BOUND_MS);
    } finally {
      await FAULTS[fault].end();
    }
    expect((await meOnceBack(browser, app)).status).toBe(200); // the logout was not applied
    expectAccepted(await postLogout(app.baseURL, form(token)));
    expect((await me(browser, app)).status).toBe(401);
  });
});

describe('a refresh whose tokens cannot be written (the provider rotated the refresh token meanwhile)', () => {
  test.each([
    ['hung, node-redis defaults: the write waits in the socket and lands when Redis answers again', 'hung', {}],
    ['down, disableOfflineQueue: the write fails at once; this instance keeps the refreshed tokens for the next request', 'down', { disableOfflineQueue: true }],
  ] as const)('Redis %s. The session is not lost', async (_name, fault, clientOptions) => {
    const app = await startApp({}, clientOptions);
    hostile.behaviour.expiresIn = 1;
    const browser = await signIn(app);
    hostile.behaviour.expiresIn = 3600;
    const cookie = await cookieOf(browser, app);
    const refreshesBefore = hostile.refreshRequests().length;
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the access token expires: the next request refreshes

    onNextTokenRequest(() => FAULTS[fault].start());
    try {
      const { answer, ms } = await timed(() => me(browser, app));
      expectStoreUnavailable(answer);
      expect(ms).toBeLessThan(2 * ANSWER_BOUND_MS); // the refresh, then the write held to storeTimeout (retried within it)
      expect(hostile.refreshRequests().length).toBe(refreshesBefore + 1); // the old refresh token is now revoked
      expect(await cookieOf(browser, app)).toBe(cookie);
    } finally {
      await FAULTS[fault].end();
    }
    const back = await meOnceBack(browser, app);
    expect(back.status).toBe(200);
    expect(JSON.parse(back.body)).toMatchObject({ sub: USER });
    // No second refresh (it would have sent the revoked refresh token and ended the session).
    expect(hostile.refreshRequests().length).toBe(refreshesBefore + 1);

    // The store now holds the refreshed tokens: another instance serves the same cookie without refreshing.
    const other = await startApp();
    const elsewhere = await fetch(`${other.baseURL}/api/me`, { headers: { ...JSON_ACCEPT, cookie: `${COOKIE}=${cookie}` } });
    expect(elsewhere.status).toBe(200);
    expect(await elsewhere.json()).toMatchObject({ sub: USER });
    expect(hostile.refreshRequests().length).toBe(refreshesBefore + 1);
    {
      // The late write (ours, or the store's queued one) gave the refresh lease up, kept while the
      // tokens were unwritten: an explicit refresh now goes to the provider at once, not after the
      // lease time (62 s with the defaults).
      const leaseKey = redisKey(recordKey('refresh-lock', (await referenceOf(browser, app)).ref));
      // Given up by our late write; after the store's own, by the next refresh of these tokens.
      if (fault === 'down') expect(await inspector.exists(leaseKey)).toBe(0);
      const { answer: explicit, ms } = await timed(() => browser.request(`${app.baseURL}/api/refresh`, { method: 'POST', headers: JSON_ACCEPT }));
      expect(explicit.status).toBe(200);
      expect(ms).toBeLessThan(ANSWER_BOUND_MS);
      expect(hostile.refreshRequests().length).toBe(refreshesBefore + 2);
      expect(await inspector.exists(leaseKey)).toBe(0);
    }
  });
  test('Redis down for a moment, disableOfflineQueue: the write is tried again within storeTimeout, and the request succeeds', async () => {
    const app = await startApp({ storeTimeout: 3 }, { disableOfflineQueue: true });
    hostile.behaviour.expiresIn = 1;
    const browser = await signIn(app);
    hostile.behaviour.expiresIn = 3600;
    const refreshesBefore = hostile.refreshRequests().length;
    await new Promise((resolve) => setTimeout(resolve, 1100));

    let back: Promise<void> = Promise.resolve();
    onNextTokenRequest(async () => {
      await redis.down();
      back = new Promise((resolve) => setTimeout(resolve, 100)).then(() => redis.up());
    });
    const page = await me(browser, app);
    await back;
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body)).toMatchObject({ sub: USER });
    expect(hostile.refreshRequests().length).toBe(refreshesBefore + 1);
    // Written: another instance reads the refreshed tokens.
    const other = await startApp();
    const elsewhere = await fetch(`${other.baseURL}/api/me`, { headers: { ...JSON_ACCEPT, cookie: `${COOKIE}=${await cookieOf(browser, app)}` } });
    expect(elsewhere.status).toBe(200);
    expect(hostile.refreshRequests().length).toBe(refreshesBefore + 1);
  });
});

describe('an early refresh (the access token still valid, within refreshMargin) whose tokens cannot be written', () => {
  test('Redis down, disableOfflineQueue: the request is served with the still-valid session (200, not 503), and the next request once Redis is back writes the refreshed tokens without refreshing again', async () => {
    const app = await startApp({ refreshMargin: 120 }, { disableOfflineQueue: true });
    hostile.behaviour.expiresIn = 60; // due at once (within refreshMargin), valid for a minute
    const browser = await signIn(app);
    hostile.behaviour.expiresIn = 3600;
    const cookie = await cookieOf(browser, app);
    const refreshesBefore = hostile.refreshRequests().length;

    onNextTokenRequest(() => redis.down());
    let page: Page;
    try {
      page = await me(browser, app);
    } finally {
      await redis.up();
    }
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body)).toMatchObject({ sub: USER });
    expect(await cookieOf(browser, app)).toBe(cookie);
    expect(hostile.refreshRequests().length).toBe(refreshesBefore + 1);

    const back = await meOnceBack(browser, app);
    expect(back.status).toBe(200);
    expect(hostile.refreshRequests().length).toBe(refreshesBefore + 1); // the kept tokens written, not refreshed again
    const other = await startApp({ refreshMargin: 120 });
    const elsewhere = await fetch(`${other.baseURL}/api/me`, { headers: { ...JSON_ACCEPT, cookie: `${COOKIE}=${await cookieOf(browser, app)}` } });
    expect(elsewhere.status).toBe(200);
    expect(hostile.refreshRequests().length).toBe(refreshesBefore + 1);
  });
});

describe('the cookie of a refreshed server-side session never outlives its store record', () => {
  test('sealed until the record\'s expiry as the refresh wrote it, not from the clock when the cookie is written (here 2 s later: a slow lease release)', async () => {
    const lockClient = createClient({ url: redis.url });
    lockClient.on('error', () => undefined);
    await lockClient.connect();
    try {
      const refreshLock: RefreshLock = {
        async acquire(key, token, ttlMs) {
          return await lockClient.set(`own:${key}`, token, { NX: true, PX: ttlMs }) !== null;
        },
        async release(key, token) {
          await new Promise((resolve) => setTimeout(resolve, 2200));
          if (await lockClient.get(`own:${key}`) === token) await lockClient.del(`own:${key}`);
        },
      };
      const app = await startApp({ storeTimeout: 3, sessionIdleDuration: 600, refreshLock });
      hostile.behaviour.expiresIn = 1;
      const browser = await signIn(app);
      hostile.behaviour.expiresIn = 3600;
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const before = await referenceOf(browser, app);

      expect((await me(browser, app)).status).toBe(200);
      const reference = await referenceOf(browser, app);
      expect(reference.iat).toBeGreaterThan(before.iat); // resealed by the refresh
      const pttl = await inspector.pTTL(redisKey(recordKey('session', reference.ref)));
      expect(pttl).toBeGreaterThan(0);
      expect(reference.exp * 1000).toBeLessThanOrEqual(Date.now() + pttl + 100);
    } finally {
      lockClient.destroy();
    }
  });
});

describe('req.oidc.refresh() after the response\'s headers went out (sessionStorage \'store\')', () => {
  test('the cookie cannot change, but the store record gets the refreshed tokens: the next request, on any instance, uses them', async () => {
    const routes = (server: Express): void => {
      server.get('/api/stream', requireAuth({ redirect: false }), async (req, res) => {
        res.type('text').write('streaming, ');
        await req.oidc.refresh();
        res.end('refreshed');
      });
      server.get('/api/access-token', requireAuth({ redirect: false }), (req, res) => { res.json({ accessToken: req.oidc.accessToken }); });
    };
    const app = await startApp({}, {}, routes);
    const browser = await signIn(app);
    const cookie = await cookieOf(browser, app);
    const streamed = await browser.request(`${app.baseURL}/api/stream`);
    expect(streamed.body).toBe('streaming, refreshed');
    expect(await cookieOf(browser, app)).toBe(cookie);
    const refreshed = hostile.issued.accessTokens.at(-1);

    const other = await startApp({}, {}, routes);
    const elsewhere = await fetch(`${other.baseURL}/api/access-token`, { headers: { ...JSON_ACCEPT, cookie: `${COOKIE}=${cookie}` } });
    expect(elsewhere.status).toBe(200);
    expect(await elsewhere.json()).toEqual({ accessToken: refreshed });
  });
});

describe('express-session\'s own write at the end of a response (the session option)', () => {
  test('a store that hangs while express-session saves the app\'s data ends the response within storeTimeout, not never', async () => {
    const app = await startApp({}, {}, (server) => {
      server.post('/api/note', requireAuth({ redirect: false }), (req, res) => {
        (req as unknown as { session: Record<string, unknown> }).session.note = 'saved at the end of the response';
        redis.pause(); // after express-session read the session, before it saves it
        res.json({ noted: true });
      });
    });
    const browser = await signIn(app);
    const { answer, ms } = await timed(() => browser.request(`${app.baseURL}/api/note`, { method: 'POST', headers: JSON_ACCEPT }).then(
      (page) => page.status,
      (err: Error) => err.message,
    ));
    expect(ms).toBeLessThan(ANSWER_BOUND_MS);
    expect(typeof answer).toBe('string'); // the request failed: its status line had gone out, the connection was closed
    redis.resume();
    expect((await meOnceBack(browser, app)).status).toBe(200);
  });
});

describe('express-session mounted with app.use(): the store client\'s own settings (as the session option\'s TSDoc advises)', () => {
  test('node-redis with disableOfflineQueue: a request while Redis is down fails at once, not after node-redis\'s reconnection; the session works once Redis is back', async () => {
    const client = createClient({ url: redis.url, disableOfflineQueue: true });
    client.on('error', () => undefined);
    await client.connect();
    const server = await serveApp((baseURL) => {
      const app = express();
      app.use(session({ store: new RedisStore({ client }), secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
      app.use(authCallback({ issuer: hostile.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET, sessionStorage: 'store', storeTimeout: 10 }));
      app.get('/api/me', requireAuth({ redirect: false }), (req, res) => {
        (req as unknown as { session: Record<string, unknown> }).session.seen = true; // the app's own data: express-session has a record to read
        res.json(req.oidc.claims);
      });
      app.use(errorAsJson);
      return app;
    });
    const app = { baseURL: server.baseURL, close: async () => { await server.close(); client.destroy(); } };
    running.push(app);
    const browser = await signIn(app);
    expect((await me(browser, app)).status).toBe(200); // express-session's own record now exists

    await redis.down();
    try {
      const { answer, ms } = await timed(() => me(browser, app));
      expect(answer.status).toBe(500); // express-session's error reaches the app's error handler as it is
      expect(JSON.parse(answer.body).code).not.toBe('store_unavailable');
      expect(ms).toBeLessThan(ANSWER_BOUND_MS); // not storeTimeout's 10 s: the client's own setting
    } finally {
      await redis.up();
    }
    expect((await meOnceBack(browser, app)).status).toBe(200);
  });
});
