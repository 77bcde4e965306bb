/**
 * A refresh keeps what the login established (OpenID Connect Core 1.0 §12.2): a refreshed ID
 * token may leave `sid` out, and its `auth_time` must be the original authentication's. The
 * session therefore keeps its login's `sid`, `auth_time`, `acr` and `amr` over a refreshed ID
 * token's, while the token's other claims (`name`, …) follow the new token; a refreshed ID token
 * naming another provider session (another `sid`) ends the session.
 *
 * Against the hostile provider of test/support/hostile-provider.ts, whose ID tokens carry the
 * claims a test sets ({@link HostileProvider.behaviour}`.claims`, read when each ID token is
 * signed: set after the login, they shape only the refreshed ones), with the example app over
 * real HTTP. The kept values must be sealed into the cookie, not only held in memory: they are
 * read back by a second app instance that shares only the secret. And the pair a review found
 * broken: a back-channel logout by the login's `sid` (Back-Channel Logout 1.0 §2.7), signed with
 * the hostile provider's own published key, still ends a session whose refreshed ID token has no
 * `sid`.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { decodeJwt, SignJWT } from 'jose';
import { signInAt, startExampleApp, type AppClient, type AppServer } from '../support/app-server.js';
import { Browser, type Page } from '../support/browser.js';
import { jsonError, sessionCookiesSet } from '../support/leaks.js';
import { startHostileProvider, type HostileProvider } from '../support/hostile-provider.js';
import { expectCleared, newSessionCookie, requestWithSessionCookie } from '../support/session-cookies.js';

const CLIENT_ID = 'rp-refresh-continuity';
const CLIENT_SECRET = 'refresh-continuity-client-secret-0123456789';
const SECRET = 'a-refresh-continuity-secret-of-at-least-32-chars-0';
const SESSION_SECRET = 'express-session-refresh-continuity-secret';
const BACKCHANNEL_ROUTE = '/backchannel-logout';
const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** `expires_in` within the default `refreshMargin` (60 s): the next request refreshes before its handler runs. */
const DUE_EXPIRES_IN = 30;
/** `expires_in` far from `refreshMargin`: no automatic refresh. */
const FRESH_EXPIRES_IN = 3600;
const JSON_ACCEPT = { accept: 'application/json' };
const HTML_ACCEPT = { accept: 'text/html' };
const CLIENT: AppClient = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, secret: SECRET, sessionSecret: SESSION_SECRET };

/**
 * What the test-only `/tokens` route answers: `req.user`, `req.oidc.claims` (every claim: `sid`
 * and `auth_time` are protocol claims, left out of `req.user`) and the ID token as the handler
 * sees them.
 */
interface Seen {
  isAuthenticated: boolean;
  user: Record<string, unknown> | undefined;
  claims: Record<string, unknown> | undefined;
  idToken: string | undefined;
}

let provider: HostileProvider;
let app: AppServer;
/** The login's authentication time, in seconds since the epoch: ten minutes before the tests run. */
let authTime: number;

/** The claims the login's ID token carries over the hostile provider's own (`sub` mallory, `name` Mallory Hostile). */
function loginClaims(): Record<string, unknown> {
  return { sid: 'sid-1', acr: 'urn:mfa', amr: ['pwd', 'otp'], auth_time: authTime };
}

/**
 * What every later (refreshed) ID token carries: no `sid`, a weaker `acr`, another `amr`, a later
 * `auth_time`, and a new `name`.
 */
function refreshedClaims(): Record<string, unknown> {
  return { sid: undefined, acr: 'urn:pwd', amr: ['pwd'], auth_time: authTime + 100, name: 'Mallory Renamed' };
}

/** What the session must keep over the refreshed ID token's: the login's. */
function keptClaims(): Record<string, unknown> {
  return { sub: 'mallory', sid: 'sid-1', acr: 'urn:mfa', amr: ['pwd', 'otp'], auth_time: authTime };
}

/**
 * The handler saw the login's kept claims (and `also`): all of them in `req.oidc.claims`; in
 * `req.user` the same but `sid` and `auth_time`, protocol claims it leaves out (`acr`, `amr` stay).
 */
function expectKept(seen: { user?: Record<string, unknown>; claims?: Record<string, unknown> }, also: Record<string, unknown> = {}): void {
  expect(seen.claims).toMatchObject({ ...keptClaims(), ...also });
  expect(seen.user).toMatchObject({ sub: 'mallory', acr: 'urn:mfa', amr: ['pwd', 'otp'], ...also });
  expect(seen.user).not.toHaveProperty('sid');
  expect(seen.user).not.toHaveProperty('auth_time');
}

/**
 * The example app against the hostile provider, on its own port, plus two test-only routes:
 * `GET /tokens` (`req.user`, `req.oidc.claims` and the ID token as the handler sees them) and
 * `POST /refresh` (`req.oidc.refresh()`, then `req.user` and `req.oidc.claims`; or the error's
 * status and code).
 */
function startApp(auth: Partial<AuthCallbackConfig> = {}): Promise<AppServer> {
  return startExampleApp(CLIENT, provider.issuer, auth, addTestRoutes);
}

function addTestRoutes(built: Express): void {
  built.get('/tokens', (req, res) => {
    const seen: Seen = { isAuthenticated: req.oidc.isAuthenticated, user: req.user, claims: req.oidc.claims, idToken: req.oidc.idToken };
    res.json(seen);
  });
  built.post('/refresh', async (req, res) => {
    try {
      await req.oidc.refresh();
      res.json({ isAuthenticated: req.oidc.isAuthenticated, user: req.user, claims: req.oidc.claims });
    } catch (err) {
      const { status, code } = err as { status: number; code: string };
      res.status(status).json({ error: code, isAuthenticated: req.oidc.isAuthenticated });
    }
  });
}

beforeAll(async () => {
  provider = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
});
afterAll(async () => {
  await provider.close();
});
beforeEach(async () => {
  provider.reset();
  authTime = Math.floor(Date.now() / 1000) - 600;
});
afterEach(async () => {
  await app.close();
});

// ---------------------------------------------------------------------------------------------
// Driving a session

/** A whole login in a new browser, the ID token carrying `claims`; the oidc_session cookie it leaves. */
async function signIn(claims: Record<string, unknown>, target: AppServer = app): Promise<string> {
  provider.behaviour.claims = claims;
  const cookie = await signInAt(new Browser(), target, provider);
  expect(decodeJwt(provider.issued.idTokens.at(-1)!)).toMatchObject(claims);
  return cookie;
}

/** One request carrying exactly `cookie` as the session cookie (no jar). */
function withCookie(cookie: string, path: string, options: { headers?: Record<string, string>; method?: string; target?: AppServer } = {}): Promise<Page> {
  return requestWithSessionCookie(`${(options.target ?? app).baseURL}${path}`, cookie, { method: options.method ?? 'GET', headers: options.headers ?? JSON_ACCEPT });
}

/** `GET /tokens` with `cookie`: what the handler saw, and the answer. */
async function tokensSeen(cookie: string, target: AppServer = app): Promise<{ page: Page; seen: Seen }> {
  const page = await withCookie(cookie, '/tokens', { target });
  expect(page.status).toBe(200);
  return { page, seen: JSON.parse(page.body) as Seen };
}

/** The last ID token the provider issued was a refreshed one without `sid` (the case under test). */
function expectRefreshedIdTokenWithoutSid(seen: Seen): void {
  const latest = provider.issued.idTokens.at(-1)!;
  expect(seen.idToken).toBe(latest);
  const claims = decodeJwt(latest);
  expect(claims).not.toHaveProperty('sid');
  expect(claims).toMatchObject({ acr: 'urn:pwd', auth_time: authTime + 100, name: 'Mallory Renamed' });
}

function refreshCount(): number {
  return provider.refreshRequests().length;
}

// ---------------------------------------------------------------------------------------------

describe('a refresh keeps the login\'s sid, auth_time, acr and amr (OpenID Connect Core 1.0 §12.2)', () => {
  test('Core §12.2: an automatic refresh (autoRefresh, access token within refreshMargin) whose ID token has no sid keeps the login\'s sid, acr, amr and auth_time, while name follows the new ID token; again after a second refresh', async () => {
    app = await startApp();
    provider.behaviour.expiresIn = DUE_EXPIRES_IN;
    const cookie = await signIn(loginClaims());
    const loginIdToken = provider.issued.idTokens.at(-1)!;
    provider.behaviour.claims = refreshedClaims();

    const first = await tokensSeen(cookie);
    expect(refreshCount()).toBe(1);
    expect(first.seen.isAuthenticated).toBe(true);
    expect(first.seen.idToken).not.toBe(loginIdToken);
    expectRefreshedIdTokenWithoutSid(first.seen);
    expectKept(first.seen, { name: 'Mallory Renamed' });
    const renewed = newSessionCookie(first.page);

    // The refreshed access token is again due: a second refresh, from the resealed cookie.
    const second = await tokensSeen(renewed);
    expect(refreshCount()).toBe(2);
    expectRefreshedIdTokenWithoutSid(second.seen);
    expectKept(second.seen, { name: 'Mallory Renamed' });
    newSessionCookie(second.page);
  });

  test('Core §12.2: the kept values are sealed into the cookie: a later request, on another app instance sharing only the secret, reads the login\'s sid, acr, amr and auth_time without refreshing', async () => {
    app = await startApp();
    provider.behaviour.expiresIn = DUE_EXPIRES_IN;
    const cookie = await signIn(loginClaims());
    provider.behaviour.claims = refreshedClaims();
    provider.behaviour.expiresIn = FRESH_EXPIRES_IN; // the refreshed access token is not due: the later requests only read

    const refreshed = await tokensSeen(cookie);
    expect(refreshCount()).toBe(1);
    expectRefreshedIdTokenWithoutSid(refreshed.seen);
    const renewed = newSessionCookie(refreshed.page);

    const later = await tokensSeen(renewed);
    expect(sessionCookiesSet(later.page)).toEqual([]);
    expectKept(later.seen, { name: 'Mallory Renamed' });

    // A second instance has no memory of this session (no cache, no refresh in flight): only the cookie.
    const other = await startApp();
    try {
      const elsewhere = await tokensSeen(renewed, other);
      expect(sessionCookiesSet(elsewhere.page)).toEqual([]);
      expect(elsewhere.seen.idToken).toBe(refreshed.seen.idToken);
      expectKept(elsewhere.seen, { name: 'Mallory Renamed' });
      const me = await withCookie(renewed, '/api/me', { target: other });
      expect(me.status).toBe(200);
      expect(JSON.parse(me.body)).toMatchObject(keptClaims());
    } finally {
      await other.close();
    }
    expect(refreshCount()).toBe(1);
  });

  test('Core §12.2: req.oidc.refresh() whose ID token has no sid keeps the login\'s sid, acr, amr and auth_time, twice in a row, and the resealed cookie carries them', async () => {
    app = await startApp();
    provider.behaviour.expiresIn = FRESH_EXPIRES_IN;
    const cookie = await signIn(loginClaims());
    provider.behaviour.claims = refreshedClaims();

    const first = await withCookie(cookie, '/refresh', { method: 'POST' });
    expect(first.status).toBe(200);
    expect(refreshCount()).toBe(1);
    const firstBody = JSON.parse(first.body) as Seen;
    expect(firstBody.isAuthenticated).toBe(true);
    expectKept(firstBody, { name: 'Mallory Renamed' });
    const afterFirst = newSessionCookie(first);

    const second = await withCookie(afterFirst, '/refresh', { method: 'POST' });
    expect(second.status).toBe(200);
    expect(refreshCount()).toBe(2);
    const secondBody = JSON.parse(second.body) as Seen;
    expect(secondBody.isAuthenticated).toBe(true);
    expectKept(secondBody);
    const afterSecond = newSessionCookie(second);

    const later = await tokensSeen(afterSecond);
    expect(refreshCount()).toBe(2);
    expectRefreshedIdTokenWithoutSid(later.seen);
    expectKept(later.seen, { name: 'Mallory Renamed' });
  });

  test('Core §12.2: a refreshed ID token that names the same sid keeps the session and its login\'s acr, amr and auth_time', async () => {
    app = await startApp();
    provider.behaviour.expiresIn = FRESH_EXPIRES_IN;
    const cookie = await signIn(loginClaims());
    provider.behaviour.claims = { ...refreshedClaims(), sid: 'sid-1' };

    const refreshed = await withCookie(cookie, '/refresh', { method: 'POST' });
    expect(refreshed.status).toBe(200);
    const body = JSON.parse(refreshed.body) as Seen;
    expect(body.isAuthenticated).toBe(true);
    expectKept(body, { name: 'Mallory Renamed' });
    newSessionCookie(refreshed);
  });
});

describe('a refreshed ID token naming another provider session ends the session (OpenID Connect Core 1.0 §12.2)', () => {
  test('Core §12.2: an automatic refresh whose ID token names sid-2 (the login\'s was sid-1) → the request is anonymous (API 401), the cookie cleared, never sid-2\'s session', async () => {
    app = await startApp();
    provider.behaviour.expiresIn = DUE_EXPIRES_IN;
    const cookie = await signIn(loginClaims());
    provider.behaviour.claims = { ...refreshedClaims(), sid: 'sid-2' };

    const api = await withCookie(cookie, '/api/me');
    expect(refreshCount()).toBe(1);
    expect(api.status).toBe(401);
    expect(jsonError(api).error).toBe('unauthorized');
    expectCleared(api);
    expect(api.body).not.toContain('sid-2');

    // The same cookie stays signed out: a browser is sent to login.
    const browserPage = await withCookie(cookie, '/profile', { headers: HTML_ACCEPT });
    expect(browserPage.status).toBe(302);
    expect(browserPage.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
  });

  test('Core §12.2: req.oidc.refresh() whose ID token names sid-2 → 401 session_ended, the request anonymous from then on, the cookie cleared', async () => {
    app = await startApp();
    provider.behaviour.expiresIn = FRESH_EXPIRES_IN;
    const cookie = await signIn(loginClaims());
    provider.behaviour.claims = { ...refreshedClaims(), sid: 'sid-2' };

    const page = await withCookie(cookie, '/refresh', { method: 'POST' });
    expect(refreshCount()).toBe(1);
    expect(page.status).toBe(401);
    expect(JSON.parse(page.body)).toEqual({ error: 'session_ended', isAuthenticated: false });
    expectCleared(page);
  });
});

describe('back-channel logout by the login\'s sid after a refresh without sid (Back-Channel Logout 1.0 §2.7, Core §12.2)', () => {
  /**
   * A logout token for `target` (Back-Channel Logout 1.0 §2.4), signed RS256 with the hostile
   * provider's own signing key, the one its JWKS publishes.
   */
  async function logoutToken(target: { sid?: string; sub?: string }): Promise<string> {
    const key = provider.signingKey('RS256')!;
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ events: { [LOGOUT_EVENT]: {} }, ...target })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'logout+jwt' })
      .setIssuer(provider.issuer)
      .setAudience(CLIENT_ID)
      .setIssuedAt(now)
      .setExpirationTime(now + 120)
      .setJti(randomUUID())
      .sign(key.privateKey);
  }

  async function postLogout(token: string): Promise<Response> {
    return fetch(`${app.baseURL}${BACKCHANNEL_ROUTE}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }).toString(),
      redirect: 'manual',
    });
  }

  test('§2.7: after an automatic refresh whose ID token has no sid, a logout token naming the login\'s sid makes the next request anonymous (API 401, cookie cleared); another provider session of the same user is untouched', async () => {
    app = await startApp({ routes: { backchannelLogout: BACKCHANNEL_ROUTE } });
    provider.behaviour.expiresIn = DUE_EXPIRES_IN;
    const bystander = await signIn({ ...loginClaims(), sid: 'sid-other' });
    const cookie = await signIn(loginClaims());
    provider.behaviour.claims = refreshedClaims();
    provider.behaviour.expiresIn = FRESH_EXPIRES_IN; // the refreshed session is not due again

    const refreshed = await tokensSeen(cookie);
    expect(refreshCount()).toBe(1);
    expectRefreshedIdTokenWithoutSid(refreshed.seen);
    expect(refreshed.seen.claims).toMatchObject({ sid: 'sid-1' });
    expect(refreshed.seen.user).not.toHaveProperty('sid');
    const renewed = newSessionCookie(refreshed.page);
    expect((await withCookie(renewed, '/api/me')).status).toBe(200);

    const delivered = await postLogout(await logoutToken({ sid: 'sid-1' }));
    expect(delivered.status).toBe(200);

    const api = await withCookie(renewed, '/api/me');
    expect(api.status).toBe(401);
    expect(jsonError(api).error).toBe('unauthorized');
    expectCleared(api);
    const browserPage = await withCookie(renewed, '/profile', { headers: HTML_ACCEPT });
    expect(browserPage.status).toBe(302);
    expect(browserPage.headers.get('location')).toBe('/login?returnTo=%2Fprofile');

    // The mark is the sid's, not the user's: the bystander session (sid-other, refreshed too) keeps working.
    const other = await withCookie(bystander, '/api/me');
    expect(other.status).toBe(200);
    expect(JSON.parse(other.body)).toMatchObject({ sub: 'mallory', sid: 'sid-other' });
  });

  test('§2.7: after req.oidc.refresh() whose ID token has no sid, a logout token naming the login\'s sid makes the next request anonymous', async () => {
    app = await startApp({ routes: { backchannelLogout: BACKCHANNEL_ROUTE } });
    provider.behaviour.expiresIn = FRESH_EXPIRES_IN;
    const cookie = await signIn(loginClaims());
    provider.behaviour.claims = refreshedClaims();

    const refreshed = await withCookie(cookie, '/refresh', { method: 'POST' });
    expect(refreshed.status).toBe(200);
    expect(refreshCount()).toBe(1);
    const renewed = newSessionCookie(refreshed);
    expect((await withCookie(renewed, '/api/me')).status).toBe(200);

    expect((await postLogout(await logoutToken({ sid: 'sid-1' }))).status).toBe(200);

    const api = await withCookie(renewed, '/api/me');
    expect(api.status).toBe(401);
    expectCleared(api);
  });
});
