/**
 * The web attacks an OpenID Connect relying party must withstand, driven over real HTTP against
 * the example app and a real OpenID Provider (oidc-provider): login CSRF (RFC 6749 §10.12,
 * RFC 9700 §4.7), session fixation, open redirects through `returnTo` (RFC 9700 §4.11), reflected
 * XSS and header injection through the callback's `error_description`, tampered session
 * cookies, and oversized input.
 *
 * Every rejection must answer 4xx (never 5xx), set no session cookie, leave `req.user` undefined,
 * leave an existing session as it was, show no stack trace, and leave the server serving.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { parseSetCookie } from 'cookie';
import express, { type Express } from 'express';
import session from 'express-session';
import request from 'supertest';
import { authCallback, requireAuth } from '../lib/index.js';
import { errorAsJson } from './support/error-handler.js';
import { createApp } from '../example-app/app.js';
import { unsealCookiePayload } from '../lib/session/session-codec.js';
import { type SealedTokens } from '../lib/session/session.js';
import { Sealer } from '../lib/session/seal.js';
import { SessionCookie } from '../lib/session/session-cookie.js';
import { Browser, type Page } from './support/browser.js';
import {
  authorizationResponse, SECRET, SESSION_SECRET, sessionIdOf, signIn, startLogin, startTestbed, storedSession, type Testbed,
} from './support/testbed.js';

const JSON_ACCEPT = { accept: 'application/json' };
const HTML_ACCEPT = { accept: 'text/html' };
/** A V8 stack frame: "\n    at fn (/path/file.js:12:34)". */
const STACK_TRACE = /\n\s+at .+:\d+:\d+/;
/** The session cookie and its chunks. */
const SESSION_COOKIE = /^oidc_session(\.\d+)?$/;

let bed: Testbed;
/** Token requests the provider answered, successful or not. */
let tokenRequests = 0;

beforeAll(async () => {
  bed = await startTestbed();
  bed.provider.provider.on('grant.success', () => { tokenRequests++; });
  bed.provider.provider.on('grant.error', () => { tokenRequests++; });
});
afterAll(async () => {
  await bed.close();
});
beforeEach(() => {
  tokenRequests = 0;
});

/** Names of the session cookies (or chunks) that an answer sets to a value. */
function sessionCookiesSet(setCookies: readonly string[]): string[] {
  return setCookies.map((c) => parseSetCookie(c)).filter((c) => SESSION_COOKIE.test(c.name) && c.value !== '').map((c) => c.name);
}

/** A rejection as the brief defines it: the expected 4xx, no session cookie set, no stack trace. */
function expectRejected(page: Page, status = 400): void {
  expect(page.status).toBe(status);
  expect(sessionCookiesSet(page.headers.getSetCookie())).toEqual([]);
  expect(page.body).not.toMatch(STACK_TRACE);
}

/** `req.user` is undefined: no session cookie in the browser, and the guarded API answers 401. */
async function expectNotSignedIn(browser: Browser): Promise<void> {
  expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeUndefined();
  const me = await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
  expect(me.status).toBe(401);
}

/** The server still serves: the home page answers 200. */
async function expectServing(baseURL = bed.baseURL): Promise<void> {
  const home = await fetch(`${baseURL}/`);
  expect(home.status).toBe(200);
  await home.text();
}

function errorOf(page: Page): { error: string; error_description: string } {
  expect(page.headers.get('content-type')).toMatch(/^application\/json/);
  return JSON.parse(page.body) as { error: string; error_description: string };
}

interface RawAnswer {
  status: number;
  /** Header names and values exactly as received, alternating (IncomingMessage.rawHeaders). */
  rawHeaders: string[];
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One request through `node:http`, for what `fetch` would normalise, and to see the answer's
 * headers exactly as they came.
 */
function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const req = httpRequest({
      host: target.hostname,
      port: target.port,
      method: options.method ?? 'GET',
      path: url.slice(target.origin.length),
      headers: { ...options.headers, ...(body && { 'content-length': String(body.length) }) },
      agent: false,
    }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, rawHeaders: res.rawHeaders, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** No header carries CR/LF-injected content: no `x` cookie, no line break, no injected header. */
function expectNoHeaderInjection(rawHeaders: readonly string[]): void {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    expect(name).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
    expect(value).not.toMatch(/[\r\n]/);
    if (name.toLowerCase() === 'set-cookie') expect(parseSetCookie(value).name).not.toBe('x');
    expect(value).not.toMatch(/Set-Cookie:\s*x/i);
  }
}

describe('login CSRF: a victim sent to the attacker\'s own authorization response', () => {
  /** The attacker's real authorization response (code and state of the attacker's own login), not yet used. */
  async function attackerResponse(): Promise<URL> {
    const attacker = new Browser();
    return authorizationResponse(attacker, `${bed.baseURL}/login`, 'mallory');
  }

  test('a victim with no pending login: 400, not signed in as the attacker, the code never redeemed', async () => {
    const response = await attackerResponse();
    const victim = new Browser();
    for (const headers of [HTML_ACCEPT, JSON_ACCEPT]) {
      const res = await victim.request(response.href, { headers });
      expectRejected(res);
    }
    await expectNotSignedIn(victim);
    expect(tokenRequests).toBe(0);
  });

  test('a victim with a pending login of its own: 400 state_mismatch, not signed in as the attacker', async () => {
    const response = await attackerResponse();
    const victim = new Browser();
    const { state } = await startLogin(victim, `${bed.baseURL}/login`);
    expect(state).not.toBe(response.searchParams.get('state'));
    const res = await victim.request(response.href, { headers: JSON_ACCEPT });
    expectRejected(res);
    expect(errorOf(res).error).toBe('state_mismatch');
    await expectNotSignedIn(victim);
    expect(tokenRequests).toBe(0);
  });

  test('a victim already signed in: 400, its own session still works and its cookie is not touched', async () => {
    const victim = new Browser();
    await signIn(victim, `${bed.baseURL}/login`, 'victim');
    const before = await victim.cookie(bed.baseURL, 'oidc_session');
    expect(before).toBeDefined();
    const response = await attackerResponse();
    tokenRequests = 0;
    for (const headers of [HTML_ACCEPT, JSON_ACCEPT]) {
      const res = await victim.request(response.href, { headers });
      expectRejected(res);
      // Not even cleared: the answer names no session cookie at all.
      expect(res.headers.getSetCookie().map((c) => parseSetCookie(c).name).filter((n) => SESSION_COOKIE.test(n))).toEqual([]);
    }
    expect(await victim.cookie(bed.baseURL, 'oidc_session')).toBe(before);
    const me = await victim.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'victim' });
    expect(tokenRequests).toBe(0);
  });
});

describe('session fixation: an express-session id planted before login (the app mounts express-session with app.use())', () => {
  test('is replaced at login, its stored session is gone, and replaying it gives no user', async () => {
    const appBed = await startTestbed({
      build(auth) {
        const app = express();
        app.use(session({ store: bed.store, secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
        app.use(authCallback(auth));
        app.get('/visit', (req, res) => {
          (req.session as unknown as { visited?: boolean }).visited = true;
          res.end();
        });
        app.get('/api/me', requireAuth({ redirect: false }), (req, res) => { res.json(req.user); });
        app.use(errorAsJson);
        return app;
      },
    });
    try {
      // The attacker gets a session id of its own and plants it in the victim's browser.
      const attacker = new Browser();
      await attacker.request(`${appBed.baseURL}/visit`);
      const planted = (await attacker.cookie(appBed.baseURL, 'connect.sid'))!;
      expect(planted).toBeDefined();
      const plantedId = sessionIdOf(planted);
      expect(plantedId).not.toBe(false);
      const victim = new Browser();
      await victim.jar.setCookie(`connect.sid=${planted}; Path=/; HttpOnly`, appBed.baseURL);

      await signIn(victim, `${appBed.baseURL}/login?returnTo=%2Fapi%2Fme`, 'victim');
      const after = await victim.cookie(appBed.baseURL, 'connect.sid');
      expect(after).toBeDefined();
      expect(after).not.toBe(planted);
      expect(await storedSession(bed.store, plantedId as string)).toBeUndefined(); // destroyed, not reused
      const renewed = await storedSession(bed.store, sessionIdOf(after!) as string);
      expect(renewed).toHaveProperty('visited', true); // the app's data is carried into the new id
      expect(JSON.stringify(renewed ?? {})).not.toMatch(/victim|eyJ/); // no claim or token kept on the server

      // The planted id, replayed by the attacker or in any fresh browser, carries no user.
      for (const browser of [attacker, new Browser()]) {
        await browser.jar.setCookie(`connect.sid=${planted}; Path=/; HttpOnly`, appBed.baseURL);
        const me = await browser.request(`${appBed.baseURL}/api/me`, { headers: JSON_ACCEPT });
        expect(me.status).toBe(401);
      }
    } finally {
      await appBed.close();
    }
  });
});

/** returnTo values that must never send the browser off the app's origin. */
const HOSTILE_RETURN_TO: readonly string[] = [
  '//evil.com',
  '///evil.com',
  '/\\evil.com',
  '\\/evil.com',
  '/%2F%2Fevil.com',
  '/%5Cevil.com',
  'https://evil.com',
  'https:evil.com',
  'https://app@evil.com',
  'javascript:alert(1)',
  '\t//evil.com',
  ' //evil.com',
  '%0d%0aSet-Cookie:x',
  // Beyond the list: decoded CR/LF, dot segments that normalise to "//", and a tab inside the path.
  '/\r\nSet-Cookie: x=1',
  '/%0d%0aSet-Cookie:%20x=1',
  '/.//evil.com',
  '/%2e%2e//evil.com',
  '/\t/evil.com',
];

describe('open redirect through returnTo', () => {
  const appOrigin = (): string => new URL(bed.baseURL).origin;

  test('a same-origin returnTo is kept through the whole login (the control for the cases below)', async () => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login?returnTo=${encodeURIComponent('/profile?tab=1')}`);
    const res = await browser.request(response.href);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/profile?tab=1');
  });

  test.each(HOSTILE_RETURN_TO.map((v) => [JSON.stringify(v), v]))('login with returnTo=%s lands on the app\'s own origin, no header injected', async (_name, value) => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login?returnTo=${encodeURIComponent(value)}`);
    const raw = await rawRequest(response.href, { headers: { cookie: await browser.jar.getCookieString(response.href) } });
    expect(raw.status).toBe(302);
    const location = raw.headers.location!;
    expect(location).toBeDefined();
    expect(new URL(location, bed.baseURL).origin).toBe(appOrigin());
    expect(location).toMatch(/^\/(?![/\\])/);
    expectNoHeaderInjection(raw.rawHeaders);
    expect(sessionCookiesSet(raw.rawHeaders.filter((_, i) => i % 2 === 1 && /^set-cookie$/i.test(raw.rawHeaders[i - 1]!)))).toEqual(['oidc_session']);
  });

  /** Asserts a logout answer stays on the app's origin, directly or through the provider's end_session_endpoint. */
  function expectSameOriginLogout(res: RawAnswer, baseURL: string, issuer: string): void {
    expect(res.status).toBe(302);
    const location = new URL(res.headers.location!, baseURL);
    const app = new URL(baseURL).origin;
    if (location.origin === new URL(issuer).origin) {
      expect(location.pathname).toBe('/session/end');
      const postLogout = location.searchParams.get('post_logout_redirect_uri');
      expect(postLogout).not.toBeNull();
      expect(new URL(postLogout!).origin).toBe(app);
      expect(new URL(postLogout!).pathname).not.toMatch(/^\/\//);
    } else {
      expect(location.origin).toBe(app);
      expect(location.pathname).not.toMatch(/^\/\//);
    }
    expectNoHeaderInjection(res.rawHeaders);
  }

  test('logout with a same-origin returnTo sends it as post_logout_redirect_uri (the control for the cases below)', async () => {
    const res = await rawRequest(`${bed.baseURL}/logout?returnTo=${encodeURIComponent('/profile?tab=1')}`);
    expect(res.status).toBe(302);
    expect(new URL(res.headers.location!).searchParams.get('post_logout_redirect_uri')).toBe(`${bed.baseURL}/profile?tab=1`);
  });

  test.each(HOSTILE_RETURN_TO.map((v) => [JSON.stringify(v), v]))('logout with returnTo=%s: the provider\'s post_logout_redirect_uri is on the app\'s origin', async (_name, value) => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`);
    const url = `${bed.baseURL}/logout?returnTo=${encodeURIComponent(value)}`;
    const res = await rawRequest(url, { headers: { cookie: await browser.jar.getCookieString(url) } });
    expect(new URL(res.headers.location!).origin).toBe(new URL(bed.provider.issuer).origin);
    expectSameOriginLogout(res, bed.baseURL, bed.provider.issuer);
  });

  describe('with a provider that has no end_session_endpoint', () => {
    let plain: Testbed;
    beforeAll(async () => {
      plain = await startTestbed({
        providerConfiguration: { features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: false } } },
      });
    });
    afterAll(async () => {
      await plain.close();
    });

    test('logout with a same-origin returnTo redirects to it (the control for the cases below)', async () => {
      const res = await rawRequest(`${plain.baseURL}/logout?returnTo=${encodeURIComponent('/profile?tab=1')}`);
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe(`${plain.baseURL}/profile?tab=1`);
    });

    test.each(HOSTILE_RETURN_TO.map((v) => [JSON.stringify(v), v]))('logout with returnTo=%s redirects on the app\'s origin', async (_name, value) => {
      const res = await rawRequest(`${plain.baseURL}/logout?returnTo=${encodeURIComponent(value)}`);
      expect(new URL(res.headers.location!, plain.baseURL).origin).toBe(new URL(plain.baseURL).origin);
      expectSameOriginLogout(res, plain.baseURL, plain.provider.issuer);
    });
  });
});

describe('XSS and header injection through the callback\'s error', () => {
  const SCRIPT = '<script>alert(1)</script>';

  test.each([
    ['GET', 'text/html'],
    ['GET', 'application/json'],
    ['POST', 'text/html'],
    ['POST', 'application/json'],
  ])('with the browser\'s own state, %s error_description=<script> answered as %s: 400, never an unescaped <script>', async (method, accept) => {
    const browser = new Browser();
    const { state } = await startLogin(browser, `${bed.baseURL}/login`);
    const params = new URLSearchParams({ error: 'access_denied', error_description: SCRIPT, state });
    const res = method === 'GET'
      ? await browser.request(`${bed.baseURL}/callback?${params}`, { headers: { accept } })
      : await browser.request(`${bed.baseURL}/callback`, { body: params, headers: { accept } });
    expectRejected(res);
    expect(res.body).toContain('access_denied'); // the provider's error was the answer, not another check
    expect(res.body).not.toContain('<script>');
    expect(res.body).not.toContain('</script>');
    await expectNotSignedIn(browser);
  });

  test.each([
    ['GET', 'a forged state, while a login is pending', true, 'forged-state', 'state_mismatch'],
    ['POST', 'a forged state, while a login is pending', true, 'forged-state', 'state_mismatch'],
    ['GET', 'no pending login', false, 'any-state', 'missing_transaction'],
    ['POST', 'no pending login', false, 'any-state', 'missing_transaction'],
    ['GET', 'no state at all, while a login is pending', true, undefined, 'state_mismatch'],
  ])('%s error_description=<script> with %s: 400, the description not reflected at all', async (method, _case, pending, state, code) => {
    for (const accept of ['text/html', 'application/json']) {
      const browser = new Browser();
      if (pending) await startLogin(browser, `${bed.baseURL}/login`);
      const params = new URLSearchParams({ error: 'access_denied', error_description: SCRIPT, ...(state !== undefined && { state }) });
      const res = method === 'GET'
        ? await browser.request(`${bed.baseURL}/callback?${params}`, { headers: { accept } })
        : await browser.request(`${bed.baseURL}/callback`, { body: params, headers: { accept } });
      expectRejected(res);
      // The unknown state wins over the error: the attacker's text is not shown, escaped or not.
      expect(res.body).not.toContain('alert(1)');
      expect(res.body).not.toContain('alert&#40;1&#41;');
      expect(res.body).not.toMatch(/&#60;script|&lt;script|<script/i);
      expect(res.body).not.toContain('access_denied');
      if (accept === 'application/json') expect(errorOf(res).error).toBe(code);
      await expectNotSignedIn(browser);
    }
  });

  test.each([
    ['error_description', 'error=access_denied&error_description=a%0d%0aSet-Cookie:%20x=1'],
    ['error', 'error=access_denied%0d%0aSet-Cookie:%20x=1&error_description=b'],
    ['error and error_description, with LF only', 'error=a%0aSet-Cookie:x=1&error_description=c%0aSet-Cookie:%20x=1%0aLocation:%20https://evil.com'],
  ])('CR/LF in %s: 400, no header of the answer injected', async (_name, query) => {
    for (const method of ['GET', 'POST']) {
      const browser = new Browser();
      const { state } = await startLogin(browser, `${bed.baseURL}/login`);
      const url = `${bed.baseURL}/callback`;
      const cookie = await browser.jar.getCookieString(url);
      const res = method === 'GET'
        ? await rawRequest(`${url}?${query}&state=${state}`, { headers: { cookie, accept: 'text/html' } })
        : await rawRequest(url, { method, body: `${query}&state=${state}`, headers: { cookie, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' } });
      expect(res.status).toBe(400);
      expectNoHeaderInjection(res.rawHeaders);
      expect(res.headers.location).toBeUndefined();
      expect(res.body).not.toMatch(STACK_TRACE);
      expect(res.body).not.toMatch(/\r\n?Set-Cookie/i);
    }
  });
});

describe('a tampered session cookie, over HTTP', () => {
  let realCookie: string;
  /** The tokens of a real login, as sealed into its cookie. */
  /** A real session's sealed payload (its tokens, and when its user logged in). */
  let tokens: SealedTokens & { createdAt: number };
  const expiresAt = (): number => Math.floor(Date.now() / 1000) + 3600;

  beforeAll(async () => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`, 'carol');
    realCookie = (await browser.cookie(bed.baseURL, 'oidc_session'))!;
    const opened = unsealCookiePayload(new Sealer([SECRET]), realCookie);
    if (opened === undefined) throw new Error('the real session cookie does not open with the test SECRET');
    const { idToken, accessToken, tokenType, createdAt } = opened.payload;
    if (idToken === undefined || accessToken === undefined || tokenType === undefined || createdAt === undefined) throw new Error('the real session cookie holds no token set');
    tokens = { idToken, accessToken, tokenType, createdAt };
  });

  /** The guarded API and the guarded page, with `cookie` as the whole Cookie header. */
  async function guarded(app: Express, cookie: string): Promise<{ api: request.Response; page: request.Response }> {
    const api = await request(app).get('/api/me').set('Cookie', cookie).set('Accept', 'application/json');
    const page = await request(app).get('/profile').set('Cookie', cookie).set('Accept', 'text/html');
    return { api, page };
  }

  /** Not signed in: 401 from the API, 302 to login from the page, no 5xx, no session cookie set, no stack trace. */
  async function expectRefused(cookie: string, app: Express = bed.app): Promise<void> {
    const { api, page } = await guarded(app, cookie);
    expect(api.status).toBe(401);
    expect(api.body).toMatchObject({ error: 'unauthorized' });
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe('/login?returnTo=%2Fprofile');
    for (const res of [api, page]) {
      expect(sessionCookiesSet((res.headers['set-cookie'] as unknown as string[] | undefined) ?? [])).toEqual([]);
      expect(res.text).not.toMatch(STACK_TRACE);
    }
  }

  async function expectAccepted(cookie: string, app: Express = bed.app): Promise<void> {
    const { api, page } = await guarded(app, cookie);
    expect(api.status).toBe(200);
    expect(api.body).toMatchObject({ sub: 'carol' });
    expect(page.status).toBe(200);
  }

  /** The cookie with the character at `index` changed so that the bytes it encodes change. */
  function flip(value: string, index: number): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const char = value[index]!;
    const sextet = alphabet.indexOf(char);
    // XOR with 0b100000 flips the sextet's top bit, which carries data even in a segment's last character.
    const replacement = sextet === -1 ? 'A' : alphabet[sextet ^ 0x20]!;
    return value.slice(0, index) + replacement + value.slice(index + 1);
  }

  /** The chunk cookies SessionCookie writes for `value`, as name=value pairs in order. */
  function chunksOf(value: string): [string, string][] {
    const cookie = new SessionCookie({ name: 'oidc_session', domain: undefined, sameSite: 'lax', secure: false });
    const headers = new Map<string, unknown>();
    const res = {
      getHeader: (name: string) => headers.get(name.toLowerCase()),
      setHeader: (name: string, v: unknown) => { headers.set(name.toLowerCase(), v); },
    } as unknown as ServerResponse;
    cookie.write({ headers: {} } as IncomingMessage, res, value, expiresAt());
    return (headers.get('set-cookie') as string[]).map((c) => parseSetCookie(c)).map((c) => [c.name, c.value ?? '']);
  }

  const header = (pairs: readonly (readonly [string, string])[]): string => pairs.map(([n, v]) => `${n}=${v}`).join('; ');

  test('the real cookie is accepted (the control for the cases below)', async () => {
    await expectAccepted(`oidc_session=${realCookie}`);
  });

  test.each([
    ['the protected header\'s first', () => 0],
    ['the protected header\'s middle', () => Math.floor(realCookie.indexOf('.') / 2)],
    ['the first separator', () => realCookie.indexOf('.')],
    ['the IV\'s first', () => realCookie.indexOf('..') + 2],
    ['the ciphertext\'s first', () => realCookie.split('.').slice(0, 3).join('.').length + 1],
    ['the ciphertext\'s middle', () => Math.floor(realCookie.lastIndexOf('.') - (realCookie.split('.')[3]!.length / 2))],
    ['the ciphertext\'s last', () => realCookie.lastIndexOf('.') - 1],
    ['the tag\'s first', () => realCookie.lastIndexOf('.') + 1],
    ['the tag\'s last', () => realCookie.length - 1],
  ])('%s character flipped: 401 from the API, 302 to login from a page', async (_where, index) => {
    const tampered = flip(realCookie, index());
    expect(tampered).not.toBe(realCookie);
    await expectRefused(`oidc_session=${tampered}`);
  });

  test.each([
    ['by its last character', (v: string) => v.slice(0, -1)],
    ['by ten characters', (v: string) => v.slice(0, -10)],
    ['to half', (v: string) => v.slice(0, Math.floor(v.length / 2))],
    ['to its protected header', (v: string) => v.slice(0, v.indexOf('.'))],
    ['before its tag', (v: string) => v.slice(0, v.lastIndexOf('.'))],
    ['to nothing', () => ''],
  ])('truncated %s: refused', async (_how, truncate) => {
    await expectRefused(`oidc_session=${truncate(realCookie)}`);
  });

  test('with a character appended to its tag: refused', async () => {
    await expectRefused(`oidc_session=${realCookie}A`);
  });

  /** The cookie with its character at `index` replaced by `char` (or `char` inserted, with `insert`). */
  function edit(value: string, index: number, char: string, insert = false): string {
    return value.slice(0, index) + char + value.slice(index + (insert ? 0 : 1));
  }

  test.each([
    // 16 bytes take 22 base64url characters: the last one carries 2 bits, its 4 low bits are unused.
    ['the tag\'s last character changed in bits it does not use', (v: string) => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      return edit(v, v.length - 1, alphabet[alphabet.indexOf(v.at(-1)!) ^ 0x01]!);
    }],
    ['a "=" appended to the tag', (v: string) => `${v}=`],
    ['a "%" at the end of the IV', (v: string) => edit(v, v.split('.').slice(0, 3).join('.').length, '%', true)],
    ['a "=" in the middle of the ciphertext', (v: string) => edit(v, v.lastIndexOf('.') - 8, '=', true)],
  ])('%s (other characters, the same bytes): refused as tampered', async (_how, recode) => {
    const recoded = recode(realCookie);
    expect(recoded).not.toBe(realCookie);
    await expectRefused(`oidc_session=${recoded}`);
  });

  describe('a chunked session', () => {
    let chunks: [string, string][];
    beforeAll(() => {
      const large = new Sealer([SECRET]).seal({ ...tokens, accessToken: tokens.accessToken + 'x'.repeat(9000) }, expiresAt());
      chunks = chunksOf(large);
    });

    test('is accepted whole, in 3 or more chunks (the control for the cases below)', async () => {
      expect(chunks.length).toBeGreaterThanOrEqual(3);
      expect(chunks.map(([n]) => n)).toEqual(chunks.map((_, i) => `oidc_session.${i}`));
      await expectAccepted(header(chunks));
    });

    test.each([
      ['its first chunk missing', (c: [string, string][]) => c.slice(1)],
      ['a middle chunk missing', (c: [string, string][]) => [c[0]!, ...c.slice(2)]],
      ['its last chunk missing', (c: [string, string][]) => c.slice(0, -1)],
      ['two chunks swapped', (c: [string, string][]) => [[c[0]![0], c[1]![1]], [c[1]![0], c[0]![1]], ...c.slice(2)] as [string, string][]],
      ['its last two chunks swapped', (c: [string, string][]) => [...c.slice(0, -2), [c.at(-2)![0], c.at(-1)![1]], [c.at(-1)![0], c.at(-2)![1]]] as [string, string][]],
      ['an extra chunk after the last', (c: [string, string][]) => [...c, [`oidc_session.${c.length}`, 'AAAA']] as [string, string][]],
      ['one chunk\'s character flipped', (c: [string, string][]) => c.map(([n, v], i) => [n, i === 1 ? flip(v, 10) : v]) as [string, string][]],
    ])('with %s: refused', async (_how, mangle) => {
      await expectRefused(header(mangle(chunks)));
    });
  });

  test('sealed under a foreign secret: refused', async () => {
    const foreign = new Sealer(['a-foreign-secret-of-at-least-32-characters-!!']).seal(tokens, expiresAt());
    await expectRefused(`oidc_session=${foreign}`);
  });

  test('sealed with a secret later removed from the rotation list: accepted while listed, refused once removed', async () => {
    const NEW = 'the-new-secret-of-at-least-32-characters-0123';
    const OLD = 'the-old-secret-of-at-least-32-characters-0123';
    const build = (secret: string[]): Express => createApp({ auth: { ...bed.auth, secret }, sessionSecret: SESSION_SECRET });
    const sealedWithOld = new Sealer([OLD]).seal(tokens, expiresAt());
    await expectAccepted(`oidc_session=${sealedWithOld}`, build([NEW, OLD]));
    await expectRefused(`oidc_session=${sealedWithOld}`, build([NEW]));
  });
});

describe('oversized input', () => {
  const HUGE = 'A'.repeat(100 * 1024);

  /** A raw request that may be refused by Node itself before the app sees it. */
  async function oversized(url: string, options: Parameters<typeof rawRequest>[1] = {}): Promise<number> {
    const res = await rawRequest(url, options);
    expect(res.body).not.toMatch(STACK_TRACE);
    return res.status;
  }

  test.each(['state', 'code'])('a 100 KB %s in the callback query: 4xx, and the server still serves', async (name) => {
    const browser = new Browser();
    await startLogin(browser, `${bed.baseURL}/login`);
    const query = name === 'state' ? `code=abc&state=${HUGE}` : `code=${HUGE}&state=xyz`;
    const url = `${bed.baseURL}/callback?${query}`;
    const status = await oversized(url, { headers: { cookie: await browser.jar.getCookieString(url) } });
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    await expectServing();
  });

  test.each(['state', 'code'])('a 100 KB %s in a form-post callback body: 413, and the server still serves', async (name) => {
    const browser = new Browser();
    await startLogin(browser, `${bed.baseURL}/login`);
    const body = new URLSearchParams({ code: 'abc', state: 'xyz', [name]: HUGE });
    const res = await browser.request(`${bed.baseURL}/callback`, { body, headers: JSON_ACCEPT });
    expectRejected(res, 413);
    expect(errorOf(res).error).toBe('invalid_request');
    await expectNotSignedIn(browser);
    await expectServing();
  });

  test('a form-post callback body just under 64 KiB is read, and refused as a bad answer: 400', async () => {
    const browser = new Browser();
    await startLogin(browser, `${bed.baseURL}/login`);
    const body = new URLSearchParams({ code: 'abc', state: 'A'.repeat(60 * 1024) });
    const res = await browser.request(`${bed.baseURL}/callback`, { body, headers: JSON_ACCEPT });
    expectRejected(res, 400);
    expect(errorOf(res).error).toBe('state_mismatch');
  });

  test('a 100 KB returnTo on /login: not 5xx, and the server still serves', async () => {
    const status = await oversized(`${bed.baseURL}/login?returnTo=%2F${HUGE}`);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    await expectServing();
  });

  test('a 10 KB returnTo on /login (under Node\'s header limit) is dropped: the login lands on /', async () => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login?returnTo=%2F${'a'.repeat(10 * 1024)}`);
    const res = await browser.request(response.href);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/');
  });
});
