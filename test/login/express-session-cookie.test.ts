/**
 * lib/login/express-session-cookie.ts: a login does not start when the app's own express-session
 * cookie certainly could not survive it, and the 500 says which setting to change:
 * SameSite=Strict with a provider on another site (`session_cookie_strict`), `secure: true`
 * behind a proxy that ends TLS and says nothing (`trust_proxy_missing`), `secure: true` on an app
 * served over http (`secure_cookie_over_http`). Where it depends on what cannot be seen (a
 * same-site provider; express-session's own `proxy: true` behind a proxy that sends
 * `X-Forwarded-Proto`), the login starts and a debug line names the setting. Real
 * express-session, Express and Connect, through supertest; the provider is the hostile provider.
 */
import { createServer } from 'node:http';
import { format } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import connect from 'connect';
import createDebug from 'debug';
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
  lines.length = 0;
});

/** The `login` debug lines written during the test. */
const lines: string[] = [];
let log: typeof createDebug.log;
beforeAll(() => {
  log = createDebug.log;
  createDebug.enable('express-oidc-callback:login');
  createDebug.log = (...args: unknown[]) => { lines.push(format(...args)); };
});
afterAll(() => {
  createDebug.disable();
  createDebug.log = log;
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

describe('express-session\'s cookie is SameSite=Strict', () => {
  test('with a provider on another site (localhost; the app at app.example.test), sameSite \'strict\', \'Strict\' or true: 500 session_cookie_strict, the message says why and to use \'lax\'', async () => {
    for (const sameSite of ['strict', 'Strict', true] as const) {
      const res = await request(appWith({ sameSite: sameSite as 'strict', secure: 'auto' })).get('/login').set('Host', 'app.example.test').set('X-Forwarded-Proto', 'https').set(NAVIGATION);
      const answer = refusal(res);
      expect({ status: answer.status, code: answer.code }).toEqual({ status: 500, code: 'session_cookie_strict' });
      expect(answer.message).toContain('express-session\'s cookie is SameSite=Strict');
      expect(answer.message).toContain('the provider is another site than the app');
      expect(answer.message).toContain('browsers do not send it on the provider\'s redirect back to the callback');
      expect(answer.message).toContain('Set express-session\'s cookie.sameSite to \'lax\'');
    }
  });

  test('with a provider on the same site (the provider and the app both at localhost), whose redirect back carries a Strict cookie: the login starts, with a debug line', async () => {
    const app = appWith({ sameSite: 'strict', secure: 'auto' }, { baseURL: 'http://localhost:3000' });
    expect(startsLogin(await request(app).get('/login').set('Host', 'localhost:3000').set(NAVIGATION))).toBe(true);
    expect(lines.join('\n')).toContain('express-session\'s cookie is SameSite=Strict: it reaches the callback only if the provider\'s pages are the same site as the app');
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
  test('behind a proxy that ended TLS (X-Forwarded-Proto: https) without trust proxy, where express-session\'s own proxy: true may set its cookie: the login starts, with a debug line naming trust proxy', async () => {
    const res = await request(appWith({ secure: true })).get('/login').set('Host', 'app.example.test').set('X-Forwarded-Proto', 'https').set('X-Forwarded-For', '203.0.113.9').set(NAVIGATION);
    expect(startsLogin(res)).toBe(true);
    const said = lines.join('\n');
    expect(said).toContain('login came over https by X-Forwarded-Proto, which the app does not trust: express-session sets its cookie only with its own proxy: true');
    expect(said).toContain('app.set(\'trust proxy\', 1)');
    expect(said).not.toMatch(/203\.0\.113\.9/);
  });

  test('express-session proxy: true (its set-up behind a TLS proxy), secure true or \'auto\', Express without trust proxy, saveUninitialized false: a first login goes through the callback, and express-session\'s Secure cookie is set behind the proxy', async () => {
    for (const secure of [true, 'auto'] as const) {
      const app = appWith({ secure }, {}, undefined, { proxy: true });
      const server = createServer(app);
      const behindProxy = (req: request.Test): request.Test => req.set('Host', 'app.example.test').set('X-Forwarded-Proto', 'https');
      const login = await behindProxy(request(server).get('/login').set(NAVIGATION));
      expect(startsLogin(login)).toBe(true);
      const authorize = await fetch(login.headers.location as string, { redirect: 'manual' });
      const callback = new URL(authorize.headers.get('location')!);
      expect(callback.origin + callback.pathname).toBe('https://app.example.test/callback');
      const pending = (login.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';', 1)[0]).join('; ');
      const signedIn = await behindProxy(request(server).get(callback.pathname + callback.search).set(NAVIGATION).set('Cookie', pending));
      expect({ status: signedIn.status, location: signedIn.headers.location }).toEqual({ status: 302, location: '/' });
      const visit = await behindProxy(request(server).get('/visit'));
      const sid = (visit.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('connect.sid='));
      expect(sid).toMatch(/; Secure/);
    }
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
    expect(again.body.message).toContain('the proxy sends no X-Forwarded-Proto, so express-session (cookie.secure true) never sets its cookie');
    expect(again.body.message).toContain('Make the proxy send X-Forwarded-Proto, and with Express set app.set(\'trust proxy\', 1)');
    expect(again.body.message).not.toMatch(/app\.example\.test/);
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

  /** A Connect app with express-session (`more`: its options besides the cookie) mounted before `authCallback()`. */
  function connectApp(more: Partial<SessionOptions>): ReturnType<typeof createServer> {
    const app = connect();
    app.use(sessionWith({ secure: true }, more) as connect.NextHandleFunction);
    app.use(authCallback({ issuer: provider.issuer, clientId: 'express-session-cookie-test', baseURL: 'https://app.example.test', secret: SECRET }) as connect.NextHandleFunction);
    app.use(((err: { status: number; code: string }, _req, res, _next) => {
      res.statusCode = err.status;
      res.end(err.code);
    }) as connect.ErrorHandleFunction);
    return createServer(app);
  }

  test('Connect with express-session\'s proxy: true behind a proxy that sends X-Forwarded-Proto: https: the login starts', async () => {
    const res = await request(connectApp({ proxy: true })).get('/login').set('Host', 'app.example.test').set('X-Forwarded-Proto', 'https').set(NAVIGATION);
    expect(startsLogin(res)).toBe(true);
  });

  test('Connect behind a proxy that ends TLS and sends no X-Forwarded-Proto (the browser came back with the Secure mark): 500 trust_proxy_missing, whatever express-session\'s proxy', async () => {
    for (const proxy of [true, undefined]) {
      const server = connectApp(proxy === undefined ? {} : { proxy });
      const first = await request(server).get('/login').set('Host', 'app.example.test').set(NAVIGATION);
      expect(first.status).toBe(302);
      const mark = (first.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';', 1)[0]).join('; ');
      const res = await request(server).get('/login').set('Host', 'app.example.test').set(NAVIGATION).set('Cookie', mark);
      expect({ status: res.status, code: res.text }).toEqual({ status: 500, code: 'trust_proxy_missing' });
    }
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

  test('an http: baseURL and a browser that carries the mark of a redirect to baseURL\'s origin: 500 secure_cookie_over_http, not trust_proxy_missing', async () => {
    const app = appWith({ secure: true }, { baseURL: 'http://localhost:3000' });
    const first = await request(app).get('/login').set('Host', '127.0.0.1:3000').set(NAVIGATION);
    expect({ status: first.status, location: first.headers.location }).toEqual({ status: 302, location: 'http://localhost:3000/login' });
    const mark = (first.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';', 1)[0]).join('; ');
    expect(mark).toMatch(/_moved=1$/);
    const again = await request(app).get('/login').set('Host', 'localhost:3000').set(NAVIGATION).set('Cookie', mark);
    expect({ status: again.status, code: again.body.code }).toEqual({ status: 500, code: 'secure_cookie_over_http' });
  });
});
