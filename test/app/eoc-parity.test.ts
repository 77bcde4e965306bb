/**
 * Behaviour gaps a port of express-openid-connect's test suite found, each end to end:
 * `authCallback()` mounted twice is reported; a stale callback (the back button after signing
 * in) from a browser with a valid session lands on `/` instead of an error page; IPSIE
 * `session_expiry` in the ID token caps the session and, when past, refuses the login.
 * (Unknown options: option-names.test.ts; claims and `req.user`: login-hooks.test.ts and
 * require-auth.test.ts; the app's `req.session` kept at login: callback.test.ts.)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { parseSetCookie } from 'cookie';
import express from 'express';
import { authCallback, type AuthCallbackConfig } from '../../lib/index.js';
import { Browser } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { startHostileProvider, type HostileProvider } from '../support/hostile-provider.js';
import { authorizationResponse, CLIENT_ID, CLIENT_SECRET, SECRET, signIn, startTestbed, type Testbed } from '../support/testbed.js';

const JSON_ACCEPT = { accept: 'application/json' };
const now = () => Math.floor(Date.now() / 1000);

describe('authCallback() mounted twice', () => {
  let bed: Testbed;
  beforeAll(async () => {
    bed = await startTestbed({
      build(auth) {
        const app = express();
        const router = express.Router();
        router.use(authCallback(auth));
        router.get('/page', (_req, res) => { res.send('page'); });
        app.use(authCallback(auth));
        app.get('/once', (_req, res) => { res.send('once'); });
        app.use('/twice', router);
        app.use(errorAsJson);
        return app;
      },
    });
  });
  afterAll(async () => {
    await bed.close();
  });

  test('once: served; twice on one request (app and router): 500 middleware_mounted_twice, naming the fix', async () => {
    expect((await new Browser().request(`${bed.baseURL}/once`)).body).toBe('once');
    const res = await new Browser().request(`${bed.baseURL}/twice/page`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'middleware_mounted_twice', message: expect.stringMatching(/mount it once/) });
  });
});

describe('a stale callback (the back button after signing in)', () => {
  let bed: Testbed;
  beforeAll(async () => {
    bed = await startTestbed();
  });
  afterAll(async () => {
    await bed.close();
  });

  test('from a signed-in browser: 302 to /, the session unchanged, no code exchanged', async () => {
    const browser = new Browser();
    const callback = await authorizationResponse(browser, `${bed.baseURL}/login?returnTo=%2Fprofile`, 'alice');
    expect((await browser.visit(callback.href)).url).toBe(`${bed.baseURL}/profile`);
    let exchanges = 0;
    const count = () => { exchanges++; };
    bed.provider.provider.on('grant.success', count);
    try {
      const again = await browser.request(callback.href);
      expect(again.status).toBe(302);
      expect(again.headers.get('location')).toBe('/');
      expect(exchanges).toBe(0);
      const me = await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
      expect(JSON.parse(me.body)).toMatchObject({ sub: 'alice' });
    } finally {
      bed.provider.provider.off('grant.success', count);
    }
  });

  test('from a browser without a session it is still an error: 400 missing_transaction', async () => {
    const browser = new Browser();
    const callback = await authorizationResponse(browser, `${bed.baseURL}/login`, 'alice');
    await browser.visit(callback.href);
    const other = new Browser();
    const res = await other.request(callback.href, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: 'missing_transaction' });
  });

  test('a POSTed one (form_post) from a signed-in browser is not redirected: 400', async () => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`, 'alice');
    const res = await browser.request(`${bed.baseURL}/callback`, { body: new URLSearchParams({ code: 'x', state: 'y' }), headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
  });
});

describe('IPSIE session_expiry', () => {
  let hostile: HostileProvider;
  let baseURL: string;
  let close: () => Promise<void>;
  beforeAll(async () => {
    hostile = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    const server = createServer();
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
    baseURL = `http://localhost:${port}`;
    const auth: AuthCallbackConfig = { issuer: hostile.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET, clockTolerance: 5 };
    const app = express();
    app.use(authCallback(auth));
    app.get('/me', (req, res) => { res.status(req.user ? 200 : 401).json({ sub: req.user?.sub, session_expiry: req.oidc.claims?.session_expiry }); });
    app.use(errorAsJson);
    server.on('request', app);
    close = () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  });
  afterAll(async () => {
    await close();
    await hostile.close();
  });
  beforeEach(() => {
    hostile.reset();
  });

  /** The session cookie the callback set, and its lifetime in seconds. */
  async function login(): Promise<{ browser: Browser; status: number; body: string; maxAge: number | undefined }> {
    const browser = new Browser();
    const start = await browser.request(`${baseURL}/login?returnTo=%2Fme`);
    const authorize = await browser.request(start.headers.get('location')!);
    const callback = await browser.request(authorize.headers.get('location')!, { headers: JSON_ACCEPT });
    const cookie = callback.headers.getSetCookie().map((c) => parseSetCookie(c)).find((c) => c.name === 'oidc_session' && c.value !== '');
    // Expires is written in whole seconds: the lifetime from now, to the second.
    return { browser, status: callback.status, body: callback.body, maxAge: cookie?.expires && Math.round(cookie.expires.getTime() / 1000 - Date.now() / 1000) };
  }

  test('a session_expiry ten minutes ahead caps the session at it (the default would be a day)', async () => {
    hostile.behaviour.claims = { session_expiry: now() + 600 };
    const { browser, status, maxAge } = await login();
    expect(status).toBe(302);
    expect(maxAge).toBeGreaterThan(590);
    expect(maxAge).toBeLessThanOrEqual(601);
    const me = await browser.request(`${baseURL}/me`, { headers: JSON_ACCEPT });
    expect(JSON.parse(me.body)).toMatchObject({ sub: expect.any(String), session_expiry: expect.any(Number) });
  });

  test('a session_expiry already past refuses the login: 401 session_expired, no session', async () => {
    hostile.behaviour.claims = { session_expiry: now() - 60 };
    const { browser, status, body, maxAge } = await login();
    expect(status).toBe(401);
    expect(JSON.parse(body)).toMatchObject({ code: 'session_expired' });
    expect(maxAge).toBeUndefined();
    expect((await browser.request(`${baseURL}/me`, { headers: JSON_ACCEPT })).status).toBe(401);
  });

  test('a session_expiry that is not a number is a bad ID token: 502 invalid_id_token', async () => {
    hostile.behaviour.claims = { session_expiry: 'tomorrow' };
    const { status, body } = await login();
    expect(status).toBe(502);
    expect(JSON.parse(body)).toMatchObject({ code: 'invalid_id_token' });
  });

  test('without session_expiry the default lifetime holds', async () => {
    const { maxAge } = await login();
    expect(maxAge).toBeGreaterThan(24 * 3600 - 10);
    expect(maxAge).toBeLessThanOrEqual(24 * 3600 + 1);
  });
});
