/**
 * `attemptSilentLogin` end to end against oidc-provider (OpenID Connect Core 1.0 §3.1.2.1,
 * §3.1.2.6): a browser's first page load without a session tries `prompt=none`; a user signed in
 * at the provider comes back signed in, one who is not comes back anonymous with no error; the
 * attempt is made once per browser session (no loop), never for an API call, a POST or an
 * embedded resource, not again after logout, and a provider that is down leaves the page
 * anonymous.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createApp } from '../../example-app/app.js';
import { Browser } from '../support/browser.js';
import { closedPortURL } from '../support/http-server.js';
import { SESSION_SECRET, signIn, startTestbed, type Testbed } from '../support/testbed.js';

const JSON_ACCEPT = { accept: 'application/json' };

let bed: Testbed;
beforeAll(async () => {
  bed = await startTestbed({ auth: { attemptSilentLogin: true } });
});
afterAll(async () => {
  await bed.close();
});

/** Drops the app's cookies from the browser (the provider's stay): a new browser session at the app. */
async function forgetApp(browser: Browser): Promise<void> {
  for (const cookie of await browser.jar.getCookies(bed.baseURL)) {
    if (cookie.key.startsWith('oidc_session')) await browser.jar.setCookie(`${cookie.key}=; Max-Age=0; Path=/`, bed.baseURL);
  }
}

describe('attemptSilentLogin', () => {
  test('a user not signed in at the provider: one trip with prompt=none, back anonymous on the same page, no error; then never again', async () => {
    const browser = new Browser();
    const first = await browser.request(`${bed.baseURL}/profile-less?tab=1`);
    expect(first.status).toBe(302);
    const authorize = new URL(first.headers.get('location')!);
    expect(authorize.origin).toBe(new URL(bed.provider.issuer).origin);
    expect(authorize.searchParams.get('prompt')).toBe('none');
    const landed = await browser.visit(authorize.href);
    expect(landed.url).toBe(`${bed.baseURL}/profile-less?tab=1`);
    expect(browser.history.some((url) => url.startsWith(`${bed.baseURL}/callback?error=login_required`))).toBe(true);

    const home = await browser.request(`${bed.baseURL}/`);
    expect(home.status).toBe(200);
    expect(home.body).toContain('You are not signed in');
  });

  test('a user signed in at the provider is signed in by the first page load, back on that page', async () => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`, 'alice');
    await forgetApp(browser);
    const page = await browser.visit(`${bed.baseURL}/`);
    expect(page.url).toBe(`${bed.baseURL}/`);
    expect(page.body).toContain('Signed in as <strong>alice</strong>');
  });

  test('not tried for an API call, a POST, or an embedded resource', async () => {
    const api = await new Browser().request(`${bed.baseURL}/`, { headers: JSON_ACCEPT });
    expect(api.status).toBe(200);
    const image = await new Browser().request(`${bed.baseURL}/`, { headers: { 'sec-fetch-dest': 'image' } });
    expect(image.status).toBe(200);
    const post = await new Browser().request(`${bed.baseURL}/nothing-here`, { body: new URLSearchParams() });
    expect(post.status).toBe(404);
    const page = await new Browser().request(`${bed.baseURL}/`, { headers: { 'sec-fetch-dest': 'document' } });
    expect(page.status).toBe(302);
  });

  test('not tried after logout: a user who signs out stays out, though still signed in at the provider', async () => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`, 'alice');
    await forgetApp(browser);
    // A new browser session at the app: signed in silently, then signs out locally.
    expect((await browser.visit(`${bed.baseURL}/`)).body).toContain('Signed in as');
    const logout = await browser.request(`${bed.baseURL}/logout`, { body: new URLSearchParams(), headers: { origin: bed.baseURL } });
    expect(logout.status).toBe(302);
    const home = await browser.request(`${bed.baseURL}/`);
    expect(home.status).toBe(200);
    expect(home.body).toContain('You are not signed in');
  });

  test('a provider that cannot be reached leaves the page anonymous, with no error, and the browser marked as having tried', async () => {
    const down = await startTestbed({ auth: { attemptSilentLogin: true } });
    try {
      const issuer = await closedPortURL();
      const app = createApp({ auth: { ...down.auth, issuer }, sessionSecret: SESSION_SECRET });
      down.server.removeAllListeners('request');
      down.server.on('request', app);
      const browser = new Browser();
      const home = await browser.request(`${down.baseURL}/`);
      expect(home.status).toBe(200);
      expect(home.body).toContain('You are not signed in');
      expect(home.headers.getSetCookie().some((c) => c.startsWith('oidc_session_silent='))).toBe(true);
    } finally {
      await down.close();
    }
  });
});
