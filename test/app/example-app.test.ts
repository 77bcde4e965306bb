/**
 * The quick start, for real: `node example-app/server.js` (what `npm start` runs after the build)
 * in its own process, with its embedded development provider, signed into over HTTP.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Browser } from '../support/browser.js';
import { startExampleProcess, type ExampleProcess } from '../support/example-process.js';
import { freePort } from '../support/http-server.js';
import { signIn } from '../support/testbed.js';

let app: ExampleProcess;
let baseURL: string;
let output = '';

beforeAll(async () => {
  app = await startExampleProcess({ DEV_PROVIDER_PORT: String(await freePort()) });
  baseURL = app.baseURL;
  output = app.output();
});

afterAll(async () => {
  await app.stop();
});

describe('the example app (npm start)', () => {
  test('starts its development provider and prints where both listen', () => {
    expect(output).toContain(`Example app at ${baseURL}`);
    expect(output).toMatch(/Development OpenID Provider at http:\/\/localhost:\d+/);
    expect(output).not.toContain('oidc-provider WARNING');
  });

  test('home page offers sign in, in the header too; /profile and /api/me are guarded', async () => {
    const browser = new Browser();
    const home = await browser.request(`${baseURL}/`);
    expect(home.status).toBe(200);
    expect(home.body).toMatch(/<header><a class="brand" href="\/">Example app<\/a><a class="button secondary" href="\/login">Sign in<\/a><\/header>/);
    expect(home.body).toContain('<h1>Welcome</h1>');
    expect((await browser.request(`${baseURL}/profile`)).headers.get('location')).toBe('/login?returnTo=%2Fprofile');
    expect((await browser.request(`${baseURL}/api/me`, { headers: { accept: 'application/json' } })).status).toBe(401);
  });

  test('a user signs in with any name, sees the claims, and signs out', async () => {
    const browser = new Browser();
    const profile = await signIn(browser, `${baseURL}/login?returnTo=%2Fprofile`, 'erin');
    expect(profile.url).toBe(`${baseURL}/profile`);
    expect(profile.body).toContain('<tr><th>email</th><td>erin@example.com</td></tr>');
    expect(profile.body).toMatch(/<header>[\s\S]*<span>erin<\/span>\s*<form method="post" action="\/logout"><button type="submit">Sign out<\/button><\/form><\/header>/);
    const me = await browser.request(`${baseURL}/api/me`, { headers: { accept: 'application/json' } });
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'erin', name: 'erin', email: 'erin@example.com', email_verified: true });
    const logout = await browser.request(`${baseURL}/logout`);
    expect(logout.status).toBe(302);
    const after = await browser.request(`${baseURL}/profile`);
    expect(after.status).toBe(302);
    expect(after.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
  });

  test('the profile shows the session\'s times and the claims\' times as dates; Refresh gets new tokens and returns to the profile', async () => {
    const browser = new Browser();
    const profile = await signIn(browser, `${baseURL}/login?returnTo=%2Fprofile`, 'frank');
    const date = /<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC<\/time>/.source;
    expect(profile.body).toMatch(new RegExp(`<dt>Signed in since</dt><dd>${date}</dd>`));
    expect(profile.body).toMatch(new RegExp(`<dt>Session expires</dt><dd>at ${date} at the latest, or after 1 day without use</dd>`));
    expect(profile.body).toMatch(new RegExp(`<dt>Access token</dt><dd>expires in 60 minutes, at ${date}</dd>`));
    expect(profile.body).toContain('<dt>Refresh token</dt><dd>held</dd>');
    expect(profile.body).toMatch(new RegExp(`<tr><th>iat</th><td>${date}</td></tr>`));
    expect(profile.body).toMatch(new RegExp(`<tr><th>exp</th><td>${date}</td></tr>`));
    expect(profile.body).toContain('<form method="post" action="/profile/refresh">');
    expect(profile.body).toContain("fetch('/api/me', { headers: { accept: 'application/json' } })");

    const before = JSON.parse((await browser.request(`${baseURL}/api/me`, { headers: { accept: 'application/json' } })).body) as { iat: number };
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a new second: the new ID token's iat differs
    const refresh = await browser.request(`${baseURL}/profile/refresh`, { method: 'POST', headers: { origin: baseURL } });
    expect(refresh.status).toBe(303);
    expect(refresh.headers.get('location')).toBe('/profile?refreshed=1');
    const after = JSON.parse((await browser.request(`${baseURL}/api/me`, { headers: { accept: 'application/json' } })).body) as { iat: number; sub: string };
    expect(after.sub).toBe('frank');
    expect(after.iat).toBeGreaterThan(before.iat);
    expect((await browser.request(`${baseURL}/profile?refreshed=1`)).body).toContain('The tokens were refreshed.');
  });

  test('POST /profile/refresh from this app\'s page without a session: 401', async () => {
    const res = await new Browser().request(`${baseURL}/profile/refresh`, { method: 'POST', headers: { origin: baseURL, accept: 'application/json' } });
    expect(res.status).toBe(401);
  });

  test('Refresh only from this app\'s pages: another site\'s POST, or one that shows no origin, is refused with 403 and refreshes nothing; GET changes nothing', async () => {
    const browser = new Browser();
    await signIn(browser, `${baseURL}/login`, 'grace');
    const claims = async () => JSON.parse((await browser.request(`${baseURL}/api/me`, { headers: { accept: 'application/json' } })).body) as { iat: number };
    const before = await claims();
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a refresh would now change iat
    const refused: Record<string, string>[] = [
      { origin: 'https://attacker.example' },
      { 'sec-fetch-site': 'cross-site', origin: 'https://attacker.example' },
      { 'sec-fetch-site': 'same-site', origin: baseURL.replace('localhost', '127.0.0.1') },
      {}, // neither Sec-Fetch-Site nor Origin
    ];
    for (const headers of refused) {
      const res = await browser.request(`${baseURL}/profile/refresh`, { method: 'POST', headers });
      expect([headers, res.status]).toEqual([headers, 403]);
      expect(res.body).toContain('This form can only be sent from this app&#39;s own pages.');
    }
    const get = await browser.request(`${baseURL}/profile/refresh`);
    expect(get.status).toBe(404);
    expect((await claims()).iat).toBe(before.iat);

    const sameOrigin = await browser.request(`${baseURL}/profile/refresh`, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin', origin: baseURL } });
    expect(sameOrigin.status).toBe(303);
    expect((await claims()).iat).toBeGreaterThan(before.iat);
  });

  test('a name with markup is shown as text in the header, the home page and the claims table', async () => {
    const browser = new Browser();
    const name = '<img src=x onerror="alert(1)">';
    const home = await signIn(browser, `${baseURL}/login`, name);
    const escaped = '&#60;img src=x onerror=&#34;alert(1)&#34;&#62;';
    expect(home.body).toContain(`<span>${escaped}</span>`);
    expect(home.body).toContain(`Signed in as <strong>${escaped}</strong>`);
    const profile = await browser.request(`${baseURL}/profile`);
    expect(profile.body).toContain(`<tr><th>sub</th><td>${escaped}</td></tr>`);
    expect(profile.body).toContain(`<tr><th>email</th><td>${escaped}@example.com</td></tr>`);
    expect(`${home.body}${profile.body}`).not.toContain('<img');
  });

  test('the error page shows the AuthError\'s code and message, escaped, without a stack; an API call gets them as JSON', async () => {
    const browser = new Browser();
    const login = await browser.visit(`${baseURL}/login`);
    const cancel = /href="([^"]+\/abort)"/.exec(login.body)?.[1];
    expect(cancel).toMatch(/^\/interaction\/[\w-]+\/abort$/);
    const page = await browser.visit(new URL(cancel!, login.url));
    expect(page.status).toBe(400);
    expect(page.url.startsWith(`${baseURL}/callback?`)).toBe(true);
    expect(page.body).toContain('<h1>Sign-in problem</h1>');
    expect(page.body).toContain('<p id="error-message">The OpenID Provider answered the login with &#34;access_denied&#34;: End-User aborted interaction</p>');
    expect(page.body).toContain('Error code: <code id="error-code">access_denied</code>');
    expect(page.body).not.toMatch(/\bat .*\.js:\d+:\d+/);

    const api = await browser.request(`${baseURL}/callback?state=x`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(400);
    expect(JSON.parse(api.body)).toEqual({ error: 'missing_transaction', error_description: expect.stringMatching(/^No login is pending in this browser: the callback came with no cookies at all, .* Start again from the login page at http:\/\/localhost:\d+$/) });
  });

  test('answers errors without a stack trace, escaped', async () => {
    const browser = new Browser();
    const res = await browser.request(`${baseURL}/callback?error=%3Cimg%20src%3Dx%3E&state=x`);
    expect(res.status).toBe(400);
    expect(res.body).not.toContain('<img');
    expect(res.body).not.toMatch(/\.js:\d+:\d+/);
  });
});
