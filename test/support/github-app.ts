/**
 * The set-up of the `oauth2()` adapter tests and its `github()` profile
 * (test/provider/adapters/github.test.ts, oauth2.test.ts): the fake of GitHub's OAuth web flow
 * and REST `/user` (test/support/github-provider.ts) and the app side of
 * test/support/adapter-app.ts, with the app's client registered at the fake.
 *
 * {@link useGitHubApps} starts it for a test file; {@link gh} is the current fake.
 */
import { expect } from '@jest/globals';
import { github, type AuthCallbackConfig, type ProviderAdapter } from 'express-oidc-callback';
import { authorize, meOf, startAdapterApp, useAdapterApps, type AdapterApp } from './adapter-app.js';
import type { Browser } from './browser.js';
import { startGitHubProvider, type GitHubProvider } from './github-provider.js';
import type { ConsoleErrors } from './log-guard.js';

export { authorize, codeOf, expectRefused, failedCallback } from './adapter-app.js';

export const CLIENT_ID = 'Iv1.8a61f9b3a7aba766';
export const CLIENT_SECRET = '1f2e3d4c5b6a79880a1b2c3d4e5f60718293a4b5';
const SECRET = 'an-oauth2-adapter-test-secret-of-32-characters-plus';
const SESSION_SECRET = 'express-session-oauth2-test-secret';
const HTTP_TIMEOUT = 1;
/** Well under openid-client's own 30 s timeout. */
export const TIMEOUT_BOUND_MS = 3000;
export const JSON_ACCEPT = { accept: 'application/json' };
export const TOKEN_PATH = '/login/oauth/access_token';
export const USER_PATH = '/api/v3/user';

export interface Me {
  /** `req.user`: the claims without the protocol ones (no `iss`). */
  user: Record<string, unknown>;
  /** `req.oidc.claims`: every sealed claim, `iss` included. */
  claims: Record<string, unknown>;
  idToken: string | null;
  accessToken: string | null;
  refreshToken: string | null;
  expiresAt: number | null;
  scope: string | null;
  extra: Record<string, unknown> | null;
}

export type App = AdapterApp;

export let gh: GitHubProvider;

export function secrets(): string[] {
  return [CLIENT_SECRET, SECRET, SESSION_SECRET, ...gh.secrets()];
}

/**
 * Starts the fake for the test file (reset before each test) and closes the apps a test started
 * after it; what the apps logged during the current test is the returned record's `calls`,
 * checked for leaks after each test.
 */
export function useGitHubApps(): ConsoleErrors {
  return useAdapterApps(startGitHubProvider, (fake) => { gh = fake; }, secrets);
}

export function githubAdapter(): ProviderAdapter {
  return github({ baseURL: gh.baseURL, apiBaseURL: gh.apiBaseURL });
}

/**
 * The app on its own port, its client registered at the fake (callback `baseURL/callback`):
 * express-session, authCallback({ adapter, … }), `GET /me` behind requireAuth(), errors as
 * `{ code, message }` (a 5xx logged first).
 */
export function startApp(adapter: ProviderAdapter = githubAdapter(), auth: Partial<AuthCallbackConfig> = {}): Promise<App> {
  return startAdapterApp({
    auth(baseURL) {
      gh.register({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: `${baseURL}/callback` });
      return { adapter, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET, httpTimeout: HTTP_TIMEOUT, ...auth };
    },
    sessionSecret: SESSION_SECRET,
    me(req): Me {
      const o = req.oidc;
      return {
        user: req.user as unknown as Record<string, unknown>,
        claims: req.oidc.claims as unknown as Record<string, unknown>,
        idToken: o.idToken ?? null,
        accessToken: o.accessToken ?? null,
        refreshToken: o.refreshToken ?? null,
        expiresAt: o.expiresAt ?? null,
        scope: o.scope ?? null,
        extra: (o.extra as Record<string, unknown> | undefined) ?? null,
      };
    },
  });
}

export async function signIn(app: App, browser: Browser): Promise<URL> {
  const { authorizationUrl, callbackUrl } = await authorize(app, browser);
  const callback = await browser.request(callbackUrl.href);
  expect({ status: callback.status, location: callback.headers.get('location'), body: callback.status === 302 ? '' : callback.body })
    .toEqual({ status: 302, location: '/', body: '' });
  return authorizationUrl;
}

export function me(app: App, browser: Browser): Promise<Me> {
  return meOf<Me>(app, browser);
}
