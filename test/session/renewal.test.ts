/**
 * What a request does to the session it carries before the app sees it (lib/session/renewal.ts),
 * against a real OpenID Provider (`oidc-provider`, configured to issue and rotate refresh tokens)
 * over real HTTP: automatic refresh before the handler runs (RFC 6749 §6) with one token endpoint
 * call per session however many of its requests ask at once, idle and absolute expiry, the touch
 * interval, and resealing a cookie sealed with an older secret. test/support/session-life-bed.ts
 * says how the tests share one provider and one port.
 */
import { describe, expect, test } from '@jest/globals';
import { sessionCookiesSet } from '../support/leaks.js';
import { newSessionCookie } from '../support/session-cookies.js';
import { bed, HTML_ACCEPT, JSON_ACCEPT, login, op, open, seen, send, until, useApp, useSessionLifeBed } from '../support/session-life-bed.js';

const OLD_SECRET = 'the-old-secret-of-at-least-32-characters-0123456789';
const NEW_SECRET = 'the-new-secret-of-at-least-32-characters-9876543210';

useSessionLifeBed();

describe('automatic refresh (RFC 6749 §6)', () => {
  test('RFC 6749 §6: an access token expiring within refreshMargin is refreshed before the handler runs: the handler sees the new token, one grant, the cookie resealed; the new cookie is not refreshed again (not due)', async () => {
    op.accessTokenTtl = 30; // within the default refreshMargin of 60 s
    const { cookie } = await login();
    const loginTokens = open(cookie)!;
    op.accessTokenTtl = 3600;

    const first = seen(await send('/oidc', cookie));
    expect(op.refreshGrants).toBe(1);
    expect(first.accessToken).not.toBe(loginTokens.accessToken);
    expect(first.refreshToken).not.toBe(loginTokens.refreshToken); // rotated by the provider
    expect(first.expiresAt).toBeGreaterThan(Date.now() / 1000 + 3000);
    expect(first.isExpired).toBe(false);
    expect(first.claims).toMatchObject({ sub: 'alice' });

    const page = await send('/api/me', cookie);
    expect(page.status).toBe(200);
    const renewed = newSessionCookie(page);
    expect(open(renewed)).toMatchObject({ accessToken: first.accessToken, refreshToken: first.refreshToken, createdAt: loginTokens.createdAt });
    expect(op.refreshGrants).toBe(1); // the second request with the old cookie reused the refresh

    const next = await send('/oidc', renewed);
    expect(seen(next).accessToken).toBe(first.accessToken);
    expect(sessionCookiesSet(next)).toEqual([]);
    expect(op.refreshGrants).toBe(1);
    expect(op.grantErrors).toEqual([]);
  });

  test('autoRefresh false: an expiring access token is handed to the handler as it is, and nothing is refreshed', async () => {
    useApp({ autoRefresh: false });
    op.accessTokenTtl = 30;
    const { cookie } = await login();
    const page = await send('/oidc', cookie);
    const oidc = seen(page);
    expect(oidc.accessToken).toBe(open(cookie)!.accessToken);
    expect(oidc.isExpired).toBe(false);
    expect(oidc.isExpiredWithin7200).toBe(true);
    expect(sessionCookiesSet(page)).toEqual([]);
    expect(op.refreshGrants).toBe(0);
  });

  test('refreshMargin 0: a token that has not expired is not refreshed', async () => {
    useApp({ refreshMargin: 0 });
    op.accessTokenTtl = 30;
    const { cookie } = await login();
    const page = await send('/oidc', cookie);
    expect(seen(page).accessToken).toBe(open(cookie)!.accessToken);
    expect(sessionCookiesSet(page)).toEqual([]);
    expect(op.refreshGrants).toBe(0);
  });

  test('single flight: 10 concurrent requests with the same due cookie → ONE refresh grant, all 200 with the same new access token; the old cookie afterwards reuses that refresh (no second grant, no refused rotated token)', async () => {
    op.accessTokenTtl = 30;
    const { cookie } = await login();
    const loginTokens = open(cookie)!;
    op.accessTokenTtl = 3600;

    const pages = await Promise.all(Array.from({ length: 10 }, () => send('/api/me', cookie)));
    expect(pages.map((p) => p.status)).toEqual(Array(10).fill(200));
    const accessTokens = new Set(pages.map((p) => (JSON.parse(p.body) as { accessToken: string }).accessToken));
    expect(accessTokens.size).toBe(1);
    const [refreshed] = accessTokens;
    expect(refreshed).not.toBe(loginTokens.accessToken);
    expect(op.refreshGrants).toBe(1);
    for (const page of pages) expect(open(newSessionCookie(page))?.accessToken).toBe(refreshed);

    // A request the browser sent before it got the new cookie: the rotated refresh token is not spent again.
    const late = await send('/api/me', cookie);
    expect(late.status).toBe(200);
    expect((JSON.parse(late.body) as { accessToken: string }).accessToken).toBe(refreshed);
    expect(op.refreshGrants).toBe(1);
    expect(op.grantErrors).toEqual([]);
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
    expect(op.refreshGrants).toBe(0);
    // Sealed with the first secret: not re-issued again.
    const next = await send('/api/me', resealed);
    expect(next.status).toBe(200);
    expect(sessionCookiesSet(next)).toEqual([]);

    useApp({ secret: NEW_SECRET });
    expect((await send('/api/me', resealed)).status).toBe(200);
    expect((await send('/api/me', cookie)).status).toBe(401);
  });
});
