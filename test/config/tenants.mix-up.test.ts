/**
 * `tenants` and the mix-up attack (RFC 9700 §4.4): a client of several authorization servers
 * MUST tell their authorization responses apart, by `iss` (RFC 9207) or by a distinct
 * `redirect_uri` per server (RFC 9700 §4.4.2). Two hostile providers
 * (test/support/hostile-provider.ts) are tenants `a` and `b` of one app, chosen by `/login`'s
 * `?tenant=` query; each answers `/authorize` at once with a code, and sends `iss` or not as a
 * test decides.
 *
 * - an issuer that does not promise `iss` and shares `baseURL` + `/callback` is refused at
 *   `/login` (500 `mix_up_unprotected`), unless `tenants.allowSharedCallback`;
 * - with a `redirect_uri` of its own (`tenants.client()` → `redirectUri`) it signs in there;
 * - a response for a login at one tenant arriving at another's `redirect_uri`, or at the shared
 *   one (what a malicious tenant forwarding the browser to an honest one produces), is refused
 *   (400 `issuer_mismatch`) and its code goes to no token endpoint;
 * - an issuer that sends `iss` keeps working at the shared callback;
 * - a `redirectUri` outside `baseURL` + `/callback/`, and a non-boolean `allowSharedCallback`, are
 *   configuration errors.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express, { type NextFunction, type Request, type Response } from 'express';
import { authCallback, type AuthCallbackConfig, type TenantClient, type TenantsConfig } from 'express-oidc-callback';
import { Browser, type Page } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { startHostileProvider, type HostileProvider } from '../support/hostile-provider.js';
import { closeServer, listen } from '../support/http-server.js';

const SECRET = 'a-tenant-mix-up-test-secret-of-at-least-32-characters';
const CLIENT_A = { clientId: 'app-at-a', clientSecret: 'secret-of-the-app-at-tenant-a' };
const CLIENT_B = { clientId: 'app-at-b', clientSecret: 'secret-of-the-app-at-tenant-b' };
const JSON_ACCEPT = { accept: 'application/json' };

type Name = 'a' | 'b';

let server: Server;
/** The app's external URL, `http://localhost:<port>`. */
let baseURL: string;
/** What the app's port serves; each test serves a new app (a fresh discovery cache). */
let current: RequestListener = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const providers = {} as Record<Name, HostileProvider>;
/** Every error the app's error handler received during the test. */
let logged: { code?: string; status?: number; message: string; cause?: unknown }[] = [];

beforeAll(async () => {
  providers.a = await startHostileProvider({ ...CLIENT_A, user: { sub: 'alice-at-a', name: 'Alice A', email: 'alice@a.example.test' } });
  providers.b = await startHostileProvider({ ...CLIENT_B, user: { sub: 'bob-at-b', name: 'Bob B', email: 'bob@b.example.test' } });
  server = createServer((req, res) => current(req, res));
  baseURL = `http://localhost:${await listen(server)}`;
});
afterAll(async () => {
  await closeServer(server);
  await Promise.all(Object.values(providers).map((p) => p.close()));
});
beforeEach(() => {
  for (const p of Object.values(providers)) p.reset();
  logged = [];
});

function url(path: string): string {
  return `${baseURL}${path}`;
}

/** Makes tenant `name` an issuer that neither promises nor sends `iss` (RFC 9207 §2, §3). */
function withoutIss(name: Name): void {
  providers[name].behaviour.metadata = { authorization_response_iss_parameter_supported: undefined };
  providers[name].behaviour.authorize = 'no-iss';
}

/** How the app is registered at each tenant: its own `redirect_uri` there (`tenants.client()` → `redirectUri`), when any. */
interface Registrations {
  a?: string;
  b?: string;
}

/**
 * Serves a new app: `authCallback()` with tenants `a` and `b` (`/login?tenant=`), each with its
 * own client and the `redirectUri` of `redirectUris`; `/me` answers `req.oidc.claims`, every
 * claim of the session, `iss` and `aud` included (401 without);
 * errors answer `{ code, message }` with their status, and are recorded in {@link logged}.
 */
function serveApp(redirectUris: Registrations = {}, over: Partial<TenantsConfig> = {}): void {
  const issuers: Record<string, string> = { a: providers.a.issuer, b: providers.b.issuer };
  const clients = new Map<string, TenantClient>([
    [providers.a.issuer, { ...CLIENT_A, ...(redirectUris.a !== undefined && { redirectUri: redirectUris.a }) }],
    [providers.b.issuer, { ...CLIENT_B, ...(redirectUris.b !== undefined && { redirectUri: redirectUris.b }) }],
  ]);
  const tenants: TenantsConfig = {
    issuer: (req) => (typeof req.query.tenant === 'string' ? issuers[req.query.tenant] : undefined),
    client: (issuer) => clients.get(issuer),
    ...over,
  };
  const app = express();
  app.use(authCallback({ tenants, baseURL, secret: SECRET, httpTimeout: 2 }));
  app.get('/me', (req, res) => {
    if (req.user === undefined) res.status(401).json({ code: 'unauthorized' });
    else res.json(req.oidc.claims);
  });
  app.use((err: { status?: number; code?: string; message: string; cause?: unknown }, req: Request, res: Response, next: NextFunction) => {
    logged.push(err);
    errorAsJson(err, req, res, next);
  });
  current = app;
}

/** An error answer: its status and `code`. */
function expectError(page: Page, status: number, code: string): void {
  let body: unknown;
  try {
    body = (JSON.parse(page.body) as { code?: unknown }).code;
  } catch {
    body = `not JSON: ${page.body.slice(0, 100)}`;
  }
  expect({ status: page.status, code: body }).toEqual({ status, code });
}

/** The claims the browser's session holds, or `undefined` when it is signed out. */
async function signedInAs(browser: Browser): Promise<Record<string, unknown> | undefined> {
  const me = await browser.request(url('/me'), { headers: JSON_ACCEPT });
  return me.status === 200 ? JSON.parse(me.body) as Record<string, unknown> : undefined;
}

/** Signs in at tenant `name` from `/login?tenant=`, landing on `/me`: the claims it shows. */
async function signInAt(browser: Browser, name: Name): Promise<Record<string, unknown>> {
  const landed = await browser.visit(url(`/login?tenant=${name}&returnTo=/me`));
  expect({ url: landed.url, status: landed.status }).toEqual({ url: url('/me'), status: 200 });
  return JSON.parse(landed.body) as Record<string, unknown>;
}

/** Starts a login at tenant `name` and stops at its authorization endpoint: the authorization request. */
async function startLogin(browser: Browser, name: Name): Promise<URL> {
  const res = await browser.request(url(`/login?tenant=${name}&returnTo=/me`));
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location')!);
  expect(location.origin).toBe(providers[name].issuer);
  return location;
}

/** The `redirect_uri` of each `/authorize` request tenant `name` received. */
function redirectUrisAt(name: Name): (string | null)[] {
  return providers[name].authorizeRequests.map((r) => r.params.get('redirect_uri'));
}

describe('an issuer that does not send iss, at the shared redirect_uri (RFC 9700 §4.4.2, RFC 9207 §3)', () => {
  test.each([
    ['not advertised', undefined],
    ['advertised as false', false],
  ])('authorization_response_iss_parameter_supported %s → /login answers 500 mix_up_unprotected, sends the browser nowhere and starts no login; a tenant that sends iss still signs in', async (_what, advertised) => {
    withoutIss('a');
    providers.a.behaviour.metadata = { authorization_response_iss_parameter_supported: advertised };
    serveApp();
    const browser = new Browser();
    const res = await browser.request(url('/login?tenant=a&returnTo=/me'));
    expectError(res, 500, 'mix_up_unprotected');
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(logged.map((e) => e.message).join('\n')).toContain(providers.a.issuer);
    expect(providers.a.requests.discovery).toBe(1); // it was asked what it promises
    expect([providers.a.requests.authorize, providers.a.requests.token]).toEqual([0, 0]);
    expect(await signedInAs(browser)).toBeUndefined();
    // The refusal is per issuer: b, which sends iss, shares the redirect_uri and signs in there.
    expect(await signInAt(browser, 'b')).toMatchObject({ iss: providers.b.issuer, sub: 'bob-at-b', aud: CLIENT_B.clientId });
    expect(redirectUrisAt('b')).toEqual([url('/callback')]);
  });

  test('tenants.allowSharedCallback: true (the documented opt-in) accepts it: the login goes to it with the shared redirect_uri and completes at /callback', async () => {
    withoutIss('a');
    serveApp({}, { allowSharedCallback: true });
    const browser = new Browser();
    const claims = await signInAt(browser, 'a');
    expect(claims).toMatchObject({ iss: providers.a.issuer, sub: 'alice-at-a', aud: CLIENT_A.clientId });
    expect(redirectUrisAt('a')).toEqual([url('/callback')]);
    expect(providers.a.tokenRequests.map((r) => r.params.get('redirect_uri'))).toEqual([url('/callback')]);
    expect(browser.history.filter((u) => u.startsWith(url('/callback')))).toEqual([expect.stringMatching(/\/callback\?/)]);
  });
});

describe('an issuer with a redirect_uri of its own (TenantClient.redirectUri, RFC 9700 §4.4.2)', () => {
  test('an issuer that does not send iss signs in at its own redirect_uri: the authorization request, the provider\'s redirect and the code exchange all use it', async () => {
    withoutIss('a');
    withoutIss('b');
    serveApp({ a: url('/callback/a'), b: url('/callback/tenant-b') });
    for (const [name, path, sub, client] of [['a', '/callback/a', 'alice-at-a', CLIENT_A], ['b', '/callback/tenant-b', 'bob-at-b', CLIENT_B]] as const) {
      const browser = new Browser();
      const claims = await signInAt(browser, name);
      expect(claims).toMatchObject({ iss: providers[name].issuer, sub, aud: client.clientId });
      expect(redirectUrisAt(name)).toEqual([url(path)]);
      // The provider sent the browser there, and the callback there completed the login.
      const callbacks = browser.history.filter((u) => u.startsWith(url('/callback')));
      expect(callbacks).toHaveLength(1);
      expect(new URL(callbacks[0]!).pathname).toBe(path);
      expect(new URL(callbacks[0]!).searchParams.has('iss')).toBe(false);
      expect(providers[name].tokenRequests.map((r) => r.params.get('redirect_uri'))).toEqual([url(path)]);
    }
  });

  test('an issuer that sends iss may have its own redirect_uri too: the login completes there, iss checked', async () => {
    serveApp({ a: url('/callback/a') });
    const browser = new Browser();
    expect(await signInAt(browser, 'a')).toMatchObject({ iss: providers.a.issuer, sub: 'alice-at-a' });
    const callback = new URL(browser.history.find((u) => u.startsWith(url('/callback/a?')))!);
    expect(callback.searchParams.get('iss')).toBe(providers.a.issuer);
    expect(providers.a.requests.token).toBe(1);
  });
});

describe('the mix-up attack is refused (RFC 9700 §4.4): a response is accepted only at the redirect_uri of the login it answers', () => {
  /**
   * Each case: the tenant the login starts at (`from`, its own redirect_uri, no `iss`), the
   * tenant the browser is forwarded to (`to`), and where `to` answers: its own redirect_uri
   * (registered, no `iss`), or the shared `/callback` (no redirect_uri of its own; it sends `iss`).
   */
  const CASES = [
    ['a login at a answered at b\'s own /callback/b', 'a', 'b', '/callback/b'],
    ['a login at a answered at the shared /callback', 'a', 'b', '/callback'],
    ['a login at b answered at a\'s own /callback/a', 'b', 'a', '/callback/a'],
    ['a login at b answered at the shared /callback', 'b', 'a', '/callback'],
  ] as const;

  function setUp(from: Name, to: Name, target: string): void {
    withoutIss(from);
    const registrations: Registrations = { [from]: url(`/callback/${from}`) };
    if (target !== '/callback') {
      withoutIss(to);
      registrations[to] = url(target);
    }
    serveApp(registrations);
  }

  /** No token request reached either tenant, and the browser is not signed in. */
  async function expectNothingExchanged(browser: Browser): Promise<void> {
    expect([providers.a.requests.token, providers.b.requests.token]).toEqual([0, 0]);
    expect([providers.a.tokenRequests, providers.b.tokenRequests]).toEqual([[], []]);
    expect(await signedInAs(browser)).toBeUndefined();
  }

  test.each(CASES)('%s, after the malicious tenant forwarded the browser to the honest one (same state) → 400 issuer_mismatch; its code goes to no token endpoint', async (_what, from, to, target) => {
    setUp(from, to, target);
    const browser = new Browser();
    const request = await startLogin(browser, from);
    const state = request.searchParams.get('state');
    // The malicious tenant sends the browser on to the honest one with the app's client there,
    // the login's state, PKCE challenge and nonce: the honest tenant answers at its registered redirect_uri.
    const forwarded = new URL('/authorize', providers[to].issuer);
    forwarded.search = request.search;
    forwarded.searchParams.set('client_id', to === 'a' ? CLIENT_A.clientId : CLIENT_B.clientId);
    forwarded.searchParams.set('redirect_uri', url(target));
    const page = await browser.visit(forwarded.href);
    expect(new URL(page.url).pathname).toBe(target);
    expect(new URL(page.url).searchParams.get('state')).toBe(state);
    const code = providers[to].authorizeRequests[0]?.code;
    expect(code).toBeDefined();
    expect(new URL(page.url).searchParams.get('code')).toBe(code);
    expectError(page, 400, 'issuer_mismatch');
    expect(page.headers.getSetCookie().filter((c) => c.startsWith('oidc_session='))).toEqual([]);
    await expectNothingExchanged(browser);
  });

  test.each(CASES)('%s, the login\'s own authorization response re-pointed there (same state, its code) → 400 issuer_mismatch; the code goes to no token endpoint', async (_what, from, to, target) => {
    setUp(from, to, target);
    const browser = new Browser();
    const request = await startLogin(browser, from);
    const answered = await browser.request(request.href);
    expect(answered.status).toBe(302);
    const response = new URL(answered.headers.get('location')!);
    expect(response.pathname).toBe(`/callback/${from}`);
    expect(response.searchParams.get('state')).toBe(request.searchParams.get('state'));
    const code = response.searchParams.get('code');
    expect(code).toBe(providers[from].authorizeRequests[0]?.code);
    response.pathname = target;
    const page = await browser.request(response.href);
    expectError(page, 400, 'issuer_mismatch');
    for (const p of Object.values(providers)) expect(p.tokenRequests.map((r) => r.params.get('code'))).not.toContain(code);
    await expectNothingExchanged(browser);
  });
});

describe('an issuer that sends iss (RFC 9207), at the shared redirect_uri', () => {
  test('keeps working without any redirectUri (regression: oidc-provider tenants): both tenants sign in at /callback', async () => {
    serveApp();
    for (const [name, sub] of [['a', 'alice-at-a'], ['b', 'bob-at-b']] as const) {
      const browser = new Browser();
      expect(await signInAt(browser, name)).toMatchObject({ iss: providers[name].issuer, sub });
      expect(redirectUrisAt(name)).toEqual([url('/callback')]);
      const callback = new URL(browser.history.find((u) => u.startsWith(url('/callback?')))!);
      expect(callback.searchParams.get('iss')).toBe(providers[name].issuer);
      expect(providers[name].requests.token).toBe(1);
    }
    expect(logged).toEqual([]);
  });

  test('there, iss is what tells the responses apart: a login at a answered by b (b\'s iss and code) → 400 issuer_mismatch, no code exchanged', async () => {
    serveApp();
    const browser = new Browser();
    const request = await startLogin(browser, 'a');
    const forwarded = new URL('/authorize', providers.b.issuer);
    forwarded.search = request.search;
    forwarded.searchParams.set('client_id', CLIENT_B.clientId);
    const page = await browser.visit(forwarded.href);
    expect(new URL(page.url).pathname).toBe('/callback');
    expect(new URL(page.url).searchParams.get('iss')).toBe(providers.b.issuer);
    expectError(page, 400, 'issuer_mismatch');
    expect([providers.a.requests.token, providers.b.requests.token]).toEqual([0, 0]);
    expect(await signedInAs(browser)).toBeUndefined();
  });
});

describe('configuration checks', () => {
  test('two issuers given the same redirectUri: the second one\'s login is refused (500 internal_error naming both), since the callback could not tell them apart', async () => {
    withoutIss('a');
    withoutIss('b');
    serveApp({ a: url('/callback/shared'), b: url('/callback/shared') });
    const browser = new Browser();
    await signInAt(browser, 'a');
    const res = await browser.request(url('/login?tenant=b'));
    expectError(res, 500, 'internal_error');
    expect(res.headers.get('location')).toBeNull();
    expect(logged.at(-1)!.message).toContain('already');
    expect(providers.b.requests.authorize).toBe(0);
  });

  test.each([
    ['on another origin', () => 'http://evil.example/callback/a'],
    ['on another host name of the same server', () => url('/callback/a').replace('localhost', '127.0.0.1')],
    ['the shared redirect_uri itself', () => url('/callback')],
    ['the shared redirect_uri with a trailing slash only', () => url('/callback/')],
    ['on another path', () => url('/other/x')],
    ['on a path that only starts like the callback\'s', () => url('/callbackx/a')],
    ['with a query', () => url('/callback/a?tenant=a')],
    ['with a fragment', () => url('/callback/a#a')],
    ['relative', () => '/callback/a'],
  ])('a tenants.client() redirectUri %s (not under baseURL + /callback/) → /login answers 500 internal_error, its cause a TypeError naming tenants.client().redirectUri; the tenant is not contacted', async (_what, redirectUri) => {
    serveApp({ a: redirectUri() });
    const res = await new Browser().request(url('/login?tenant=a'));
    expectError(res, 500, 'internal_error');
    expect(res.headers.get('location')).toBeNull();
    expect(logged).toHaveLength(1);
    const [err] = logged;
    expect(err!.code).toBe('internal_error');
    expect(err!.cause).toBeInstanceOf(TypeError);
    expect((err!.cause as TypeError).message).toContain('"tenants.client().redirectUri"');
    expect(providers.a.requests).toMatchObject({ discovery: 0, authorize: 0, token: 0 });
  });

  test.each([
    ['the string "yes"', 'yes'],
    ['the number 1', 1],
    ['null', null],
  ])('tenants.allowSharedCallback %s → TypeError at authCallback()', (_what, value) => {
    const config = {
      baseURL: 'http://localhost:3000',
      secret: SECRET,
      tenants: { issuer: () => undefined, client: () => undefined, allowSharedCallback: value },
    } as unknown as AuthCallbackConfig;
    expect(() => authCallback(config)).toThrow(TypeError);
    expect(() => authCallback(config)).toThrow(/"tenants\.allowSharedCallback" must be a boolean/);
  });

  test('tenants.allowSharedCallback true or false is accepted at authCallback()', () => {
    for (const allowSharedCallback of [true, false]) {
      expect(typeof authCallback({ baseURL: 'http://localhost:3000', secret: SECRET, tenants: { issuer: () => undefined, client: () => undefined, allowSharedCallback } })).toBe('function');
    }
  });
});
