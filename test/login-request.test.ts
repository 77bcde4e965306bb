/**
 * What a login asks for, end to end against a real OpenID Provider (oidc-provider): per-login
 * authorization parameters from `/login`'s query (OpenID Connect Core 1.0 §3.1.2.1), a per-login
 * `max_age`, silent login (`prompt=none`, §3.1.2.6), third-party-initiated login (§4) and pushed
 * authorization requests (RFC 9126). The hostile provider of test/support/hostile-provider.ts
 * stands in where a provider must misbehave (an ID token without `auth_time`, a PAR endpoint
 * that refuses).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { parseSetCookie } from 'cookie';
import express, { type Express } from 'express';
import session from 'express-session';
import request from 'supertest';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { authCallback } from '../lib/index.js';
import { resolveOptions } from '../lib/config/resolve-options.js';
import { Sealer } from '../lib/session/seal.js';
import type { Transaction } from '../lib/transaction/transaction.js';
import { Browser, type Page } from './support/browser.js';
import { errorAsJson } from './support/error-handler.js';
import { closedPortIssuer, startHostileProvider, type HostileProvider } from './support/hostile-provider.js';
import {
  authorizationResponse, CLIENT_ID, CLIENT_SECRET, pendingLogin, SECRET, SESSION_SECRET, signIn, startLogin, startTestbed, type Testbed,
} from './support/testbed.js';

const JSON_ACCEPT = { accept: 'application/json' };
/** The `request_uri` prefix of RFC 9126 §2.2. */
const PAR_URN = 'urn:ietf:params:oauth:request_uri:';

/** The default testbed: oidc-provider (PAR offered, not required) and the example app (PAR off). */
let bed: Testbed;
/** Requests the provider's token endpoint answered, successful or not. */
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

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closer(server: Server): () => Promise<void> {
  return () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** A bare app (express-session, authCallback() over the testbed's options, errors as JSON) for supertest. */
function appWith(auth: Partial<AuthCallbackConfig>, base: AuthCallbackConfig = bed.auth): Express {
  const app = express();
  app.use(session({ secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
  app.use(authCallback({ ...base, ...auth }));
  app.get('/', (req, res) => { res.json({ user: req.user ?? null }); });
  app.use(errorAsJson);
  return app;
}

/** The authorization request `/login` (with `query`) redirects to. */
async function authorizationUrlOf(app: Express, path: string): Promise<URL> {
  const res = await request(app).get(path);
  expect(res.status).toBe(302);
  return new URL(res.headers.location as string);
}

function errorOf(page: Page): { error: string; error_description: string } {
  return JSON.parse(page.body) as { error: string; error_description: string };
}

/** The pending login the login route sealed into `browser`'s cookie for `state`. */
async function storedTransaction(browser: Browser, state: string): Promise<Transaction> {
  const transaction = await pendingLogin(browser, bed.baseURL, state);
  if (transaction === undefined) throw new Error(`no pending-login cookie for state ${state}`);
  return transaction;
}

async function apiMe(browser: Browser, baseURL = bed.baseURL): Promise<Page> {
  return browser.request(`${baseURL}/api/me`, { headers: JSON_ACCEPT });
}

async function expectNotSignedIn(browser: Browser): Promise<void> {
  expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeUndefined();
  expect((await apiMe(browser)).status).toBe(401);
}

/** Ends the app's session in `browser` only: the provider's own session cookies stay. */
async function dropAppSession(browser: Browser): Promise<void> {
  await browser.jar.setCookie('oidc_session=; Max-Age=0; Path=/', bed.baseURL);
  expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeUndefined();
}

// ---------------------------------------------------------------------------------------------

describe('per-login authorization parameters from /login\'s query (OpenID Connect Core 1.0 §3.1.2.1)', () => {
  test('prompt, login_hint, ui_locales and acr_values of the query reach the authorization request', async () => {
    const url = await authorizationUrlOf(bed.app, '/login?prompt=login&login_hint=ann%40example.com&ui_locales=fr&acr_values=urn:x');
    expect(url.searchParams.get('prompt')).toBe('login');
    expect(url.searchParams.get('login_hint')).toBe('ann@example.com');
    expect(url.searchParams.get('ui_locales')).toBe('fr');
    expect(url.searchParams.get('acr_values')).toBe('urn:x');
  });

  test('§3.1.2.1: prompt may hold several space-separated values (login consent)', async () => {
    const url = await authorizationUrlOf(bed.app, '/login?prompt=login%20consent');
    expect(url.searchParams.get('prompt')).toBe('login consent');
  });

  test('a parameter not on the allow-list is not passed, and protocol parameters cannot be overridden from the query', async () => {
    const url = await authorizationUrlOf(bed.app, '/login?foo=bar&redirect_uri=https%3A%2F%2Fevil&scope=admin&state=x&nonce=n'
      + '&code_challenge=c&code_challenge_method=plain&response_type=token&client_id=other&response_mode=fragment&request_uri=urn%3Ax');
    const p = url.searchParams;
    expect(p.has('foo')).toBe(false);
    expect(p.get('redirect_uri')).toBe(`${bed.baseURL}/callback`);
    expect(p.get('scope')).toBe('openid profile email');
    expect(p.get('state')).toMatch(/^[\w-]{43}$/);
    expect(p.get('nonce')).toMatch(/^[\w-]{43}$/);
    expect(p.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('response_type')).toBe('code');
    expect(p.get('client_id')).toBe(CLIENT_ID);
    expect(p.has('response_mode')).toBe(false);
    expect(p.has('request_uri')).toBe(false);
    for (const name of new Set(p.keys())) expect(p.getAll(name)).toHaveLength(1);
  });

  test.each([
    ['prompt', 'prompt=login&prompt=consent'],
    ['login_hint', 'login_hint=a&login_hint=b'],
    ['max_age', 'max_age=60&max_age=0'],
    ['iss', 'iss=x&iss=y'],
  ])('a repeated %s is refused: 400 invalid_request, no redirect to the provider', async (_name, query) => {
    const res = await request(bed.app).get(`/login?${query}`).set(JSON_ACCEPT);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.headers.location).toBeUndefined();
    expect(res.headers['set-cookie']).toBeUndefined(); // no transaction was stored
  });

  test.each([
    ['prompt=bogus (not a §3.1.2.1 value)', 'prompt=bogus'],
    ['prompt=none with another value', 'prompt=none%20login'],
    ['prompt=none with consent', 'prompt=consent+none'],
    ['prompt with an empty value between spaces', 'prompt=login%20%20consent'],
    ['an empty prompt', 'prompt='],
    ['max_age=abc', 'max_age=abc'],
    ['a negative max_age', 'max_age=-1'],
    ['a fractional max_age', 'max_age=1.5'],
    ['a 2,000-character login_hint', `login_hint=${'a'.repeat(2000)}`],
  ])('%s is refused: 400 invalid_request, no redirect to the provider', async (_kind, query) => {
    const res = await request(bed.app).get(`/login?${query}`).set(JSON_ACCEPT);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.headers.location).toBeUndefined();
  });

  test('loginParams: [] turns it off: the query\'s prompt and login_hint are not passed', async () => {
    const url = await authorizationUrlOf(appWith({ loginParams: [] }), '/login?prompt=login&login_hint=ann&max_age=abc');
    expect(url.searchParams.has('prompt')).toBe(false);
    expect(url.searchParams.has('login_hint')).toBe(false);
    expect(url.searchParams.has('max_age')).toBe(false);
  });

  test('a custom loginParams passes exactly the names it lists', async () => {
    const url = await authorizationUrlOf(appWith({ loginParams: ['login_hint', 'audience'] }), '/login?prompt=login&login_hint=ann&audience=https%3A%2F%2Fapi');
    expect(url.searchParams.has('prompt')).toBe(false);
    expect(url.searchParams.get('login_hint')).toBe('ann');
    expect(url.searchParams.get('audience')).toBe('https://api');
  });

});

describe('the app\'s policy (authorizationParams) is never weakened from the query', () => {
  const POLICY = { max_age: '60', organization_id: 'org_A', acr_values: 'urn:mfa', prompt: 'consent', connection_id: 'conn_A' };

  test('a value fixed in authorizationParams wins over the query\'s: organization_id, connection_id, acr_values, prompt, and a longer max_age', async () => {
    const app = appWith({ authorizationParams: POLICY });
    const url = await authorizationUrlOf(app, '/login?max_age=9999999999&organization_id=org_EVIL&acr_values=urn%3Apwd&prompt=none&connection_id=conn_EVIL&login_hint=ann');
    // (organization_id and connection_id are not in the default loginParams anyway: see the next tests.)
    for (const [name, value] of Object.entries(POLICY)) expect(url.searchParams.getAll(name)).toEqual([value]);
    expect(url.searchParams.get('login_hint')).toBe('ann'); // not fixed: the query still adds it
  });

  test('a query max_age may only shorten the app\'s: the smaller one is sent, and kept to check auth_time against', async () => {
    const app = appWith({ authorizationParams: { max_age: '60' } });
    const agent = request.agent(app);
    const res = await agent.get('/login?max_age=10');
    const url = new URL(res.headers.location as string);
    expect(url.searchParams.getAll('max_age')).toEqual(['10']);
    const sealed = (res.headers['set-cookie'] as unknown as string[]).map((c) => parseSetCookie(c)).find((c) => c.name.includes('_tx_'))!;
    const opened = new Sealer([SECRET], 'transaction').unseal<{ transaction: Transaction }>(sealed.value!)!.payload.transaction;
    expect(opened.maxAge).toBe(10);
    expect((await authorizationUrlOf(app, '/login?max_age=3600')).searchParams.getAll('max_age')).toEqual(['60']);
  });

  test('the default loginParams leave out the names authorizationParams fixes (but max_age)', () => {
    expect(resolveOptions({ ...bed.auth }).loginParams).toEqual(['prompt', 'login_hint', 'max_age', 'acr_values', 'ui_locales']);
    expect(resolveOptions({ ...bed.auth, authorizationParams: POLICY }).loginParams).toEqual(['login_hint', 'max_age', 'ui_locales']);
  });

  test('the default loginParams leave out the names that choose where the user authenticates (a link from any site could pick an attacker\'s connection)', async () => {
    const url = await authorizationUrlOf(bed.app, '/login?organization=org_X&organization_id=org_X&connection=conn_X&connection_id=conn_X');
    for (const name of ['organization', 'organization_id', 'connection', 'connection_id']) expect(url.searchParams.has(name)).toBe(false);
    const optedIn = await authorizationUrlOf(appWith({ loginParams: ['organization_id'] }), '/login?organization_id=org_X');
    expect(optedIn.searchParams.get('organization_id')).toBe('org_X');
  });

  test('a loginParams that lists a name authorizationParams fixes is a TypeError naming it, at start-up', () => {
    expect(() => authCallback({ ...bed.auth, authorizationParams: { organization_id: 'org_A' }, loginParams: ['login_hint', 'organization_id'] }))
      .toThrow(/option "loginParams" lists "organization_id", which authorizationParams fixes/);
    expect(() => authCallback({ ...bed.auth, authorizationParams: { max_age: '60' }, loginParams: ['max_age'] })).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------

describe('a per-login max_age (OpenID Connect Core 1.0 §3.1.2.1, §3.1.3.7 item 13)', () => {
  test('/login?max_age=0 sends max_age, the provider re-authenticates, and the login completes with auth_time checked', async () => {
    const browser = new Browser();
    const { authorizationUrl, state } = await startLogin(browser, `${bed.baseURL}/login?max_age=0`);
    expect(authorizationUrl.searchParams.get('max_age')).toBe('0');
    expect((await storedTransaction(browser, state)).maxAge).toBe(0);

    const before = Math.floor(Date.now() / 1000);
    const landing = await signIn(browser, `${bed.baseURL}/login?max_age=0`);
    expect(landing.url).toBe(`${bed.baseURL}/`);
    const me = await apiMe(browser);
    expect(me.status).toBe(200);
    const claims = JSON.parse(me.body) as { sub: string; auth_time?: number };
    expect(claims.sub).toBe('alice');
    expect(claims.auth_time).toBeGreaterThanOrEqual(before - 1);

    // The provider has a session now; max_age=0 still makes it ask for the login again.
    await dropAppSession(browser);
    const again = await browser.visit(`${bed.baseURL}/login?max_age=0`);
    expect(again.body).toMatch(/name="login"/);
  });

  describe('against a provider whose ID token may lack auth_time', () => {
    let hostile: HostileProvider;
    let app: { baseURL: string; close(): Promise<void> };

    beforeAll(async () => {
      hostile = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
      const server = createServer();
      const baseURL = `http://localhost:${await listen(server)}`;
      server.on('request', appWith({}, { issuer: hostile.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET }));
      app = { baseURL, close: closer(server) };
    });
    afterAll(async () => {
      await app.close();
      await hostile.close();
    });
    beforeEach(() => {
      hostile.reset();
    });

    async function callback(path: string): Promise<Page> {
      const browser = new Browser();
      const response = await authorizationResponse(browser, `${app.baseURL}${path}`);
      return browser.request(response.href, { headers: JSON_ACCEPT });
    }

    test('/login?max_age=60 and an ID token without auth_time: 502 invalid_id_token', async () => {
      hostile.behaviour.claims = { auth_time: undefined };
      const res = await callback('/login?max_age=60');
      expect(hostile.authorizeRequests[0]!.params.get('max_age')).toBe('60');
      expect(res.status).toBe(502);
      expect(JSON.parse(res.body).code).toBe('invalid_id_token');
      expect(res.headers.getSetCookie().some((c) => c.startsWith('oidc_session='))).toBe(false);
    });

    test('/login?max_age=60 and an auth_time older than max_age: 401 max_age_exceeded, no session', async () => {
      hostile.behaviour.claims = { auth_time: Math.floor(Date.now() / 1000) - 3600 };
      const res = await callback('/login?max_age=60');
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body).code).toBe('max_age_exceeded');
      expect(res.headers.getSetCookie().some((c) => c.startsWith('oidc_session='))).toBe(false);
    });

    test('the same ID token without auth_time is accepted when the login sent no max_age', async () => {
      hostile.behaviour.claims = { auth_time: undefined };
      const res = await callback('/login');
      expect(hostile.authorizeRequests[0]!.params.has('max_age')).toBe(false);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/');
      expect(res.headers.getSetCookie().some((c) => c.startsWith('oidc_session='))).toBe(true);
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('silent login: prompt=none (OpenID Connect Core 1.0 §3.1.2.6)', () => {
  test('without a provider session, login_required sends the browser back to returnTo: no session, no error page, the transaction used up', async () => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login?prompt=none&returnTo=%2Fprofile`);
    expect(response.searchParams.get('error')).toBe('login_required'); // oidc-provider's own answer

    const res = await browser.request(response.href);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/profile');
    expect(res.body).not.toMatch(/Sign-in problem/);
    await expectNotSignedIn(browser);
    // /profile is guarded: not signed in, so the browser is sent to log in.
    const profile = await browser.request(`${bed.baseURL}/profile`);
    expect(profile.status).toBe(302);
    expect(profile.headers.get('location')).toMatch(/^\/login\b/);

    const replay = await browser.request(response.href, { headers: JSON_ACCEPT });
    expect(replay.status).toBe(400);
    expect(errorOf(replay).error).toBe('missing_transaction');
    expect(tokenRequests).toBe(0);
  });

  test('with a provider session, prompt=none signs in without showing any page', async () => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`);
    await dropAppSession(browser);
    expect((await apiMe(browser)).status).toBe(401);

    const visited = browser.history.length;
    const landing = await browser.visit(`${bed.baseURL}/login?prompt=none&returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${bed.baseURL}/profile`);
    expect(landing.status).toBe(200);
    // /login, the provider's authorization endpoint, the callback, /profile: no interaction page.
    expect(browser.history.slice(visited).some((url) => url.includes('/interaction/'))).toBe(false);
    expect(browser.history.slice(visited)).toHaveLength(4);
    const me = await apiMe(browser);
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body).sub).toBe('alice');
  });

  test.each(['consent_required', 'interaction_required', 'account_selection_required'])(
    '%s on a prompt=none login is "not signed in" too: 302 to returnTo, no session', async (error) => {
      const browser = new Browser();
      const { state } = await startLogin(browser, `${bed.baseURL}/login?prompt=none&returnTo=%2Fprofile`);
      const res = await browser.request(`${bed.baseURL}/callback?error=${error}&state=${state}&iss=${encodeURIComponent(bed.provider.issuer)}`);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/profile');
      await expectNotSignedIn(browser);
    });

  test('an error that is not a §3.1.2.6 one (access_denied) on a prompt=none login is still a 400 error', async () => {
    const browser = new Browser();
    const { state } = await startLogin(browser, `${bed.baseURL}/login?prompt=none&returnTo=%2Fprofile`);
    const res = await browser.request(`${bed.baseURL}/callback?error=access_denied&state=${state}`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect(errorOf(res).error).toBe('access_denied');
    expect(res.headers.get('location')).toBeNull();
    await expectNotSignedIn(browser);
  });

  test('login_required on a login that was not silent is still a 400 error', async () => {
    const browser = new Browser();
    const { state } = await startLogin(browser, `${bed.baseURL}/login?returnTo=%2Fprofile`);
    const res = await browser.request(`${bed.baseURL}/callback?error=login_required&state=${state}`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect(errorOf(res).error).toBe('login_required');
    await expectNotSignedIn(browser);
  });

  test('authorizationParams.prompt=none makes every login silent: the app\'s prompt wins over the query\'s', async () => {
    const app = appWith({ authorizationParams: { prompt: 'none' } });
    for (const path of ['/login?returnTo=%2Fhome', '/login?returnTo=%2Fhome&prompt=login']) {
      const silent = request.agent(app);
      const url = new URL((await silent.get(path)).headers.location as string);
      expect(url.searchParams.getAll('prompt')).toEqual(['none']);
      const back = await silent.get(`/callback?error=login_required&state=${url.searchParams.get('state')}`);
      expect(back.status).toBe(302);
      expect(back.headers.location).toBe('/home');
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('third-party-initiated login (OpenID Connect Core 1.0 §4)', () => {
  function initiation(query: Record<string, string>): string {
    return `${bed.baseURL}/login?${new URLSearchParams(query).toString()}`;
  }

  test('iss (the configured issuer), login_hint and target_link_uri: a normal login carrying login_hint that lands on target_link_uri', async () => {
    const start = initiation({ iss: bed.provider.issuer, login_hint: 'x', target_link_uri: `${bed.baseURL}/profile` });
    const browser = new Browser();
    const { authorizationUrl } = await startLogin(browser, start);
    expect(authorizationUrl.origin).toBe(bed.provider.issuer);
    expect(authorizationUrl.searchParams.get('login_hint')).toBe('x');
    expect(authorizationUrl.searchParams.has('iss')).toBe(false);
    expect(authorizationUrl.searchParams.has('target_link_uri')).toBe(false);

    const landing = await signIn(new Browser(), start);
    expect(landing.url).toBe(`${bed.baseURL}/profile`);
    expect(landing.status).toBe(200);
  });

  test.each([
    ['another issuer', 'https://evil.example'],
    ['the issuer with a trailing slash (not the identical string)', 'ISSUER/'],
  ])('iss of %s: 400 issuer_mismatch, no redirect to the provider', async (_kind, iss) => {
    const res = await request(bed.app).get('/login')
      .query({ iss: iss.replace('ISSUER', bed.provider.issuer), login_hint: 'x' }).set(JSON_ACCEPT);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('issuer_mismatch');
    expect(res.headers.location).toBeUndefined();
  });

  test.each([
    ['another origin', () => 'https://evil.example/x'],
    ['a scheme-relative URL', () => '//evil.example'],
    ['another port of the same host', () => `${bed.baseURL.replace(/:(\d+)$/, (_, port: string) => `:${Number(port) + 1}`)}/profile`],
    ['another host name of the same server', () => `${bed.baseURL.replace('localhost', '127.0.0.1')}/profile`],
    ['this origin with a scheme-relative path', () => `${bed.baseURL}//evil.example/x`],
  ])('RFC 9700 §4.11: target_link_uri on %s is not honoured; the login lands on /', async (_kind, target) => {
    const landing = await signIn(new Browser(), initiation({ iss: bed.provider.issuer, target_link_uri: target() }));
    expect(landing.url).toBe(`${bed.baseURL}/`);
    expect(landing.status).toBe(200);
  });

  test('returnTo wins over target_link_uri', async () => {
    const start = initiation({ iss: bed.provider.issuer, returnTo: '/?from=returnTo', target_link_uri: `${bed.baseURL}/profile` });
    const landing = await signIn(new Browser(), start);
    expect(landing.url).toBe(`${bed.baseURL}/?from=returnTo`);
  });

  test('RFC 9700 §4.7: an unsolicited authorization response (a real code, no login started in this browser) is refused', async () => {
    const response = await authorizationResponse(new Browser(), `${bed.baseURL}/login`);
    const victim = new Browser();
    const res = await victim.request(response.href, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect(errorOf(res).error).toBe('missing_transaction');
    expect(tokenRequests).toBe(0);
    await expectNotSignedIn(victim);
  });

  test('RFC 9700 §4.7: a response to another browser\'s login is refused where a login of this browser is pending', async () => {
    const response = await authorizationResponse(new Browser(), `${bed.baseURL}/login`);
    const victim = new Browser();
    await startLogin(victim, `${bed.baseURL}/login`);
    const res = await victim.request(response.href, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect(errorOf(res).error).toBe('state_mismatch');
    expect(tokenRequests).toBe(0);
  });

  test('the initiation may come as an auto-submitted form POST (§4: "transmitted via the HTTP POST method")', async () => {
    const browser = new Browser();
    const res = await browser.request(`${bed.baseURL}/login`, {
      body: new URLSearchParams({ iss: bed.provider.issuer, login_hint: 'x', target_link_uri: `${bed.baseURL}/profile` }),
    });
    expect(res.status).toBe(302);
    const url = new URL(res.headers.get('location')!);
    expect(url.origin).toBe(bed.provider.issuer);
    expect(url.searchParams.get('login_hint')).toBe('x');
  });
});

// ---------------------------------------------------------------------------------------------

describe('IdP-initiated login at the redirect_uri (Scalekit: idp_initiated_login, connection_id, relay_state)', () => {
  /** An app that lets a login choose its connection and organization (not in the default loginParams). */
  let scalekitBed: Testbed;
  beforeAll(async () => {
    scalekitBed = await startTestbed({ auth: { loginParams: ['login_hint', 'connection_id', 'organization_id'] } });
  });
  afterAll(async () => {
    await scalekitBed.close();
  });

  test('is never a login: the callback starts a fresh one at the named connection, returning to a same-origin relay_state', async () => {
    const browser = new Browser();
    const res = await browser.request(`${scalekitBed.baseURL}/callback?idp_initiated_login=success&connection_id=conn_123&organization_id=org_9&relay_state=%2Fprofile`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(302);
    const login = new URL(res.headers.get('location')!, scalekitBed.baseURL);
    expect(login.pathname).toBe('/login');
    expect(Object.fromEntries(login.searchParams)).toEqual({ connection_id: 'conn_123', organization_id: 'org_9', returnTo: '/profile' });
    expect(await browser.cookie(scalekitBed.baseURL, 'oidc_session')).toBeUndefined();
    const { authorizationUrl } = await startLogin(browser, login.href);
    expect(authorizationUrl.searchParams.get('connection_id')).toBe('conn_123');
    expect(authorizationUrl.searchParams.get('organization_id')).toBe('org_9');
    const landed = await signIn(browser, authorizationUrl.href);
    expect(new URL(landed.url).pathname).toBe('/profile');
  });

  test('with the default loginParams the connection and organization are not carried: anyone can send a browser to the redirect_uri', async () => {
    const res = await new Browser().request(`${bed.baseURL}/callback?idp_initiated_login=t&connection_id=conn_123&organization_id=org_9&relay_state=%2Fprofile`);
    expect(res.status).toBe(302);
    expect(Object.fromEntries(new URL(res.headers.get('location')!, bed.baseURL).searchParams)).toEqual({ returnTo: '/profile' });
    expect(tokenRequests).toBe(0);
  });

  test.each(['https://evil.example/x', '//evil.example', 'javascript:alert(1)'])('a relay_state off this origin (%s) returns to / (RFC 9700 §4.11)', async (relay) => {
    const res = await new Browser().request(`${bed.baseURL}/callback?idp_initiated_login=t&connection_id=c&relay_state=${encodeURIComponent(relay)}`);
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location')!, bed.baseURL).searchParams.get('returnTo')).toBe('/');
  });

  test('with a code it is an unsolicited authorization response, refused like any other (RFC 9700 §4.7): 400, no token request', async () => {
    const attacker = new Browser();
    const response = await authorizationResponse(attacker, `${bed.baseURL}/login`, 'mallory');
    response.searchParams.set('idp_initiated_login', 't');
    tokenRequests = 0;
    const res = await new Browser().request(response.href, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect(tokenRequests).toBe(0);
  });

  test('a pending login of this browser is not used up by it', async () => {
    const browser = new Browser();
    const pending = await authorizationResponse(browser, `${bed.baseURL}/login`);
    const restart = await browser.request(`${bed.baseURL}/callback?idp_initiated_login=t&connection_id=c`);
    expect(restart.status).toBe(302);
    const landed = await browser.request(pending.href);
    expect(landed.status).toBe(302);
    expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeDefined();
  });
});

describe('pushed authorization requests (RFC 9126)', () => {
  /** What oidc-provider's PAR endpoint received, per request (parameters of the pushed request). */
  const pushed: Record<string, unknown>[] = [];
  /** Records every pushed request `tb`'s provider accepts. */
  function recordPushed(tb: Testbed): void {
    tb.provider.provider.on('pushed_authorization_request.success', (ctx: { oidc: { params?: Record<string, unknown> } }) => {
      pushed.push(Object.fromEntries(Object.entries(ctx.oidc.params ?? {}).filter(([, v]) => v !== undefined)));
    });
  }
  let parBed: Testbed;
  let requiredBed: Testbed;

  beforeAll(async () => {
    parBed = await startTestbed({ auth: { pushedAuthorizationRequests: true } });
    requiredBed = await startTestbed({
      providerConfiguration: {
        features: { devInteractions: { enabled: true }, pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true } },
      },
    });
    recordPushed(bed);
    recordPushed(parBed);
    recordPushed(requiredBed);
  });
  afterAll(async () => {
    await parBed.close();
    await requiredBed.close();
  });
  beforeEach(() => {
    pushed.length = 0;
  });

  /** The keys of an authorization URL's query, sorted. */
  function keys(url: URL): string[] {
    return [...url.searchParams.keys()].sort();
  }

  test('oidc-provider 9 offers PAR by default (§5: pushed_authorization_request_endpoint), without requiring it', async () => {
    const metadata = await (await fetch(`${bed.provider.issuer}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    expect(metadata.pushed_authorization_request_endpoint).toBe(`${bed.provider.issuer}/request`);
    expect(metadata.require_pushed_authorization_requests).not.toBe(true); // absent: false (RFC 9126 §5)
  });

  test('pushedAuthorizationRequests off (default) and PAR not required: a plain authorization URL with every parameter', async () => {
    const url = await authorizationUrlOf(bed.app, '/login?prompt=login');
    expect(keys(url)).toEqual(['client_id', 'code_challenge', 'code_challenge_method', 'nonce', 'prompt', 'redirect_uri', 'response_type', 'scope', 'state']);
    expect(pushed).toHaveLength(0);
  });

  test('§2 and §4: with pushedAuthorizationRequests, the URL carries only client_id and request_uri; the parameters went by the back channel; the login completes', async () => {
    const browser = new Browser();
    const { authorizationUrl } = await startLogin(browser, `${parBed.baseURL}/login`);
    expect(keys(authorizationUrl)).toEqual(['client_id', 'request_uri']);
    expect(authorizationUrl.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(authorizationUrl.searchParams.get('request_uri')!.startsWith(PAR_URN)).toBe(true);
    expect(pushed).toHaveLength(1);
    expect(pushed[0]).toMatchObject({
      client_id: CLIENT_ID, response_type: 'code', redirect_uri: `${parBed.baseURL}/callback`, code_challenge_method: 'S256',
    });
    expect(pushed[0]!.state).toEqual(expect.stringMatching(/^[\w-]{43}$/));
    expect(pushed[0]!.code_challenge).toEqual(expect.stringMatching(/^[\w-]{43}$/));

    const landing = await signIn(new Browser(), `${parBed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${parBed.baseURL}/profile`);
    expect(landing.status).toBe(200);
  });

  test('per-login parameters are pushed too, and the provider honours them (prompt=login asks again)', async () => {
    const browser = new Browser();
    await signIn(browser, `${parBed.baseURL}/login`);
    await browser.jar.setCookie('oidc_session=; Max-Age=0; Path=/', parBed.baseURL);
    pushed.length = 0;

    const { authorizationUrl } = await startLogin(browser, `${parBed.baseURL}/login?prompt=login&login_hint=ann%40example.com`);
    expect(keys(authorizationUrl)).toEqual(['client_id', 'request_uri']);
    expect(pushed).toHaveLength(1);
    expect(pushed[0]).toMatchObject({ prompt: 'login', login_hint: 'ann@example.com' });
    const form = await browser.visit(authorizationUrl.href);
    expect(form.body).toMatch(/name="login"/);
    // Without prompt=login the provider's session answers at once: the form above was the prompt's doing.
    const landing = await browser.visit(`${parBed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${parBed.baseURL}/profile`);
  });

  test('§5: a provider that requires PAR gets it even with pushedAuthorizationRequests off, and the login completes', async () => {
    const metadata = await (await fetch(`${requiredBed.provider.issuer}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    expect(metadata.require_pushed_authorization_requests).toBe(true);
    expect(requiredBed.auth.pushedAuthorizationRequests).toBeUndefined();

    const { authorizationUrl } = await startLogin(new Browser(), `${requiredBed.baseURL}/login`);
    expect(keys(authorizationUrl)).toEqual(['client_id', 'request_uri']);
    expect(pushed).toHaveLength(1);
    const landing = await signIn(new Browser(), `${requiredBed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${requiredBed.baseURL}/profile`);
  });

  describe('a PAR endpoint that fails (hostile provider advertising a separate PAR endpoint)', () => {
    let hostile: HostileProvider;
    let parServer: { url: string; close(): Promise<void> };
    /** How the PAR endpoint answers the next request. */
    let answer: (res: express.Response) => void;
    const received: { authorization: string | undefined; body: URLSearchParams }[] = [];

    beforeAll(async () => {
      hostile = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
      const par = express();
      par.post('/par', express.text({ type: () => true }), (req, res) => {
        received.push({ authorization: req.headers.authorization, body: new URLSearchParams(typeof req.body === 'string' ? req.body : '') });
        answer(res);
      });
      const server = createServer(par);
      parServer = { url: `http://localhost:${await listen(server)}/par`, close: closer(server) };
    });
    afterAll(async () => {
      await parServer.close();
      await hostile.close();
    });
    beforeEach(() => {
      hostile.reset();
      received.length = 0;
      answer = (res) => { res.status(400).json({ error: 'invalid_request', error_description: 'refused' }); };
    });

    /** An app (fresh discovery) against the hostile provider, whose discovery has `metadata` over its own. */
    function hostileApp(metadata: Record<string, unknown>, auth: Partial<AuthCallbackConfig> = {}): Express {
      hostile.behaviour.metadata = metadata;
      return appWith(auth, { issuer: hostile.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL: 'http://localhost:3000', secret: SECRET });
    }

    test('§2.3: a PAR endpoint answering 400 invalid_request: /login answers 502 (not 500), no redirect', async () => {
      const app = hostileApp({ pushed_authorization_request_endpoint: parServer.url }, { pushedAuthorizationRequests: true });
      const res = await request(app).get('/login?prompt=login');
      expect(res.status).toBe(502);
      expect(res.body.code).toBe('invalid_request');
      expect(res.headers.location).toBeUndefined();
      expect(hostile.requests.authorize).toBe(0);
      // It was a real pushed request: client authentication, and the per-login parameters in the body.
      expect(received).toHaveLength(1);
      expect(received[0]!.authorization).toMatch(/^Basic /);
      expect(received[0]!.body.get('prompt')).toBe('login');
      expect(received[0]!.body.get('state')).toMatch(/^[\w-]{43}$/);
    });

    test('§5: require_pushed_authorization_requests sends the request there even with pushedAuthorizationRequests off', async () => {
      const app = hostileApp({ pushed_authorization_request_endpoint: parServer.url, require_pushed_authorization_requests: true });
      const res = await request(app).get('/login');
      expect(received).toHaveLength(1);
      expect(res.status).toBe(502);
      expect(res.headers.location).toBeUndefined();
      expect(hostile.requests.authorize).toBe(0);
    });

    test('without pushedAuthorizationRequests nor a requirement, an advertised PAR endpoint is not used', async () => {
      const app = hostileApp({ pushed_authorization_request_endpoint: parServer.url });
      const url = await authorizationUrlOf(app, '/login');
      expect(url.origin + url.pathname).toBe(`${hostile.issuer}/authorize`);
      expect(url.searchParams.get('state')).toMatch(/^[\w-]{43}$/);
      expect(received).toHaveLength(0);
    });

    test('§2.2: a PAR endpoint answering 500 with plain text: 502 invalid_provider_response', async () => {
      answer = (res) => { res.status(500).type('text').send('Internal Server Error'); };
      const res = await request(hostileApp({ pushed_authorization_request_endpoint: parServer.url }, { pushedAuthorizationRequests: true })).get('/login');
      expect(res.status).toBe(502);
      expect(res.body.code).toBe('invalid_provider_response');
      expect(res.headers.location).toBeUndefined();
    });

    test('§2.2: a 201 without request_uri: 502 invalid_provider_response', async () => {
      answer = (res) => { res.status(201).json({ expires_in: 60 }); };
      const res = await request(hostileApp({ pushed_authorization_request_endpoint: parServer.url }, { pushedAuthorizationRequests: true })).get('/login');
      expect(res.status).toBe(502);
      expect(res.body.code).toBe('invalid_provider_response');
    });

    test('an unreachable PAR endpoint: 502 provider_unreachable', async () => {
      const app = hostileApp({ pushed_authorization_request_endpoint: `${await closedPortIssuer()}/par` }, { pushedAuthorizationRequests: true });
      const res = await request(app).get('/login');
      expect(res.status).toBe(502);
      expect(res.body.code).toBe('provider_unreachable');
    });

    test('§5: PAR required but no pushed_authorization_request_endpoint advertised: 502, no redirect', async () => {
      const res = await request(hostileApp({ require_pushed_authorization_requests: true })).get('/login');
      expect(res.status).toBe(502);
      expect(res.headers.location).toBeUndefined();
      expect(received).toHaveLength(0);
    });
  });
});
