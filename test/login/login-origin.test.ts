/**
 * lib/login/login-origin.ts: a browser asking for the login route at another host than
 * `baseURL`'s (127.0.0.1 for localhost), or over plain http when `baseURL` is https, is sent to
 * the same path at `baseURL`'s origin before the login starts, where the callback will find its
 * pending-login cookie; never in a loop, whatever a proxy does to `Host` and the protocol; and
 * clients that are not a browser's page load are answered as before. Requests through supertest,
 * whose `Host` header a test may set; the provider is the hostile provider.
 */
import { createServer } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import connect from 'connect';
import express, { type Express } from 'express';
import request from 'supertest';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { authCallback } from '../../lib/index.js';
import { errorAsJson } from '../support/error-handler.js';
import { startHostileProvider, type HostileProvider } from '../support/hostile-provider.js';

/** A page load as Chrome, Firefox and Safari send it over https or to loopback. */
const NAVIGATION = { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'upgrade-insecure-requests': '1' };

let provider: HostileProvider;
beforeAll(async () => {
  provider = await startHostileProvider();
});
afterAll(async () => {
  await provider.close();
});
beforeEach(() => {
  provider.reset();
});

function config(auth: Partial<AuthCallbackConfig>): AuthCallbackConfig {
  return { issuer: provider.issuer, clientId: 'login-origin-test', baseURL: 'http://localhost:3000', secret: 'a-test-secret-of-at-least-32-characters-0123456789', ...auth };
}

function appWith(auth: Partial<AuthCallbackConfig> = {}, configure?: (app: Express) => void): Express {
  const app = express();
  configure?.(app);
  app.use(authCallback(config(auth)));
  app.use(errorAsJson);
  return app;
}

/** The `name=value` pairs of the answer's `Set-Cookie`, for the next request. */
function cookiesOf(res: request.Response): string {
  return ((res.headers['set-cookie'] as unknown as string[] | undefined) ?? []).map((c) => c.split(';', 1)[0]).join('; ');
}

/** `true` when the answer starts the login: 302 to the provider's authorization endpoint, with a pending-login cookie. */
function startsLogin(res: request.Response): boolean {
  return res.status === 302 && (res.headers.location as string).startsWith(`${provider.issuer}/authorize?`) && cookiesOf(res).includes('_tx_');
}

describe('another host than baseURL\'s: the browser is sent to baseURL\'s origin first', () => {
  let app: Express;
  beforeAll(() => {
    app = appWith();
  });

  test('127.0.0.1 for localhost: 302 to the same path and query at http://localhost:3000, no pending login set, the provider not asked', async () => {
    const res = await request(app).get('/login?returnTo=%2Fcart').set('Host', '127.0.0.1:3000').set(NAVIGATION);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('http://localhost:3000/login?returnTo=%2Fcart');
    expect(cookiesOf(res)).not.toContain('_tx_');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(provider.requests.discovery).toBe(0);
  });

  test('at baseURL\'s host the login starts at once (another port is the same host: cookies are not kept per port)', async () => {
    expect(startsLogin(await request(app).get('/login').set('Host', 'localhost:3000').set(NAVIGATION))).toBe(true);
    expect(startsLogin(await request(app).get('/login').set('Host', 'LOCALHOST:8080').set(NAVIGATION))).toBe(true);
  });

  test('a browser without Fetch Metadata (plain http off loopback) is known by Upgrade-Insecure-Requests: 1', async () => {
    const res = await request(app).get('/login').set('Host', 'app.internal:3000').set('upgrade-insecure-requests', '1');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('http://localhost:3000/login');
  });

  test('what is not a browser\'s page load is answered as before: an API client, a test agent', async () => {
    expect(startsLogin(await request(app).get('/login').set('Host', '127.0.0.1:3000'))).toBe(true);
    expect(startsLogin(await request(app).get('/login').set('Host', '127.0.0.1:3000').set('sec-fetch-mode', 'cors').set('upgrade-insecure-requests', '1'))).toBe(true);
  });

  test('a POST login (a third party\'s form) is sent on as a GET with the form as its query: 303', async () => {
    const res = await request(app).post('/login').set('Host', '127.0.0.1:3000').set(NAVIGATION).type('form').send({ iss: provider.issuer });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`http://localhost:3000/login?iss=${encodeURIComponent(provider.issuer)}`);
  });

  test('a proxy that rewrites Host: the browser comes back with the mark, and the login starts there (one redirect, no loop)', async () => {
    const first = await request(app).get('/login').set('Host', '127.0.0.1:3000').set(NAVIGATION);
    expect(first.status).toBe(302);
    expect(cookiesOf(first)).toMatch(/^oidc_session_moved=1$/);
    expect(first.headers['set-cookie']![0]).toMatch(/Max-Age=60; Path=\/; HttpOnly; SameSite=Lax$/);
    const again = await request(app).get('/login').set('Host', '127.0.0.1:3000').set(NAVIGATION).set('Cookie', cookiesOf(first));
    expect(startsLogin(again)).toBe(true);
  });

  test('with cookie.domain, a host inside that domain shares the cookies: no redirect; one outside it is redirected', async () => {
    const shared = appWith({ baseURL: 'http://app.example.test', cookie: { domain: 'example.test' } });
    expect(startsLogin(await request(shared).get('/login').set('Host', 'www.example.test').set(NAVIGATION))).toBe(true);
    const res = await request(shared).get('/login').set('Host', 'example.org').set(NAVIGATION);
    expect(res.headers.location).toBe('http://app.example.test/login');
  });

  test('the target is baseURL\'s origin, never one the request names (Host, X-Forwarded-Host, a trusted proxy\'s), and nothing of the request but its path and query', async () => {
    const trusting = appWith({}, (a) => a.set('trust proxy', true));
    const res = await request(trusting).get('/login?returnTo=%2F%3Cb%3E').set('Host', 'evil.example').set('X-Forwarded-Host', 'evil.example:444').set('X-Forwarded-Proto', 'https').set(NAVIGATION);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('http://localhost:3000/login?returnTo=%2F%3Cb%3E');
    expect(res.text).toBe('');
  });

  test('behind a proxy that strips baseURL\'s path (the app sees /login for /app/login): the target is under baseURL\'s path', async () => {
    const stripped = appWith({ baseURL: 'http://localhost:3000/app' });
    const res = await request(stripped).get('/login?returnTo=%2Fx').set('Host', '127.0.0.1:3000').set(NAVIGATION);
    expect(res.headers.location).toBe('http://localhost:3000/app/login?returnTo=%2Fx');
  });

  test('under a mount path the whole path is kept', async () => {
    const mounted = express();
    mounted.use('/auth', authCallback(config({ baseURL: 'http://localhost:3000/auth' })));
    const res = await request(mounted).get('/auth/login').set('Host', '127.0.0.1:3000').set(NAVIGATION);
    expect(res.headers.location).toBe('http://localhost:3000/auth/login');
  });
});

describe('an https baseURL and a request over plain http: the browser is sent to https first (its Secure cookie would be dropped)', () => {
  const HTTPS = { baseURL: 'https://localhost:3443' };

  test('plain http with nothing saying https: 302 to https; the mark set for https (__Host-, Secure); back with it (a proxy ending TLS unannounced), the login starts: one extra hop, no loop', async () => {
    const app = appWith(HTTPS);
    const first = await request(app).get('/login').set('Host', 'localhost:3443').set(NAVIGATION);
    expect(first.status).toBe(302);
    expect(first.headers.location).toBe('https://localhost:3443/login');
    expect(first.headers['set-cookie']![0]).toMatch(/^__Host-oidc_session_moved=1; Max-Age=60; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const again = await request(app).get('/login').set('Host', 'localhost:3443').set(NAVIGATION).set('Cookie', cookiesOf(first));
    expect(startsLogin(again)).toBe(true);
  });

  test('Express without trust proxy, X-Forwarded-Proto: https: no redirect (it could not change what the app sees), the login starts at once', async () => {
    const app = appWith(HTTPS);
    for (const proto of ['https', 'HTTPS, http']) {
      expect(startsLogin(await request(app).get('/login').set('Host', 'localhost:3443').set(NAVIGATION).set('X-Forwarded-Proto', proto))).toBe(true);
    }
    const http = await request(app).get('/login').set('Host', 'localhost:3443').set(NAVIGATION).set('X-Forwarded-Proto', 'http');
    expect(http.headers.location).toBe('https://localhost:3443/login');
  });

  test('Express with trust proxy and X-Forwarded-Proto: https: the login starts at once', async () => {
    const app = appWith(HTTPS, (a) => a.set('trust proxy', 'loopback'));
    expect(startsLogin(await request(app).get('/login').set('Host', 'localhost:3443').set(NAVIGATION).set('X-Forwarded-Proto', 'https'))).toBe(true);
  });

  test('Connect (the socket alone says whether it is TLS): 302 to https', async () => {
    const app = connect();
    app.use(authCallback(config(HTTPS)) as connect.NextHandleFunction);
    const res = await request(createServer(app)).get('/login').set('Host', 'localhost:3443').set(NAVIGATION);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('https://localhost:3443/login');
  });
});
