/**
 * Session life against a real OpenID Provider (`oidc-provider`, configured to issue and rotate
 * refresh tokens) over real HTTP: `req.oidc`, automatic refresh before the handler runs (RFC 6749
 * §6) with one token endpoint call per session however many of its requests ask at once, explicit
 * `req.oidc.refresh()` and `fetchUserInfo()`, idle and absolute expiry, the touch interval, and
 * resealing a cookie sealed with an older secret.
 *
 * One provider and one port serve every test; each test mounts its own app (its own
 * authCallback() options) behind that port. The provider's access token lifetime is set per test
 * ({@link accessTokenTtl}), and its successful refresh grants are counted. The timing tests read
 * the sealed cookie's own `iat`/`createdAt` (seconds; `createdAt` with a millisecond fraction) and schedule their requests from them, so
 * that whole-second rounding cannot make them flaky.
 */
import express, { type Express, type Request } from 'express';
import session, { MemoryStore } from 'express-session';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { authCallback, requireAuth, type AuthCallbackConfig } from 'express-oidc-callback';
import { decodeJwt } from 'jose';
import { unsealCookiePayload } from '../lib/session/session-codec.js';
import { Sealer } from '../lib/session/seal.js';
import { Browser, type Page } from './support/browser.js';
import { errorAsJson } from './support/error-handler.js';
import { SESSION_SECRET, authorizationResponse, startTestbed, type Testbed } from './support/testbed.js';

const OLD_SECRET = 'the-old-secret-of-at-least-32-characters-0123456789';
const NEW_SECRET = 'the-new-secret-of-at-least-32-characters-9876543210';
const JSON_ACCEPT = { accept: 'application/json' };
const HTML_ACCEPT = { accept: 'text/html' };

/** `req.oidc` as the test app's `/oidc` route reports it (`null` for `undefined`). */
interface OidcSeen {
  isAuthenticated: boolean;
  claimsAreUser: boolean;
  claims: Record<string, unknown> | null;
  idToken: string | null;
  accessToken: string | null;
  refreshToken: string | null;
  tokenType: string | null;
  scope: string | null;
  expiresAt: number | null;
  isExpired: boolean;
  /** `isExpired(7200)`: more than any access token lifetime of these tests. */
  isExpiredWithin7200: boolean;
}

/** The sealed session cookie's payload, as the lib seals it (tokens, `createdAt`, `iat`, `exp`). */
interface SealedPayload {
  accessToken: string;
  refreshToken?: string;
  idToken: string;
  expiresAt?: number;
  createdAt: number;
  iat: number;
  exp: number;
}

let bed: Testbed;
/** authCallback()'s options of the testbed (issuer, client, baseURL, secret). */
let baseAuth: AuthCallbackConfig;
/** The app that serves the testbed's port now. */
let current: Express;
/** The lifetime, in seconds, of the access tokens the provider issues next. */
let accessTokenTtl = 3600;
/** The provider's successful refresh token grants since the test began. */
let refreshGrants = 0;
/** The provider's refused token requests since the test began (their OAuth error codes). */
const grantErrors: string[] = [];

function snapshot(req: Request): OidcSeen {
  const o = req.oidc;
  return {
    isAuthenticated: o.isAuthenticated,
    claimsAreUser: o.claims === req.user,
    claims: o.claims ?? null,
    idToken: o.idToken ?? null,
    accessToken: o.accessToken ?? null,
    refreshToken: o.refreshToken ?? null,
    tokenType: o.tokenType ?? null,
    scope: o.scope ?? null,
    expiresAt: o.expiresAt ?? null,
    isExpired: o.isExpired(),
    isExpiredWithin7200: o.isExpired(7200),
  };
}

/**
 * An app with authCallback(`auth` over the testbed's options) and: `GET /` (any page, where the
 * login lands), `GET /oidc` ({@link snapshot}), `GET /api/me` and `GET /page` behind
 * requireAuth(), `POST /refresh` (`req.oidc.refresh()`, then the snapshot) and `GET /userinfo`
 * (`req.oidc.fetchUserInfo()`). Errors answer `{ code, message }` with their status.
 */
function buildApp(auth: Partial<AuthCallbackConfig>): Express {
  const app = express();
  app.use(session({ store: new MemoryStore(), secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
  app.use(authCallback({ ...baseAuth, ...auth }));
  app.get('/', (req, res) => {
    res.type('text').send(req.user ? `signed in as ${req.user.sub}` : 'signed out');
  });
  app.get('/oidc', (req, res) => {
    res.json(snapshot(req));
  });
  app.get('/api/me', requireAuth(), (req, res) => {
    res.json({ sub: req.user?.sub, accessToken: req.oidc.accessToken });
  });
  app.get('/page', requireAuth(), (req, res) => {
    res.type('html').send(`<p>${req.user?.sub}</p>`);
  });
  app.post('/refresh', async (req, res) => {
    await req.oidc.refresh();
    res.json(snapshot(req));
  });
  app.get('/userinfo', async (req, res) => {
    res.json(await req.oidc.fetchUserInfo());
  });
  app.use(errorAsJson);
  return app;
}

/** Serves the testbed's port with a new app of `auth` (a fresh refresh cache, a fresh store). */
function useApp(auth: Partial<AuthCallbackConfig> = {}): void {
  current = buildApp(auth);
}

beforeAll(async () => {
  const front = express();
  front.use((req, res, next) => current(req, res, next));
  bed = await startTestbed({
    providerConfiguration: {
      // Refresh tokens without offline_access and its consent prompt, rotated on every use (RFC 9700 §4.14.2).
      issueRefreshToken: async () => true,
      rotateRefreshToken: true,
      ttl: {
        AccessToken: () => accessTokenTtl,
        AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Grant: 14 * 86400, Session: 14 * 86400, RefreshToken: 14 * 86400,
      },
    },
    build: (auth) => {
      baseAuth = auth;
      return front;
    },
  });
  bed.provider.provider.on('grant.success', (ctx) => {
    if (ctx.oidc.params?.grant_type === 'refresh_token') refreshGrants++;
  });
  bed.provider.provider.on('grant.error', (_ctx, err) => {
    grantErrors.push(err.error);
  });
});
afterAll(async () => {
  await bed.close();
});
beforeEach(() => {
  accessTokenTtl = 3600;
  refreshGrants = 0;
  grantErrors.length = 0;
  useApp();
});

// ---------------------------------------------------------------------------------------------
// Helpers

/**
 * Signs alice in, in a new browser, through the provider's login and consent pages, up to the
 * callback's answer (not following its redirect, whose request could already refresh a due
 * token); the browser and the session cookie the callback set.
 */
async function login(): Promise<{ browser: Browser; cookie: string }> {
  const browser = new Browser();
  const callback = await browser.request((await authorizationResponse(browser, `${bed.baseURL}/login`)).href);
  expect(callback.status).toBe(302);
  expect(callback.headers.get('location')).toBe('/');
  const cookie = await browser.cookie(bed.baseURL, 'oidc_session');
  expect(cookie).toBeDefined();
  return { browser, cookie: cookie! };
}

/** One request carrying exactly `cookie` (or none) as the session cookie: no jar, nothing else. */
async function send(path: string, cookie: string | undefined, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Page> {
  const url = `${bed.baseURL}${path}`;
  const headers: Record<string, string> = { ...JSON_ACCEPT, ...options.headers };
  if (cookie !== undefined) headers.cookie = `oidc_session=${cookie}`;
  const res = await fetch(url, { method: options.method ?? 'GET', headers, redirect: 'manual' });
  return { url, status: res.status, headers: res.headers, body: await res.text() };
}

/** The `oidc_session` Set-Cookie headers of an answer. */
function sessionCookiesSet(page: Page): string[] {
  return page.headers.getSetCookie().filter((c) => /^oidc_session(\.\d+)?=/.test(c));
}

/** The one new session cookie an answer sets. */
function newSessionCookie(page: Page): string {
  const set = sessionCookiesSet(page);
  expect(set).toHaveLength(1);
  const value = /^oidc_session=([^;]+)/.exec(set[0]!)?.[1];
  expect(value).toBeDefined();
  return value!;
}

/** Opens a session cookie with `secrets` (as the lib does); `undefined` when none of them sealed it or it expired. */
function open(cookie: string, secrets: string[] = [baseAuth.secret as string]): SealedPayload | undefined {
  return unsealCookiePayload(new Sealer(secrets), cookie)?.payload as SealedPayload | undefined;
}

/** Resolves at `epochSeconds` (seconds since the epoch), at once when that has passed. */
function until(epochSeconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, epochSeconds * 1000 - Date.now())));
}

function seen(page: Page): OidcSeen {
  expect(page.status).toBe(200);
  return JSON.parse(page.body) as OidcSeen;
}

// ---------------------------------------------------------------------------------------------

describe('req.oidc', () => {
  test('on a signed-in request: isAuthenticated, claims (the req.user object), the tokens, expiresAt in seconds ≈ now + the access token lifetime, isExpired()', async () => {
    const { cookie } = await login();
    const before = Date.now() / 1000;
    const oidc = seen(await send('/oidc', cookie));
    expect(oidc.isAuthenticated).toBe(true);
    expect(oidc.claimsAreUser).toBe(true);
    expect(oidc.claims).toMatchObject({ sub: 'alice', iss: bed.provider.issuer, aud: baseAuth.clientId, email: 'alice@example.com' });
    expect(decodeJwt(oidc.idToken!)).toEqual(oidc.claims);
    const sealed = open(cookie)!;
    expect(oidc.accessToken).toBe(sealed.accessToken);
    expect(oidc.accessToken).toMatch(/^[\w-]{20,}$/);
    expect(oidc.refreshToken).toBe(sealed.refreshToken);
    expect(oidc.refreshToken).toMatch(/^[\w-]{20,}$/);
    expect(oidc.tokenType?.toLowerCase()).toBe('bearer'); // RFC 6749 §7.1: case-insensitive (openid-client lowercases it)
    expect(oidc.scope!.split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));
    expect(Number.isInteger(oidc.expiresAt)).toBe(true);
    expect(oidc.expiresAt).toBeGreaterThanOrEqual(Math.floor(before) + 3600 - 10);
    expect(oidc.expiresAt).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 3600);
    expect(oidc.isExpired).toBe(false);
    expect(oidc.isExpiredWithin7200).toBe(true);
    expect(refreshGrants).toBe(0);
  });

  test('on an anonymous request: isAuthenticated false, no claims, every token getter undefined, isExpired() false', async () => {
    const oidc = seen(await send('/oidc', undefined));
    expect(oidc).toEqual({
      isAuthenticated: false, claimsAreUser: true, claims: null, idToken: null, accessToken: null, refreshToken: null,
      tokenType: null, scope: null, expiresAt: null, isExpired: false, isExpiredWithin7200: false,
    });
  });

  test('on an anonymous request: refresh() and fetchUserInfo() reject with 401 unauthorized, and the provider is not called', async () => {
    const refresh = await send('/refresh', undefined, { method: 'POST' });
    expect(refresh.status).toBe(401);
    expect(JSON.parse(refresh.body)).toMatchObject({ code: 'unauthorized' });
    const userinfo = await send('/userinfo', undefined);
    expect(userinfo.status).toBe(401);
    expect(JSON.parse(userinfo.body)).toMatchObject({ code: 'unauthorized' });
    expect(refreshGrants).toBe(0);
  });

  test('a tampered cookie is an anonymous request: isAuthenticated false, no refresh attempted', async () => {
    accessTokenTtl = 30;
    const { cookie } = await login();
    const tampered = `${cookie.slice(0, -2)}${cookie.endsWith('AA') ? 'AQ' : 'AA'}`;
    const oidc = seen(await send('/oidc', tampered));
    expect(oidc.isAuthenticated).toBe(false);
    expect(refreshGrants).toBe(0);
  });
});

describe('automatic refresh (RFC 6749 §6)', () => {
  test('RFC 6749 §6: an access token expiring within refreshMargin is refreshed before the handler runs: the handler sees the new token, one grant, the cookie resealed; the new cookie is not refreshed again (not due)', async () => {
    accessTokenTtl = 30; // within the default refreshMargin of 60 s
    const { cookie } = await login();
    const loginTokens = open(cookie)!;
    accessTokenTtl = 3600;

    const first = seen(await send('/oidc', cookie));
    expect(refreshGrants).toBe(1);
    expect(first.accessToken).not.toBe(loginTokens.accessToken);
    expect(first.refreshToken).not.toBe(loginTokens.refreshToken); // rotated by the provider
    expect(first.expiresAt).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(first.isExpired).toBe(false);
    expect(first.claims).toMatchObject({ sub: 'alice' });

    const page = await send('/api/me', cookie);
    expect(page.status).toBe(200);
    const renewed = newSessionCookie(page);
    expect(open(renewed)).toMatchObject({ accessToken: first.accessToken, refreshToken: first.refreshToken, createdAt: loginTokens.createdAt });
    expect(refreshGrants).toBe(1); // the second request with the old cookie reused the refresh

    const next = await send('/oidc', renewed);
    expect(seen(next).accessToken).toBe(first.accessToken);
    expect(sessionCookiesSet(next)).toEqual([]);
    expect(refreshGrants).toBe(1);
    expect(grantErrors).toEqual([]);
  });

  test('autoRefresh false: an expiring access token is handed to the handler as it is, and nothing is refreshed', async () => {
    useApp({ autoRefresh: false });
    accessTokenTtl = 30;
    const { cookie } = await login();
    const page = await send('/oidc', cookie);
    const oidc = seen(page);
    expect(oidc.accessToken).toBe(open(cookie)!.accessToken);
    expect(oidc.isExpired).toBe(false);
    expect(oidc.isExpiredWithin7200).toBe(true);
    expect(sessionCookiesSet(page)).toEqual([]);
    expect(refreshGrants).toBe(0);
  });

  test('refreshMargin 0: a token that has not expired is not refreshed', async () => {
    useApp({ refreshMargin: 0 });
    accessTokenTtl = 30;
    const { cookie } = await login();
    const page = await send('/oidc', cookie);
    expect(seen(page).accessToken).toBe(open(cookie)!.accessToken);
    expect(sessionCookiesSet(page)).toEqual([]);
    expect(refreshGrants).toBe(0);
  });

  test('single flight: 10 concurrent requests with the same due cookie → ONE refresh grant, all 200 with the same new access token; the old cookie afterwards reuses that refresh (no second grant, no refused rotated token)', async () => {
    accessTokenTtl = 30;
    const { cookie } = await login();
    const loginTokens = open(cookie)!;
    accessTokenTtl = 3600;

    const pages = await Promise.all(Array.from({ length: 10 }, () => send('/api/me', cookie)));
    expect(pages.map((p) => p.status)).toEqual(Array(10).fill(200));
    const accessTokens = new Set(pages.map((p) => (JSON.parse(p.body) as { accessToken: string }).accessToken));
    expect(accessTokens.size).toBe(1);
    const [refreshed] = accessTokens;
    expect(refreshed).not.toBe(loginTokens.accessToken);
    expect(refreshGrants).toBe(1);
    for (const page of pages) expect(open(newSessionCookie(page))?.accessToken).toBe(refreshed);

    // A request the browser sent before it got the new cookie: the rotated refresh token is not spent again.
    const late = await send('/api/me', cookie);
    expect(late.status).toBe(200);
    expect((JSON.parse(late.body) as { accessToken: string }).accessToken).toBe(refreshed);
    expect(refreshGrants).toBe(1);
    expect(grantErrors).toEqual([]);
  });
});

describe('req.oidc.refresh() and req.oidc.fetchUserInfo()', () => {
  test('RFC 6749 §6: req.oidc.refresh() gets new tokens whatever their expiry, the handler sees them, the cookie is resealed with them', async () => {
    const { cookie } = await login();
    const loginTokens = open(cookie)!;
    const page = await send('/refresh', cookie, { method: 'POST' });
    const oidc = seen(page);
    expect(refreshGrants).toBe(1);
    expect(oidc.accessToken).not.toBe(loginTokens.accessToken);
    expect(oidc.refreshToken).not.toBe(loginTokens.refreshToken);
    // The refreshed ID token (Core §12.2) may be byte-identical to the login's when issued within the same second.
    expect(decodeJwt(oidc.idToken!)).toMatchObject({ sub: 'alice', iss: bed.provider.issuer, aud: baseAuth.clientId });
    expect(oidc.claims).toEqual(decodeJwt(oidc.idToken!));
    expect(oidc.claimsAreUser).toBe(true);
    const renewed = newSessionCookie(page);
    expect(open(renewed)).toMatchObject({ accessToken: oidc.accessToken, refreshToken: oidc.refreshToken, idToken: oidc.idToken });

    const after = await send('/oidc', renewed);
    expect(seen(after).accessToken).toBe(oidc.accessToken);
    expect(sessionCookiesSet(after)).toEqual([]);
    expect(refreshGrants).toBe(1);
  });

  test('OpenID Connect Core 1.0 §5.3: req.oidc.fetchUserInfo() returns the user\'s claims, with the session\'s sub', async () => {
    const { cookie } = await login();
    const page = await send('/userinfo', cookie);
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body)).toMatchObject({ sub: 'alice', email: 'alice@example.com', name: 'alice' });
  });
});

describe('session lifetime', () => {
  test('idle expiry and the touch interval: sessionIdleDuration 2, sessionTouchInterval 1 → the cookie is re-issued at most once per interval (none within it, one after it), a session so used lives past 2 s, and left unused for more than 2 s it ends (401 for an API, login redirect for a browser)', async () => {
    useApp({ sessionIdleDuration: 2, sessionTouchInterval: 1 });
    const { browser, cookie } = await login();
    const t = open(cookie)!.iat;
    expect(open(cookie)!.exp).toBe(t + 2);

    let last = cookie;
    for (const at of [1.1, 2.1]) {
      await until(t + at);
      const touched = await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
      expect({ at, status: touched.status }).toEqual({ at, status: 200 });
      last = newSessionCookie(touched);
      expect(open(last)).toMatchObject({ iat: t + Math.floor(at), exp: t + Math.floor(at) + 2 });
      // Within the interval of that touch: no cookie.
      const soon = await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
      expect(soon.status).toBe(200);
      expect(sessionCookiesSet(soon)).toEqual([]);
      if (at === 1.1) {
        await until(t + 1.8);
        const later = await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
        expect(later.status).toBe(200);
        expect(sessionCookiesSet(later)).toEqual([]);
      }
    }
    // Still in use 2.1 s after login: past the login seal's exp, so activity extended it.
    expect(Date.now() / 1000).toBeGreaterThan(t + 2);
    expect(open(cookie)).toBeUndefined();

    await until(open(last)!.exp + 0.2);
    const api = await send('/api/me', last);
    expect(api.status).toBe(401);
    const page = await send('/page', last, { headers: HTML_ACCEPT });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login?returnTo=%2Fpage');
    // The browser dropped the cookie too (its Expires is the seal's exp).
    expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeUndefined();
  });

  test('absolute expiry: sessionDuration 3 ends the session 3 s after login although it is in use and touched (sessionIdleDuration 2, sessionTouchInterval 1); no seal outlives it', async () => {
    useApp({ sessionDuration: 3, sessionIdleDuration: 2, sessionTouchInterval: 1 });
    const { cookie } = await login();
    const createdAt = Math.floor(open(cookie)!.createdAt); // the login's second (createdAt has a millisecond fraction)
    const seals = [open(cookie)!];

    let last = cookie;
    for (const at of [1.1, 2.2]) {
      await until(createdAt + at);
      const page = await send('/api/me', last);
      expect({ at, status: page.status }).toEqual({ at, status: 200 });
      if (sessionCookiesSet(page).length > 0) last = newSessionCookie(page);
      seals.push(open(last)!);
    }
    // 2.2 s after login, beyond the idle lifetime of the login's seal: a touch extended it, up to the absolute end.
    expect(seals.map((s) => s.exp)).toEqual([createdAt + 2, createdAt + 3, createdAt + 3]);
    expect(seals.every((s) => s.createdAt === seals[0]!.createdAt && Math.floor(s.createdAt) === createdAt)).toBe(true);

    await until(createdAt + 3.1);
    const api = await send('/api/me', last);
    expect(api.status).toBe(401);
    const page = await send('/page', last, { headers: HTML_ACCEPT });
    expect(page.status).toBe(302);
  });

  test('idle expiry never ends a session in use: sessionIdleDuration 2 with the default sessionTouchInterval, used every 0.5 s, still answers 200 at 2.3 s', async () => {
    // A touch interval equal to the idle lifetime (as the default 300 s is for sessionIdleDuration 300)
    // never touches a session used more often than that, and it ends while in use.
    useApp({ sessionIdleDuration: 2 });
    const { cookie } = await login();
    const t = open(cookie)!.iat;
    let last = cookie;
    const statuses: [number, number][] = [];
    for (const at of [0.5, 1, 1.5, 1.9, 2.3]) {
      await until(t + at);
      const page = await send('/api/me', last);
      statuses.push([at, page.status]);
      if (page.status === 200 && sessionCookiesSet(page).length > 0) last = newSessionCookie(page);
    }
    expect(statuses).toEqual([[0.5, 200], [1, 200], [1.5, 200], [1.9, 200], [2.3, 200]]);
  });

  test('sessionIdleDuration false: no touches, the seal lasts until sessionDuration', async () => {
    useApp({ sessionIdleDuration: false, sessionDuration: 600 });
    const { cookie } = await login();
    const sealed = open(cookie)!;
    expect(sealed.exp).toBe(Math.floor(sealed.createdAt) + 600);
    const page = await send('/api/me', cookie);
    expect(page.status).toBe(200);
    expect(sessionCookiesSet(page)).toEqual([]);
  });
});

describe('secret rotation: a cookie sealed with an older secret is resealed with the first', () => {
  test('secret [new, old] opens an [old] cookie and re-issues it sealed with new (same tokens, no refresh); [new] alone then opens the re-issued cookie but not the original', async () => {
    useApp({ secret: OLD_SECRET });
    const { cookie } = await login();
    expect(open(cookie, [OLD_SECRET])).toBeDefined();
    expect(open(cookie, [NEW_SECRET])).toBeUndefined();

    useApp({ secret: [NEW_SECRET, OLD_SECRET] });
    const page = await send('/api/me', cookie);
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body)).toMatchObject({ sub: 'alice', accessToken: open(cookie, [OLD_SECRET])!.accessToken });
    const resealed = newSessionCookie(page);
    expect(open(resealed, [NEW_SECRET])).toMatchObject({
      accessToken: open(cookie, [OLD_SECRET])!.accessToken,
      createdAt: open(cookie, [OLD_SECRET])!.createdAt,
    });
    expect(open(resealed, [OLD_SECRET])).toBeUndefined();
    expect(refreshGrants).toBe(0);
    // Sealed with the first secret: not re-issued again.
    const next = await send('/api/me', resealed);
    expect(next.status).toBe(200);
    expect(sessionCookiesSet(next)).toEqual([]);

    useApp({ secret: NEW_SECRET });
    expect((await send('/api/me', resealed)).status).toBe(200);
    expect((await send('/api/me', cookie)).status).toBe(401);
  });
});
