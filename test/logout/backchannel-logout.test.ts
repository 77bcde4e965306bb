/**
 * `routes.backchannelLogout`: OpenID Connect Back-Channel Logout 1.0, over real HTTP.
 *
 * - End to end with a real OpenID Provider (`oidc-provider`, back-channel logout on): the user
 *   ends the session at the provider, the provider POSTs a logout token to the app, and a copy
 *   of the app's session cookie taken before stops working.
 * - What a mark ends (§2.7): by `sid`, that session only; by `sub` alone, the user's earlier
 *   sessions, not a later login.
 * - Without the option: no route, and no store read on guarded requests.
 *
 * Logout tokens are made by hand (test/support/logout-tokens.ts) against the hostile provider of
 * test/support/hostile-provider.ts, which publishes their key. Their validation is
 * backchannel-logout.validation.test.ts's.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import express from 'express';
import { MemoryStore } from 'express-session';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { createApp } from '../../example-app/app.js';
import type { DevProvider } from '../../example-app/dev-provider.js';
import { startBackchannelProvider } from '../support/backchannel-provider.js';
import { Browser } from '../support/browser.js';
import { serveApp } from '../support/http-server.js';
import { quietProviderWarnings } from '../support/log-guard.js';
import {
  apiMe, expectAccepted, expectRefused, form, hostile, logoutClaims, mint, postLogout, ROUTE, type RunningApp, signInWith,
  STACK_TRACE, startHostileApp, useLogoutTokenProvider,
} from '../support/logout-tokens.js';
import { CLIENT_ID, CLIENT_SECRET, SECRET, SESSION_SECRET, signIn } from '../support/testbed.js';

const HTML_ACCEPT = { accept: 'text/html' };
const JSON_ACCEPT = { accept: 'application/json' };
/** Every timer API but `Date`: with these left real, `jest.useFakeTimers` only stops the clock. */
const ALL_BUT_DATE = [
  'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame',
  'requestIdleCallback', 'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval',
  'setTimeout', 'clearTimeout',
] as const;

useLogoutTokenProvider();

/** Waits until the next whole second of the clock has just begun. */
function untilNextSecond(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 10));
}

/** Runs `fn` with `Date` stopped at the current time (timers stay real); `clock.set(s)` moves it. */
async function withStoppedClock<T>(fn: (clock: { now(): number; set(seconds: number): void }) => Promise<T>): Promise<T> {
  const start = Math.floor(Date.now() / 1000) * 1000 + 100;
  jest.useFakeTimers({ doNotFake: [...ALL_BUT_DATE], now: start });
  try {
    return await fn({
      now: () => Math.floor(Date.now() / 1000),
      set: (seconds) => jest.setSystemTime(seconds * 1000 + 100),
    });
  } finally {
    jest.useRealTimers();
  }
}

describe('end to end with oidc-provider (features.backchannelLogout)', () => {
  let provider: DevProvider;
  let app: RunningApp;
  /** The status of every answer the app gave to a POST on the route. */
  const routeAnswers: number[] = [];
  /** The provider's 'backchannel.success' and 'backchannel.error' events, in order. */
  const deliveries: string[] = [];

  // oidc-provider warns, at its first back-channel delivery, that it cannot set up its SSRF guard under Jest.
  quietProviderWarnings();

  beforeAll(async () => {
    const store = new MemoryStore();
    const server = await serveApp(async (baseURL) => {
      provider = await startBackchannelProvider(baseURL, ROUTE);
      provider.provider.on('backchannel.success', () => deliveries.push('success'));
      provider.provider.on('backchannel.error', (_ctx: unknown, err: Error) => deliveries.push(`error: ${err.message}`));
      const auth: AuthCallbackConfig = {
        issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET, routes: { backchannelLogout: ROUTE },
      };
      const wrapper = express();
      wrapper.use((req, res, next) => {
        if (req.method === 'POST' && req.path === ROUTE) res.on('finish', () => routeAnswers.push(res.statusCode));
        next();
      });
      wrapper.use(createApp({ auth, sessionSecret: SESSION_SECRET, store }));
      return wrapper;
    });
    app = { baseURL: server.baseURL, store, close: server.close };
  });
  afterAll(async () => {
    await app.close();
    await provider.close();
  });

  test('a logout at the provider ends a copied session cookie, in any browser, and a new login works (§2.5, §2.7, §2.8)', async () => {
    const browser = new Browser();
    await signIn(browser, `${app.baseURL}/login`);
    const me = await apiMe(browser, app.baseURL);
    expect(me.status).toBe(200);
    const claims = JSON.parse(me.body) as { sub: string; sid?: string };
    expect(claims.sub).toBe('alice');
    expect(typeof claims.sid).toBe('string'); // backchannel_logout_session_required: the ID token carries sid
    const cookies = await browser.jar.getCookies(app.baseURL);
    const copied = cookies.filter((c) => c.key.startsWith('oidc_session')).map((c) => `${c.key}=${c.value}`).join('; ');
    expect(copied).not.toBe('');
    const withCopy = (path: string, accept: Record<string, string>) => fetch(`${app.baseURL}${path}`, { headers: { ...accept, cookie: copied }, redirect: 'manual' });

    // The app's /logout clears its own cookie, but a copy of a cookie session still works until the provider says so.
    const confirmation = await browser.visit(`${app.baseURL}/logout`);
    expect(confirmation.url.startsWith(`${provider.issuer}/session/end`)).toBe(true);
    expect((await withCopy('/api/me', JSON_ACCEPT)).status).toBe(200);
    expect(routeAnswers).toEqual([]);

    const after = await browser.submit(confirmation, { logout: 'yes' });
    expect(after.status).toBe(200);
    expect(deliveries).toEqual(['success']);
    expect(routeAnswers).toEqual([200]);

    expect((await withCopy('/api/me', JSON_ACCEPT)).status).toBe(401);
    const profile = await withCopy('/profile', HTML_ACCEPT);
    expect(profile.status).toBe(302);
    expect(profile.headers.get('location')).toBe(`/login?returnTo=${encodeURIComponent('/profile')}`);
    const fresh = new Browser();
    expect((await fresh.request(`${app.baseURL}/api/me`, { headers: { ...JSON_ACCEPT, cookie: copied } })).status).toBe(401);

    // A new login (a new provider session, a new sid) is not affected by the mark.
    const again = new Browser();
    await signIn(again, `${app.baseURL}/login`);
    const newMe = await apiMe(again, app.baseURL);
    expect(newMe.status).toBe(200);
    expect((JSON.parse(newMe.body) as { sid?: string }).sid).not.toBe(claims.sid);
    expect((await apiMe(again, app.baseURL)).status).toBe(200);
  });
});

describe('what a mark ends (§2.7)', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startHostileApp();
  });
  afterAll(async () => {
    await app.close();
  });

  test('a logout token with sid only ends that session: another session of the same user (another sid) keeps working (§2.7)', async () => {
    const first = await signInWith(app, { sub: 'bob', sid: 'bob-1' });
    const second = await signInWith(app, { sub: 'bob', sid: 'bob-2' });
    expectAccepted(await postLogout(app.baseURL, form(await mint(logoutClaims({ sid: 'bob-1' })))));

    expect((await apiMe(first, app.baseURL)).status).toBe(401);
    const profile = await first.request(`${app.baseURL}/profile`, { headers: HTML_ACCEPT });
    expect(profile.status).toBe(302);
    expect(profile.headers.get('location')).toBe(`/login?returnTo=${encodeURIComponent('/profile')}`);
    expect(await first.cookie(app.baseURL, 'oidc_session')).toBeUndefined(); // the ended session's cookie is cleared
    expect((await apiMe(second, app.baseURL)).status).toBe(200);
  });

  test('a logout token with sub only ends every earlier session of that user, not another user\'s, and a later login works (§2.7)', async () => {
    const first = await signInWith(app, { sub: 'carol', sid: 'carol-1' });
    const second = await signInWith(app, { sub: 'carol', sid: 'carol-2' });
    const other = await signInWith(app, { sub: 'dave', sid: 'dave-1' });
    expectAccepted(await postLogout(app.baseURL, form(await mint(logoutClaims({ sub: 'carol' })))));

    expect((await apiMe(first, app.baseURL)).status).toBe(401);
    expect((await apiMe(second, app.baseURL)).status).toBe(401);
    expect((await apiMe(other, app.baseURL)).status).toBe(200);

    // Session times are whole seconds: log in again in the next second (the same second is the next test's).
    await untilNextSecond();
    const later = await signInWith(app, { sub: 'carol', sid: 'carol-3' });
    expect((await apiMe(later, app.baseURL)).status).toBe(200);
  });

  test('a login in the same second as a sub-only logout, but after it, keeps working (§2.7)', async () => {
    const before = await signInWith(app, { sub: 'erin', sid: 'erin-1' });
    await untilNextSecond();
    const loggedOutAt = Date.now();
    expectAccepted(await postLogout(app.baseURL, form(await mint(logoutClaims({ sub: 'erin' })))));
    hostile.behaviour.claims = { sub: 'erin', sid: 'erin-2' };
    const after = new Browser();
    const landing = await after.visit(`${app.baseURL}/login`);
    hostile.behaviour.claims = {};
    expect(landing.status).toBe(200);
    const me = await apiMe(after, app.baseURL);
    expect(Math.floor(Date.now() / 1000)).toBe(Math.floor(loggedOutAt / 1000)); // the case this test is about
    expect((await apiMe(before, app.baseURL)).status).toBe(401);
    expect(me.status).toBe(200);
  });
});

describe('replay window (§2.6: jti, iat)', () => {
  test('a logout token cannot be replayed once its jti record has expired: iat must refuse it by then (§2.6)', async () => {
    const app = await startHostileApp();
    try {
      await withStoppedClock(async (clock) => {
        const t0 = clock.now();
        // iat 30 s ahead: within clockTolerance (30 s), so accepted now.
        const token = await mint(logoutClaims({ sub: 'frank', sid: 'frank-replay', iat: t0 + 30, exp: t0 + 600 }));
        expectAccepted(await postLogout(app.baseURL, form(token)));
        clock.set(t0 + 195); // the jti record (kept 120 + 2 × 30 s) is gone; iat is 165 s old
        expectRefused(await postLogout(app.baseURL, form(token)), token);
      });
    } finally {
      await app.close();
    }
  });

  test('a logout token whose mark the store failed to write can be delivered again (§2.6 jti, §2.8)', async () => {
    class FailingMarkStore extends MemoryStore {
      failNextMark = false;
      override set(key: string, data: Parameters<MemoryStore['set']>[1], callback?: (err?: unknown) => void): void {
        if (this.failNextMark && key.startsWith('oidc:logout-sid:')) {
          this.failNextMark = false;
          callback?.(new Error('store down'));
          return;
        }
        super.set(key, data, callback);
      }
    }
    const store = new FailingMarkStore();
    const app = await startHostileApp(undefined, store);
    const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const browser = await signInWith(app, { sub: 'gina', sid: 'gina-1' });
      const token = await mint(logoutClaims({ sub: 'gina', sid: 'gina-1' }));
      store.failNextMark = true;
      const failed = await postLogout(app.baseURL, form(token));
      expect(failed.status).toBe(503);
      expect(failed.body).not.toMatch(STACK_TRACE);
      expectAccepted(await postLogout(app.baseURL, form(token))); // the provider delivers it again
      expect((await apiMe(browser, app.baseURL)).status).toBe(401);
    } finally {
      errors.mockRestore();
      await app.close();
    }
  });
});

describe('without routes.backchannelLogout', () => {
  /** An express-session store that counts the reads of this package's records (`oidc:` keys). */
  class CountingStore extends MemoryStore {
    recordReads = 0;
    override get(key: string, callback: Parameters<MemoryStore['get']>[1]): void {
      if (key.startsWith('oidc:')) this.recordReads++;
      super.get(key, callback);
    }
  }

  test('there is no back-channel logout URI (§2.2), and guarded requests of a cookie session read nothing from the store', async () => {
    const store = new CountingStore();
    const app = await startHostileApp({}, store);
    try {
      const browser = await signInWith(app, { sub: 'henry', sid: 'henry-1' });
      const reads = store.recordReads;
      for (let i = 0; i < 3; i++) expect((await apiMe(browser, app.baseURL)).status).toBe(200);
      expect((await browser.request(`${app.baseURL}/profile`, { headers: HTML_ACCEPT })).status).toBe(200);
      expect(store.recordReads).toBe(reads);

      const token = await mint(logoutClaims({ sub: 'henry', sid: 'henry-1' }));
      expect((await postLogout(app.baseURL, form(token))).status).toBe(404);
      expect((await apiMe(browser, app.baseURL)).status).toBe(200);
      expect(store.recordReads).toBe(reads);
    } finally {
      await app.close();
    }
  });

  test('with the route, the same guarded requests do read the marks (§2.7), so the count above can grow', async () => {
    const store = new CountingStore();
    const app = await startHostileApp({ routes: { backchannelLogout: ROUTE } }, store);
    try {
      const browser = await signInWith(app, { sub: 'henry', sid: 'henry-2' });
      const reads = store.recordReads;
      expect((await apiMe(browser, app.baseURL)).status).toBe(200);
      expect(store.recordReads).toBeGreaterThan(reads);
    } finally {
      await app.close();
    }
  });
});
