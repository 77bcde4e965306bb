/**
 * The web attacks on the login flow an OpenID Connect relying party must withstand, driven over
 * real HTTP against the example app and a real OpenID Provider (oidc-provider): login CSRF
 * (RFC 6749 §10.12, RFC 9700 §4.7), session fixation, open redirects through `returnTo`
 * (RFC 9700 §4.11), reflected XSS and header injection through the callback's
 * `error_description`.
 *
 * Every rejection must answer 4xx (never 5xx), set no session cookie, leave `req.user` undefined,
 * leave an existing session as it was, show no stack trace, and leave the server serving. A
 * callback that is not a pending login's, in a browser already signed in, is a stale one (the
 * back button): 302 to /, with no code exchanged and the session as it was.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseSetCookie } from 'cookie';
import express from 'express';
import session from 'express-session';
import { authCallback, requireAuth } from '../../lib/index.js';
import { Browser } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { jsonError } from '../support/leaks.js';
import {
  authorizationResponse, SESSION_SECRET, sessionIdOf, signIn, startLogin, startTestbed, storedSession, type Testbed, testbedTools,
  useTestbed,
} from '../support/testbed.js';
import {
  expectNoHeaderInjection, expectRejected, type RawAnswer, rawRequest, SESSION_COOKIE, sessionCookieNamesSet, STACK_TRACE,
} from '../support/web-attacks.js';

const JSON_ACCEPT = { accept: 'application/json' };
const HTML_ACCEPT = { accept: 'text/html' };

const bed = useTestbed();
const { expectNotSignedIn } = testbedTools(bed);

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
    expect(bed.tokenRequests).toBe(0);
  });

  test('a victim with a pending login of its own: 400 state_mismatch, not signed in as the attacker', async () => {
    const response = await attackerResponse();
    const victim = new Browser();
    const { state } = await startLogin(victim, `${bed.baseURL}/login`);
    expect(state).not.toBe(response.searchParams.get('state'));
    const res = await victim.request(response.href, { headers: JSON_ACCEPT });
    expectRejected(res);
    expect(jsonError(res).error).toBe('state_mismatch');
    await expectNotSignedIn(victim);
    expect(bed.tokenRequests).toBe(0);
  });

  test('a victim already signed in: 302 to / (a stale callback, nothing exchanged), its own session still works and its cookie is not touched', async () => {
    const victim = new Browser();
    await signIn(victim, `${bed.baseURL}/login`, 'victim');
    const before = await victim.cookie(bed.baseURL, 'oidc_session');
    expect(before).toBeDefined();
    const response = await attackerResponse();
    bed.tokenRequests = 0;
    for (const headers of [HTML_ACCEPT, JSON_ACCEPT]) {
      const res = await victim.request(response.href, { headers });
      // A callback with no pending login in a signed-in browser is a stale one (the back button):
      // sent home, with no code redeemed.
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/');
      expect(res.body).not.toMatch(STACK_TRACE);
      // Not even cleared: the answer names no session cookie at all.
      expect(res.headers.getSetCookie().map((c) => parseSetCookie(c).name).filter((n) => SESSION_COOKIE.test(n))).toEqual([]);
    }
    expect(await victim.cookie(bed.baseURL, 'oidc_session')).toBe(before);
    const me = await victim.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'victim' });
    expect(bed.tokenRequests).toBe(0);
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
    expect(sessionCookieNamesSet(raw.rawHeaders.filter((_, i) => i % 2 === 1 && /^set-cookie$/i.test(raw.rawHeaders[i - 1]!)))).toEqual(['oidc_session']);
  });

  /**
   * The provider's return after a logout that went to its end_session_endpoint: `baseURL` (the
   * one `post_logout_redirect_uri`) with the logout's `state`, in a browser that holds the
   * logout's sealed `oidc_session_logout` cookie.
   */
  async function returnFromProvider(res: RawAnswer, baseURL: string): Promise<RawAnswer> {
    const endSession = new URL(res.headers.location!);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(baseURL);
    const state = endSession.searchParams.get('state')!;
    expect(state).toMatch(/^[\w-]{22}$/);
    const pending = (res.headers['set-cookie'] ?? []).map((c) => parseSetCookie(c)).filter((c) => c.name === 'oidc_session_logout');
    expect(pending).toHaveLength(1);
    expect(pending[0]!.value).not.toBe('');
    const back = await rawRequest(`${baseURL}/?state=${state}`, { headers: { cookie: `oidc_session_logout=${pending[0]!.value!}` } });
    expect(back.status).toBe(302);
    return back;
  }

  /**
   * Asserts a logout answer stays on the app's origin, directly or through the provider's
   * end_session_endpoint and its return with the logout's state.
   */
  async function expectSameOriginLogout(res: RawAnswer, baseURL: string, issuer: string): Promise<void> {
    expect(res.status).toBe(302);
    const location = new URL(res.headers.location!, baseURL);
    const app = new URL(baseURL).origin;
    if (location.origin === new URL(issuer).origin) {
      expect(location.pathname).toBe('/session/end');
      const back = await returnFromProvider(res, baseURL);
      const landing = back.headers.location!;
      expect(new URL(landing, baseURL).origin).toBe(app);
      expect(landing).toMatch(/^\/(?![/\\])/);
      expectNoHeaderInjection(back.rawHeaders);
    } else {
      expect(location.origin).toBe(app);
      expect(location.pathname).not.toMatch(/^\/\//);
    }
    expectNoHeaderInjection(res.rawHeaders);
  }

  test('logout with a same-origin returnTo: post_logout_redirect_uri = baseURL, and the provider\'s return with the logout\'s state lands on returnTo (the control for the cases below)', async () => {
    const res = await rawRequest(`${bed.baseURL}/logout?returnTo=${encodeURIComponent('/profile?tab=1')}`);
    expect(res.status).toBe(302);
    expect((await returnFromProvider(res, bed.baseURL)).headers.location).toBe('/profile?tab=1');
  });

  test.each(HOSTILE_RETURN_TO.map((v) => [JSON.stringify(v), v]))('logout with returnTo=%s: the provider\'s return lands on the app\'s origin', async (_name, value) => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`);
    const url = `${bed.baseURL}/logout?returnTo=${encodeURIComponent(value)}`;
    const res = await rawRequest(url, { headers: { cookie: await browser.jar.getCookieString(url) } });
    expect(new URL(res.headers.location!).origin).toBe(new URL(bed.provider.issuer).origin);
    await expectSameOriginLogout(res, bed.baseURL, bed.provider.issuer);
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
      expect(res.headers.location).toBe('/profile?tab=1');
    });

    test.each(HOSTILE_RETURN_TO.map((v) => [JSON.stringify(v), v]))('logout with returnTo=%s redirects on the app\'s origin', async (_name, value) => {
      const res = await rawRequest(`${plain.baseURL}/logout?returnTo=${encodeURIComponent(value)}`);
      expect(new URL(res.headers.location!, plain.baseURL).origin).toBe(new URL(plain.baseURL).origin);
      await expectSameOriginLogout(res, plain.baseURL, plain.provider.issuer);
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
      if (accept === 'application/json') expect(jsonError(res).error).toBe(code);
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
