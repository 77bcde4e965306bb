/**
 * Step-up authentication per route (RFC 9470; OpenID Connect Core 1.0 §3.1.2.1):
 * `requireAuth({ acr, maxAge })`. A session whose login did not reach one of the route's `acr`
 * values, or whose `auth_time` is older than `maxAge` (plus `clockTolerance`), is sent through a
 * new login asking for them (`acr_values`, `max_age`) when it is a browser's page load, and gets
 * 401 `insufficient_user_authentication` with a `Bearer` challenge (RFC 9470 §3) otherwise. The
 * new login's ID token must meet what it asked for (`acr_mismatch`, `max_age_exceeded`), so a
 * provider that ignores the request never makes a redirect loop.
 *
 * Apps are built here (authCallback(), guarded routes, errors as JSON, no express-session) and
 * served on their own localhost port. The hostile provider of test/support/hostile-provider.ts
 * stands in where the ID token's `acr` and `auth_time` must be chosen; the real oidc-provider of
 * test/support/testbed.ts checks `max_age` end to end.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import request from 'supertest';
import { AuthError, authCallback, requireAuth, type AuthCallbackConfig } from '../../lib/index.js';
import type { RequireAuthOptions } from '../../lib/guard/require-auth.js';
import { Browser, type Page } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { expectTypeError } from '../support/expect-error.js';
import { startHostileProvider, type HostileProvider } from '../support/hostile-provider.js';
import { serveApp, type RunningServer } from '../support/http-server.js';
import { leaksInPage, sessionCookiesSet } from '../support/leaks.js';
import { CLIENT_ID, CLIENT_SECRET, SECRET, signIn, startTestbed, type Testbed } from '../support/testbed.js';

const JSON_ACCEPT = { accept: 'application/json' };
/** The `error_description` of every step-up challenge (RFC 9470 §3). */
const DESCRIPTION = 'error_description="A stronger or more recent authentication is required"';
/** `WWW-Authenticate` of a step-up 401, asking for `params` (e.g. `acr_values="urn:mfa"`, `max_age=300`). */
const challenge = (...params: string[]) => ['Bearer error="insufficient_user_authentication"', DESCRIPTION, ...params].join(', ');

/**
 * What a guarded route answers: who got through, and the login's `acr` (kept in `req.user`) and
 * `auth_time` (a protocol claim: only in `req.oidc.claims`, never in `req.user`).
 */
const show: RequestHandler = (req, res) => {
  res.json({
    route: req.originalUrl, sub: req.user?.sub, acr: req.user?.acr ?? null, auth_time: req.oidc.claims?.auth_time ?? null,
    auth_time_in_user: req.user !== undefined && 'auth_time' in req.user,
  });
};

/** The last error passed to next(), as the app's error handler saw it. */
let lastError: unknown;

/** An app with step-up routes: authCallback() over `auth`, no express-session, errors as JSON. */
function buildApp(auth: AuthCallbackConfig): Express {
  const app = express();
  app.use(authCallback(auth));
  app.get('/me', requireAuth(), show);
  app.get('/mfa', requireAuth({ acr: 'urn:mfa' }), show);
  app.post('/mfa', requireAuth({ acr: 'urn:mfa' }), show);
  app.get('/strong', requireAuth({ acr: ['urn:mfa', 'urn:hwk'] }), show);
  app.get('/recent', requireAuth({ maxAge: 300 }), show);
  app.get('/strong-recent', requireAuth({ acr: ['urn:mfa', 'urn:hwk'], maxAge: 300 }), show);
  app.get('/api/mfa', requireAuth({ acr: 'urn:mfa', redirect: false }), show);
  app.get('/mfa-mallory', requireAuth({ acr: 'urn:mfa', claims: { email: 'mallory@example.test' } }), show);
  app.get('/mfa-admin', requireAuth({ acr: 'urn:mfa', claims: { groups: 'admin' } }), show);
  app.get('/fresh', requireAuth({ maxAge: 60 }), show);
  app.get('/now', requireAuth({ maxAge: 0 }), show);
  const record: ErrorRequestHandler = (err, _req, _res, next) => { lastError = err; next(err); };
  app.use(record, errorAsJson);
  return app;
}

/** {@link buildApp} on its own 127.0.0.1 port, with `baseURL` `http://localhost:<port>`, signing in at `issuer`. */
function startApp(issuer: string, auth: Partial<AuthCallbackConfig> = {}): Promise<RunningServer> {
  return serveApp((baseURL) => buildApp({ issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET, ...auth }));
}

/** The login redirect of `page`: its path and its query, decoded, in order. */
function loginRedirect(page: Page): { path: string; query: [string, string][] } {
  expect(page.status).toBe(302);
  const location = page.headers.get('location');
  expect(location).not.toBeNull();
  const url = new URL(location!, page.url);
  expect(url.origin).toBe(new URL(page.url).origin);
  return { path: url.pathname, query: [...url.searchParams] };
}

function bodyOf(page: Page): Record<string, unknown> {
  return JSON.parse(page.body) as Record<string, unknown>;
}

const now = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------

describe('requireAuth({ acr, maxAge }) checks its options at start-up', () => {
  /** Asserts that `requireAuth(options)` throws a TypeError whose message contains `text`. */
  const expectOptionsError = (options: unknown, text: string): void => expectTypeError(() => requireAuth(options as RequireAuthOptions), text);

  const ACR = 'requireAuth(): option "acr" must be an acr value (printable ASCII, no space, quote or backslash) or a non-empty array of them';
  const MAX_AGE = 'requireAuth(): option "maxAge" must be a whole number of seconds, at least 0';

  test.each<[string, unknown]>([
    ['an empty string', { acr: '' }],
    ['an empty array', { acr: [] }],
    ['a value with a space (acr_values is space-separated, §3.1.2.1)', { acr: 'a b' }],
    ['a value with a double quote (it would break the quoted challenge parameter)', { acr: 'x"y' }],
    ['a value with a backslash', { acr: 'x\\y' }],
    ['a value with a control character', { acr: 'urn:mfa\n' }],
    ['a non-ASCII value', { acr: 'urn:mfä' }],
    ['an array with an empty value', { acr: ['urn:mfa', ''] }],
    ['an array with a value with a space', { acr: ['urn:mfa', 'urn:a b'] }],
    ['a number', { acr: 2 }],
    ['an array with a number', { acr: ['urn:mfa', 2] }],
    ['null', { acr: null }],
  ])('acr: %s is a TypeError naming the option', (_name, options) => {
    expectOptionsError(options, ACR);
  });

  test.each<[string, unknown]>([
    ['a negative number', { maxAge: -1 }],
    ['a fraction of a second', { maxAge: 1.5 }],
    ['a string of digits', { maxAge: '60' }],
    ['NaN', { maxAge: Number.NaN }],
    ['Infinity', { maxAge: Number.POSITIVE_INFINITY }],
    ['null', { maxAge: null }],
  ])('maxAge: %s is a TypeError naming the option', (_name, options) => {
    expectOptionsError(options, MAX_AGE);
  });

  test('valid step-up options build a middleware function', () => {
    for (const options of [{ acr: 'urn:mfa' }, { acr: ['urn:mfa', 'urn:hwk'] }, { acr: '1' }, { maxAge: 0 }, { maxAge: 300 },
      { acr: 'urn:mfa', maxAge: 300, redirect: false, claims: { email_verified: true } }, { acr: undefined, maxAge: undefined }]) {
      expect(typeof requireAuth(options as RequireAuthOptions)).toBe('function');
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('step-up against a provider whose acr and auth_time the test chooses (hostile provider)', () => {
  let hostile: HostileProvider;
  /** The app with the default options: loginParams carry acr_values and max_age, clockTolerance 30 s. */
  let app: RunningServer;

  beforeAll(async () => {
    hostile = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    app = await startApp(hostile.issuer);
  });
  afterAll(async () => {
    await app.close();
    await hostile.close();
  });
  beforeEach(() => {
    hostile.reset();
    lastError = undefined;
  });

  /**
   * Signs in at `at` (the provider's /authorize signs in at once) with the ID token's claims
   * edited by `claims`, and lands on /me.
   */
  async function signedIn(claims: Record<string, unknown>, at: RunningServer = app): Promise<Browser> {
    const browser = new Browser();
    hostile.behaviour.claims = claims;
    const landing = await browser.visit(`${at.baseURL}/login?returnTo=%2Fme`);
    expect(landing.status).toBe(200);
    expect(landing.url).toBe(`${at.baseURL}/me`);
    return browser;
  }

  describe('only the ID token says how the user authenticated (UserInfo is not signed, OIDC Core §5.3.2)', () => {
    test('a UserInfo acr, auth_time, amr or sid never stands in for the ID token\'s: the step-up route still asks for a login', async () => {
      const withUserInfo = await startApp(hostile.issuer, { fetchUserInfo: true });
      try {
        hostile.behaviour.userinfoClaims = { acr: 'urn:mfa', auth_time: now(), amr: ['hwk'], sid: 'from-userinfo', nickname: 'kept' };
        const browser = await signedIn({ acr: undefined, auth_time: now() - 3600 }, withUserInfo);
        const me = bodyOf(await browser.request(`${withUserInfo.baseURL}/api/mfa`, { headers: JSON_ACCEPT }));
        expect(me).toMatchObject({ code: 'insufficient_user_authentication' });
        const recent = await browser.request(`${withUserInfo.baseURL}/recent`);
        expect(loginRedirect(recent).query).toEqual([['returnTo', '/recent'], ['max_age', '300']]);
      } finally {
        await withUserInfo.close();
      }
    });
  });

  describe('a signed-in browser\'s page load that does not meet the route is sent to a login asking for it (RFC 9470 §4, OIDC Core §3.1.2.1)', () => {
    test('acr not one asked for: 302 to /login with returnTo = the original URL (encoded) and acr_values', async () => {
      const browser = await signedIn({ acr: 'urn:pwd' });
      const path = '/mfa?x=1&y=%2F';
      const page = await browser.request(`${app.baseURL}${path}`);
      expect(page.status).toBe(302);
      expect(page.headers.get('location')!.startsWith(`/login?returnTo=${encodeURIComponent(path)}&`)).toBe(true);
      expect(loginRedirect(page)).toEqual({ path: '/login', query: [['returnTo', path], ['acr_values', 'urn:mfa']] });
    });

    test('several acr values: acr_values holds them all, space-separated', async () => {
      const browser = await signedIn({ acr: 'urn:pwd' });
      const page = await browser.request(`${app.baseURL}/strong`);
      expect(loginRedirect(page)).toEqual({ path: '/login', query: [['returnTo', '/strong'], ['acr_values', 'urn:mfa urn:hwk']] });
    });

    test('a session without any acr claim does not meet an acr requirement', async () => {
      const browser = await signedIn({ acr: undefined });
      const page = await browser.request(`${app.baseURL}/mfa`);
      expect(loginRedirect(page)).toEqual({ path: '/login', query: [['returnTo', '/mfa'], ['acr_values', 'urn:mfa']] });
    });

    test('auth_time older than maxAge + clockTolerance: 302 to /login with max_age only', async () => {
      const browser = await signedIn({ acr: 'urn:mfa', auth_time: now() - 3600 });
      const page = await browser.request(`${app.baseURL}/recent`);
      expect(loginRedirect(page)).toEqual({ path: '/login', query: [['returnTo', '/recent'], ['max_age', '300']] });
    });

    test('a session without auth_time does not meet a maxAge requirement', async () => {
      const browser = await signedIn({ auth_time: undefined });
      const page = await browser.request(`${app.baseURL}/recent`);
      expect(loginRedirect(page)).toEqual({ path: '/login', query: [['returnTo', '/recent'], ['max_age', '300']] });
    });

    test('a route asking for both: a session that meets acr but is too old is sent to a login asking for both', async () => {
      const browser = await signedIn({ acr: 'urn:hwk', auth_time: now() - 3600 });
      const page = await browser.request(`${app.baseURL}/strong-recent`);
      expect(loginRedirect(page)).toEqual({ path: '/login', query: [['returnTo', '/strong-recent'], ['acr_values', 'urn:mfa urn:hwk'], ['max_age', '300']] });
    });

    test('a HEAD page load is redirected too', async () => {
      const browser = await signedIn({ acr: 'urn:pwd' });
      const page = await browser.request(`${app.baseURL}/mfa`, { method: 'HEAD' });
      expect(loginRedirect(page)).toEqual({ path: '/login', query: [['returnTo', '/mfa'], ['acr_values', 'urn:mfa']] });
    });
  });

  describe('any other request gets 401 insufficient_user_authentication with a Bearer challenge (RFC 9470 §3)', () => {
    test('Accept: application/json: 401, the error passed to next(), WWW-Authenticate naming acr_values', async () => {
      const browser = await signedIn({ acr: 'urn:pwd' });
      const page = await browser.request(`${app.baseURL}/mfa`, { headers: JSON_ACCEPT });
      expect(page.status).toBe(401);
      expect(page.headers.get('location')).toBeNull();
      expect(page.headers.get('www-authenticate')).toBe(challenge('acr_values="urn:mfa"'));
      expect(bodyOf(page).code).toBe('insufficient_user_authentication');
      expect(lastError).toBeInstanceOf(AuthError);
      expect(lastError).toMatchObject({ code: 'insufficient_user_authentication', status: 401 });
    });

    test('a POST from a browser: 401, not a redirect that would lose its body', async () => {
      const browser = await signedIn({ acr: 'urn:pwd' });
      const page = await browser.request(`${app.baseURL}/mfa`, { method: 'POST', body: new URLSearchParams({ amount: '100' }) });
      expect(page.status).toBe(401);
      expect(page.headers.get('location')).toBeNull();
      expect(page.headers.get('www-authenticate')).toBe(challenge('acr_values="urn:mfa"'));
      expect(bodyOf(page).code).toBe('insufficient_user_authentication');
    });

    test('redirect: false: even a browser\'s page load gets the 401', async () => {
      const browser = await signedIn({ acr: 'urn:pwd' });
      const page = await browser.request(`${app.baseURL}/api/mfa`);
      expect(page.status).toBe(401);
      expect(page.headers.get('location')).toBeNull();
      expect(page.headers.get('www-authenticate')).toBe(challenge('acr_values="urn:mfa"'));
      expect(bodyOf(page).code).toBe('insufficient_user_authentication');
    });

    test('maxAge only: the challenge carries max_age and no acr_values', async () => {
      const browser = await signedIn({ auth_time: now() - 3600 });
      const page = await browser.request(`${app.baseURL}/recent`, { headers: JSON_ACCEPT });
      expect(page.status).toBe(401);
      expect(page.headers.get('www-authenticate')).toBe(challenge('max_age=300'));
      expect(bodyOf(page).code).toBe('insufficient_user_authentication');
    });

    test('both: the challenge carries acr_values (space-separated) and max_age', async () => {
      const browser = await signedIn({ acr: 'urn:pwd' });
      const page = await browser.request(`${app.baseURL}/strong-recent`, { headers: JSON_ACCEPT });
      expect(page.status).toBe(401);
      expect(page.headers.get('www-authenticate')).toBe(challenge('acr_values="urn:mfa urn:hwk"', 'max_age=300'));
      expect(bodyOf(page).code).toBe('insufficient_user_authentication');
    });
  });

  describe('a session that meets the route passes', () => {
    test('acr one of those asked for: 200, with req.user.acr', async () => {
      const mfa = await signedIn({ acr: 'urn:mfa' });
      for (const path of ['/mfa', '/strong']) {
        const page = await mfa.request(`${app.baseURL}${path}`);
        expect(page.status).toBe(200);
        expect(bodyOf(page)).toMatchObject({ route: path, acr: 'urn:mfa' });
      }
      const hwk = await signedIn({ acr: 'urn:hwk' });
      expect((await hwk.request(`${app.baseURL}/strong`)).status).toBe(200);
      expect((await hwk.request(`${app.baseURL}/mfa`)).status).toBe(302);
    });

    test('acr is compared exactly: urn:MFA and a prefix of urn:mfa do not meet it', async () => {
      for (const acr of ['urn:MFA', 'urn:mf', 'urn:mfa ']) {
        const browser = await signedIn({ acr });
        const page = await browser.request(`${app.baseURL}/mfa`, { headers: JSON_ACCEPT });
        expect(page.status).toBe(401);
        expect(bodyOf(page).code).toBe('insufficient_user_authentication');
      }
    });

    test('auth_time within maxAge + clockTolerance (default 30 s) passes; beyond it does not', async () => {
      const within = await signedIn({ auth_time: now() - 315 });
      expect((await within.request(`${app.baseURL}/recent`)).status).toBe(200);
      const beyond = await signedIn({ auth_time: now() - 345 });
      expect(loginRedirect(await beyond.request(`${app.baseURL}/recent`)).query).toContainEqual(['max_age', '300']);
    });

    test('clockTolerance: 0 leaves no slack: auth_time 315 s ago does not meet maxAge 300', async () => {
      const strict = await startApp(hostile.issuer, { clockTolerance: 0 });
      try {
        const browser = await signedIn({ auth_time: now() - 315 }, strict);
        const page = await browser.request(`${strict.baseURL}/recent`);
        expect(loginRedirect(page)).toEqual({ path: '/login', query: [['returnTo', '/recent'], ['max_age', '300']] });
        const fresh = await signedIn({}, strict);
        expect((await fresh.request(`${strict.baseURL}/recent`)).status).toBe(200);
      } finally {
        await strict.close();
      }
    });

    test('claims requirements still apply after step-up: 200 when they match, 403 forbidden when not', async () => {
      const browser = await signedIn({ acr: 'urn:mfa' });
      const mallory = await browser.request(`${app.baseURL}/mfa-mallory`);
      expect(mallory.status).toBe(200);
      expect(bodyOf(mallory)).toMatchObject({ sub: 'mallory', acr: 'urn:mfa' });
      const admin = await browser.request(`${app.baseURL}/mfa-admin`);
      expect(admin.status).toBe(403);
      expect(admin.headers.get('location')).toBeNull();
      expect(bodyOf(admin).code).toBe('forbidden');
    });
  });

  describe('a browser without any session', () => {
    test('is sent to /login with returnTo and acr_values directly, and one login lands it on the route', async () => {
      const browser = new Browser();
      const page = await browser.request(`${app.baseURL}/mfa`);
      expect(loginRedirect(page)).toEqual({ path: '/login', query: [['returnTo', '/mfa'], ['acr_values', 'urn:mfa']] });

      hostile.behaviour.claims = { acr: 'urn:mfa' };
      const landing = await browser.visit(new URL(page.headers.get('location')!, page.url).href);
      expect(landing.status).toBe(200);
      expect(landing.url).toBe(`${app.baseURL}/mfa`);
      expect(bodyOf(landing)).toMatchObject({ route: '/mfa', acr: 'urn:mfa' });
      expect(hostile.authorizeRequests).toHaveLength(1);
      expect(hostile.authorizeRequests[0]!.params.get('acr_values')).toBe('urn:mfa');
    });

    test('maxAge: sent to /login with returnTo and max_age', async () => {
      const page = await new Browser().request(`${app.baseURL}/strong-recent`);
      expect(loginRedirect(page)).toEqual({ path: '/login', query: [['returnTo', '/strong-recent'], ['acr_values', 'urn:mfa urn:hwk'], ['max_age', '300']] });
    });

    test('an API request gets the ordinary 401 unauthorized (sign in first), not the step-up challenge', async () => {
      const page = await new Browser().request(`${app.baseURL}/mfa`, { headers: JSON_ACCEPT });
      expect(page.status).toBe(401);
      expect(page.headers.get('www-authenticate')).toBe(`OpenIDConnect realm="${app.baseURL}", login_uri="${app.baseURL}/login"`);
      expect(bodyOf(page).code).toBe('unauthorized');
    });
  });

  describe('end to end: the step-up login (RFC 9470 §4)', () => {
    test('acr: signed in with urn:pwd, the route asks for urn:mfa; the provider answers urn:mfa and the browser lands back on the route', async () => {
      const browser = await signedIn({ acr: 'urn:pwd' });
      const path = '/mfa?x=1&y=%2F';
      const step = await browser.request(`${app.baseURL}${path}`);
      expect(loginRedirect(step)).toEqual({ path: '/login', query: [['returnTo', path], ['acr_values', 'urn:mfa']] });

      const toProvider = await browser.request(new URL(step.headers.get('location')!, step.url).href);
      expect(toProvider.status).toBe(302);
      expect(new URL(toProvider.headers.get('location')!).searchParams.get('acr_values')).toBe('urn:mfa');

      hostile.behaviour.claims = { acr: 'urn:mfa' };
      const landing = await browser.visit(toProvider.headers.get('location')!);
      expect(hostile.authorizeRequests).toHaveLength(2);
      expect(hostile.authorizeRequests[1]!.params.get('acr_values')).toBe('urn:mfa');
      expect(landing.status).toBe(200);
      expect(landing.url).toBe(`${app.baseURL}${path}`);
      expect(bodyOf(landing)).toMatchObject({ route: path, sub: 'mallory', acr: 'urn:mfa' });
      const me = await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT });
      expect(bodyOf(me).acr).toBe('urn:mfa');
    });

    test('several acr values: the provider may answer any one of them', async () => {
      const browser = await signedIn({ acr: 'urn:pwd' });
      hostile.behaviour.claims = { acr: 'urn:hwk' };
      const landing = await browser.visit(`${app.baseURL}/strong`);
      expect(hostile.authorizeRequests[1]!.params.get('acr_values')).toBe('urn:mfa urn:hwk');
      expect(landing.status).toBe(200);
      expect(bodyOf(landing)).toMatchObject({ route: '/strong', acr: 'urn:hwk' });
    });

    test('a provider that ignores acr_values (answers urn:pwd again): the callback answers 401 acr_mismatch, no new session, no loop', async () => {
      const browser = await signedIn({ acr: 'urn:pwd' });
      const before = browser.history.length;
      const end = await browser.visit(`${app.baseURL}/mfa`);
      const hops = browser.history.slice(before);
      // /mfa → /login → /authorize → /callback, which answers: three redirects, then the error.
      expect(hops).toHaveLength(4);
      expect(new URL(hops[1]!).pathname).toBe('/login');
      expect(new URL(hops[3]!).pathname).toBe('/callback');
      expect(hostile.authorizeRequests).toHaveLength(2);
      expect(end.status).toBe(401);
      expect(bodyOf(end).code).toBe('acr_mismatch');
      expect(sessionCookiesSet(end)).toEqual([]);
      expect(leaksInPage(end, hostile.secrets())).toEqual([]);
    });

    test('maxAge: an hour-old authentication is sent to a login with max_age=300; a fresh one lands back on the route', async () => {
      const first = now() - 3600;
      const browser = await signedIn({ auth_time: first });
      const step = await browser.request(`${app.baseURL}/recent`);
      expect(loginRedirect(step)).toEqual({ path: '/login', query: [['returnTo', '/recent'], ['max_age', '300']] });

      hostile.behaviour.claims = {};
      const before = now();
      const landing = await browser.visit(new URL(step.headers.get('location')!, step.url).href);
      expect(hostile.authorizeRequests).toHaveLength(2);
      expect(hostile.authorizeRequests[1]!.params.get('max_age')).toBe('300');
      expect(landing.status).toBe(200);
      expect(landing.url).toBe(`${app.baseURL}/recent`);
      const authTime = bodyOf(landing).auth_time as number;
      expect(bodyOf(landing).auth_time_in_user).toBe(false);
      expect(authTime).toBeGreaterThanOrEqual(before - 1);
      expect(authTime).not.toBe(first);
    });

    test('a provider that ignores max_age (the old auth_time again): the callback answers 401 max_age_exceeded, no loop', async () => {
      const old = now() - 3600;
      const browser = await signedIn({ auth_time: old });
      const before = browser.history.length;
      const end = await browser.visit(`${app.baseURL}/recent`);
      expect(browser.history.length - before).toBe(4);
      expect(hostile.authorizeRequests).toHaveLength(2);
      expect(end.status).toBe(401);
      expect(bodyOf(end).code).toBe('max_age_exceeded');
      expect(sessionCookiesSet(end)).toEqual([]);
    });
  });

  describe('when the login route cannot carry the requirement, even a browser gets the 401 (no redirect loop)', () => {
    test('acr_values fixed in authorizationParams: 401 with the challenge, no Location', async () => {
      const fixed = await startApp(hostile.issuer, { authorizationParams: { acr_values: 'urn:pwd' } });
      try {
        const browser = await signedIn({ acr: 'urn:pwd' }, fixed);
        expect(hostile.authorizeRequests[0]!.params.get('acr_values')).toBe('urn:pwd');
        const page = await browser.request(`${fixed.baseURL}/mfa`);
        expect(page.status).toBe(401);
        expect(page.headers.get('location')).toBeNull();
        expect(page.headers.get('www-authenticate')).toBe(challenge('acr_values="urn:mfa"'));
        expect(bodyOf(page).code).toBe('insufficient_user_authentication');
        expect(bodyOf(page).message).toContain('no new login can ask for it');
      } finally {
        await fixed.close();
      }
    });

    test('acr_values missing from loginParams: an acr route answers 401; a maxAge route still redirects', async () => {
      const noAcr = await startApp(hostile.issuer, { loginParams: ['max_age'] });
      try {
        const browser = await signedIn({ acr: 'urn:pwd', auth_time: now() - 3600 }, noAcr);
        const mfa = await browser.request(`${noAcr.baseURL}/mfa`);
        expect(mfa.status).toBe(401);
        expect(mfa.headers.get('location')).toBeNull();
        expect(mfa.headers.get('www-authenticate')).toBe(challenge('acr_values="urn:mfa"'));
        expect(bodyOf(mfa).code).toBe('insufficient_user_authentication');
        const both = await browser.request(`${noAcr.baseURL}/strong-recent`);
        expect(both.status).toBe(401);
        expect(both.headers.get('location')).toBeNull();
        expect(loginRedirect(await browser.request(`${noAcr.baseURL}/recent`)).query).toEqual([['returnTo', '/recent'], ['max_age', '300']]);
      } finally {
        await noAcr.close();
      }
    });

    test('max_age missing from loginParams: a maxAge route answers 401; an acr route still redirects', async () => {
      const noMaxAge = await startApp(hostile.issuer, { loginParams: ['acr_values'] });
      try {
        const browser = await signedIn({ acr: 'urn:pwd', auth_time: now() - 3600 }, noMaxAge);
        const recent = await browser.request(`${noMaxAge.baseURL}/recent`);
        expect(recent.status).toBe(401);
        expect(recent.headers.get('location')).toBeNull();
        expect(recent.headers.get('www-authenticate')).toBe(challenge('max_age=300'));
        expect(bodyOf(recent).code).toBe('insufficient_user_authentication');
        expect(loginRedirect(await browser.request(`${noMaxAge.baseURL}/mfa`)).query).toEqual([['returnTo', '/mfa'], ['acr_values', 'urn:mfa']]);
      } finally {
        await noMaxAge.close();
      }
    });

    test('loginParams: [] (none carried): both kinds of route answer 401 to a browser', async () => {
      const none = await startApp(hostile.issuer, { loginParams: [] });
      try {
        const browser = await signedIn({ acr: 'urn:pwd', auth_time: now() - 3600 }, none);
        for (const path of ['/mfa', '/recent', '/strong-recent']) {
          const page = await browser.request(`${none.baseURL}${path}`);
          expect(page.status).toBe(401);
          expect(page.headers.get('location')).toBeNull();
          expect(page.headers.get('www-authenticate')).toMatch(/^Bearer error="insufficient_user_authentication", /);
        }
      } finally {
        await none.close();
      }
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('maxAge end to end against a real OpenID Provider (oidc-provider, OIDC Core §3.1.2.1)', () => {
  let bed: Testbed;
  beforeAll(async () => {
    bed = await startTestbed({ auth: { clockTolerance: 0 }, build: buildApp });
  });
  afterAll(async () => {
    await bed.close();
  });

  test('the ID token\'s real auth_time: fresh passes; once older than maxAge: 0 (clockTolerance 0), a redirect with max_age=0, and the provider asks for the login again', async () => {
    const browser = new Browser();
    const landing = await signIn(browser, `${bed.baseURL}/login?returnTo=%2Ffresh`);
    expect(landing.status).toBe(200);
    expect(landing.url).toBe(`${bed.baseURL}/fresh`);
    const authTime = bodyOf(landing).auth_time;
    expect(typeof authTime).toBe('number');
    expect(bodyOf(landing).auth_time_in_user).toBe(false);

    // The same session, read by an app with the default clockTolerance (30 s): maxAge 0 is met.
    const cookie = (await browser.cookie(bed.baseURL, 'oidc_session'))!;
    const tolerant = buildApp({ ...bed.auth, clockTolerance: 30 });
    expect((await request(tolerant).get('/now').set('Cookie', `oidc_session=${cookie}`).set('Accept', 'text/html')).status).toBe(200);

    await sleep(1100);
    expect((await request(tolerant).get('/now').set('Cookie', `oidc_session=${cookie}`).set('Accept', 'text/html')).status).toBe(200);
    const step = await browser.request(`${bed.baseURL}/now`);
    expect(loginRedirect(step)).toEqual({ path: '/login', query: [['returnTo', '/now'], ['max_age', '0']] });

    const toProvider = await browser.request(new URL(step.headers.get('location')!, step.url).href);
    expect(toProvider.status).toBe(302);
    const authorizationUrl = new URL(toProvider.headers.get('location')!);
    expect(authorizationUrl.origin).toBe(bed.provider.issuer);
    expect(authorizationUrl.searchParams.get('max_age')).toBe('0');
    const atProvider = await browser.visit(authorizationUrl.href);
    expect(atProvider.body).toMatch(/name="login"/);

    // Without max_age, the provider's session signs the same browser in without asking.
    const plain = await browser.visit(`${bed.baseURL}/login?returnTo=%2Ffresh`);
    expect(plain.body).not.toMatch(/name="login"/);
    expect(plain.url).toBe(`${bed.baseURL}/fresh`);
    expect(plain.status).toBe(200);
  });
});
