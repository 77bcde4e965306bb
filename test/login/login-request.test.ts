/**
 * What a login asks for (lib/login/login-request.ts), end to end against a real OpenID Provider
 * (oidc-provider): per-login authorization parameters from `/login`'s query (OpenID Connect Core
 * 1.0 §3.1.2.1) that never weaken the app's own, a per-login `max_age`, and third-party-initiated
 * login (§4). The hostile provider of test/support/hostile-provider.ts stands in where a provider
 * must misbehave (an ID token without `auth_time`).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { parseSetCookie } from 'cookie';
import request from 'supertest';
import { resolveOptions } from '../../lib/config/resolve-options.js';
import { authCallback } from '../../lib/index.js';
import { Sealer } from '../../lib/session/seal.js';
import type { Transaction } from '../../lib/transaction/transaction.js';
import { Browser, type Page } from '../support/browser.js';
import { type HostileProvider, startHostileProvider } from '../support/hostile-provider.js';
import { serveApp } from '../support/http-server.js';
import { jsonError } from '../support/leaks.js';
import {
  authorizationResponse, authorizationUrlOf, CLIENT_ID, CLIENT_SECRET, pendingLogin, SECRET, signIn, startLogin, testbedTools,
  useTestbed,
} from '../support/testbed.js';

const JSON_ACCEPT = { accept: 'application/json' };

/** oidc-provider and the example app, for every test of the file. */
const bed = useTestbed();
const { appWith, apiMe, expectNotSignedIn, dropAppSession } = testbedTools(bed);

/** The pending login the login route sealed into `browser`'s cookie for `state`. */
async function storedTransaction(browser: Browser, state: string): Promise<Transaction> {
  const transaction = await pendingLogin(browser, bed.baseURL, state);
  if (transaction === undefined) throw new Error(`no pending-login cookie for state ${state}`);
  return transaction;
}

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
      app = await serveApp((baseURL) => appWith({}, { issuer: hostile.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET }));
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
    expect(jsonError(res).error).toBe('missing_transaction');
    expect(bed.tokenRequests).toBe(0);
    await expectNotSignedIn(victim);
  });

  test('RFC 9700 §4.7: a response to another browser\'s login is refused where a login of this browser is pending', async () => {
    const response = await authorizationResponse(new Browser(), `${bed.baseURL}/login`);
    const victim = new Browser();
    await startLogin(victim, `${bed.baseURL}/login`);
    const res = await victim.request(response.href, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect(jsonError(res).error).toBe('state_mismatch');
    expect(bed.tokenRequests).toBe(0);
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
