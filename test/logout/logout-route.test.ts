/**
 * The logout route: the local session ends (cookie chunks cleared, express-session destroyed),
 * then the provider's (OpenID Connect RP-Initiated Logout 1.0 §2): `post_logout_redirect_uri` is
 * always `baseURL`, and `returnTo` travels with the logout's `state` in the sealed
 * `oidc_session_logout` cookie, to be landed on when the provider comes back with that `state`.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseSetCookie } from 'cookie';
import request from 'supertest';
import { Browser } from '../support/browser.js';
import express from 'express';
import session from 'express-session';
import { authCallback } from '../../lib/index.js';
import { SESSION_SECRET, sessionIdOf, signIn, startTestbed, storedSession, type Testbed } from '../support/testbed.js';

let bed: Testbed;
beforeAll(async () => {
  bed = await startTestbed();
});
afterAll(async () => {
  await bed.close();
});

/** The pending-logout cookie a logout sets, by name: a sealed value, Path=/, HttpOnly, SameSite=Lax, Max-Age 600. */
function pendingLogoutCookie(setCookies: readonly string[], name = 'oidc_session_logout'): string {
  const logout = setCookies.map((c) => parseSetCookie(c)).filter((c) => c.name === name);
  expect(logout).toHaveLength(1);
  expect(logout[0]).toMatchObject({ path: '/', httpOnly: true, sameSite: 'lax', maxAge: 600 });
  expect(logout[0]!.value).not.toBe('');
  return logout[0]!.value!;
}

/**
 * Where the provider's return to `post_logout_redirect_uri` (`baseURL`) with the logout's `state`
 * and the browser's pending-logout cookie lands: the `returnTo` sealed in the cookie.
 */
async function returnFromProvider(logout: { location: string; setCookies: readonly string[] }): Promise<string | undefined> {
  const endSession = new URL(logout.location);
  expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(bed.baseURL);
  const state = endSession.searchParams.get('state')!;
  expect(state).toMatch(/^[\w-]{22}$/);
  const sealed = pendingLogoutCookie(logout.setCookies);
  const back = await request(bed.app).get(`/?state=${state}`).set('Cookie', `oidc_session_logout=${sealed}`);
  expect(back.status).toBe(302);
  return back.headers.location as string | undefined;
}

describe('GET /logout', () => {
  test('clears every chunk of the session cookie (and sets only the pending-logout cookie besides)', async () => {
    const res = await request(bed.app).get('/logout').set('Cookie', 'oidc_session.0=a; oidc_session.1=b; other=c');
    expect(res.status).toBe(302);
    const setCookies = res.headers['set-cookie'] as unknown as string[];
    const all = setCookies.map((c) => parseSetCookie(c));
    expect(all.map((c) => c.name).sort()).toEqual(['oidc_session.0', 'oidc_session.1', 'oidc_session_logout']);
    pendingLogoutCookie(setCookies);
    const cleared = all.filter((c) => c.name !== 'oidc_session_logout');
    for (const c of cleared) {
      expect(c.value).toBe('');
      expect(c.expires!.getTime()).toBe(0);
      expect(c).toMatchObject({ path: '/', httpOnly: true });
    }
  });

  test('destroys the app\'s express-session (mounted with app.use()) in its store', async () => {
    const appBed = await startTestbed({
      build(auth) {
        const app = express();
        app.use(session({ store: bed.store, secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
        app.use(authCallback(auth));
        app.get('/cart', (req, res) => {
          (req.session as unknown as { cart?: string }).cart = 'pears';
          res.end();
        });
        return app;
      },
    });
    try {
      const browser = new Browser();
      await signIn(browser, `${appBed.baseURL}/login`);
      await browser.request(`${appBed.baseURL}/cart`);
      const sid = sessionIdOf((await browser.cookie(appBed.baseURL, 'connect.sid'))!) as string;
      expect(await storedSession(bed.store, sid)).toHaveProperty('cart', 'pears');
      await browser.request(`${appBed.baseURL}/logout`);
      expect(await storedSession(bed.store, sid)).toBeUndefined();
    } finally {
      await appBed.close();
    }
  });

  test('redirects to end_session_endpoint with id_token_hint and post_logout_redirect_uri = baseURL', async () => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`);
    const res = await browser.request(`${bed.baseURL}/logout`);
    expect(res.status).toBe(302);
    const url = new URL(res.headers.get('location')!);
    expect(`${url.origin}${url.pathname}`).toBe(`${bed.provider.issuer}/session/end`);
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(bed.baseURL);
    expect(url.searchParams.get('client_id')).toBe('test-app');
    const hint = url.searchParams.get('id_token_hint')!;
    expect(JSON.parse(Buffer.from(hint.split('.')[1]!, 'base64url').toString())).toMatchObject({ sub: 'alice' });
    // The copied cookie is gone from the browser; the app treats the browser as signed out.
    expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeUndefined();
    const me = await browser.request(`${bed.baseURL}/api/me`, { headers: { accept: 'application/json' } });
    expect(me.status).toBe(401);
  });

  test('a same-origin returnTo: post_logout_redirect_uri stays baseURL, returnTo is sealed with the state, the provider\'s return lands on it', async () => {
    const res = await request(bed.app).get('/logout?returnTo=%2Fgoodbye%3Fsee%3Dyou');
    expect(res.status).toBe(302);
    const setCookies = res.headers['set-cookie'] as unknown as string[];
    expect(pendingLogoutCookie(setCookies)).not.toContain('goodbye');
    expect(await returnFromProvider({ location: res.headers.location as string, setCookies })).toBe('/goodbye?see=you');
  });

  test.each(['//evil.example', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)'])(
    'a returnTo off this origin (%s) falls back to /: the provider\'s return with the state lands on / (RFC 9700 §4.11)', async (returnTo) => {
      const res = await request(bed.app).get(`/logout?returnTo=${encodeURIComponent(returnTo)}`);
      expect(res.status).toBe(302);
      expect(await returnFromProvider({ location: res.headers.location as string, setCookies: res.headers['set-cookie'] as unknown as string[] })).toBe('/');
    });

  test('without a session, still goes to the provider, without id_token_hint', async () => {
    const res = await request(bed.app).get('/logout');
    expect(res.status).toBe(302);
    const url = new URL(res.headers.location as string);
    expect(`${url.origin}${url.pathname}`).toBe(`${bed.provider.issuer}/session/end`);
    expect(url.searchParams.has('id_token_hint')).toBe(false);
  });
});

describe('POST /logout (a form on the app\'s pages), with CSRF protection', () => {
  test('from the app\'s own origin: ends the session like GET and goes to the provider', async () => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`);
    const res = await browser.request(`${bed.baseURL}/logout?returnTo=%2Fbye`, { body: new URLSearchParams(), headers: { origin: bed.baseURL } });
    expect(res.status).toBe(302);
    const url = new URL(res.headers.get('location')!);
    expect(`${url.origin}${url.pathname}`).toBe(`${bed.provider.issuer}/session/end`);
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(bed.baseURL);
    expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeUndefined();
    // The provider's return with the logout's state lands on the posted returnTo.
    const back = await browser.request(`${bed.baseURL}/?state=${url.searchParams.get('state')!}`);
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('/bye');
  });

  test('with only a same-origin Referer (no Origin header): accepted', async () => {
    const res = await request(bed.app).post('/logout').set('Referer', `${bed.baseURL}/profile`);
    expect(res.status).toBe(302);
  });

  test.each([
    ['an Origin of another site', { Origin: 'https://evil.example' }],
    ['Origin: null (a sandboxed or file: page)', { Origin: 'null' }],
    ['a Referer of another site', { Referer: 'https://evil.example/page' }],
    ['a malformed Referer', { Referer: 'not a url' }],
    ['neither Origin nor Referer', {}],
    ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
  ])('from %s: 403 forbidden, and the session is kept', async (_what, headers: Record<string, string>) => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`);
    const cookie = await browser.cookie(bed.baseURL, 'oidc_session');
    let forged = request(bed.app).post('/logout').set('Cookie', `oidc_session=${cookie!}`).set('Accept', 'application/json');
    for (const [name, value] of Object.entries(headers)) forged = forged.set(name, value);
    const res = await forged;
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: 'forbidden' });
    expect(res.headers['set-cookie']).toBeUndefined();
    const me = await browser.request(`${bed.baseURL}/api/me`, { headers: { accept: 'application/json' } });
    expect(me.status).toBe(200);
  });

  test('with only Sec-Fetch-Site: same-origin: accepted', async () => {
    const res = await request(bed.app).post('/logout').set('Sec-Fetch-Site', 'same-origin');
    expect(res.status).toBe(302);
  });
});

describe('GET /logout with a provider that has no end_session_endpoint', () => {
  test('redirects to / (basePath + /), or to a same-origin returnTo', async () => {
    const other = await startTestbed({
      providerConfiguration: { features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: false } } },
    });
    try {
      const browser = new Browser();
      await signIn(browser, `${other.baseURL}/login`);
      const res = await browser.request(`${other.baseURL}/logout`);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/');
      expect(await browser.cookie(other.baseURL, 'oidc_session')).toBeUndefined();
      const back = await browser.request(`${other.baseURL}/logout?returnTo=%2Fgoodbye`);
      expect(back.headers.get('location')).toBe('/goodbye');
      const refused = await browser.request(`${other.baseURL}/logout?returnTo=${encodeURIComponent('//evil.example')}`);
      expect(refused.headers.get('location')).toBe('/');
    } finally {
      await other.close();
    }
  });
});
