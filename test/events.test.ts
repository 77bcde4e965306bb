/**
 * The `events` option (lib/events.ts, lib/config/event-options.ts) against a real OpenID Provider
 * (`oidc-provider`, issuing and rotating refresh tokens) over real HTTP: each event once where it
 * happens, with its payload (issuer, sub, sid, codes, durations, reasons), the failures included,
 * and a listener that throws (or rejects) never changing an answer.
 *
 * One provider and one port serve the tests of the file (test/support/session-life-bed.ts); the
 * provider's own session end (`session_expiry`) and back-channel logout each have a bed of their own.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express from 'express';
import session, { MemoryStore } from 'express-session';
import createDebug from 'debug';
import { format } from 'node:util';
import { decodeJwt } from 'jose';
import { AuthError, authCallback, requireAuth, type AuthCallbackEvents, type AuthEvent } from 'express-oidc-callback';
import type { DevProvider } from '../example-app/dev-provider.js';
import { startBackchannelProvider } from './support/backchannel-provider.js';
import { Browser } from './support/browser.js';
import { errorAsJson } from './support/error-handler.js';
import { serveApp, type RunningServer } from './support/http-server.js';
import { quietProviderWarnings } from './support/log-guard.js';
import { ROUTE } from './support/logout-tokens.js';
import { bed, HTML_ACCEPT, JSON_ACCEPT, login, op, open, send, until, useApp, useSessionLifeBed } from './support/session-life-bed.js';
import { newSessionCookie } from './support/session-cookies.js';
import { authorizationResponse, CLIENT_ID, CLIENT_SECRET, SECRET, SESSION_SECRET, signIn, startLogin, startTestbed, type Testbed } from './support/testbed.js';

/** Every event a listener of {@link recorder} was given since the test began, and the path of its request. */
const seen: { event: AuthEvent; path: string }[] = [];

function note(event: AuthEvent, req: { url?: string }): void {
  seen.push({ event, path: (req.url ?? '').split('?')[0]! });
}

/** A listener for every event, each writing down what it is given. */
const recorder: Required<AuthCallbackEvents> = {
  login: note, loginFailed: note, refresh: note, refreshFailed: note, logout: note, backchannelLogout: note, sessionExpired: note,
};

function events(): AuthEvent[] {
  return seen.map((s) => s.event);
}

/** The session cookie's ID token claims: what its events must name. */
function identity(cookie: string): { sub: string; sid: string | undefined } {
  const claims = decodeJwt(open(cookie)!.idToken);
  return { sub: claims.sub!, sid: typeof claims.sid === 'string' ? claims.sid : undefined };
}

useSessionLifeBed();
beforeEach(() => {
  seen.length = 0;
});

describe('login', () => {
  test('a sign-in emits one login on the callback: issuer, sub, sid, how long the callback took, not silent; nothing else', async () => {
    useApp({ events: recorder });
    const { cookie } = await login();
    expect(seen).toEqual([{
      path: '/callback',
      event: { type: 'login', issuer: bed.provider.issuer, ...identity(cookie), durationMs: expect.any(Number), silent: false },
    }]);
    const { durationMs } = seen[0]!.event as { durationMs: number };
    expect(durationMs).toBeGreaterThan(0);
    expect(durationMs).toBeLessThan(10_000);
    expect(Object.keys(seen[0]!.event).sort()).toEqual(['durationMs', 'issuer', 'sid', 'silent', 'sub', 'type']); // no other claim of the user
  });

  test('loginFailed at the callback: a state that matches no pending login → state_mismatch (400), the configured issuer, the error itself', async () => {
    useApp({ events: recorder });
    const browser = new Browser();
    await startLogin(browser, `${bed.baseURL}/login`);
    const page = await browser.request(`${bed.baseURL}/callback?code=a-code&state=another-state`, { headers: JSON_ACCEPT });
    expect(page.status).toBe(400);
    expect(events()).toEqual([{
      type: 'loginFailed', issuer: bed.provider.issuer, code: 'state_mismatch', status: 400, stage: 'callback', silent: false,
      durationMs: expect.any(Number), error: expect.any(AuthError),
    }]);
    expect((events()[0] as { error: AuthError }).error.code).toBe('state_mismatch');
  });

  test('loginFailed at the callback: the provider answers access_denied → its OAuth error as the code, the pending login\'s issuer', async () => {
    useApp({ events: recorder });
    const browser = new Browser();
    const { state } = await startLogin(browser, `${bed.baseURL}/login`);
    const page = await browser.request(`${bed.baseURL}/callback?error=access_denied&state=${state}&iss=${encodeURIComponent(bed.provider.issuer)}`, { headers: JSON_ACCEPT });
    expect(page.status).toBe(400);
    expect(events()).toEqual([expect.objectContaining({ type: 'loginFailed', issuer: bed.provider.issuer, code: 'access_denied', status: 400, stage: 'callback' })]);
  });

  test('loginFailed: afterCallback refuses → login_refused (403); refusing and answering itself (a redirect) is counted too, no login', async () => {
    useApp({ events: recorder, afterCallback: () => false });
    let browser = new Browser();
    const refused = await browser.request((await authorizationResponse(browser, `${bed.baseURL}/login`)).href, { headers: JSON_ACCEPT });
    expect(refused.status).toBe(403);
    useApp({
      events: recorder,
      afterCallback: (_req, res) => {
        res.redirect('/sign-up');
        return false;
      },
    });
    browser = new Browser();
    const redirected = await browser.request((await authorizationResponse(browser, `${bed.baseURL}/login`)).href);
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get('location')).toBe('/sign-up');
    const failure = { type: 'loginFailed', issuer: bed.provider.issuer, code: 'login_refused', status: 403, stage: 'callback', silent: false };
    expect(events()).toEqual([expect.objectContaining(failure), expect.objectContaining(failure)]);
  });

  test('loginFailed at the start: the provider unreachable → provider_unreachable (502); a fetch() of /login → invalid_request (400); both stage "start"', async () => {
    useApp({ events: recorder, customFetch: () => Promise.reject(new TypeError('fetch failed')) });
    expect((await send('/login', undefined, { headers: HTML_ACCEPT })).status).toBe(502);
    useApp({ events: recorder });
    expect((await send('/login', undefined, { headers: { ...HTML_ACCEPT, 'sec-fetch-dest': 'empty' } })).status).toBe(400);
    expect(seen).toEqual([
      { path: '/login', event: expect.objectContaining({ type: 'loginFailed', issuer: bed.provider.issuer, code: 'provider_unreachable', status: 502, stage: 'start', silent: false }) },
      { path: '/login', event: expect.objectContaining({ type: 'loginFailed', issuer: bed.provider.issuer, code: 'invalid_request', status: 400, stage: 'start', silent: false }) },
    ]);
  });

  test('attemptSilentLogin that cannot start (the provider unreachable): the page is served anonymous, and loginFailed says so (silent)', async () => {
    useApp({ events: recorder, attemptSilentLogin: true, customFetch: () => Promise.reject(new TypeError('fetch failed')) });
    const page = await send('/', undefined, { headers: { ...HTML_ACCEPT, 'sec-fetch-dest': 'document' } });
    expect(page.status).toBe(200);
    expect(page.body).toBe('signed out');
    expect(events()).toEqual([expect.objectContaining({ type: 'loginFailed', code: 'provider_unreachable', stage: 'start', silent: true })]);
  });
});

describe('refresh', () => {
  test('autoRefresh: one refresh event (trigger auto, its duration), however many concurrent requests share the token request; req.oidc.refresh(): trigger app', async () => {
    op.accessTokenTtl = 30; // within refreshMargin: due at once
    useApp({ events: recorder });
    const { cookie } = await login();
    seen.length = 0;
    op.accessTokenTtl = 3600;
    const pages = await Promise.all(Array.from({ length: 5 }, () => send('/api/me', cookie)));
    expect(pages.map((p) => p.status)).toEqual([200, 200, 200, 200, 200]);
    expect(op.refreshGrants).toBe(1);
    const refresh = { type: 'refresh', issuer: bed.provider.issuer, ...identity(cookie), durationMs: expect.any(Number) };
    expect(events()).toEqual([{ ...refresh, trigger: 'auto' }]);

    const renewed = newSessionCookie(pages[0]!);
    expect((await send('/refresh', renewed, { method: 'POST' })).status).toBe(200);
    expect(op.refreshGrants).toBe(2);
    expect(events()).toEqual([{ ...refresh, trigger: 'auto' }, { ...refresh, trigger: 'app' }]);
    expect(seen.map((s) => s.path)).toEqual(['/api/me', '/refresh']);
  });

  test('the provider refuses a rotated-away refresh token → refreshFailed (session_ended, 401) and sessionExpired (refresh-refused), once each', async () => {
    op.accessTokenTtl = 30;
    useApp({ events: recorder });
    const { cookie } = await login();
    expect((await send('/api/me', cookie)).status).toBe(200); // refreshed: the login's refresh token is spent
    useApp({ events: recorder }); // a new process: no refresh to reuse
    seen.length = 0;
    expect((await send('/api/me', cookie)).status).toBe(401);
    const who = { issuer: bed.provider.issuer, ...identity(cookie) };
    expect(events()).toEqual([
      { type: 'refreshFailed', ...who, code: 'session_ended', status: 401, durationMs: expect.any(Number), trigger: 'auto', error: expect.any(AuthError) },
      { type: 'sessionExpired', reason: 'refresh-refused', ...who },
    ]);
    expect(op.grantErrors).toEqual(['invalid_grant']);
  });

  test('the token endpoint unreachable during an early refresh → refreshFailed (refresh_failed, 503), the session kept: 200, no sessionExpired', async () => {
    let down = false;
    const customFetch = (url: string, init: RequestInit): Promise<Response> => (down && new URL(url).pathname === '/token' ? Promise.reject(new TypeError('fetch failed')) : fetch(url, init));
    op.accessTokenTtl = 30;
    useApp({ events: recorder, customFetch });
    const { cookie } = await login();
    seen.length = 0;
    down = true;
    expect((await send('/api/me', cookie)).status).toBe(200);
    expect(events()).toEqual([expect.objectContaining({ type: 'refreshFailed', code: 'refresh_failed', status: 503, trigger: 'auto', sub: 'alice' })]);
    expect(((events()[0] as { error: AuthError }).error.cause as AuthError).code).toBe('provider_unreachable');
  });
});

describe('logout', () => {
  test('/logout of a session → logout (idpLogout true: on to the provider); with idpLogout off → false; a logout without a session emits nothing', async () => {
    useApp({ events: recorder });
    const first = await login();
    const page = await send('/logout', first.cookie, { headers: HTML_ACCEPT });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')!.startsWith(`${bed.provider.issuer}/session/end`)).toBe(true);
    useApp({ events: recorder, idpLogout: false });
    const second = await login();
    expect((await send('/logout', second.cookie, { headers: HTML_ACCEPT })).headers.get('location')).toBe('/');
    expect((await send('/logout', undefined, { headers: HTML_ACCEPT })).status).toBe(302);
    expect(events().map((e) => e.type)).toEqual(['login', 'logout', 'login', 'logout']);
    expect(events().filter((e) => e.type === 'logout')).toEqual([
      { type: 'logout', issuer: bed.provider.issuer, ...identity(first.cookie), idpLogout: true },
      { type: 'logout', issuer: bed.provider.issuer, ...identity(second.cookie), idpLogout: false },
    ]);
  });
});

describe('sessionExpired by time (a cookie sent back after its seal\'s end)', () => {
  test('idle: sessionIdleDuration 2 → reason idle, once per request that carries it', async () => {
    useApp({ events: recorder, sessionIdleDuration: 2, sessionTouchInterval: 1 });
    const { cookie } = await login();
    const who = identity(cookie);
    seen.length = 0;
    await until(open(cookie)!.exp + 0.2);
    expect((await send('/api/me', cookie)).status).toBe(401);
    expect((await send('/', cookie)).status).toBe(200);
    const expired = { type: 'sessionExpired', reason: 'idle', issuer: bed.provider.issuer, ...who };
    expect(events()).toEqual([expired, expired]);
  });

  test('absolute: sessionDuration 2 (no idle lifetime) → reason absolute', async () => {
    useApp({ events: recorder, sessionDuration: 2, sessionIdleDuration: false });
    const { cookie } = await login();
    const who = identity(cookie);
    seen.length = 0;
    await until(open(cookie)!.exp + 0.2);
    expect((await send('/api/me', cookie)).status).toBe(401);
    expect(events()).toEqual([{ type: 'sessionExpired', reason: 'absolute', issuer: bed.provider.issuer, ...who }]);
  });

  test('a server-side session (sessionStorage store): its record is gone with it, so the event names the issuer but no user', async () => {
    useApp({ events: recorder, sessionStorage: 'store', sessionDuration: 2, sessionIdleDuration: false });
    const { cookie } = await login();
    seen.length = 0;
    await until(open(cookie)!.exp + 0.2);
    expect((await send('/api/me', cookie)).status).toBe(401);
    expect(events()).toEqual([{ type: 'sessionExpired', reason: 'absolute', issuer: bed.provider.issuer, sub: undefined, sid: undefined }]);
  });

  test('a forged or tampered cookie is not a session that expired: no event', async () => {
    useApp({ events: recorder });
    const { cookie } = await login();
    seen.length = 0;
    const tampered = `${cookie.slice(0, -4)}AAAA`;
    expect((await send('/api/me', tampered)).status).toBe(401);
    expect((await send('/api/me', 'not-a-seal')).status).toBe(401);
    expect(events()).toEqual([]);
  });
});

describe('sessionExpired: the provider\'s own session end (the ID token\'s session_expiry)', () => {
  let provided: Testbed;
  /** When the provider's sessions end, in seconds since the epoch: set before each login. */
  let sessionExpiry = 0;

  beforeAll(async () => {
    provided = await startTestbed({
      auth: { events: recorder },
      providerConfiguration: {
        claims: { openid: ['sub', 'session_expiry'], profile: ['name'], email: ['email', 'email_verified'] },
        async findAccount(_ctx: unknown, id: string) {
          return { accountId: id, claims: async () => ({ sub: id, name: id, session_expiry: sessionExpiry }) };
        },
      },
    });
  });
  afterAll(async () => {
    await provided.close();
  });

  test('a session capped by session_expiry, sent back after it → reason provider', async () => {
    sessionExpiry = Math.floor(Date.now() / 1000) + 3;
    const browser = new Browser();
    const callback = await browser.request((await authorizationResponse(browser, `${provided.baseURL}/login`)).href);
    expect(callback.status).toBe(302);
    const cookie = (await browser.cookie(provided.baseURL, 'oidc_session'))!;
    expect(open(cookie)!.exp).toBe(sessionExpiry);
    const who = identity(cookie);
    seen.length = 0;
    await until(sessionExpiry + 0.2);
    const page = await fetch(`${provided.baseURL}/api/me`, { headers: { ...JSON_ACCEPT, cookie: `oidc_session=${cookie}` } });
    expect(page.status).toBe(401);
    expect(events()).toEqual([{ type: 'sessionExpired', reason: 'provider', issuer: provided.provider.issuer, ...who }]);
  });
});

describe('back-channel logout (oidc-provider with features.backchannelLogout)', () => {
  let provider: DevProvider;
  let app: RunningServer;

  quietProviderWarnings();

  beforeAll(async () => {
    app = await serveApp(async (baseURL) => {
      provider = await startBackchannelProvider(baseURL, ROUTE);
      const built = express();
      built.use(session({ store: new MemoryStore(), secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
      built.use(authCallback({
        issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET, routes: { backchannelLogout: ROUTE }, events: recorder,
      }));
      built.get('/', (_req, res) => {
        res.type('text').send('home');
      });
      built.get('/api/me', requireAuth(), (req, res) => {
        res.json(req.oidc.claims);
      });
      built.use(errorAsJson);
      return built;
    });
  });
  afterAll(async () => {
    await app.close();
    await provider.close();
  });

  test('the provider\'s logout token → backchannelLogout (issuer, sub, sid); a copy of the session cookie then → sessionExpired (backchannel)', async () => {
    const browser = new Browser();
    await signIn(browser, `${app.baseURL}/login`);
    const claims = JSON.parse((await browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT })).body) as { sub: string; sid: string };
    expect(typeof claims.sid).toBe('string');
    const copied = (await browser.jar.getCookies(app.baseURL)).filter((c) => c.key.startsWith('oidc_session')).map((c) => `${c.key}=${c.value}`).join('; ');
    seen.length = 0;

    const confirmation = await browser.visit(`${app.baseURL}/logout`);
    expect((await browser.submit(confirmation, { logout: 'yes' })).status).toBe(200);
    const who = { issuer: provider.issuer, sub: 'alice', sid: claims.sid };
    expect(seen).toEqual([
      { path: '/logout', event: { type: 'logout', ...who, idpLogout: true } },
      { path: ROUTE, event: { type: 'backchannelLogout', ...who } },
    ]);

    const page = await fetch(`${app.baseURL}/api/me`, { headers: { ...JSON_ACCEPT, cookie: copied } });
    expect(page.status).toBe(401);
    expect(events()[2]).toEqual({ type: 'sessionExpired', reason: 'backchannel', ...who });
    expect(events()).toHaveLength(3);
  });
});

describe('a listener that throws never breaks the request', () => {
  const lines: string[] = [];
  let log: typeof createDebug.log;

  beforeAll(() => {
    log = createDebug.log;
    createDebug.enable('express-oidc-callback:events');
    createDebug.log = (...args: unknown[]) => { lines.push(format(...args)); };
  });
  afterAll(() => {
    createDebug.disable();
    createDebug.log = log;
  });

  test('login, refresh, logout and a failed login all answer as without listeners; each failure is one events debug line (a rejected promise too)', async () => {
    const boom = (): void => {
      throw new Error('listener boom');
    };
    useApp({ events: { login: boom, refresh: () => Promise.reject(new Error('async boom')), logout: boom, loginFailed: boom, sessionExpired: boom } });
    op.accessTokenTtl = 30;
    const { cookie } = await login(); // asserts the 302 to '/' and the session cookie
    op.accessTokenTtl = 3600;
    const me = await send('/api/me', cookie);
    expect(me.status).toBe(200);
    const renewed = newSessionCookie(me);
    expect((await send('/logout', renewed, { headers: HTML_ACCEPT })).status).toBe(302);
    expect((await send('/callback?code=x&state=y', undefined)).status).toBe(400);
    const failures = lines.filter((l) => l.includes('express-oidc-callback:events'));
    expect(failures).toEqual([
      expect.stringMatching(/the login listener failed \(ignored\): Error: listener boom$/),
      expect.stringMatching(/the refresh listener failed \(ignored\): Error: async boom$/),
      expect.stringMatching(/the logout listener failed \(ignored\): Error: listener boom$/),
      expect.stringMatching(/the loginFailed listener failed \(ignored\): Error: listener boom$/),
    ]);
  });
});
