/**
 * lib/login/express-session-cookie.ts: a login does not start when the app's own express-session
 * cookie could not survive it, and the 500 says which setting to change: SameSite=Strict
 * (`session_cookie_strict`), `secure: true` behind a proxy the app does not trust
 * (`trust_proxy_missing`), `secure: true` on an app served over http (`secure_cookie_over_http`).
 * Real express-session, Express and Connect, through supertest; the provider is the hostile
 * provider (only its discovery and authorization endpoint are reached).
 */
import { createServer } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import connect from 'connect';
import express, { type Express, type RequestHandler } from 'express';
import session, { type SessionOptions } from 'express-session';
import request from 'supertest';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { authCallback } from '../../lib/index.js';
import { errorAsJson } from '../support/error-handler.js';
import { startHostileProvider, type HostileProvider } from '../support/hostile-provider.js';

const NAVIGATION = { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'upgrade-insecure-requests': '1' };
const SECRET = 'a-test-secret-of-at-least-32-characters-0123456789';

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

function sessionWith(cookie: SessionOptions['cookie'], more: Partial<SessionOptions> = {}): RequestHandler {
  return session({ secret: SECRET, resave: false, saveUninitialized: false, cookie, ...more }) as unknown as RequestHandler;
}

/** An Express app with express-session mounted by the app, then `authCallback()`. */
function appWith(cookie: SessionOptions['cookie'], auth: Partial<AuthCallbackConfig> = {}, configure?: (app: Express) => void, more: Partial<SessionOptions> = {}): Express {
  const app = express();
  configure?.(app);
  app.use(sessionWith(cookie, more));
  app.use(authCallback({ issuer: provider.issuer, clientId: 'express-session-cookie-test', baseURL: 'https://app.example.test', secret: SECRET, ...auth }));
  app.get('/visit', (req, res) => {
    (req.session as unknown as Record<string, unknown>).visited = true;
    res.send('ok');
  });
  app.use(errorAsJson);
  return app;
}

/** `true` when the answer starts the login: 302 to the provider's authorization endpoint. */
function startsLogin(res: request.Response): boolean {
  return res.status === 302 && (res.headers.location as string).startsWith(`${provider.issuer}/authorize?`);
}

/** The 500 answered, its code and message, after checking that the provider was never asked. */
function refusal(res: request.Response): { status: number; code: string; message: string } {
  expect(provider.requests.discovery).toBe(0);
  return { status: res.status, ...(res.body as { code: string; message: string }) };
}

describe('express-session\'s cookie is SameSite=Strict: 500 session_cookie_strict', () => {
  test('sameSite \'strict\', \'Strict\' or true: the login does not start, and the message says why and to use \'lax\'', async () => {
    for (const sameSite of ['strict', 'Strict', true] as const) {
      const res = await request(appWith({ sameSite: sameSite as 'strict', secure: 'auto' })).get('/login').set('Host', 'app.example.test').set('X-Forwarded-Proto', 'https').set(NAVIGATION);
      const answer = refusal(res);
      expect({ status: answer.status, code: answer.code }).toEqual({ status: 500, code: 'session_cookie_strict' });
      expect(answer.message).toContain('express-session\'s cookie is SameSite=Strict');
      expect(answer.message).toContain('browsers do not send it on the provider\'s redirect back to the callback');
      expect(answer.message).toContain('Set express-session\'s cookie.sameSite to \'lax\'');
    }
  });

  test('sameSite \'lax\' (express-session\'s default when unset: none) or \'none\': the login starts', async () => {
    for (const sameSite of ['lax', 'none', undefined] as const) {
      const res = await request(appWith({ sameSite, secure: 'auto' }, {}, (a) => a.set('trust proxy', 1))).get('/login').set('Host', 'app.example.test').set('X-Forwarded-Proto', 'https').set(NAVIGATION);
      expect(startsLogin(res)).toBe(true);
    }
  });

  test('an express-session given as the session option serves this package\'s store only: not checked', async () => {
    const app = express();
    app.use(authCallback({ issuer: provider.issuer, clientId: 'express-session-cookie-test', baseURL: 'http://localhost:3000', secret: SECRET, session: sessionWith({ sameSite: 'strict', secure: true }) }));
    app.use(errorAsJson);
    expect(startsLogin(await request(app).get('/login').set('Host', 'localhost:3000').set(NAVIGATION))).toBe(true);
  });
});

describe('express-session\'s cookie is secure: true and the request looks plain http', () => {
  test('behind a proxy that ended TLS (X-Forwarded-Proto: https) without trust proxy: 500 trust_proxy_missing naming app.set(\'trust proxy\', 1); the message names no value of the request', async () => {
    const res = await request(appWith({ secure: true })).get('/login').set('Host', 'app.example.test').set('X-Forwarded-Proto', 'https').set('X-Forwarded-For', '203.0.113.9').set(NAVIGATION);
    const answer = refusal(res);
    expect({ status: answer.status, code: answer.code }).toEqual({ status: 500, code: 'trust_proxy_missing' });
    expect(answer.message).toContain('the app sees plain http because it does not trust that proxy');
    expect(answer.message).toContain('express-session (cookie.secure true) never sets its cookie');
    expect(answer.message).toContain('With Express, set app.set(\'trust proxy\', 1)');
    expect(answer.message).not.toMatch(/app\.example\.test|203\.0\.113\.9/);
  });

  test('the same when a proxy ends TLS and sends no X-Forwarded-Proto: the browser is sent to https once, comes back with the Secure mark, and is answered 500', async () => {
    const app = appWith({ secure: true });
    const first = await request(app).get('/login').set('Host', 'app.example.test').set(NAVIGATION);
    expect(first.status).toBe(302);
    expect(first.headers.location).toBe('https://app.example.test/login');
    const mark = (first.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';', 1)[0]).join('; ');
    expect(mark).toBe('__Host-oidc_session_moved=1');
    const again = await request(app).get('/login').set('Host', 'app.example.test').set(NAVIGATION).set('Cookie', mark);
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 500, code: 'trust_proxy_missing' });
  });

  test('with trust proxy set, or express-session\'s secure \'auto\': the login starts', async () => {
    const trusting = appWith({ secure: true }, {}, (a) => a.set('trust proxy', 1));
    expect(startsLogin(await request(trusting).get('/login').set('Host', 'app.example.test').set('X-Forwarded-Proto', 'https').set(NAVIGATION))).toBe(true);
    const auto = appWith({ secure: 'auto' });
    expect(startsLogin(await request(auto).get('/login').set('Host', 'app.example.test').set('X-Forwarded-Proto', 'https').set(NAVIGATION))).toBe(true);
  });

  test('express-session\'s own proxy: true, whose cookie does reach the app: a browser that carries it starts its login', async () => {
    const app = appWith({ secure: true }, {}, undefined, { proxy: true });
    const visit = await request(app).get('/visit').set('Host', 'app.example.test').set('X-Forwarded-Proto', 'https');
    const cookie = (visit.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';', 1)[0]).join('; ');
    expect(cookie).toMatch(/^connect\.sid=s%3A/);
    expect(startsLogin(await request(app).get('/login').set('Host', 'app.example.test').set('X-Forwarded-Proto', 'https').set('Cookie', cookie).set(NAVIGATION))).toBe(true);
  });

  test('Connect, which never trusts X-Forwarded-Proto: 500 trust_proxy_missing naming express-session\'s proxy: true', async () => {
    const app = connect();
    app.use(sessionWith({ secure: true }) as connect.NextHandleFunction);
    app.use(authCallback({ issuer: provider.issuer, clientId: 'express-session-cookie-test', baseURL: 'https://app.example.test', secret: SECRET }) as connect.NextHandleFunction);
    app.use(((err: { status: number; code: string }, _req, res, _next) => {
      res.statusCode = err.status;
      res.end(err.code);
    }) as connect.ErrorHandleFunction);
    const res = await request(createServer(app)).get('/login').set('Host', 'app.example.test').set('X-Forwarded-Proto', 'https').set(NAVIGATION);
    expect({ status: res.status, code: res.text }).toEqual({ status: 500, code: 'trust_proxy_missing' });
  });

  test('an http: baseURL: 500 secure_cookie_over_http naming secure: \'auto\'; with \'auto\' the login starts', async () => {
    const http = { baseURL: 'http://localhost:3000' };
    const res = await request(appWith({ secure: true }, http)).get('/login').set('Host', 'localhost:3000').set(NAVIGATION);
    const answer = refusal(res);
    expect({ status: answer.status, code: answer.code }).toEqual({ status: 500, code: 'secure_cookie_over_http' });
    expect(answer.message).toContain('This app is served over plain http (baseURL http://localhost:3000), and express-session\'s cookie is secure: true');
    expect(answer.message).toContain('Set express-session\'s cookie.secure to \'auto\'');
    expect(startsLogin(await request(appWith({ secure: 'auto' }, http)).get('/login').set('Host', 'localhost:3000').set(NAVIGATION))).toBe(true);
  });
});
