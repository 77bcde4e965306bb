/**
 * `tenants`: issuers resolved per request, end to end against three real `oidc-provider`
 * tenants of an Asgardeo-like service (test/support/tenant-bed.ts): `acme` and `globex`, which
 * the app signs in with (each with its own client, secret and authentication method, from
 * `tenants.client`), and `initech`, which it does not. The app picks the tenant from a path
 * prefix (`/o/{org}/…`), `/login?org=…`, or the page a login returns to (`returnTo`, where
 * `requireAuth()` sends a browser).
 *
 * - logins at each tenant, with that tenant's client, and discovery cached per issuer (`cacheSize`);
 * - mix-up (RFC 9700 §4.4.2, RFC 9207): a callback naming another tenant's `iss`, or carrying
 *   another tenant's code, is refused, and the code never goes to another token endpoint;
 * - a session is bound to its tenant; `/login` without a tenant, with an unknown one, or
 *   third-party-initiated (`iss`); a broken tenant configuration is a 500 that shows nothing;
 * - refresh, logout and back-channel logout at the session's (or the logout token's) tenant;
 * - the option checks.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import session, { MemoryStore } from 'express-session';
import { generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { authCallback, requireAuth, type AuthCallbackConfig, type AuthError, type TenantClient, type TenantsConfig } from 'express-oidc-callback';
import { Browser, type Page } from '../support/browser.js';
import { STACK_TRACE } from '../support/leaks.js';
import { quietProviderWarnings } from '../support/log-guard.js';
import { BACKCHANNEL_ROUTE, startTenantBed, type Tenant, type TenantBed } from '../support/tenant-bed.js';
import { CLIENT_ID, CLIENT_SECRET, SECRET, SESSION_SECRET, authorizationResponse, signIn, startLogin } from '../support/testbed.js';

const JSON_ACCEPT = { accept: 'application/json' };
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** What a broken tenant directory's error says: it must reach the logs, never an answer. */
const DIRECTORY_SECRET = 'postgres://tenants:hunter2@directory.internal/tenants';

let bed: TenantBed;
let acme: Tenant;
let globex: Tenant;
let initech: Tenant;
/** org → issuer: the app's tenant directory. */
const directory = new Map<string, string>();
/** issuer → the app's client there: what `tenants.client` answers. */
const clients = new Map<string, TenantClient>();

// oidc-provider warns, at its first back-channel delivery, that it cannot set up its SSRF guard under Jest.
quietProviderWarnings();
beforeAll(async () => {
  bed = await startTenantBed([
    { org: 'acme', clientId: 'acme-app', clientSecret: `acme-secret-${randomUUID()}`, authMethod: 'client_secret_basic' },
    { org: 'globex', clientId: 'globex-app', clientSecret: `globex-secret-${randomUUID()}`, authMethod: 'client_secret_post' },
    { org: 'initech', clientId: 'initech-app', clientSecret: `initech-secret-${randomUUID()}`, authMethod: 'client_secret_basic' },
  ]);
  [acme, globex, initech] = bed.tenants as [Tenant, Tenant, Tenant];
  for (const t of bed.tenants) directory.set(t.org, t.issuer);
  for (const t of [acme, globex]) clients.set(t.issuer, { clientId: t.clientId, clientSecret: t.clientSecret, clientAuthMethod: t.authMethod });
  // A tenant whose directory entry lacks its client id.
  directory.set('broken', 'http://localhost:9/t/broken/oauth2/token');
  clients.set('http://localhost:9/t/broken/oauth2/token', { clientSecret: 'broken-secret' } as TenantClient);
  // A tenant whose client lookup fails.
  directory.set('clientboom', 'http://localhost:9/t/clientboom/oauth2/token');
  // A tenant whose issuer is plain http on a host that is not loopback.
  directory.set('plainhttp', 'http://login.example.com/t/plainhttp/oauth2/token');
  clients.set('http://login.example.com/t/plainhttp/oauth2/token', { clientId: 'plainhttp-app', clientSecret: 'plainhttp-secret' });
});
afterAll(async () => {
  await bed.close();
});
beforeEach(() => {
  bed.resetRecords();
});

/** The tenant a request names: its path prefix `/o/{org}`, `?org=`, or the `/o/{org}` page of its `returnTo`. */
function orgOf(req: Request): string | undefined {
  const fromPath = /^\/o\/([^/]+)/.exec(req.path)?.[1];
  if (fromPath !== undefined) return fromPath;
  const { org, returnTo } = req.query;
  if (typeof org === 'string') return org;
  // requireAuth() sends a browser to /login?returnTo=<the page>: the page's tenant.
  return typeof returnTo === 'string' ? /^\/o\/([^/?#]+)/.exec(returnTo)?.[1] : undefined;
}

/** `tenants.issuer`: the directory's issuer of the request's tenant; org `boom` stands for a directory that fails. */
function issuerOfRequest(req: Request): string | undefined {
  const org = orgOf(req);
  if (org === 'boom') throw new Error(`tenant directory unreachable: ${DIRECTORY_SECRET}`);
  return org === undefined ? undefined : directory.get(org);
}

/** `tenants.client`: the app's client at `issuer`; the `clientboom` tenant stands for a client lookup that fails. */
function clientOf(issuer: string): TenantClient | undefined {
  if (issuer === directory.get('clientboom')) throw new Error(`client registry unreachable: ${DIRECTORY_SECRET}`);
  return clients.get(issuer);
}

/** What the app logged (every 5xx it answered). */
let logged: AuthError[] = [];

/**
 * The app: express-session (a MemoryStore), authCallback(`auth`), and, per tenant, `/o/{org}/`
 * (who is signed in, and at which issuer), `/o/{org}/me` (req.oidc.claims, every claim, `iss`,
 * `aud` and `sid` included, behind requireAuth()), `/o/{org}/refresh`
 * (req.oidc.refresh()); `/whoami` names no tenant. Errors answer as docs/routes.md's minimal handler
 * does: `{ error: code, error_description }`, the message only when `expose`; 5xx are logged.
 */
function buildApp(auth: AuthCallbackConfig): Express {
  const app = express();
  app.use(session({ store: new MemoryStore(), secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
  app.use(authCallback(auth));
  // `iss` is a protocol claim: in req.oidc.claims, not in req.user.
  const who = (req: Request): string => (req.user ? `${req.user.sub} at ${String(req.oidc.claims?.iss)}` : 'signed out');
  app.get('/o/:org/', (req, res) => {
    res.type('text').send(who(req));
  });
  app.get('/whoami', (req, res) => {
    res.type('text').send(who(req));
  });
  app.get('/o/:org/me', requireAuth(), (req, res) => {
    res.json(req.oidc.claims);
  });
  app.get('/o/:org/refresh', requireAuth(), async (req, res) => {
    await req.oidc.refresh();
    res.json({ accessToken: req.oidc.accessToken });
  });
  app.use((err: AuthError, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status ?? 500;
    if (status >= 500) logged.push(err);
    res.status(status).json({ error: err.code ?? 'internal_error', error_description: err.expose ? err.message : 'Sign-in failed' });
  });
  return app;
}

/** The tenants configuration of the app: the directory and the clients above, `over` these. */
function tenantsConfig(over: Partial<TenantsConfig> = {}): TenantsConfig {
  return { issuer: issuerOfRequest, client: clientOf, ...over };
}

/** Serves a new app (a fresh provider cache, a fresh store) with `tenants` and `auth` over the defaults. */
function serveApp(auth: Partial<AuthCallbackConfig> = {}): void {
  logged = [];
  bed.serve(buildApp({ baseURL: bed.baseURL, secret: SECRET, tenants: tenantsConfig(), autoRefresh: false, ...auth }));
}

function url(path: string): string {
  return `${bed.baseURL}${path}`;
}

/** Signs in at `t` from `/login?org=`, through its login and consent pages, landing on `/o/{org}/`. */
async function signInAt(browser: Browser, t: Tenant, user = 'alice', start = `/login?org=${t.org}&returnTo=/o/${t.org}/`): Promise<void> {
  const landed = await signIn(browser, url(start), user);
  expect({ url: landed.url, status: landed.status, body: landed.body }).toEqual({ url: url(`/o/${t.org}/`), status: 200, body: `${user} at ${t.issuer}` });
}

async function getJson(browser: Browser, path: string): Promise<{ status: number; body: Record<string, unknown>; page: Page }> {
  const page = await browser.request(url(path), { headers: JSON_ACCEPT });
  return { status: page.status, body: JSON.parse(page.body) as Record<string, unknown>, page };
}

/** An error answer of the app: status and `error`. */
function expectError(page: Page, status: number, error: string): void {
  let code: unknown;
  try {
    code = (JSON.parse(page.body) as { error?: unknown }).error;
  } catch {
    code = `not JSON: ${page.body.slice(0, 100)}`;
  }
  expect({ status: page.status, error: code }).toEqual({ status, error });
}

/** Discovery requests `t`'s provider received since the test began. */
function discoveries(t: Tenant): number {
  return t.op.requests.filter((r) => r === `GET /t/${t.org}/oauth2/token/.well-known/openid-configuration`).length;
}

/** Grant types of the token requests `t`'s provider received since the test began, each with its outcome. */
function grants(t: Tenant): string[] {
  return t.op.tokenRequests.map((r) => `${String(r.params.grant_type)}: ${r.error ?? 'accepted'}`);
}

/** The one visit of the browser to `t`'s authorization endpoint. */
function authorizationRequest(browser: Browser, t: Tenant): URL {
  const visits = browser.history.filter((u) => u.startsWith(`${t.base}/oauth2/authorize?`));
  expect(visits).toHaveLength(1);
  return new URL(visits[0]!);
}

async function sessionCookie(browser: Browser): Promise<string | undefined> {
  return browser.cookie(bed.baseURL, 'oidc_session');
}

describe('logins at several tenants', () => {
  test('a login at each tenant uses that tenant\'s client; req.oidc.claims.iss is its issuer; the code goes to its token endpoint only', async () => {
    serveApp();
    for (const t of [acme, globex]) {
      const browser = new Browser();
      await signInAt(browser, t);
      expect(authorizationRequest(browser, t).searchParams.get('client_id')).toBe(t.clientId);
      const me = await getJson(browser, `/o/${t.org}/me`);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ iss: t.issuer, sub: 'alice', aud: t.clientId });
    }
    expect(grants(acme)).toEqual(['authorization_code: accepted']);
    expect(grants(globex)).toEqual(['authorization_code: accepted']);
    // Each with its own credentials and authentication method.
    const [atAcme] = acme.op.tokenRequests;
    // client_secret_basic: each part form-urlencoded, then base64 (RFC 6749 §2.3.1).
    const basic = /^Basic (.+)$/.exec(atAcme!.authorization ?? '')?.[1];
    expect(Buffer.from(basic ?? '', 'base64').toString().split(':').map(decodeURIComponent)).toEqual([acme.clientId, acme.clientSecret]);
    expect(atAcme!.params.client_secret).toBeUndefined();
    const [atGlobex] = globex.op.tokenRequests;
    expect(atGlobex!.authorization).toBeUndefined();
    expect(atGlobex!.params).toMatchObject({ client_id: globex.clientId, client_secret: globex.clientSecret });
    expect(initech.op.requests).toEqual([]);
  });

  test('discovery is fetched once per issuer across logins; with cacheSize 1 a second tenant\'s use evicts the first, and a login in flight still completes', async () => {
    serveApp();
    for (const t of [acme, globex, acme, globex, acme]) await signInAt(new Browser(), t);
    expect([discoveries(acme), discoveries(globex)]).toEqual([1, 1]);
    expect([grants(acme).length, grants(globex).length]).toEqual([3, 2]);

    bed.resetRecords();
    serveApp({ tenants: tenantsConfig({ cacheSize: 1 }) });
    await signInAt(new Browser(), acme);
    await signInAt(new Browser(), acme);
    expect([discoveries(acme), discoveries(globex)]).toEqual([1, 0]);
    await signInAt(new Browser(), globex);
    expect([discoveries(acme), discoveries(globex)]).toEqual([1, 1]);
    // A login at acme starts (acme discovered again: globex evicted it), then one at globex
    // completes (acme evicted again) before acme's callback arrives.
    const inFlight = new Browser();
    const response = await authorizationResponse(inFlight, url('/login?org=acme&returnTo=/o/acme/'));
    expect([discoveries(acme), discoveries(globex)]).toEqual([2, 1]);
    await signInAt(new Browser(), globex);
    expect([discoveries(acme), discoveries(globex)]).toEqual([2, 2]);
    const landed = await inFlight.visit(response.href);
    expect({ url: landed.url, body: landed.body }).toEqual({ url: url('/o/acme/'), body: `alice at ${acme.issuer}` });
    expect([discoveries(acme), discoveries(globex)]).toEqual([3, 2]);
    expect(grants(acme)).toEqual(Array(3).fill('authorization_code: accepted'));
  });
});

describe('mix-up (RFC 9700 §4.4.2, RFC 9207)', () => {
  test('a login started at acme whose callback carries globex\'s iss is refused (issuer_mismatch), and no code is sent anywhere', async () => {
    serveApp();
    const browser = new Browser();
    // A real authorization response of globex: its code, its state, iss = globex.
    const fromGlobex = await authorizationResponse(browser, url('/login?org=globex&returnTo=/o/globex/'));
    expect(fromGlobex.searchParams.get('iss')).toBe(globex.issuer);
    const { state } = await startLogin(browser, url('/login?org=acme&returnTo=/o/acme/'));
    const forged = new URL(url('/callback'));
    forged.search = new URLSearchParams({ code: fromGlobex.searchParams.get('code')!, state, iss: globex.issuer }).toString();
    const res = await browser.request(forged.href);
    expectError(res, 400, 'issuer_mismatch');
    expect(await sessionCookie(browser)).toBeUndefined();
    // And without iss, which oidc-provider promises (authorization_response_iss_parameter_supported).
    const again = await startLogin(browser, url('/login?org=acme'));
    const withoutIss = await browser.request(url(`/callback?${new URLSearchParams({ code: fromGlobex.searchParams.get('code')!, state: again.state }).toString()}`));
    expectError(withoutIss, 400, 'issuer_mismatch');
    expect([grants(acme), grants(globex)]).toEqual([[], []]);
    // globex's own callback, still pending, completes with the code that was never redeemed.
    const landed = await browser.visit(fromGlobex.href);
    expect(landed.body).toBe(`alice at ${globex.issuer}`);
    expect(grants(globex)).toEqual(['authorization_code: accepted']);
  });

  test('a code of globex injected into acme\'s transaction (with acme\'s iss) is exchanged at acme, which refuses it (invalid_grant); it never goes to globex', async () => {
    serveApp();
    const victim = new Browser();
    const fromGlobex = await authorizationResponse(new Browser(), url('/login?org=globex'));
    const { state } = await startLogin(victim, url('/login?org=acme&returnTo=/o/acme/'));
    const injected = new URLSearchParams({ code: fromGlobex.searchParams.get('code')!, state, iss: acme.issuer });
    const res = await victim.request(url(`/callback?${injected.toString()}`));
    expectError(res, 400, 'invalid_grant');
    expect(await sessionCookie(victim)).toBeUndefined();
    expect((await getJson(victim, '/o/acme/me')).status).toBe(401);
    expect(grants(acme)).toEqual(['authorization_code: invalid_grant']);
    expect(acme.op.tokenRequests[0]!.params.code).toBe(fromGlobex.searchParams.get('code'));
    expect(grants(globex)).toEqual([]);
  });
});

describe('a session belongs to its tenant', () => {
  test('an acme session reads as signed out on globex\'s pages (login redirect, API 401) and stays valid on acme\'s; the login it leads to replaces it by a globex session', async () => {
    serveApp();
    const browser = new Browser();
    await signInAt(browser, acme);
    const cookie = await sessionCookie(browser);
    expect(cookie).toBeDefined();

    const page = await browser.request(url('/o/globex/me'));
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe(`/login?returnTo=${encodeURIComponent('/o/globex/me')}`);
    const api = await browser.request(url('/o/globex/me'), { headers: JSON_ACCEPT });
    expectError(api, 401, 'unauthorized');
    expect(api.headers.get('www-authenticate')).toMatch(/^OpenIDConnect /);
    expect((await browser.request(url('/o/globex/'))).body).toBe('signed out');
    for (const answer of [page, api]) expect(answer.headers.getSetCookie()).toEqual([]);
    expect(await sessionCookie(browser)).toBe(cookie);

    const home = await getJson(browser, '/o/acme/me');
    expect(home.status).toBe(200);
    expect(home.body.iss).toBe(acme.issuer);
    // A request that names no tenant accepts the session of any (TenantsConfig.issuer's documentation).
    expect((await browser.request(url('/whoami'))).body).toBe(`alice at ${acme.issuer}`);

    // The guard's login redirect: /login?returnTo=/o/globex/me, whose tenant is globex.
    const landed = await signIn(browser, url(page.headers.get('location')!), 'bob');
    expect({ url: landed.url, status: landed.status }).toEqual({ url: url('/o/globex/me'), status: 200 });
    expect(JSON.parse(landed.body)).toMatchObject({ iss: globex.issuer, sub: 'bob', aud: globex.clientId });
    // One session cookie per browser: the globex login replaced the acme session.
    expect((await getJson(browser, '/o/acme/me')).status).toBe(401);
    expect(grants(acme)).toEqual(['authorization_code: accepted']);
    expect(grants(globex)).toEqual(['authorization_code: accepted']);
  });
});

describe('the tenant of /login', () => {
  test('no tenant, an unknown tenant, or one tenants.client() does not accept → 400 unknown_issuer, and nothing is asked of any provider', async () => {
    serveApp();
    const browser = new Browser();
    for (const path of ['/login', '/login?returnTo=/whoami', '/login?org=nobody', '/login?org=initech', '/login?returnTo=/o/initech/me']) {
      expectError(await browser.request(url(path)), 400, 'unknown_issuer');
    }
    for (const t of bed.tenants) expect(t.op.requests).toEqual([]);
  });

  test('a third-party-initiated login (iss) starts at the tenant it names when tenants.client() accepts it; another iss → 400 issuer_mismatch', async () => {
    serveApp();
    // GET, and the auto-submitted form of OpenID Connect Core §4.
    const browser = new Browser();
    await signInAt(browser, globex, 'alice', `/login?iss=${encodeURIComponent(globex.issuer)}&target_link_uri=${encodeURIComponent(url('/o/globex/'))}`);
    expect(authorizationRequest(browser, globex).searchParams.get('client_id')).toBe(globex.clientId);
    const posted = await new Browser().request(url('/login'), { body: new URLSearchParams({ iss: acme.issuer }) });
    expect(posted.status).toBe(302);
    expect(posted.headers.get('location')!.startsWith(`${acme.base}/oauth2/authorize?`)).toBe(true);

    for (const iss of [initech.issuer, 'https://attacker.example/t/acme/oauth2/token', `${acme.issuer}/`, acme.issuer.toUpperCase()]) {
      expectError(await browser.request(url(`/login?iss=${encodeURIComponent(iss)}`)), 400, 'issuer_mismatch');
    }
    expectError(await browser.request(url('/login?iss=')), 400, 'invalid_request');
    expect(initech.op.requests).toEqual([]);
  });

  test('without tenants.client: the top-level client at every tenant, and a third party\'s iss only when it is the request\'s own issuer', async () => {
    serveApp({ tenants: { issuer: issuerOfRequest }, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    const browser = new Browser();
    await signInAt(browser, globex);
    expect(authorizationRequest(browser, globex).searchParams.get('client_id')).toBe(CLIENT_ID);
    expect((await getJson(browser, '/o/globex/me')).body).toMatchObject({ iss: globex.issuer, aud: CLIENT_ID });

    const same = await browser.request(url(`/login?org=acme&iss=${encodeURIComponent(acme.issuer)}`));
    expect(same.status).toBe(302);
    expect(same.headers.get('location')!.startsWith(`${acme.base}/oauth2/authorize?`)).toBe(true);
    expectError(await browser.request(url(`/login?org=acme&iss=${encodeURIComponent(globex.issuer)}`)), 400, 'issuer_mismatch');
    expectError(await browser.request(url(`/login?iss=${encodeURIComponent(acme.issuer)}`)), 400, 'issuer_mismatch');
    expectError(await browser.request(url('/login')), 400, 'unknown_issuer');
  });
});

describe('a broken tenant configuration', () => {
  test('tenants.issuer() throwing → 500 internal_error, on /login and on pages with a session; the answer shows neither the error nor a stack, the log has it', async () => {
    serveApp();
    const browser = new Browser();
    const login = await browser.request(url('/login?org=boom'));
    await signInAt(browser, acme);
    const page = await browser.request(url('/o/boom/'));
    for (const res of [login, page]) {
      expect(res.status).toBe(500);
      expect(JSON.parse(res.body)).toEqual({ error: 'internal_error', error_description: 'Sign-in failed' });
      expect(res.body).not.toMatch(STACK_TRACE);
      expect(res.body).not.toContain('hunter2');
    }
    expect(logged).toHaveLength(2);
    for (const err of logged) {
      expect({ code: err.code, status: err.status, expose: err.expose }).toEqual({ code: 'internal_error', status: 500, expose: false });
      expect(err.message).toBe('tenants.issuer() failed');
      expect((err.cause as Error).message).toContain(DIRECTORY_SECRET);
    }
    // The session is not ended by it.
    expect((await getJson(browser, '/o/acme/me')).status).toBe(200);
  });

  test.each([
    ['tenants.client() giving a client without clientId', 'broken', /^The tenant configuration of "http:\/\/localhost:9\/t\/broken\/oauth2\/token" is not usable: .*"tenants\.client\(\)\.clientId"/],
    ['tenants.issuer() giving an http issuer off loopback', 'plainhttp', /^The tenant configuration of "http:\/\/login\.example\.com\/t\/plainhttp\/oauth2\/token" is not usable: .*"tenants\.issuer\(\) result" uses http: on a host that is not loopback/],
    ['tenants.client() throwing', 'clientboom', /^tenants\.client\(\) failed$/],
  ])('%s → 500 internal_error; the log says what is wrong, the answer does not', async (_what, org, says) => {
    serveApp();
    const res = await new Browser().request(url(`/login?org=${org}`));
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toEqual({ error: 'internal_error', error_description: 'Sign-in failed' });
    expect(logged).toHaveLength(1);
    expect({ code: logged[0]!.code, expose: logged[0]!.expose }).toEqual({ code: 'internal_error', expose: false });
    expect(logged[0]!.message).toMatch(says);
    expect(logged[0]!.message).not.toContain('hunter2');
    for (const t of bed.tenants) expect(t.op.requests).toEqual([]);
  });

  test('tenants.issuer() returning something other than a string → 500 internal_error', async () => {
    serveApp({ tenants: tenantsConfig({ issuer: () => 42 as unknown as string }) });
    const res = await new Browser().request(url('/login'));
    expectError(res, 500, 'internal_error');
    expect(logged[0]!.message).toMatch(/must return an issuer identifier/);
  });
});

describe('refresh, logout and back-channel logout at the session\'s tenant', () => {
  test('req.oidc.refresh() refreshes at the session\'s tenant with its client', async () => {
    serveApp();
    const atGlobex = new Browser();
    await signInAt(atGlobex, globex);
    await signInAt(new Browser(), acme);
    const before = (await getJson(atGlobex, '/o/globex/refresh')).body.accessToken;
    const after = await getJson(atGlobex, '/o/globex/refresh');
    expect(after.status).toBe(200);
    expect(after.body.accessToken).not.toBe(before);
    expect(grants(globex)).toEqual(['authorization_code: accepted', 'refresh_token: accepted', 'refresh_token: accepted']);
    expect(globex.op.tokenRequests[2]!.params).toMatchObject({ client_id: globex.clientId, client_secret: globex.clientSecret });
    expect(grants(acme)).toEqual(['authorization_code: accepted']);
  });

  test('autoRefresh refreshes at the session\'s tenant, on its pages and on pages naming none; not on another tenant\'s page, where the session is not used', async () => {
    serveApp({ autoRefresh: true }); // the access tokens live 30 s, under the 60 s refreshMargin
    const browser = new Browser();
    await signInAt(browser, globex);
    const refreshes = (): number => grants(globex).filter((g) => g === 'refresh_token: accepted').length;
    expect(refreshes()).toBe(1); // on the page the login landed on
    expect((await browser.request(url('/whoami'))).body).toBe(`alice at ${globex.issuer}`);
    expect(refreshes()).toBe(2);
    expect((await browser.request(url('/o/acme/'))).body).toBe('signed out');
    expect(refreshes()).toBe(2);
    expect((await browser.request(url('/o/globex/'))).body).toBe(`alice at ${globex.issuer}`);
    expect(refreshes()).toBe(3);
    expect(grants(acme)).toEqual([]);
  });

  test('/logout goes to the end_session_endpoint of the session\'s tenant, which accepts its id_token_hint', async () => {
    serveApp();
    const browser = new Browser();
    await signInAt(browser, acme);
    const res = await browser.request(url('/logout'));
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(`${acme.base}/oidc/logout`);
    expect(location.searchParams.get('post_logout_redirect_uri')).toBe(bed.baseURL);
    // The way back to the page is the logout's state, checked when the provider returns to baseURL.
    expect(location.searchParams.get('state')).toMatch(/^[\w-]{22}$/);
    expect(location.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(await sessionCookie(browser)).toBeUndefined();
    const confirm = await browser.visit(location.href);
    expect(confirm.status).toBe(200);
    const back = await browser.submit(confirm, { logout: 'yes' });
    expect(back.url).toBe(`${bed.baseURL}/`);
    expect(globex.op.requests).toEqual(expect.not.arrayContaining([expect.stringMatching(/oidc\/logout/)]));
  });

  test('/logout on another tenant\'s page, or on one whose tenant cannot be resolved, still ends the session the cookie holds, at its own tenant (sessionStorage: "store": its record is deleted)', async () => {
    serveApp({ sessionStorage: 'store' });
    const directoryDown = new Browser();
    await signInAt(directoryDown, globex);
    const out = await directoryDown.request(url('/logout?org=boom'));
    expect(out.status).toBe(302);
    expect(out.headers.get('location')!.startsWith(`${globex.base}/oidc/logout?`)).toBe(true);
    expect(await sessionCookie(directoryDown)).toBeUndefined();

    const browser = new Browser();
    await signInAt(browser, acme);
    const copied = (await browser.jar.getCookies(bed.baseURL)).map((c) => `${c.key}=${c.value}`).join('; ');
    const res = await browser.request(url('/logout?org=globex'));
    expect(res.status).toBe(302);
    const location = new URL(res.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(`${acme.base}/oidc/logout`);
    expect(location.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(await sessionCookie(browser)).toBeUndefined();
    // A copy of the cookie taken before no longer works: the record is gone.
    const withCopy = await fetch(url('/o/acme/me'), { headers: { ...JSON_ACCEPT, cookie: copied } });
    expect(withCopy.status).toBe(401);
  });

  describe('back-channel logout', () => {
    /** A key that no tenant publishes. */
    let foreignKey: CryptoKey;
    beforeAll(async () => {
      ({ privateKey: foreignKey } = await generateKeyPair('RS256'));
    });

    function logoutToken(iss: string, aud: string, claims: Record<string, unknown> = {}): Promise<string> {
      return new SignJWT({ events: { [BACKCHANNEL_EVENT]: {} }, sub: 'alice', jti: randomUUID(), ...claims })
        .setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt', kid: 'vendor-rs256' })
        .setIssuer(iss).setAudience(aud).setIssuedAt().setExpirationTime('2m')
        .sign(foreignKey);
    }

    async function post(path: string, token: string): Promise<{ status: number; body: string }> {
      const res = await fetch(url(path), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: token }).toString() });
      return { status: res.status, body: await res.text() };
    }

    /** Has `t`'s provider send a logout token for `sid` to the back-channel logout URI of `clientId` there. */
    async function providerLogout(t: Tenant, clientId: string, sid: string): Promise<void> {
      const client = await t.op.provider.Client.find(clientId) as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> };
      await client.backchannelLogout('alice', sid);
    }

    test('a logout token of acme ends alice\'s acme session, not her globex one; one whose iss is not an accepted tenant, or not signed by its tenant, → 400, and ends nothing', async () => {
      serveApp({ routes: { backchannelLogout: BACKCHANNEL_ROUTE } });
      const atAcme = new Browser();
      const atGlobex = new Browser();
      await signInAt(atAcme, acme);
      await signInAt(atGlobex, globex);
      const sid = (await getJson(atAcme, '/o/acme/me')).body.sid as string;
      expect(typeof sid).toBe('string');

      for (const [iss, aud] of [[initech.issuer, initech.clientId], ['https://attacker.example/oauth2/token', acme.clientId], [acme.issuer, acme.clientId]] as const) {
        const refused = await post(BACKCHANNEL_ROUTE, await logoutToken(iss, aud, { sid }));
        expect(refused.status).toBe(400);
        expect(JSON.parse(refused.body)).toMatchObject({ error: 'invalid_request' });
      }
      expect(initech.op.requests).toEqual([]);
      expect((await getJson(atAcme, '/o/acme/me')).status).toBe(200);

      await providerLogout(acme, acme.clientId, sid); // throws unless the app answers 200
      expect((await getJson(atAcme, '/o/acme/me')).status).toBe(401);
      expect((await getJson(atGlobex, '/o/globex/me')).status).toBe(200);
    });

    test('without tenants.client, a per-tenant back-channel logout URI (?org=) names the logout token\'s issuer', async () => {
      serveApp({ tenants: { issuer: issuerOfRequest }, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, routes: { backchannelLogout: BACKCHANNEL_ROUTE } });
      const browser = new Browser();
      await signInAt(browser, acme);
      const sid = (await getJson(browser, '/o/acme/me')).body.sid as string;
      // A token naming acme posted where the request's tenant is globex, or none: refused before any key is fetched.
      for (const path of [`${BACKCHANNEL_ROUTE}?org=globex`, BACKCHANNEL_ROUTE]) {
        const refused = await post(path, await logoutToken(acme.issuer, CLIENT_ID, { sid }));
        expect(refused.status).toBe(400);
        expect(JSON.parse(refused.body)).toMatchObject({ error_description: 'The logout token\'s iss is not an issuer this app signs in with' });
      }
      expect((await getJson(browser, '/o/acme/me')).status).toBe(200);
      await providerLogout(acme, CLIENT_ID, sid); // to /backchannel-logout?org=acme
      expect((await getJson(browser, '/o/acme/me')).status).toBe(401);
    });
  });
});

describe('a tenant tenants.client() stops accepting', () => {
  test('is refused at once, though its discovery is cached: a pending login\'s callback (unknown_issuer), a third party\'s iss, a refresh (the session ends)', async () => {
    const accepted = new Set([acme.issuer, globex.issuer]);
    serveApp({ tenants: tenantsConfig({ client: (issuer) => (accepted.has(issuer) ? clients.get(issuer) : undefined) }) });
    const browser = new Browser();
    await signInAt(browser, acme);
    const pending = new Browser();
    const response = await authorizationResponse(pending, url('/login?org=acme&returnTo=/o/acme/'));
    accepted.delete(acme.issuer);

    expectError(await pending.request(response.href), 400, 'unknown_issuer');
    expectError(await browser.request(url(`/login?iss=${encodeURIComponent(acme.issuer)}`)), 400, 'issuer_mismatch');
    expectError(await browser.request(url('/login?org=acme')), 400, 'unknown_issuer');
    expectError(await browser.request(url('/o/acme/refresh'), { headers: JSON_ACCEPT }), 401, 'session_ended');
    expect(grants(acme)).toEqual(['authorization_code: accepted']);
    // globex is still accepted.
    await signInAt(new Browser(), globex);
  });

  test('a tenant whose client changes (a rotated secret) is used with its new client from then on', async () => {
    const registrations = new Map(clients);
    serveApp({ tenants: tenantsConfig({ client: (issuer) => registrations.get(issuer) }) });
    await signInAt(new Browser(), acme);
    // A secret acme does not accept: its token endpoint refusing it proves it was used.
    registrations.set(acme.issuer, { ...clients.get(acme.issuer)!, clientSecret: 'a-secret-acme-does-not-accept' });
    const browser = new Browser();
    const response = await authorizationResponse(browser, url('/login?org=acme&returnTo=/o/acme/'));
    expectError(await browser.request(response.href), 502, 'invalid_client');
    registrations.set(acme.issuer, clients.get(acme.issuer)!);
    await signInAt(new Browser(), acme);
    expect(grants(acme)).toEqual(['authorization_code: accepted', 'authorization_code: invalid_client', 'authorization_code: accepted']);
  });
});

describe('options', () => {
  const base = { baseURL: 'http://localhost:3000', secret: SECRET };
  const tenants: TenantsConfig = { issuer: () => undefined, client: () => undefined };

  test.each([
    ['issuer with tenants', { ...base, tenants, issuer: 'http://localhost:3001' }, /"issuer" must not be set with tenants/],
    ['adapter with tenants', { ...base, tenants, clientId: 'x', adapter: { issuer: 'https://api.workos.com', authorizationUrl: () => new URL('https://x'), exchangeCode: () => undefined } }, /"tenants" cannot be combined with adapter/],
    ['tenants without issuer()', { ...base, tenants: { client: () => undefined } }, /"tenants" must be an object with an issuer\(req\) function/],
    ['tenants.client not a function', { ...base, tenants: { issuer: () => undefined, client: 'acme' } }, /"tenants.client" must be a function/],
    ...[0, -1, 1.5, '10', Number.NaN, Number.POSITIVE_INFINITY].map((cacheSize) => [`cacheSize ${String(cacheSize)}`, { ...base, tenants: { ...tenants, cacheSize } }, /"tenants.cacheSize" must be a whole number, at least 1/] as const),
    ['no clientId without tenants.client', { ...base, tenants: { issuer: () => undefined } }, /"clientId"/],
  ])('%s → TypeError', (_what, config, message) => {
    expect(() => authCallback(config as unknown as AuthCallbackConfig)).toThrow(TypeError);
    expect(() => authCallback(config as unknown as AuthCallbackConfig)).toThrow(message);
  });

  test('with tenants.client, the top-level clientId may be omitted; cacheSize 1 is accepted', () => {
    expect(typeof authCallback({ ...base, tenants })).toBe('function');
    expect(typeof authCallback({ ...base, tenants: { ...tenants, cacheSize: 1 } })).toBe('function');
  });
});
