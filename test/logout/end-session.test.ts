/**
 * Logout's options and `state`, end to end against oidc-provider (OpenID Connect RP-Initiated
 * Logout 1.0): the logout `state` sent, kept with `returnTo` in a sealed cookie, and checked on
 * the way back to `post_logout_redirect_uri` (= `baseURL`, the one URI registered), which then
 * lands on `returnTo`; `idpLogout: false` (option, and per request through `req.oidc.logout()`);
 * `logoutParams`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express from 'express';
import { authCallback, type AuthCallbackConfig } from '../../lib/index.js';
import { Browser } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { signIn, startTestbed, type Testbed } from '../support/testbed.js';

const JSON_ACCEPT = { accept: 'application/json' };

let bed: Testbed;
/** Options over the testbed's for the current test. */
let extra: Partial<AuthCallbackConfig> = {};
let current: express.Express;

function buildApp(auth: AuthCallbackConfig): express.Express {
  const app = express();
  app.use(authCallback({ ...auth, ...extra }));
  app.get('/', (req, res) => { res.send(req.user ? `home of ${String(req.user.sub)}` : 'home, anonymous'); });
  app.get('/goodbye', (_req, res) => { res.send('goodbye'); });
  app.get('/me', (req, res) => { res.status(req.user ? 200 : 401).json({ sub: req.user?.sub }); });
  app.post('/delete-account', async (req, res, next) => {
    try {
      await req.oidc.logout({ returnTo: '/goodbye', idpLogout: false });
    } catch (err) {
      next(err);
    }
  });
  app.post('/logout-everywhere', async (req, res, next) => {
    try {
      await req.oidc.logout({ returnTo: '/goodbye', logoutParams: { ui_locales: 'de' } });
    } catch (err) {
      next(err);
    }
  });
  app.post('/logout-elsewhere', async (req, res, next) => {
    try {
      await req.oidc.logout({ returnTo: 'https://evil.example/' });
    } catch (err) {
      next(err);
    }
  });
  app.post('/logout-own-state', async (req, res, next) => {
    try {
      await req.oidc.logout({ logoutParams: { state: 'mine' } });
    } catch (err) {
      next(err);
    }
  });
  app.use(errorAsJson);
  return app;
}

let baseAuth: AuthCallbackConfig;
beforeAll(async () => {
  bed = await startTestbed({
    build: (auth) => {
      baseAuth = auth;
      const front = express();
      front.use((req, res, next) => current(req, res, next));
      return front;
    },
  });
});
afterAll(async () => {
  await bed.close();
});
beforeEach(() => {
  extra = {};
  current = buildApp(baseAuth);
});

function useOptions(options: Partial<AuthCallbackConfig>): void {
  extra = options;
  current = buildApp(baseAuth);
}

async function signedIn(): Promise<Browser> {
  const browser = new Browser();
  await signIn(browser, `${bed.baseURL}/login`, 'alice');
  expect((await browser.request(`${bed.baseURL}/me`)).status).toBe(200);
  return browser;
}

describe('RP-initiated logout with state (RP-Initiated Logout 1.0 §2, §3)', () => {
  test('the provider gets state and post_logout_redirect_uri = baseURL; back with its state, the browser lands on returnTo', async () => {
    const browser = await signedIn();
    const logout = await browser.request(`${bed.baseURL}/logout?returnTo=%2Fgoodbye`);
    expect(logout.status).toBe(302);
    const endSession = new URL(logout.headers.get('location')!);
    expect(`${endSession.origin}${endSession.pathname}`).toBe(`${bed.provider.issuer}/session/end`);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(bed.baseURL);
    const state = endSession.searchParams.get('state')!;
    expect(state).toMatch(/^[\w-]{22}$/);
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^eyJ/);
    expect(logout.body).not.toContain(state);

    const confirm = await browser.visit(endSession.href);
    const back = await browser.submit(confirm, { logout: 'yes' });
    expect(back.url).toBe(`${bed.baseURL}/goodbye`);
    expect(back.body).toBe('goodbye');
    expect(browser.history).toContain(`${bed.baseURL}/?state=${state}`);
    expect((await browser.request(`${bed.baseURL}/me`)).status).toBe(401);
    // The pending logout is used up.
    expect((await browser.jar.getCookies(bed.baseURL)).map((c) => c.key)).not.toContain('oidc_session_logout');
  });

  test('each logout sends a state of its own', async () => {
    const states = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const res = await new Browser().request(`${bed.baseURL}/logout`);
      states.add(new URL(res.headers.get('location')!).searchParams.get('state')!);
    }
    expect(states.size).toBe(3);
  });

  test('a return with another state (or none) is served as the page at baseURL: no redirect to the pending returnTo', async () => {
    for (const query of ['?state=forged', '']) {
      const browser = await signedIn();
      await browser.request(`${bed.baseURL}/logout?returnTo=%2Fgoodbye`);
      const page = await browser.request(`${bed.baseURL}/${query}`);
      expect(page.status).toBe(200);
      expect(page.body).toBe('home, anonymous');
      // The pending logout is dropped: its state cannot be used later.
      expect((await browser.jar.getCookies(bed.baseURL)).map((c) => c.key)).not.toContain('oidc_session_logout');
    }
  });

  test('another browser\'s state is not this one\'s', async () => {
    const victim = await signedIn();
    const res = await victim.request(`${bed.baseURL}/logout?returnTo=%2Fgoodbye`);
    const state = new URL(res.headers.get('location')!).searchParams.get('state')!;
    const other = new Browser();
    const page = await other.request(`${bed.baseURL}/?state=${state}`);
    expect(page.status).toBe(200);
    expect(page.body).toBe('home, anonymous');
  });

  test('a returnTo off this origin is dropped: the browser lands on baseURL', async () => {
    const browser = await signedIn();
    const logout = await browser.request(`${bed.baseURL}/logout?returnTo=${encodeURIComponent('//evil.example/')}`);
    const endSession = new URL(logout.headers.get('location')!);
    const back = await browser.submit(await browser.visit(endSession.href), { logout: 'yes' });
    expect(back.url).toBe(`${bed.baseURL}/`);
  });

  test('logoutParams are added to the provider\'s logout request', async () => {
    useOptions({ logoutParams: { ui_locales: 'fr', logout_hint: 'alice' } });
    const browser = await signedIn();
    const endSession = new URL((await browser.request(`${bed.baseURL}/logout`)).headers.get('location')!);
    expect(endSession.searchParams.get('ui_locales')).toBe('fr');
    expect(endSession.searchParams.get('logout_hint')).toBe('alice');
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(bed.baseURL);
  });
});

describe('local-only logout (idpLogout: false)', () => {
  test('the option: the local session ends, and the browser goes straight to returnTo, not to the provider', async () => {
    useOptions({ idpLogout: false });
    const browser = await signedIn();
    const logout = await browser.request(`${bed.baseURL}/logout?returnTo=%2Fgoodbye`);
    expect(logout.status).toBe(302);
    expect(logout.headers.get('location')).toBe('/goodbye');
    expect((await browser.request(`${bed.baseURL}/me`)).status).toBe(401);
    // Still signed in at the provider: a new login needs no password.
    const again = await browser.request(`${bed.baseURL}/login`);
    const authorize = await browser.request(again.headers.get('location')!);
    expect(authorize.status).toBe(303);
  });

  test('per request: req.oidc.logout({ idpLogout: false, returnTo }) from the app\'s own route', async () => {
    const browser = await signedIn();
    const res = await browser.request(`${bed.baseURL}/delete-account`, { body: new URLSearchParams() });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/goodbye');
    expect((await browser.request(`${bed.baseURL}/me`)).status).toBe(401);
  });

  test('per request: req.oidc.logout() with the provider, its own logoutParams over the option\'s, and state', async () => {
    useOptions({ logoutParams: { ui_locales: 'fr', logout_hint: 'alice' } });
    const browser = await signedIn();
    const res = await browser.request(`${bed.baseURL}/logout-everywhere`, { body: new URLSearchParams() });
    const endSession = new URL(res.headers.get('location')!);
    expect(endSession.searchParams.get('ui_locales')).toBe('de');
    expect(endSession.searchParams.get('logout_hint')).toBe('alice');
    expect(endSession.searchParams.get('state')).toMatch(/^[\w-]{22}$/);
    const back = await browser.submit(await browser.visit(endSession.href), { logout: 'yes' });
    expect(back.url).toBe(`${bed.baseURL}/goodbye`);
  });

  test.each([['/logout-elsewhere', /returnTo must be a path on this app's origin/], ['/logout-own-state', /logoutParams.state is set by express-oidc-callback/]])(
    'req.oidc.logout() refuses what it may not do (%s): a TypeError, and the session is kept', async (route, message) => {
      const browser = await signedIn();
      const res = await browser.request(`${bed.baseURL}${route}`, { body: new URLSearchParams(), headers: JSON_ACCEPT });
      expect(res.status).toBe(500);
      expect(JSON.parse(res.body).message).toMatch(message);
      expect((await browser.request(`${bed.baseURL}/me`)).status).toBe(200);
    });
});
