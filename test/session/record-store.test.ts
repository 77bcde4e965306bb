/**
 * A failing or hanging session store, against a real `redis-server` through connect-redis and
 * node-redis, with express-session given to `authCallback()` (its `session` option) and
 * server-side sessions: every store fault is a 503 `store_unavailable` within `storeTimeout`,
 * never a raw store error or a hung request, and the session works again when the store is back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { RedisStore } from 'connect-redis';
import express, { type Express } from 'express';
import session from 'express-session';
import { createClient } from 'redis';
import { authCallback, requireAuth, type AuthCallbackConfig } from '../../lib/index.js';
import { Browser, type Page } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { SESSION_SECRET, signIn, startTestbed, type Testbed } from '../support/testbed.js';

/** authCallback()'s storeTimeout in these tests, in seconds. */
const STORE_TIMEOUT = 0.5;
const JSON_ACCEPT = { accept: 'application/json' };

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.stop();
});

let bed: Testbed | undefined;
let client: ReturnType<typeof createClient> | undefined;
afterEach(async () => {
  redis.resume();
  await redis.up();
  await bed?.close();
  bed = undefined;
  client?.destroy();
  client = undefined;
});

/**
 * An app with server-side sessions in Redis, express-session given through the `session`
 * option, and a node-redis client made with `clientOptions` (node-redis queues commands while
 * disconnected unless `disableOfflineQueue`).
 */
async function start(clientOptions: Parameters<typeof createClient>[0] = {}, auth: Partial<AuthCallbackConfig> = {}): Promise<{ baseURL: string; browser: Browser }> {
  client = createClient({ url: redis.url, ...clientOptions });
  client.on('error', () => undefined); // reconnection errors while Redis is down: the test expects them
  await client.connect();
  const store = new RedisStore({ client });
  const build = (config: AuthCallbackConfig): Express => {
    const app = express();
    app.use(authCallback({
      ...config,
      sessionStorage: 'store',
      storeTimeout: STORE_TIMEOUT,
      session: session({ store, secret: SESSION_SECRET, resave: false, saveUninitialized: false }),
      ...auth,
    }));
    app.get('/api/me', requireAuth({ redirect: false }), (req, res) => { res.json(req.user); });
    app.use(errorAsJson);
    return app;
  };
  bed = await startTestbed({ build });
  const browser = new Browser();
  const landed = await signIn(browser, `${bed.baseURL}/login?returnTo=%2Fapi%2Fme`);
  expect(landed.status).toBe(200);
  expect(JSON.parse(landed.body)).toMatchObject({ sub: 'alice' });
  return { baseURL: bed.baseURL, browser };
}

async function me(browser: Browser, baseURL: string): Promise<{ page: Page; ms: number }> {
  const started = Date.now();
  const page = await browser.request(`${baseURL}/api/me`, { headers: JSON_ACCEPT });
  return { page, ms: Date.now() - started };
}

/** The answer to a store fault: 503 store_unavailable as JSON, no raw store error in it. */
function expectStoreUnavailable(page: Page): void {
  expect(page.status).toBe(503);
  const body = JSON.parse(page.body) as { code: string; message: string };
  expect(body.code).toBe('store_unavailable');
  expect(body.message).not.toMatch(/ClientOfflineError|ECONNREFUSED|Socket|closed/i);
}

describe('a Redis that hangs (the process frozen: connections open, no answers)', () => {
  test('a signed-in request is a 503 store_unavailable within storeTimeout; when Redis answers again the same session works', async () => {
    const { baseURL, browser } = await start();
    redis.pause();
    const { page, ms } = await me(browser, baseURL);
    expectStoreUnavailable(page);
    expect(ms).toBeGreaterThanOrEqual(STORE_TIMEOUT * 1000 - 50);
    expect(ms).toBeLessThan(STORE_TIMEOUT * 1000 * 4);
    redis.resume();
    const again = await me(browser, baseURL);
    expect(again.page.status).toBe(200);
    expect(JSON.parse(again.page.body)).toMatchObject({ sub: 'alice' });
  });
});

describe('a Redis that is down (connections refused) and comes back with its data', () => {
  test('node-redis\'s default offline queue: the request is a 503 within storeTimeout, not a hung request; nothing is lost', async () => {
    const { baseURL, browser } = await start();
    await redis.down();
    const { page, ms } = await me(browser, baseURL);
    expectStoreUnavailable(page);
    expect(ms).toBeLessThan(STORE_TIMEOUT * 1000 * 4);
    await redis.up();
    let again = await me(browser, baseURL);
    for (let i = 0; again.page.status !== 200 && i < 40; i++) { // node-redis reconnects on its own schedule
      await new Promise((resolve) => setTimeout(resolve, 100));
      again = await me(browser, baseURL);
    }
    expect(again.page.status).toBe(200);
    expect(JSON.parse(again.page.body)).toMatchObject({ sub: 'alice' });
  });

  test('disableOfflineQueue: node-redis\'s ClientOfflineError is a 503 store_unavailable at once (an AuthError), not a raw 500', async () => {
    const { baseURL, browser } = await start({ disableOfflineQueue: true });
    await redis.down();
    const { page, ms } = await me(browser, baseURL);
    expectStoreUnavailable(page);
    expect(ms).toBeLessThan(STORE_TIMEOUT * 1000);
  });

  test('a logout while Redis is down is a 503 and keeps the session cookie, so the user can sign out once it is back', async () => {
    const { baseURL, browser } = await start({ disableOfflineQueue: true });
    const cookieBefore = (await browser.jar.getCookies(baseURL)).find((c) => c.key === 'oidc_session')?.value;
    expect(cookieBefore).toBeDefined();
    await redis.down();
    const logout = await browser.request(`${baseURL}/logout`, { headers: JSON_ACCEPT });
    expectStoreUnavailable(logout);
    expect((await browser.jar.getCookies(baseURL)).find((c) => c.key === 'oidc_session')?.value).toBe(cookieBefore);
    await redis.up();
    let back = await me(browser, baseURL);
    for (let i = 0; back.page.status !== 200 && i < 40; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      back = await me(browser, baseURL);
    }
    expect(back.page.status).toBe(200);
    const out = await browser.request(`${baseURL}/logout`);
    expect(out.status).toBe(302);
    expect((await me(browser, baseURL)).page.status).toBe(401);
  });
});
