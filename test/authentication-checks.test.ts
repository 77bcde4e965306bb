/**
 * The callback holds the ID token to the authentication the login asked for, beyond the ID
 * token's own validity (lib/authentication-checks.ts, and openid-client's `auth_time` check):
 *
 * - `acr`: when the login sent `acr_values` (fixed in `authorizationParams`, or from
 *   `/login?acr_values=` when not fixed), or `authorizationParams.claims` marks `acr` essential,
 *   the ID token's `acr` must be one of the values asked for (OpenID Connect Core 1.0 §3.1.2.1,
 *   §5.5.1.1), else 401 `acr_mismatch`;
 * - the organization `authorizationParams` fixes (Auth0 `organization`, Scalekit / WorkOS
 *   `organization_id`) must be the one the token names, else 403 `organization_mismatch`;
 * - `max_age`: `/login`'s query may only shorten the app's, and the `max_age` sent is enforced on
 *   `auth_time` (§3.1.3.7 item 13), else 401 `max_age_exceeded`; including the security
 *   review's scenario of a query trying to weaken the app's `max_age` and `organization_id`.
 *
 * End to end: the example app over real HTTP, against the hostile provider of
 * test/support/hostile-provider.ts (its /authorize signs the user in at once; the ID token's
 * claims are set per test). Every refusal answers its status and code as JSON, after exactly one
 * token request, sets no session cookie, and leaves the browser signed out (`/api/me` 401). Every
 * acceptance answers 302 to `/`, and `/api/me` shows the claim checked. Then `checkAuthentication()`
 * directly, branch by branch.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { checkAuthentication } from '../lib/callback/authentication-checks.js';
import { AuthError } from '../lib/errors.js';
import type { TokenSet } from '../lib/provider/provider.js';
import { startAppServer, type AppServer } from './support/app-server.js';
import { Browser, type Page } from './support/browser.js';
import { startHostileProvider, type HostileProvider } from './support/hostile-provider.js';
import { jsonError, sessionCookiesSet } from './support/leaks.js';

const CLIENT_ID = 'rp-authentication-checks-test';
const CLIENT_SECRET = 'authentication-checks-client-secret-0123456789';
const SECRET = 'a-test-secret-of-at-least-32-characters-0123456789';
const SESSION_SECRET = 'express-session-test-secret';
const JSON_ACCEPT = { accept: 'application/json' };

/** Seconds since the epoch. */
function now(): number {
  return Math.floor(Date.now() / 1000);
}

/** An `auth_time` an hour ago: far beyond any `max_age` of these tests plus the 30 s clock tolerance. */
function hourAgo(): number {
  return now() - 3600;
}

/** `authorizationParams.claims` asking for `acr` as essential (OpenID Connect Core 1.0 §5.5.1.1). */
function essentialAcr(request: { values?: string[]; value?: string }): string {
  return JSON.stringify({ id_token: { acr: { essential: true, ...request } } });
}

let provider: HostileProvider;
let apps: AppServer[] = [];

beforeAll(async () => {
  provider = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
});
afterAll(async () => {
  await provider.close();
});
beforeEach(() => {
  provider.reset();
});
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close()));
  apps = [];
});

/** The example app, on its own 127.0.0.1 port, with `authorizationParams` (and any other options) over the defaults. */
async function startApp(auth: Partial<AuthCallbackConfig> = {}): Promise<AppServer> {
  const app = await startAppServer({
    auth: (baseURL) => ({ issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET, ...auth }),
    sessionSecret: SESSION_SECRET,
  });
  apps.push(app);
  return app;
}

/**
 * GET `path` (a login route URL), then the provider's /authorize (which answers at once): the
 * callback URL it sends the browser to, and the authorization request's parameters.
 */
async function callbackUrl(browser: Browser, app: AppServer, path: string): Promise<{ url: string; sent: URLSearchParams }> {
  const login = await browser.request(`${app.baseURL}${path}`);
  expect(login.status).toBe(302);
  const authorize = new URL(login.headers.get('location')!);
  expect(authorize.origin + authorize.pathname).toBe(`${provider.issuer}/authorize`);
  const answer = await browser.request(authorize.href);
  expect(answer.status).toBe(302);
  const callback = new URL(answer.headers.get('location')!, answer.url);
  expect(callback.origin + callback.pathname).toBe(`${app.baseURL}/callback`);
  expect(callback.searchParams.has('code')).toBe(true);
  return { url: callback.href, sent: provider.authorizeRequests.at(-1)!.params };
}

/** `/api/me` in `browser`. */
function apiMe(browser: Browser, app: AppServer): Promise<Page> {
  return browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
}

/**
 * A whole login from `path` that must be refused at the callback: `status` and `code` as JSON,
 * after exactly one token request, no session cookie set, and the browser still signed out.
 */
async function refusedLogin(app: AppServer, path: string, status: number, code: string): Promise<{ page: Page; sent: URLSearchParams; description: string }> {
  const browser = new Browser();
  const tokenRequests = provider.requests.token;
  const { url, sent } = await callbackUrl(browser, app, path);
  const page = await browser.request(url, { headers: JSON_ACCEPT });
  // Status and code first, so a login let through shows as such (302, no code), not as a parse error.
  const answer = /^application\/json/.test(page.headers.get('content-type') ?? '') ? jsonError(page) : undefined;
  expect({ status: page.status, code: answer?.error, location: page.headers.get('location') }).toEqual({ status, code, location: null });
  const description = answer!.error_description;
  expect(provider.requests.token).toBe(tokenRequests + 1);
  expect(sessionCookiesSet(page)).toEqual([]);
  expect(await browser.cookie(app.baseURL, 'oidc_session')).toBeUndefined();
  const me = await apiMe(browser, app);
  expect(me.status).toBe(401);
  expect(jsonError(me).error).toBe('unauthorized');
  return { page, sent, description };
}

/** A whole login from `path` that must succeed: 302 to `/`, a session cookie, and `/api/me` answers the user's claims. */
async function acceptedLogin(app: AppServer, path: string): Promise<{ me: Record<string, unknown>; sent: URLSearchParams }> {
  const browser = new Browser();
  const tokenRequests = provider.requests.token;
  const { url, sent } = await callbackUrl(browser, app, path);
  const landed = await browser.request(url, { headers: JSON_ACCEPT });
  expect({ status: landed.status, body: landed.body }).toMatchObject({ status: 302 });
  expect(landed.headers.get('location')).toBe('/');
  expect(provider.requests.token).toBe(tokenRequests + 1);
  expect(sessionCookiesSet(landed).some((c) => /^oidc_session=[^;]+/.test(c))).toBe(true);
  const me = await apiMe(browser, app);
  expect(me.status).toBe(200);
  const claims = JSON.parse(me.body) as Record<string, unknown>;
  expect(claims).toMatchObject({ iss: provider.issuer, sub: 'mallory', aud: CLIENT_ID });
  return { me: claims, sent };
}

// ---------------------------------------------------------------------------------------------

describe('acr: the ID token must be the authentication level the login asked for (OpenID Connect Core 1.0 §3.1.2.1, §5.5.1.1)', () => {
  describe('acr_values fixed by the app (authorizationParams: { acr_values: "urn:mfa urn:hwk" })', () => {
    const auth = { authorizationParams: { acr_values: 'urn:mfa urn:hwk' } };

    test('§3.1.2.1: acr_values is sent, and an acr that is one of the space-separated values is accepted', async () => {
      provider.behaviour.claims = { acr: 'urn:hwk' };
      const { me, sent } = await acceptedLogin(await startApp(auth), '/login');
      expect(sent.getAll('acr_values')).toEqual(['urn:mfa urn:hwk']);
      expect(me.acr).toBe('urn:hwk');
    });

    test('§3.1.2.1: an acr that is not one of the values → 401 acr_mismatch, no session', async () => {
      provider.behaviour.claims = { acr: 'urn:pwd' };
      const { description } = await refusedLogin(await startApp(auth), '/login', 401, 'acr_mismatch');
      expect(description).toContain('urn:pwd');
    });

    test('§3.1.2.1: an acr that is a value\'s prefix or the whole list is not one of the values → 401 acr_mismatch', async () => {
      const app = await startApp(auth);
      provider.behaviour.claims = { acr: 'urn:mfa urn:hwk' };
      await refusedLogin(app, '/login', 401, 'acr_mismatch');
      provider.behaviour.claims = { acr: 'urn:mf' };
      await refusedLogin(app, '/login', 401, 'acr_mismatch');
    });

    test('§3.1.2.1: an ID token without acr → 401 acr_mismatch, no session', async () => {
      provider.behaviour.claims = { acr: undefined };
      await refusedLogin(await startApp(auth), '/login', 401, 'acr_mismatch');
      expect(JSON.parse(Buffer.from(provider.issued.idTokens.at(-1)!.split('.')[1]!, 'base64url').toString('utf8'))).not.toHaveProperty('acr');
    });

    test('§3.1.2.1: a non-string acr (an array holding an asked value) → 401 acr_mismatch', async () => {
      provider.behaviour.claims = { acr: ['urn:mfa'] };
      await refusedLogin(await startApp(auth), '/login', 401, 'acr_mismatch');
    });

    test('/login?acr_values=urn:pwd cannot weaken the app\'s acr_values: the app\'s are sent, and an acr of urn:pwd → 401 acr_mismatch', async () => {
      provider.behaviour.claims = { acr: 'urn:pwd' };
      const { sent } = await refusedLogin(await startApp(auth), '/login?acr_values=urn%3Apwd', 401, 'acr_mismatch');
      expect(sent.getAll('acr_values')).toEqual(['urn:mfa urn:hwk']);
    });

    test('an acr holding markup is refused, and the error_description shows it as plain text (no < or >)', async () => {
      provider.behaviour.claims = { acr: '<img src=x onerror=alert(1)>' };
      const { description } = await refusedLogin(await startApp(auth), '/login', 401, 'acr_mismatch');
      expect(description).not.toMatch(/[<>]/);
    });
  });

  describe('acr_values from /login\'s query, when the app does not fix it', () => {
    test('§3.1.2.1: /login?acr_values=urn:mfa sends it, and an acr of urn:mfa is accepted', async () => {
      provider.behaviour.claims = { acr: 'urn:mfa' };
      const { me, sent } = await acceptedLogin(await startApp(), '/login?acr_values=urn%3Amfa');
      expect(sent.getAll('acr_values')).toEqual(['urn:mfa']);
      expect(me.acr).toBe('urn:mfa');
    });

    test('§3.1.2.1: /login?acr_values=urn:mfa and an acr of urn:pwd → 401 acr_mismatch, no session', async () => {
      provider.behaviour.claims = { acr: 'urn:pwd' };
      const { sent } = await refusedLogin(await startApp(), '/login?acr_values=urn%3Amfa', 401, 'acr_mismatch');
      expect(sent.getAll('acr_values')).toEqual(['urn:mfa']);
    });

    test('§3.1.2.1: /login?acr_values=urn:mfa and an ID token without acr → 401 acr_mismatch, no session', async () => {
      provider.behaviour.claims = { acr: undefined };
      await refusedLogin(await startApp(), '/login?acr_values=urn%3Amfa', 401, 'acr_mismatch');
    });

    test('§3.1.2.1: /login?acr_values with two values accepts either', async () => {
      const app = await startApp();
      provider.behaviour.claims = { acr: 'urn:mfa' };
      await acceptedLogin(app, '/login?acr_values=urn%3Ahwk%20urn%3Amfa');
      provider.behaviour.claims = { acr: 'urn:hwk' };
      const { me } = await acceptedLogin(app, '/login?acr_values=urn%3Ahwk%20urn%3Amfa');
      expect(me.acr).toBe('urn:hwk');
    });

    test('the check is per login: the same app, after a login that asked for urn:mfa, still accepts any acr when the next login asks for none', async () => {
      const app = await startApp();
      provider.behaviour.claims = { acr: 'urn:pwd' };
      await refusedLogin(app, '/login?acr_values=urn%3Amfa', 401, 'acr_mismatch');
      const { me, sent } = await acceptedLogin(app, '/login');
      expect(sent.has('acr_values')).toBe(false);
      expect(me.acr).toBe('urn:pwd');
    });
  });

  describe('authorizationParams.claims asking for acr as essential (§5.5.1.1)', () => {
    test('§5.5.1.1: essential with values: the claims request is sent, and an acr among the values is accepted', async () => {
      const claims = essentialAcr({ values: ['urn:mfa', 'urn:hwk'] });
      provider.behaviour.claims = { acr: 'urn:mfa' };
      const { me, sent } = await acceptedLogin(await startApp({ authorizationParams: { claims } }), '/login');
      expect(sent.get('claims')).toBe(claims);
      expect(me.acr).toBe('urn:mfa');
    });

    test('§5.5.1.1: essential with values and an acr not among them → 401 acr_mismatch, no session', async () => {
      provider.behaviour.claims = { acr: 'urn:pwd' };
      await refusedLogin(await startApp({ authorizationParams: { claims: essentialAcr({ values: ['urn:mfa', 'urn:hwk'] }) } }), '/login', 401, 'acr_mismatch');
    });

    test('§5.5.1.1: essential with values and no acr → 401 acr_mismatch, no session', async () => {
      provider.behaviour.claims = { acr: undefined };
      await refusedLogin(await startApp({ authorizationParams: { claims: essentialAcr({ values: ['urn:mfa'] }) } }), '/login', 401, 'acr_mismatch');
    });

    test('§5.5.1.1: essential with a single value: that acr is accepted, another → 401 acr_mismatch', async () => {
      const app = await startApp({ authorizationParams: { claims: essentialAcr({ value: 'urn:mfa' }) } });
      provider.behaviour.claims = { acr: 'urn:mfa' };
      const { me } = await acceptedLogin(app, '/login');
      expect(me.acr).toBe('urn:mfa');
      provider.behaviour.claims = { acr: 'urn:hwk' };
      await refusedLogin(app, '/login', 401, 'acr_mismatch');
    });

    test('§5.5.1.1: essential without values: any acr is accepted, but one must be there (none → 401 acr_mismatch)', async () => {
      const app = await startApp({ authorizationParams: { claims: essentialAcr({}) } });
      provider.behaviour.claims = { acr: 'urn:anything' };
      const { me } = await acceptedLogin(app, '/login');
      expect(me.acr).toBe('urn:anything');
      provider.behaviour.claims = { acr: undefined };
      await refusedLogin(app, '/login', 401, 'acr_mismatch');
    });

    test('§5.5.1.1: a voluntary acr request (not essential) is no requirement: any acr, or none, is accepted', async () => {
      const app = await startApp({ authorizationParams: { claims: JSON.stringify({ id_token: { acr: { values: ['urn:mfa'] } } }) } });
      provider.behaviour.claims = { acr: 'urn:pwd' };
      expect((await acceptedLogin(app, '/login')).me.acr).toBe('urn:pwd');
      provider.behaviour.claims = { acr: undefined };
      expect((await acceptedLogin(app, '/login')).me).not.toHaveProperty('acr');
    });

    test.each([
      ['essential without values', essentialAcr({})],
      ['essential with values that include the acr', essentialAcr({ values: ['urn:pwd', 'urn:mfa'] })],
    ])('§3.1.2.1: with a claims request (%s), /login?acr_values=urn:mfa still holds the acr to urn:mfa: an acr of urn:pwd → 401 acr_mismatch', async (_what, claims) => {
      provider.behaviour.claims = { acr: 'urn:pwd' };
      const { sent } = await refusedLogin(await startApp({ authorizationParams: { claims } }), '/login?acr_values=urn%3Amfa', 401, 'acr_mismatch');
      expect(sent.getAll('acr_values')).toEqual(['urn:mfa']);
    });
  });

  describe('a login that sent no acr_values', () => {
    test('§3.1.2.1: any acr is accepted', async () => {
      provider.behaviour.claims = { acr: 'urn:whatever-the-provider-did' };
      const { me, sent } = await acceptedLogin(await startApp(), '/login');
      expect(sent.has('acr_values')).toBe(false);
      expect(me.acr).toBe('urn:whatever-the-provider-did');
    });

    test('§3.1.2.1: an ID token without acr is accepted', async () => {
      provider.behaviour.claims = { acr: undefined };
      const { me } = await acceptedLogin(await startApp(), '/login');
      expect(me).not.toHaveProperty('acr');
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('organization: the token must name the organization authorizationParams fixes', () => {
  describe('Auth0 organization id (authorizationParams: { organization: "org_123" })', () => {
    const auth = { authorizationParams: { organization: 'org_123' } };

    test('organization is sent, and an org_id of org_123 is accepted', async () => {
      provider.behaviour.claims = { org_id: 'org_123' };
      const { me, sent } = await acceptedLogin(await startApp(auth), '/login');
      expect(sent.getAll('organization')).toEqual(['org_123']);
      expect(me.org_id).toBe('org_123');
    });

    test('an organization_id of org_123 (WorkOS ids start with org_ too) is accepted', async () => {
      provider.behaviour.claims = { organization_id: 'org_123' };
      const { me } = await acceptedLogin(await startApp(auth), '/login');
      expect(me.organization_id).toBe('org_123');
    });

    test('an org_id of another organization → 403 organization_mismatch, no session', async () => {
      provider.behaviour.claims = { org_id: 'org_999' };
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });

    test('no organization claim → 403 organization_mismatch, no session', async () => {
      provider.behaviour.claims = {};
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });

    test('an org_name equal to the id does not name it (an org_… value is matched against org_id) → 403 organization_mismatch', async () => {
      provider.behaviour.claims = { org_name: 'org_123' };
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });

    test('/login?organization=org_999 cannot change the app\'s: org_123 is sent, and an org_id of org_999 → 403 organization_mismatch', async () => {
      provider.behaviour.claims = { org_id: 'org_999' };
      const { sent } = await refusedLogin(await startApp(auth), '/login?organization=org_999', 403, 'organization_mismatch');
      expect(sent.getAll('organization')).toEqual(['org_123']);
    });
  });

  describe('Auth0 organization name (authorizationParams: { organization: "Acme" })', () => {
    const auth = { authorizationParams: { organization: 'Acme' } };

    test('an org_name of "acme" (Auth0 lowercases names) is accepted', async () => {
      provider.behaviour.claims = { org_id: 'org_acme1', org_name: 'acme' };
      const { me, sent } = await acceptedLogin(await startApp(auth), '/login');
      expect(sent.get('organization')).toBe('Acme');
      expect(me.org_name).toBe('acme');
    });

    test('an org_name of another organization → 403 organization_mismatch, no session', async () => {
      provider.behaviour.claims = { org_id: 'org_evil', org_name: 'evil-corp' };
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });

    test('no org_name (only an org_id) → 403 organization_mismatch, no session', async () => {
      provider.behaviour.claims = { org_id: 'org_acme1' };
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });
  });

  describe('organization_id (Scalekit, WorkOS: authorizationParams: { organization_id: "org_A" })', () => {
    const auth = { authorizationParams: { organization_id: 'org_A' } };

    test('organization_id is sent, and an organization_id claim of org_A is accepted', async () => {
      provider.behaviour.claims = { organization_id: 'org_A' };
      const { me, sent } = await acceptedLogin(await startApp(auth), '/login');
      expect(sent.getAll('organization_id')).toEqual(['org_A']);
      expect(me.organization_id).toBe('org_A');
    });

    test('Scalekit\'s oid claim of org_A is accepted', async () => {
      provider.behaviour.claims = { oid: 'org_A' };
      const { me } = await acceptedLogin(await startApp(auth), '/login');
      expect(me.oid).toBe('org_A');
    });

    test('an organization_id of another organization → 403 organization_mismatch, no session', async () => {
      provider.behaviour.claims = { organization_id: 'org_B' };
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });

    test('no organization_id nor oid → 403 organization_mismatch, no session', async () => {
      provider.behaviour.claims = {};
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });

    test('an Auth0 org_id of org_A does not count (organization_id or oid must name it) → 403 organization_mismatch', async () => {
      provider.behaviour.claims = { org_id: 'org_A' };
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });
  });

  describe('no organization fixed', () => {
    test('a token naming any organization is accepted', async () => {
      provider.behaviour.claims = { org_id: 'org_anything', organization_id: 'org_other', oid: 'org_third' };
      const { me, sent } = await acceptedLogin(await startApp(), '/login');
      expect(sent.has('organization')).toBe(false);
      expect(sent.has('organization_id')).toBe(false);
      expect(me).toMatchObject({ org_id: 'org_anything', organization_id: 'org_other', oid: 'org_third' });
    });

    test('/login?organization_id=org_X is sent but not checked: the app did not fix it, so a token naming org_Y is accepted', async () => {
      provider.behaviour.claims = { organization_id: 'org_Y' };
      const { me, sent } = await acceptedLogin(await startApp({ loginParams: ['organization_id'] }), '/login?organization_id=org_X');
      expect(sent.getAll('organization_id')).toEqual(['org_X']);
      expect(me.organization_id).toBe('org_Y');
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('max_age: the query may only shorten the app\'s (authorizationParams: { max_age: "60" }; OpenID Connect Core 1.0 §3.1.2.1, §3.1.3.7 item 13)', () => {
  const auth = { authorizationParams: { max_age: '60' } };

  test('/login?max_age=9999999999 still sends max_age=60, and an auth_time an hour old → 401 max_age_exceeded, no session', async () => {
    provider.behaviour.claims = { auth_time: hourAgo() };
    const { sent } = await refusedLogin(await startApp(auth), '/login?max_age=9999999999', 401, 'max_age_exceeded');
    expect(sent.getAll('max_age')).toEqual(['60']);
  });

  test('/login?max_age=9999999999 with a fresh auth_time is accepted, max_age=60 sent', async () => {
    const { me, sent } = await acceptedLogin(await startApp(auth), '/login?max_age=9999999999');
    expect(sent.getAll('max_age')).toEqual(['60']);
    expect(me.auth_time).toBeGreaterThanOrEqual(now() - 10);
  });

  test('/login?max_age=5, shorter than the app\'s, is sent and enforced: an auth_time 60 s old (within 60 + 30 s tolerance, beyond 5 + 30 s) → 401 max_age_exceeded', async () => {
    provider.behaviour.claims = { auth_time: now() - 60 };
    const { sent } = await refusedLogin(await startApp(auth), '/login?max_age=5', 401, 'max_age_exceeded');
    expect(sent.getAll('max_age')).toEqual(['5']);
  });

  test('the same auth_time 60 s old is accepted by a login that sent the app\'s max_age=60', async () => {
    const authTime = now() - 60;
    provider.behaviour.claims = { auth_time: authTime };
    const { me, sent } = await acceptedLogin(await startApp(auth), '/login');
    expect(sent.getAll('max_age')).toEqual(['60']);
    expect(me.auth_time).toBe(authTime);
  });

  test('/login?max_age=5 with a fresh auth_time is accepted', async () => {
    const { me, sent } = await acceptedLogin(await startApp(auth), '/login?max_age=5');
    expect(sent.getAll('max_age')).toEqual(['5']);
    expect(typeof me.auth_time).toBe('number');
  });
});

// ---------------------------------------------------------------------------------------------

describe('the security review\'s scenario: authorizationParams { max_age: "60", organization_id: "org_A" } and /login?max_age=9999999999&organization_id=org_EVIL', () => {
  const auth = { authorizationParams: { max_age: '60', organization_id: 'org_A' } };
  const ATTACK = '/login?max_age=9999999999&organization_id=org_EVIL';

  test('the authorization request carries the app\'s max_age=60 and organization_id=org_A, once each', async () => {
    provider.behaviour.claims = { organization_id: 'org_A' };
    const { sent } = await acceptedLogin(await startApp(auth), ATTACK);
    expect(sent.getAll('max_age')).toEqual(['60']);
    expect(sent.getAll('organization_id')).toEqual(['org_A']);
    expect(sent.toString()).not.toContain('org_EVIL');
    expect(sent.toString()).not.toContain('9999999999');
  });

  test('an ID token of org_A with an auth_time an hour old → 401 max_age_exceeded, no session', async () => {
    provider.behaviour.claims = { organization_id: 'org_A', auth_time: hourAgo() };
    const { sent } = await refusedLogin(await startApp(auth), ATTACK, 401, 'max_age_exceeded');
    expect(sent.getAll('max_age')).toEqual(['60']);
  });

  test('an ID token of org_EVIL with a fresh auth_time → 403 organization_mismatch, no session', async () => {
    provider.behaviour.claims = { organization_id: 'org_EVIL' };
    const { sent } = await refusedLogin(await startApp(auth), ATTACK, 403, 'organization_mismatch');
    expect(sent.getAll('organization_id')).toEqual(['org_A']);
  });

  test('an ID token of org_A with a fresh auth_time signs in', async () => {
    provider.behaviour.claims = { organization_id: 'org_A' };
    const { me } = await acceptedLogin(await startApp(auth), ATTACK);
    expect(me.organization_id).toBe('org_A');
    expect(me.auth_time).toBeGreaterThanOrEqual(now() - 10);
  });
});

// ---------------------------------------------------------------------------------------------

describe('checkAuthentication() directly', () => {
  /** A validated token set with `claims` over a minimal ID token's, and `extra` when given (a provider adapter's). */
  function tokens(claims: Record<string, unknown>, extra?: Record<string, unknown>): TokenSet {
    return {
      idToken: 'header.payload.signature',
      claims: { iss: 'https://op.example.test', sub: 'alice', aud: 'client', ...claims },
      accessToken: 'access-token',
      tokenType: 'Bearer',
      ...(extra !== undefined && { extra }),
    };
  }

  /** The AuthError `fn` throws (fails when it throws none, or something else). */
  function thrown(fn: () => void): AuthError {
    let caught: unknown;
    try {
      fn();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AuthError);
    return caught as AuthError;
  }

  describe('acr (OpenID Connect Core 1.0 §3.1.2.1, §5.5.1.1)', () => {
    test('no acr asked for (undefined): any acr, a non-string acr or none passes', () => {
      for (const acr of [undefined, 'urn:any', 42, ['urn:mfa'], null]) {
        expect(() => checkAuthentication(tokens(acr === undefined ? {} : { acr }), undefined, {})).not.toThrow();
      }
    });

    test('an acr among the values asked for passes', () => {
      expect(() => checkAuthentication(tokens({ acr: 'urn:mfa' }), ['urn:mfa', 'urn:hwk'], {})).not.toThrow();
      expect(() => checkAuthentication(tokens({ acr: 'urn:hwk' }), ['urn:mfa', 'urn:hwk'], {})).not.toThrow();
    });

    test('an acr not among the values (exact, case-sensitive match) → acr_mismatch, 401, exposed', () => {
      for (const acr of ['urn:pwd', 'URN:MFA', 'urn:mfa ', 'urn:mfa urn:hwk', '']) {
        const err = thrown(() => checkAuthentication(tokens({ acr }), ['urn:mfa', 'urn:hwk'], {}));
        expect({ code: err.code, status: err.status, expose: err.expose }).toEqual({ code: 'acr_mismatch', status: 401, expose: true });
      }
    });

    test('values asked for and no acr → acr_mismatch, 401, the message says it is absent', () => {
      const err = thrown(() => checkAuthentication(tokens({}), ['urn:mfa'], {}));
      expect({ code: err.code, status: err.status }).toEqual({ code: 'acr_mismatch', status: 401 });
      expect(err.message).toContain('absent');
      expect(err.message).toContain('urn:mfa');
    });

    test('values asked for and a non-string acr (an array holding the value, a number) → acr_mismatch', () => {
      for (const acr of [['urn:mfa'], 1, { value: 'urn:mfa' }, null]) {
        expect(thrown(() => checkAuthentication(tokens({ acr }), ['urn:mfa', '1'], {})).code).toBe('acr_mismatch');
      }
    });

    test('an empty list (essential acr without values): any string acr passes, none → acr_mismatch', () => {
      expect(() => checkAuthentication(tokens({ acr: 'urn:anything' }), [], {})).not.toThrow();
      const err = thrown(() => checkAuthentication(tokens({}), [], {}));
      expect({ code: err.code, status: err.status }).toEqual({ code: 'acr_mismatch', status: 401 });
      expect(thrown(() => checkAuthentication(tokens({ acr: 7 }), [], {})).code).toBe('acr_mismatch');
    });

    test('the message carries no markup even when the token\'s acr (and the values asked) contain it: no < or >', () => {
      const err = thrown(() => checkAuthentication(tokens({ acr: '<script>alert("x")</script>' }), ['urn:<b>mfa</b>'], {}));
      expect(err.code).toBe('acr_mismatch');
      expect(err.message).not.toMatch(/[<>]/);
      expect(err.message).toContain('script');
    });

    test('the message does not echo an unbounded acr: a 10,000-character acr is cut', () => {
      const err = thrown(() => checkAuthentication(tokens({ acr: 'a'.repeat(10_000) }), ['urn:mfa'], {}));
      expect(err.message.length).toBeLessThan(1000);
    });
  });

  describe('organization', () => {
    function mismatch(fn: () => void): void {
      const err = thrown(fn);
      expect({ code: err.code, status: err.status, expose: err.expose }).toEqual({ code: 'organization_mismatch', status: 403, expose: true });
    }

    test('none fixed: no organization claim, or any, passes', () => {
      expect(() => checkAuthentication(tokens({}), undefined, {})).not.toThrow();
      expect(() => checkAuthentication(tokens({ org_id: 'org_x', org_name: 'x', organization_id: 'org_y', oid: 'org_z' }), undefined, { audience: 'https://api' })).not.toThrow();
    });

    test('Auth0 organization "org_123": org_id org_123 passes; organization_id org_123 passes (WorkOS adapter mapping)', () => {
      const fixed = { organization: 'org_123' };
      expect(() => checkAuthentication(tokens({ org_id: 'org_123' }), undefined, fixed)).not.toThrow();
      expect(() => checkAuthentication(tokens({ organization_id: 'org_123' }), undefined, fixed)).not.toThrow();
    });

    test('Auth0 organization "org_123" named only in an adapter\'s extra.organization_id (WorkOS) passes', () => {
      expect(() => checkAuthentication(tokens({}, { organization_id: 'org_123', authentication_method: 'SSO' }), undefined, { organization: 'org_123' })).not.toThrow();
    });

    test('Auth0 organization "org_123": another org_id, no claim, or only org_name "org_123" → organization_mismatch 403', () => {
      const fixed = { organization: 'org_123' };
      mismatch(() => checkAuthentication(tokens({ org_id: 'org_999' }), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({}), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({ org_name: 'org_123' }), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({}, { organization_id: 'org_999' }), undefined, fixed));
    });

    test('Auth0 organization name "Acme": org_name "acme" passes; "other", none, or only an org_id → organization_mismatch 403', () => {
      const fixed = { organization: 'Acme' };
      expect(() => checkAuthentication(tokens({ org_name: 'acme' }), undefined, fixed)).not.toThrow();
      mismatch(() => checkAuthentication(tokens({ org_name: 'other' }), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({}), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({ org_id: 'Acme' }), undefined, fixed));
    });

    test('organization_id "org_A": the organization_id claim, Scalekit\'s oid, or an adapter\'s extra.organization_id (WorkOS) of org_A passes', () => {
      const fixed = { organization_id: 'org_A' };
      expect(() => checkAuthentication(tokens({ organization_id: 'org_A' }), undefined, fixed)).not.toThrow();
      expect(() => checkAuthentication(tokens({ oid: 'org_A' }), undefined, fixed)).not.toThrow();
      expect(() => checkAuthentication(tokens({}, { organization_id: 'org_A' }), undefined, fixed)).not.toThrow();
    });

    test('organization_id "org_A": org_B (claim, oid or extra), none, or only Auth0\'s org_id → organization_mismatch 403', () => {
      const fixed = { organization_id: 'org_A' };
      mismatch(() => checkAuthentication(tokens({ organization_id: 'org_B' }), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({ oid: 'org_B' }), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({}, { organization_id: 'org_B' }), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({}), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({}, {}), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({ org_id: 'org_A' }), undefined, fixed));
    });

    test('organization_id "org_A": a claim org_B is not overridden by an extra org_A (the token\'s own claim counts first)', () => {
      mismatch(() => checkAuthentication(tokens({ organization_id: 'org_B' }, { organization_id: 'org_A' }), undefined, { organization_id: 'org_A' }));
    });

    test('the organization message carries no markup from the token: no < or >', () => {
      const err = thrown(() => checkAuthentication(tokens({ organization_id: '<b>org_EVIL</b>' }), undefined, { organization_id: 'org_A' }));
      expect(err.code).toBe('organization_mismatch');
      expect(err.message).not.toMatch(/[<>]/);
    });
  });

  test('both checks pass together: the acr asked for and the organization fixed', () => {
    expect(() => checkAuthentication(tokens({ acr: 'urn:mfa', organization_id: 'org_A' }), ['urn:mfa'], { organization_id: 'org_A', acr_values: 'urn:mfa' })).not.toThrow();
  });
});
