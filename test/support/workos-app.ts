/**
 * The set-up of the `workos()` adapter tests (test/provider/adapters/workos*.test.ts): the fake
 * of WorkOS AuthKit's User Management API (test/support/workos-provider.ts) and the app side of
 * test/support/adapter-app.ts, with the app's client registered at the fake.
 *
 * {@link useWorkOSApps} starts it for a test file; {@link provider} is the current fake.
 */
import { expect } from '@jest/globals';
import { workos, type AuthCallbackConfig } from 'express-oidc-callback';
import { authorize, meOf, startAdapterApp, useAdapterApps, type AdapterApp } from './adapter-app.js';
import type { Browser, Page } from './browser.js';
import type { ConsoleErrors } from './log-guard.js';
import { DEFAULT_USER, startWorkOSProvider, type RecordedRequest, type WorkOSProvider } from './workos-provider.js';

export { authorize, codeOf, expectRefused, failedCallback } from './adapter-app.js';

export const CLIENT_ID = 'client_01HCONFIDENTIAL0000000000';
export const PUBLIC_CLIENT_ID = 'client_01HPUBLIC00000000000000000';
export const CLIENT_SECRET = 'sk_test_a1b2c3d4e5f6+secret/with=symbols';
export const SECRET = 'a-workos-adapter-test-secret-of-32-characters-or-more';
const SESSION_SECRET = 'express-session-workos-test-secret';
/** authCallback()'s `httpTimeout`, in seconds. */
const HTTP_TIMEOUT = 1;
/** An upper bound for a timed-out answer, in milliseconds: well under the 5 s jose and 30 s openid-client would wait by themselves. */
export const TIMEOUT_BOUND_MS = 3000;
export const JSON_ACCEPT = { accept: 'application/json' };
export const AUTHENTICATE = '/user_management/authenticate';

/** What `/me` answers: the request's user and `req.oidc`, `null` for `undefined`. */
export interface Me {
  /** `req.user`: the claims without the protocol ones (no `iss`, no `sid`). */
  user: Record<string, unknown>;
  /** `req.oidc.claims`: every sealed claim, `iss` and `sid` included. */
  claims: Record<string, unknown>;
  extra: Record<string, unknown> | null;
  idToken: string | null;
  accessToken: string | null;
  refreshToken: string | null;
  expiresAt: number | null;
  tokenType: string | null;
}

export type App = AdapterApp;

export let provider: WorkOSProvider;

/** Every value that must stay secret: ours, and every code and token the fake issued. */
export function secrets(): string[] {
  return [CLIENT_SECRET, SECRET, SESSION_SECRET, ...provider.secrets()];
}

/**
 * Starts the fake for the test file (reset before each test) and closes the apps a test started
 * after it; what the apps logged during the current test is the returned record's `calls`
 * (the app logs each 5xx, as a real one would), checked for leaks after each test.
 */
export function useWorkOSApps(): ConsoleErrors {
  return useAdapterApps(startWorkOSProvider, (fake) => { provider = fake; }, secrets);
}

export interface StartOptions {
  /** authCallback() options over the defaults. */
  auth?: Partial<AuthCallbackConfig>;
  /** A public client: registered without a secret, and configured without `clientSecret`. */
  public?: boolean;
  /** `apiBaseURL` of the adapter. Default: the fake's. */
  apiBaseURL?: string;
}

/**
 * The app, on its own port, registered at the fake (redirect URI `baseURL/callback`, sign-out
 * redirect `baseURL`): express-session, authCallback({ adapter: workos(), … }), `GET /`,
 * `GET /me` behind requireAuth(), and an error handler answering `{ code, message }` (a 5xx
 * logged first).
 */
export function startApp(options: StartOptions = {}): Promise<App> {
  const clientId = options.public ? PUBLIC_CLIENT_ID : CLIENT_ID;
  return startAdapterApp({
    auth(baseURL) {
      provider.register({
        clientId,
        ...(!options.public && { clientSecret: CLIENT_SECRET }),
        redirectUris: [`${baseURL}/callback`],
        logoutRedirectUris: [baseURL],
      });
      return {
        adapter: workos({ apiBaseURL: options.apiBaseURL ?? provider.baseURL }),
        clientId,
        ...(!options.public && { clientSecret: CLIENT_SECRET }),
        baseURL,
        secret: SECRET,
        httpTimeout: HTTP_TIMEOUT,
        // Who may choose the organization or connection is the app's call (a link from any site can set them).
        loginParams: ['prompt', 'login_hint', 'max_age', 'organization', 'organization_id', 'connection', 'connection_id'],
        ...options.auth,
      };
    },
    sessionSecret: SESSION_SECRET,
    me(req): Me {
      const o = req.oidc;
      return {
        user: req.user as unknown as Record<string, unknown>,
        claims: req.oidc.claims as unknown as Record<string, unknown>,
        extra: (o.extra as Record<string, unknown> | undefined) ?? null,
        idToken: o.idToken ?? null,
        accessToken: o.accessToken ?? null,
        refreshToken: o.refreshToken ?? null,
        expiresAt: o.expiresAt ?? null,
        tokenType: o.tokenType ?? null,
      };
    },
    configure(app) {
      app.set('json escape', true);
      app.get('/', (req, res) => {
        res.type('text').send(req.user ? `signed in as ${req.user.sub}` : 'signed out');
      });
    },
  });
}

/** A whole login; the callback's answer must be the redirect to `/` with a session cookie. */
export async function signIn(app: App, browser: Browser, query = ''): Promise<{ authorizationUrl: URL; callback: Page }> {
  const { authorizationUrl, callbackUrl } = await authorize(app, browser, query);
  const callback = await browser.request(callbackUrl.href);
  expect({ status: callback.status, location: callback.headers.get('location'), body: callback.status === 302 ? '' : callback.body })
    .toEqual({ status: 302, location: '/', body: '' });
  expect(await browser.cookie(app.baseURL, 'oidc_session')).toBeDefined();
  return { authorizationUrl, callback };
}

export function me(app: App, browser: Browser): Promise<Me> {
  return meOf<Me>(app, browser);
}

/** The one authenticate request of a login (a code grant). */
export function onlyCodeGrant(): RecordedRequest {
  const sent = provider.requestsTo(AUTHENTICATE);
  expect(sent).toHaveLength(1);
  return sent[0]!;
}

/** `req.user` as the adapter maps it: the user under OpenID Connect names (no `iss`, no `sid`: protocol claims). */
export function expectedUser(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sub: DEFAULT_USER.id,
    email: DEFAULT_USER.email,
    email_verified: true,
    given_name: 'Marcelina',
    family_name: 'Davis',
    name: 'Marcelina Davis',
    picture: DEFAULT_USER.profile_picture_url,
    ...extra,
  };
}

/** `req.oidc.claims`: {@link expectedUser} with `iss` = apiBaseURL and the access token's `sid`. */
export function expectedClaims(sid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: provider.baseURL, ...expectedUser(extra), sid };
}
