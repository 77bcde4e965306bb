/**
 * The whole flow in one browser, against a real OpenID Provider over real HTTP:
 * login → provider login form → consent → callback → /profile → logout.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Browser } from '../support/browser.js';
import { signIn, startTestbed, type Testbed } from '../support/testbed.js';

let bed: Testbed;
beforeAll(async () => {
  bed = await startTestbed();
});
afterAll(async () => {
  await bed.close();
});

describe('the whole flow', () => {
  test('a user signs in, sees the profile, calls the API, and signs out', async () => {
    const browser = new Browser();

    // Not signed in: the guarded page sends the browser to login, remembering where it was.
    const guarded = await browser.request(`${bed.baseURL}/profile?tab=claims`);
    expect(guarded.status).toBe(302);
    expect(guarded.headers.get('location')).toBe('/login?returnTo=%2Fprofile%3Ftab%3Dclaims');

    const landed = await signIn(browser, `${bed.baseURL}/login?returnTo=%2Fprofile%3Ftab%3Dclaims`, 'alice');
    expect(landed.url).toBe(`${bed.baseURL}/profile?tab=claims`);
    expect(landed.status).toBe(200);
    expect(landed.body).toContain('alice@example.com');

    // The session lives in the sealed cookie (a JWE compact serialization).
    expect(await browser.cookie(bed.baseURL, 'oidc_session')).toMatch(/^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/);

    const api = await browser.request(`${bed.baseURL}/api/me`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(200);
    const me = JSON.parse(api.body) as Record<string, unknown>;
    expect(me).toMatchObject({ sub: 'alice', name: 'alice', email: 'alice@example.com', iss: bed.provider.issuer, aud: 'test-app' });

    // Logout goes to the provider's end_session_endpoint with id_token_hint.
    const logout = await browser.request(`${bed.baseURL}/logout`);
    expect(logout.status).toBe(302);
    const endSession = new URL(logout.headers.get('location')!);
    expect(endSession.origin + endSession.pathname).toBe(`${bed.provider.issuer}/session/end`);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(bed.baseURL);
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeUndefined();

    // The provider asks to confirm the sign-out, then returns to the app.
    const confirm = await browser.visit(endSession.href);
    const back = await browser.submit(confirm, { logout: 'yes' });
    expect(back.url).toBe(`${bed.baseURL}/`);
    expect(back.body).toContain('You are not signed in');

    const after = await browser.request(`${bed.baseURL}/profile`);
    expect(after.status).toBe(302);
    expect(after.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
  });
});
