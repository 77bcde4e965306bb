/**
 * Refreshing a session's tokens (RFC 6749 §6, OpenID Connect Core 1.0 §12) against the hostile
 * provider of test/support/hostile-provider.ts: the example app over real HTTP, with
 * `autoRefresh` on. Each login gets an access token that expires within `refreshMargin` (30 s
 * against the default 60 s), so the first request after it refreshes before its handler runs.
 *
 * What a refresh may do to a session: a refused refresh token (`invalid_grant`) or a refreshed ID
 * token naming another user or issuer ends it (a browser is sent to login, an API gets 401, the
 * cookie is cleared); a provider fault is a 503 that keeps it, and the same cookie refreshes once
 * the provider is back. Rotated refresh tokens are used from then on, kept ones are kept, and an
 * absent ID token keeps the login's. Nothing secret reaches a response body (but the test-only
 * `/tokens` route's) or what the app logs (the example app `console.error()`s every 5xx).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { decodeJwt } from 'jose';
import { Sealer } from '../../lib/session/seal.js';
import { appSecrets, signInAt, startExampleApp, type AppClient, type AppServer } from '../support/app-server.js';
import { Browser, type Page } from '../support/browser.js';
import { jsonError, leaksInPage, sessionCookiesSet } from '../support/leaks.js';
import { startHostileProvider, type HostileProvider, type RefreshMode } from '../support/hostile-provider.js';
import { guardLogs } from '../support/log-guard.js';
import { expectCleared, newSessionCookie, requestWithSessionCookie } from '../support/session-cookies.js';

const CLIENT_ID = 'rp-refresh-test';
const CLIENT_SECRET = 'refresh-client-secret:with+plus&amp=equals/%25 and space';
const SECRET = 'a-refresh-test-secret-of-at-least-32-characters-01';
const SESSION_SECRET = 'express-session-refresh-test-secret';
/** authCallback()'s `httpTimeout`, in seconds. */
const HTTP_TIMEOUT = 0.5;
/** A generous upper bound for any answer, in milliseconds: ten times `httpTimeout`. */
const ANSWER_BOUND_MS = 5000;
/** `expires_in` of the login's access token: within the default `refreshMargin` (60 s), so due at once. */
const DUE_EXPIRES_IN = 30;
const JSON_ACCEPT = { accept: 'application/json' };
const HTML_ACCEPT = { accept: 'text/html' };
const CLIENT: AppClient = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, secret: SECRET, sessionSecret: SESSION_SECRET, httpTimeout: HTTP_TIMEOUT };

type App = AppServer;

/** What the test-only `/tokens` route answers: `req.oidc` as the handler sees it. */
interface TokensSeen {
  isAuthenticated: boolean;
  sub: string | undefined;
  claims: Record<string, unknown> | undefined;
  idToken: string | undefined;
  accessToken: string | undefined;
  refreshToken: string | undefined;
  expiresAt: number | undefined;
}

let provider: HostileProvider;
let app: App;

/**
 * The example app, on its own 127.0.0.1 port, against the hostile provider, plus two test-only
 * routes left out of the leak checks: `GET /tokens`, `req.oidc`'s tokens as the handler sees
 * them, and `POST /refresh`, which calls `req.oidc.refresh()` and answers the new access token,
 * or the error's status and code.
 */
function startApp(auth: Partial<AuthCallbackConfig> = {}): Promise<App> {
  return startExampleApp(CLIENT, provider.issuer, auth, addTestRoutes);
}

/** The test-only routes of {@link startApp}. */
function addTestRoutes(built: Express): void {
  built.get('/tokens', (req, res) => {
    const seen: TokensSeen = {
      isAuthenticated: req.oidc.isAuthenticated,
      sub: req.user?.sub,
      claims: req.oidc.claims,
      idToken: req.oidc.idToken,
      accessToken: req.oidc.accessToken,
      refreshToken: req.oidc.refreshToken,
      expiresAt: req.oidc.expiresAt,
    };
    res.json(seen);
  });
  built.post('/refresh', async (req, res) => {
    try {
      await req.oidc.refresh();
      res.json({ accessToken: req.oidc.accessToken, isAuthenticated: req.oidc.isAuthenticated });
    } catch (err) {
      const { status, code } = err as { status: number; code: string };
      res.status(status).json({ error: code, isAuthenticated: req.oidc.isAuthenticated });
    }
  });
}

/** Every console.error() call of the current test (the example app logs each 5xx), checked for leaks after it. */
const consoleErrors = guardLogs(() => secrets());

beforeAll(async () => {
  provider = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
});
afterAll(async () => {
  await provider.close();
});
beforeEach(async () => {
  provider.reset();
  provider.behaviour.expiresIn = DUE_EXPIRES_IN;
  app = await startApp();
});
afterEach(async () => {
  await app.close();
});

// ---------------------------------------------------------------------------------------------
// What the tests check

/** Every value that must stay secret: ours, and every code and token the provider issued. */
function secrets(): string[] {
  return [...appSecrets(CLIENT), ...provider.secrets()];
}

/** Nothing secret in an answer's body, and no stack trace. */
function expectNoLeak(page: Page): void {
  expect(leaksInPage(page, secrets())).toEqual([]);
}

/** The refresh requests the provider received so far. */
function refreshCount(): number {
  return provider.refreshRequests().length;
}

// ---------------------------------------------------------------------------------------------
// Driving a session

/** A whole login in `browser` (the provider signs the user in at once); the oidc_session cookie it leaves. */
function signIn(browser: Browser, target: App = app): Promise<string> {
  return signInAt(browser, target, provider);
}

/** One request carrying exactly `cookie` as the session cookie (no jar): a browser that has not seen later answers. */
function withCookie(cookie: string, path: string, headers: Record<string, string> = JSON_ACCEPT, method = 'GET'): Promise<Page> {
  return requestWithSessionCookie(`${app.baseURL}${path}`, cookie, { method, headers });
}

/** `GET /tokens` with `cookie`: what the handler saw, and the answer. */
async function tokensSeen(cookie: string): Promise<{ page: Page; seen: TokensSeen }> {
  const page = await withCookie(cookie, '/tokens');
  expect(page.status).toBe(200);
  return { page, seen: JSON.parse(page.body) as TokensSeen };
}

/** The session is over for good: the provider is not asked again, and a browser and an API are both treated as signed out. */
async function expectSignedOut(cookie: string): Promise<void> {
  const browserPage = await withCookie(cookie, '/profile', HTML_ACCEPT);
  expect(browserPage.status).toBe(302);
  expect(browserPage.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
  const api = await withCookie(cookie, '/api/me');
  expect(api.status).toBe(401);
  expect(jsonError(api).error).toBe('unauthorized');
}

// ---------------------------------------------------------------------------------------------

describe('a refreshed ID token must name the same user (OpenID Connect Core 1.0 §12.2)', () => {
  const OTHER_USER: [string, () => void][] = [
    ['another sub', () => { provider.behaviour.claims = { sub: 'eve' }; }],
    ['another iss', () => { provider.behaviour.idToken = 'wrong-iss'; }],
    ['another aud', () => { provider.behaviour.idToken = 'wrong-aud'; }],
  ];

  test.each(OTHER_USER)('Core §12.2: a refreshed ID token with %s ends the session: a browser is sent to login (302), the cookie cleared', async (_label, misbehave) => {
    const cookie = await signIn(new Browser());
    misbehave();
    const page = await withCookie(cookie, '/profile', HTML_ACCEPT);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
    expectCleared(page);
    expect(refreshCount()).toBe(1);
    expectNoLeak(page);
  });

  test.each(OTHER_USER)('Core §12.2: a refreshed ID token with %s ends the session: an API gets 401 unauthorized, the cookie cleared, never the other user', async (_label, misbehave) => {
    const cookie = await signIn(new Browser());
    misbehave();
    const page = await withCookie(cookie, '/api/me');
    expect(page.status).toBe(401);
    expect(jsonError(page).error).toBe('unauthorized');
    expectCleared(page);
    expect(page.body).not.toContain('eve');
    expectNoLeak(page);
    // The provider rotated the refresh token it was given, so the old cookie stays signed out.
    await expectSignedOut(cookie);
  });
});

describe('a refused refresh token ends the session (RFC 6749 §5.2 invalid_grant)', () => {
  test('RFC 6749 §5.2: invalid_grant on refresh → a browser is sent to login (302) and an API gets 401, each with the cookie cleared; a fresh login afterwards works', async () => {
    const browser = new Browser();
    const cookie = await signIn(browser);
    provider.behaviour.refresh = 'invalid_grant';

    const page = await browser.request(`${app.baseURL}/profile`, { headers: HTML_ACCEPT });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
    expectCleared(page);
    expect(await browser.cookie(app.baseURL, 'oidc_session')).toBeUndefined();
    expectNoLeak(page);

    const api = await withCookie(cookie, '/api/me');
    expect(api.status).toBe(401);
    expect(jsonError(api).error).toBe('unauthorized');
    expectCleared(api);
    expectNoLeak(api);
    // A refused refresh is not reused: the second request asked the provider again.
    expect(refreshCount()).toBe(2);

    provider.behaviour.refresh = 'ok';
    provider.behaviour.expiresIn = 3600;
    await signIn(browser);
    const me = await browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'mallory', iss: provider.issuer, aud: CLIENT_ID });
    expect(refreshCount()).toBe(2);
  });

  test('RFC 9700 §4.14.2: a refresh token the provider has rotated away is refused → the session ends (401, cookie cleared)', async () => {
    const original = await signIn(new Browser());
    const first = await withCookie(original, '/api/me');
    expect(first.status).toBe(200);
    newSessionCookie(first);
    // A second app (no shared refresh cache) with the original cookie spends the rotated refresh token.
    const other = await startApp();
    try {
      const url = `${other.baseURL}/api/me`;
      const res = await fetch(url, { headers: { ...JSON_ACCEPT, cookie: `oidc_session=${original}` } });
      const page: Page = { url, status: res.status, headers: res.headers, body: await res.text() };
      expect(page.status).toBe(401);
      expectCleared(page);
      expectNoLeak(page);
    } finally {
      await other.close();
    }
    expect(refreshCount()).toBe(2);
  });
});

describe('a provider fault during refresh keeps the session (503 refresh_failed)', () => {
  const FAULTS: RefreshMode[] = ['error-500', 'html', 'hang'];

  test.each(FAULTS)('an expired access token, refresh answered %s → 503 refresh_failed within the timeout bound, the cookie not cleared; once the provider recovers the same cookie refreshes', async (mode) => {
    provider.behaviour.expiresIn = 0; // expired as soon as issued: the handler cannot be given a working token
    const cookie = await signIn(new Browser());
    provider.behaviour.refresh = mode;

    const started = Date.now();
    const page = await withCookie(cookie, '/api/me');
    expect(Date.now() - started).toBeLessThan(ANSWER_BOUND_MS);
    expect(page.status).toBe(503);
    expect(jsonError(page).error).toBe('refresh_failed');
    expect(sessionCookiesSet(page)).toEqual([]);
    expectNoLeak(page);
    expect(consoleErrors.calls.length).toBeGreaterThan(0);
    // A browser gets the 503 too, not a login redirect.
    const browserPage = await withCookie(cookie, '/profile', HTML_ACCEPT);
    expect(browserPage.status).toBe(503);
    expect(sessionCookiesSet(browserPage)).toEqual([]);
    expectNoLeak(browserPage);
    expect(refreshCount()).toBe(2);

    provider.behaviour.refresh = 'ok';
    provider.behaviour.expiresIn = 3600;
    const recovered = await withCookie(cookie, '/api/me');
    expect(recovered.status).toBe(200);
    expect(JSON.parse(recovered.body)).toMatchObject({ sub: 'mallory' });
    const renewed = newSessionCookie(recovered);
    expect(refreshCount()).toBe(3);
    expectNoLeak(recovered);
    const { seen } = await tokensSeen(renewed);
    expect(seen.accessToken).toBe(provider.issued.accessTokens.at(-1));
    expect(refreshCount()).toBe(3);
  });
});

describe('a provider fault during an early refresh (access token still valid, within refreshMargin)', () => {
  test('the request goes on with the still-valid session: 200, no cookie change; the next request tries again', async () => {
    const cookie = await signIn(new Browser()); // expires_in 30 s, refreshMargin 60 s: due, not expired
    provider.behaviour.refresh = 'error-500';
    const page = await withCookie(cookie, '/api/me');
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body)).toMatchObject({ sub: 'mallory' });
    expect(sessionCookiesSet(page)).toEqual([]);
    expect(refreshCount()).toBe(1);
    expectNoLeak(page);
    const again = await withCookie(cookie, '/api/me');
    expect(again.status).toBe(200);
    expect(refreshCount()).toBe(2);
  });
});

describe('refresh token rotation (RFC 6749 §6, RFC 9700 §4.14.2)', () => {
  test('RFC 6749 §6: the provider issues a new refresh token → the session keeps it, and the next refresh spends it, not the old one', async () => {
    const cookie = await signIn(new Browser());
    const [loginRefreshToken] = provider.issued.refreshTokens.slice(-1);

    const first = await withCookie(cookie, '/api/me');
    expect(first.status).toBe(200);
    const second = newSessionCookie(first);
    const rotated = provider.issued.refreshTokens.at(-1)!;
    expect(rotated).not.toBe(loginRefreshToken);
    expect(provider.refreshRequests()[0]!.params.get('refresh_token')).toBe(loginRefreshToken);

    // The refreshed access token is again due (30 s): the next request refreshes with the rotated token.
    const { page, seen } = await tokensSeen(second);
    newSessionCookie(page);
    expect(refreshCount()).toBe(2);
    expect(provider.refreshRequests()[1]!.params.get('refresh_token')).toBe(rotated);
    expect(seen.refreshToken).toBe(provider.issued.refreshTokens.at(-1));
    expect(seen.accessToken).toBe(provider.issued.accessTokens.at(-1));
  });

  test('RFC 6749 §6: the provider sends no new refresh token → the session keeps the old one', async () => {
    const cookie = await signIn(new Browser());
    const loginRefreshToken = provider.issued.refreshTokens.at(-1)!;
    provider.behaviour.rotateRefreshToken = false;
    provider.behaviour.expiresIn = 3600;

    const { page, seen } = await tokensSeen(cookie);
    expect(refreshCount()).toBe(1);
    const renewed = newSessionCookie(page);
    expect(seen.refreshToken).toBe(loginRefreshToken);
    expect(seen.accessToken).toBe(provider.issued.accessTokens.at(-1));
    // And in the resealed cookie, not only in this request.
    const again = await tokensSeen(renewed);
    expect(again.seen.refreshToken).toBe(loginRefreshToken);
    expect(sessionCookiesSet(again.page)).toEqual([]);
    expect(refreshCount()).toBe(1);
  });

  test('RFC 6749 §6 with a provider that keeps the refresh token: once the refreshed access token is itself due, the next request refreshes again (no stale or expired access token handed to the handler)', async () => {
    const cookie = await signIn(new Browser());
    provider.behaviour.rotateRefreshToken = false;
    // The refreshed access token expires in 1 s: with refreshMargin 60 it is due as soon as it is issued.
    provider.behaviour.expiresIn = 1;

    const first = await tokensSeen(cookie);
    expect(refreshCount()).toBe(1);
    const firstAccessToken = first.seen.accessToken;
    const renewed = newSessionCookie(first.page);
    await new Promise((resolve) => setTimeout(resolve, 1100));

    // The session now carries an expired access token and a refresh token the provider still accepts.
    provider.behaviour.expiresIn = 3600;
    const second = await tokensSeen(renewed);
    expect(refreshCount()).toBe(2);
    expect(second.seen.accessToken).not.toBe(firstAccessToken);
    expect(second.seen.expiresAt! * 1000).toBeGreaterThan(Date.now());
  });
});

describe('req.oidc.refresh() against the hostile provider', () => {
  test('RFC 6749 §6: req.oidc.refresh() refreshes now: called on the resealed cookie of a refresh that kept the refresh token, it asks the provider again and gives a new access token', async () => {
    provider.behaviour.expiresIn = 3600;
    provider.behaviour.rotateRefreshToken = false;
    const cookie = await signIn(new Browser());

    const first = await withCookie(cookie, '/refresh', JSON_ACCEPT, 'POST');
    expect(first.status).toBe(200);
    expect(refreshCount()).toBe(1);
    const firstAccessToken = (JSON.parse(first.body) as { accessToken: string }).accessToken;
    expect(firstAccessToken).toBe(provider.issued.accessTokens.at(-1));
    const renewed = newSessionCookie(first);

    const second = await withCookie(renewed, '/refresh', JSON_ACCEPT, 'POST');
    expect(second.status).toBe(200);
    expect(refreshCount()).toBe(2);
    expect((JSON.parse(second.body) as { accessToken: string }).accessToken).not.toBe(firstAccessToken);
  });

  test('RFC 6749 §5.2: req.oidc.refresh() refused with invalid_grant → 401 session_ended, the request anonymous from then on, the cookie cleared', async () => {
    provider.behaviour.expiresIn = 3600;
    const cookie = await signIn(new Browser());
    provider.behaviour.refresh = 'invalid_grant';
    const page = await withCookie(cookie, '/refresh', JSON_ACCEPT, 'POST');
    expect(page.status).toBe(401);
    expect(JSON.parse(page.body)).toEqual({ error: 'session_ended', isAuthenticated: false });
    expectCleared(page);
    expectNoLeak(page);
  });

  test('req.oidc.refresh() during a provider fault → 503 refresh_failed, the session kept (no cookie change, still authenticated)', async () => {
    provider.behaviour.expiresIn = 3600;
    const cookie = await signIn(new Browser());
    provider.behaviour.refresh = 'error-500';
    const page = await withCookie(cookie, '/refresh', JSON_ACCEPT, 'POST');
    expect(page.status).toBe(503);
    expect(JSON.parse(page.body)).toEqual({ error: 'refresh_failed', isAuthenticated: true });
    expect(sessionCookiesSet(page)).toEqual([]);
    expectNoLeak(page);
  });
});

describe('a refresh without a new ID token (OpenID Connect Core 1.0 §12.2: "might not contain an id_token")', () => {
  test('Core §12.2: no id_token in the refresh response → the login\'s ID token and claims are kept, the access token replaced', async () => {
    const browser = new Browser();
    const cookie = await signIn(browser);
    const loginIdToken = provider.issued.idTokens.at(-1)!;
    const loginAccessToken = provider.issued.accessTokens.at(-1)!;
    provider.behaviour.refreshIdToken = false;
    provider.behaviour.expiresIn = 3600;

    const { page, seen } = await tokensSeen(cookie);
    expect(refreshCount()).toBe(1);
    expect(seen.idToken).toBe(loginIdToken);
    expect(seen.claims).toEqual(decodeJwt(loginIdToken));
    expect(seen.sub).toBe('mallory');
    expect(seen.accessToken).not.toBe(loginAccessToken);
    expect(seen.accessToken).toBe(provider.issued.accessTokens.at(-1));

    const renewed = newSessionCookie(page);
    const again = await tokensSeen(renewed);
    expect(again.seen.idToken).toBe(loginIdToken);
    expect(again.seen.accessToken).toBe(seen.accessToken);
  });

  test('Core §12.2: a new id_token replaces the login\'s, its claims become req.user', async () => {
    const cookie = await signIn(new Browser());
    const loginIdToken = provider.issued.idTokens.at(-1)!;
    provider.behaviour.expiresIn = 3600;
    provider.behaviour.claims = { name: 'Mallory Renamed' };

    const { seen } = await tokensSeen(cookie);
    expect(refreshCount()).toBe(1);
    expect(seen.idToken).not.toBe(loginIdToken);
    expect(seen.idToken).toBe(provider.issued.idTokens.at(-1));
    expect(seen.claims).toMatchObject({ sub: 'mallory', name: 'Mallory Renamed' });
  });
});

describe('refresh edge cases', () => {
  test('OpenID Connect Core 1.0 §10.1.1: a refreshed ID token signed with a rotated key → the JWKS is fetched once more and the refresh succeeds', async () => {
    // The provider may generate the new RSA key during the token request: give it more than 0.5 s.
    await app.close();
    app = await startApp({ httpTimeout: 5 });
    const cookie = await signIn(new Browser());
    const jwksBefore = provider.requests.jwks;
    provider.behaviour.rotateBeforeSigning = true;
    provider.behaviour.expiresIn = 3600;

    const { seen } = await tokensSeen(cookie);
    expect(refreshCount()).toBe(1);
    expect(provider.requests.jwks).toBe(jwksBefore + 1);
    expect(seen.sub).toBe('mallory');
    expect(seen.idToken).toBe(provider.issued.idTokens.at(-1));
  });

  test('RFC 6749 §5.1: without expires_in the expiry is unknown → no automatic refresh, however large refreshMargin', async () => {
    await app.close();
    app = await startApp({ refreshMargin: 1e9 });
    provider.behaviour.expiresIn = undefined;
    const cookie = await signIn(new Browser());
    const { seen, page } = await tokensSeen(cookie);
    expect(seen.expiresAt).toBeUndefined();
    expect(seen.isAuthenticated).toBe(true);
    expect(sessionCookiesSet(page)).toEqual([]);
    expect(refreshCount()).toBe(0);
  });

  test('a refreshed session stays refreshed: the access token handed to the handler is the new one, the next request with the new cookie does not refresh (not due)', async () => {
    const cookie = await signIn(new Browser());
    provider.behaviour.expiresIn = 3600;
    const me = await withCookie(cookie, '/api/me');
    expect(me.status).toBe(200);
    expectNoLeak(me);
    const renewed = newSessionCookie(me);
    const { seen, page } = await tokensSeen(renewed);
    expect(seen.accessToken).toBe(provider.issued.accessTokens.at(-1));
    expect(seen.expiresAt).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(sessionCookiesSet(page)).toEqual([]);
    expect(refreshCount()).toBe(1);
  });
});

describe('the provider\'s own session expiry caps ours (refresh_expires_in)', () => {
  /** The `exp` of a sealed cookie, read with the app's secret. */
  function sealedExp(cookie: string): number {
    const opened = new Sealer([SECRET]).unseal<object>(cookie);
    expect(opened).toBeDefined();
    return opened!.payload.exp;
  }

  test('a login whose token response says refresh_expires_in 120 gets a session ending then, not in a day; a refresh extends it with its own value', async () => {
    provider.behaviour.expiresIn = 3600; // not due: the first request does not refresh
    provider.behaviour.tokenResponseExtras = { refresh_expires_in: 120 };
    const before = Math.floor(Date.now() / 1000);
    const cookie = await signIn(new Browser());
    const exp = sealedExp(cookie);
    expect(exp).toBeGreaterThanOrEqual(before + 120 - 1);
    expect(exp).toBeLessThanOrEqual(before + 120 + 2);

    provider.behaviour.tokenResponseExtras = { refresh_expires_in: 600 };
    provider.behaviour.expiresIn = 3600;
    const page = await withCookie(cookie, '/api/me');
    expect(page.status).toBe(200);
    expect(refreshCount()).toBe(0); // not due, so nothing extends the provider's session
    const { page: refreshed } = await tokensSeenAfterRefresh(cookie);
    const renewed = newSessionCookie(refreshed);
    expect(sealedExp(renewed)).toBeGreaterThanOrEqual(before + 600 - 1);
  });

  test('refresh_expires_in 0 (no limit, as Keycloak says of offline tokens) does not cap the session', async () => {
    provider.behaviour.expiresIn = 3600;
    provider.behaviour.tokenResponseExtras = { refresh_expires_in: 0 };
    const before = Math.floor(Date.now() / 1000);
    const cookie = await signIn(new Browser());
    expect(sealedExp(cookie)).toBeGreaterThanOrEqual(before + 86400 - 1);
  });

  /** An explicit req.oidc.refresh() through the app's /refresh route. */
  async function tokensSeenAfterRefresh(cookie: string): Promise<{ page: Page }> {
    const page = await withCookie(cookie, '/refresh', JSON_ACCEPT, 'POST');
    expect(page.status).toBe(200);
    return { page };
  }
});
