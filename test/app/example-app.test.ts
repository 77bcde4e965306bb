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

  test('home page offers sign in; /profile and /api/me are guarded', async () => {
    const browser = new Browser();
    const home = await browser.request(`${baseURL}/`);
    expect(home.status).toBe(200);
    expect(home.body).toContain('href="/login"');
    expect((await browser.request(`${baseURL}/profile`)).headers.get('location')).toBe('/login?returnTo=%2Fprofile');
    expect((await browser.request(`${baseURL}/api/me`, { headers: { accept: 'application/json' } })).status).toBe(401);
  });

  test('a user signs in with any name, sees the claims, and signs out', async () => {
    const browser = new Browser();
    const profile = await signIn(browser, `${baseURL}/login?returnTo=%2Fprofile`, 'erin');
    expect(profile.url).toBe(`${baseURL}/profile`);
    expect(profile.body).toContain('&#34;email&#34;: &#34;erin@example.com&#34;');
    const me = await browser.request(`${baseURL}/api/me`, { headers: { accept: 'application/json' } });
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'erin', name: 'erin', email: 'erin@example.com', email_verified: true });
    const logout = await browser.request(`${baseURL}/logout`);
    expect(logout.status).toBe(302);
    const after = await browser.request(`${baseURL}/profile`);
    expect(after.status).toBe(302);
    expect(after.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
  });

  test('answers errors without a stack trace, escaped', async () => {
    const browser = new Browser();
    const res = await browser.request(`${baseURL}/callback?error=%3Cimg%20src%3Dx%3E&state=x`);
    expect(res.status).toBe(400);
    expect(res.body).not.toContain('<img');
    expect(res.body).not.toMatch(/\.js:\d+:\d+/);
  });
});
