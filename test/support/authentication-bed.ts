/**
 * The set-up of the end-to-end tests of lib/callback/authentication-checks.ts
 * (test/callback/authentication-checks.*.test.ts): the example app over real HTTP against the
 * hostile provider of test/support/hostile-provider.ts, whose /authorize signs the user in at
 * once and whose ID token claims each test sets. Every refusal answers its status and code as
 * JSON, after exactly one token request, sets no session cookie, and leaves the browser signed
 * out (`/api/me` 401). Every acceptance answers 302 to `/`, and `/api/me` shows the claim checked.
 *
 * {@link useAuthenticationBed} starts it for a test file; {@link provider} is the current one.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from '@jest/globals';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { callbackUrl as loginCallbackUrl, startExampleApp, type AppClient, type AppServer } from './app-server.js';
import { Browser, type Page } from './browser.js';
import { startHostileProvider, type HostileProvider } from './hostile-provider.js';
import { jsonError, sessionCookiesSet } from './leaks.js';

const CLIENT: AppClient = {
  clientId: 'rp-authentication-checks-test',
  clientSecret: 'authentication-checks-client-secret-0123456789',
  secret: 'a-test-secret-of-at-least-32-characters-0123456789',
  sessionSecret: 'express-session-test-secret',
};
const JSON_ACCEPT = { accept: 'application/json' };

/** Seconds since the epoch. */
export function now(): number {
  return Math.floor(Date.now() / 1000);
}

/** An `auth_time` an hour ago: far beyond any `max_age` of these tests plus the 30 s clock tolerance. */
export function hourAgo(): number {
  return now() - 3600;
}

export let provider: HostileProvider;
let apps: AppServer[] = [];

/** Starts the hostile provider for the test file (reset before each test), and closes the apps a test started after it. */
export function useAuthenticationBed(): void {
  beforeAll(async () => {
    provider = await startHostileProvider({ clientId: CLIENT.clientId, clientSecret: CLIENT.clientSecret });
  });
  afterAll(async () => {
    await provider.close();
  });
  beforeEach(() => {
    provider.reset();
  });
  afterEach(async () => {
    await Promise.all(apps.map((app) => app.close()));
    apps = [];
  });
}

/** The example app, on its own 127.0.0.1 port, with `authorizationParams` (and any other options) over the defaults. */
export async function startApp(auth: Partial<AuthCallbackConfig> = {}): Promise<AppServer> {
  const app = await startExampleApp(CLIENT, provider.issuer, auth);
  apps.push(app);
  return app;
}

/**
 * GET `path` (a login route URL), then the provider's /authorize (which answers at once): the
 * callback URL it sends the browser to, and the authorization request's parameters.
 */
async function callbackUrl(browser: Browser, app: AppServer, path: string): Promise<{ url: string; sent: URLSearchParams }> {
  const callback = await loginCallbackUrl(browser, app, provider, path);
  expect(callback.searchParams.has('code')).toBe(true);
  return { url: callback.href, sent: provider.authorizeRequests.at(-1)!.params };
}

/** `/api/me` in `browser`. */
function apiMe(browser: Browser, app: AppServer): Promise<Page> {
  return browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
}

/**
 * A whole login from `path` that must be refused at the callback: `status` and `code` as JSON,
 * after exactly one token request, no session cookie set, and the browser still signed out.
 */
export async function refusedLogin(app: AppServer, path: string, status: number, code: string): Promise<{ page: Page; sent: URLSearchParams; description: string }> {
  const browser = new Browser();
  const tokenRequests = provider.requests.token;
  const { url, sent } = await callbackUrl(browser, app, path);
  const page = await browser.request(url, { headers: JSON_ACCEPT });
  // Status and code first, so a login let through shows as such (302, no code), not as a parse error.
  const answer = /^application\/json/.test(page.headers.get('content-type') ?? '') ? jsonError(page) : undefined;
  expect({ status: page.status, code: answer?.error, location: page.headers.get('location') }).toEqual({ status, code, location: null });
  const description = answer!.error_description;
  expect(provider.requests.token).toBe(tokenRequests + 1);
  expect(sessionCookiesSet(page)).toEqual([]);
  expect(await browser.cookie(app.baseURL, 'oidc_session')).toBeUndefined();
  const me = await apiMe(browser, app);
  expect(me.status).toBe(401);
  expect(jsonError(me).error).toBe('unauthorized');
  return { page, sent, description };
}

/** A whole login from `path` that must succeed: 302 to `/`, a session cookie, and `/api/me` answers the user's claims. */
export async function acceptedLogin(app: AppServer, path: string): Promise<{ me: Record<string, unknown>; sent: URLSearchParams }> {
  const browser = new Browser();
  const tokenRequests = provider.requests.token;
  const { url, sent } = await callbackUrl(browser, app, path);
  const landed = await browser.request(url, { headers: JSON_ACCEPT });
  expect({ status: landed.status, body: landed.body }).toMatchObject({ status: 302 });
  expect(landed.headers.get('location')).toBe('/');
  expect(provider.requests.token).toBe(tokenRequests + 1);
  expect(sessionCookiesSet(landed).some((c) => /^oidc_session=[^;]+/.test(c))).toBe(true);
  const me = await apiMe(browser, app);
  expect(me.status).toBe(200);
  const claims = JSON.parse(me.body) as Record<string, unknown>;
  expect(claims).toMatchObject({ iss: provider.issuer, sub: 'mallory', aud: CLIENT.clientId });
  return { me: claims, sent };
}
