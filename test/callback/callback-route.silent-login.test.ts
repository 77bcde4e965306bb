/**
 * Silent login (`prompt=none`, OpenID Connect Core 1.0 §3.1.2.6) at the callback route, end to
 * end against a real OpenID Provider (oidc-provider): `login_required` and its kind send the
 * browser back to `returnTo`, signed out, without an error page; any other error stays one.
 */
import { describe, expect, test } from '@jest/globals';
import request from 'supertest';
import { Browser } from '../support/browser.js';
import { jsonError } from '../support/leaks.js';
import { authorizationResponse, signIn, startLogin, testbedTools, useTestbed } from '../support/testbed.js';

const JSON_ACCEPT = { accept: 'application/json' };

/** oidc-provider and the example app, for every test of the file. */
const bed = useTestbed();
const { appWith, apiMe, expectNotSignedIn, dropAppSession } = testbedTools(bed);

describe('silent login: prompt=none (OpenID Connect Core 1.0 §3.1.2.6)', () => {
  test('without a provider session, login_required sends the browser back to returnTo: no session, no error page, the transaction used up', async () => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login?prompt=none&returnTo=%2Fprofile`);
    expect(response.searchParams.get('error')).toBe('login_required'); // oidc-provider's own answer

    const res = await browser.request(response.href);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/profile');
    expect(res.body).not.toMatch(/Sign-in problem/);
    await expectNotSignedIn(browser);
    // /profile is guarded: not signed in, so the browser is sent to log in.
    const profile = await browser.request(`${bed.baseURL}/profile`);
    expect(profile.status).toBe(302);
    expect(profile.headers.get('location')).toMatch(/^\/login\b/);

    const replay = await browser.request(response.href, { headers: JSON_ACCEPT });
    expect(replay.status).toBe(400);
    expect(jsonError(replay).error).toBe('missing_transaction');
    expect(bed.tokenRequests).toBe(0);
  });

  test('with a provider session, prompt=none signs in without showing any page', async () => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`);
    await dropAppSession(browser);
    expect((await apiMe(browser)).status).toBe(401);

    const visited = browser.history.length;
    const landing = await browser.visit(`${bed.baseURL}/login?prompt=none&returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${bed.baseURL}/profile`);
    expect(landing.status).toBe(200);
    // /login, the provider's authorization endpoint, the callback, /profile: no interaction page.
    expect(browser.history.slice(visited).some((url) => url.includes('/interaction/'))).toBe(false);
    expect(browser.history.slice(visited)).toHaveLength(4);
    const me = await apiMe(browser);
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body).sub).toBe('alice');
  });

  test.each(['consent_required', 'interaction_required', 'account_selection_required'])(
    '%s on a prompt=none login is "not signed in" too: 302 to returnTo, no session', async (error) => {
      const browser = new Browser();
      const { state } = await startLogin(browser, `${bed.baseURL}/login?prompt=none&returnTo=%2Fprofile`);
      const res = await browser.request(`${bed.baseURL}/callback?error=${error}&state=${state}&iss=${encodeURIComponent(bed.provider.issuer)}`);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/profile');
      await expectNotSignedIn(browser);
    });

  test('an error that is not a §3.1.2.6 one (access_denied) on a prompt=none login is still a 400 error', async () => {
    const browser = new Browser();
    const { state } = await startLogin(browser, `${bed.baseURL}/login?prompt=none&returnTo=%2Fprofile`);
    const res = await browser.request(`${bed.baseURL}/callback?error=access_denied&state=${state}`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect(jsonError(res).error).toBe('access_denied');
    expect(res.headers.get('location')).toBeNull();
    await expectNotSignedIn(browser);
  });

  test('login_required on a login that was not silent is still a 400 error', async () => {
    const browser = new Browser();
    const { state } = await startLogin(browser, `${bed.baseURL}/login?returnTo=%2Fprofile`);
    const res = await browser.request(`${bed.baseURL}/callback?error=login_required&state=${state}`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect(jsonError(res).error).toBe('login_required');
    await expectNotSignedIn(browser);
  });

  test('authorizationParams.prompt=none makes every login silent: the app\'s prompt wins over the query\'s', async () => {
    const app = appWith({ authorizationParams: { prompt: 'none' } });
    for (const path of ['/login?returnTo=%2Fhome', '/login?returnTo=%2Fhome&prompt=login']) {
      const silent = request.agent(app);
      const url = new URL((await silent.get(path)).headers.location as string);
      expect(url.searchParams.getAll('prompt')).toEqual(['none']);
      const back = await silent.get(`/callback?error=login_required&state=${url.searchParams.get('state')}`);
      expect(back.status).toBe(302);
      expect(back.headers.location).toBe('/home');
    }
  });
});
