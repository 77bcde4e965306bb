/**
 * The set-up of the session life tests (test/session/renewal.test.ts,
 * test/guard/request-auth.test.ts): a real OpenID Provider (`oidc-provider`, configured to issue
 * and rotate refresh tokens) and an app over real HTTP.
 *
 * One provider and one port serve every test of a file; each test mounts its own app (its own
 * authCallback() options) behind that port. The provider's access token lifetime is set per test
 * ({@link op}`.accessTokenTtl`), and its successful refresh grants are counted. The timing
 * tests read the sealed cookie's own `iat`/`createdAt` (seconds; `createdAt` with a millisecond
 * fraction) and schedule their requests from them, so that whole-second rounding cannot make them
 * flaky.
 */
import { afterAll, beforeAll, beforeEach, expect } from '@jest/globals';
import express, { type Express, type Request } from 'express';
import session, { MemoryStore } from 'express-session';
import { authCallback, requireAuth, type AuthCallbackConfig } from 'express-oidc-callback';
import { unsealCookiePayload } from '../../lib/session/session-codec.js';
import { Sealer } from '../../lib/session/seal.js';
import { Browser, type Page } from './browser.js';
import { errorAsJson } from './error-handler.js';
import { requestWithSessionCookie } from './session-cookies.js';
import { SESSION_SECRET, authorizationResponse, startTestbed, type Testbed } from './testbed.js';

export const JSON_ACCEPT = { accept: 'application/json' };
export const HTML_ACCEPT = { accept: 'text/html' };

/** `req.oidc` as the test app's `/oidc` route reports it (`null` for `undefined`). */
export interface OidcSeen {
  isAuthenticated: boolean;
  claimsAreUser: boolean;
  claims: Record<string, unknown> | null;
  idToken: string | null;
  accessToken: string | null;
  refreshToken: string | null;
  tokenType: string | null;
  scope: string | null;
  expiresAt: number | null;
  isExpired: boolean;
  /** `isExpired(7200)`: more than any access token lifetime of these tests. */
  isExpiredWithin7200: boolean;
}

/** The sealed session cookie's payload, as the lib seals it (tokens, `createdAt`, `iat`, `exp`). */
export interface SealedPayload {
  accessToken: string;
  refreshToken?: string;
  idToken: string;
  expiresAt?: number;
  createdAt: number;
  iat: number;
  exp: number;
}

export let bed: Testbed;
/** authCallback()'s options of the testbed (issuer, client, baseURL, secret). */
export let baseAuth: AuthCallbackConfig;
/** The app that serves the testbed's port now. */
let current: Express;

/** What the provider does and did in the current test. */
export const op = {
  /** The lifetime, in seconds, of the access tokens the provider issues next. */
  accessTokenTtl: 3600,
  /** The provider's successful refresh token grants since the test began. */
  refreshGrants: 0,
  /** The provider's refused token requests since the test began (their OAuth error codes). */
  grantErrors: [] as string[],
};

function snapshot(req: Request): OidcSeen {
  const o = req.oidc;
  return {
    isAuthenticated: o.isAuthenticated,
    claimsAreUser: o.claims === req.user,
    claims: o.claims ?? null,
    idToken: o.idToken ?? null,
    accessToken: o.accessToken ?? null,
    refreshToken: o.refreshToken ?? null,
    tokenType: o.tokenType ?? null,
    scope: o.scope ?? null,
    expiresAt: o.expiresAt ?? null,
    isExpired: o.isExpired(),
    isExpiredWithin7200: o.isExpired(7200),
  };
}

/**
 * An app with authCallback(`auth` over the testbed's options) and: `GET /` (any page, where the
 * login lands), `GET /oidc` ({@link snapshot}), `GET /api/me` and `GET /page` behind
 * requireAuth(), `POST /refresh` (`req.oidc.refresh()`, then the snapshot) and `GET /userinfo`
 * (`req.oidc.fetchUserInfo()`). Errors answer `{ code, message }` with their status.
 */
function buildApp(auth: Partial<AuthCallbackConfig>): Express {
  const app = express();
  app.use(session({ store: new MemoryStore(), secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
  app.use(authCallback({ ...baseAuth, ...auth }));
  app.get('/', (req, res) => {
    res.type('text').send(req.user ? `signed in as ${req.user.sub}` : 'signed out');
  });
  app.get('/oidc', (req, res) => {
    res.json(snapshot(req));
  });
  app.get('/api/me', requireAuth(), (req, res) => {
    res.json({ sub: req.user?.sub, accessToken: req.oidc.accessToken });
  });
  app.get('/page', requireAuth(), (req, res) => {
    res.type('html').send(`<p>${req.user?.sub}</p>`);
  });
  app.post('/refresh', async (req, res) => {
    await req.oidc.refresh();
    res.json(snapshot(req));
  });
  app.get('/userinfo', async (req, res) => {
    res.json(await req.oidc.fetchUserInfo());
  });
  app.use(errorAsJson);
  return app;
}

/** Serves the testbed's port with a new app of `auth` (a fresh refresh cache, a fresh store). */
export function useApp(auth: Partial<AuthCallbackConfig> = {}): void {
  current = buildApp(auth);
}

/**
 * Starts the testbed for the test file: one provider and one port for every test, each test
 * serving a new app of the default options (or those it passes to {@link useApp}); the access
 * token lifetime back to an hour and the provider's records emptied before each test.
 */
export function useSessionLifeBed(): void {
  beforeAll(async () => {
    const front = express();
    front.use((req, res, next) => current(req, res, next));
    bed = await startTestbed({
      providerConfiguration: {
        // Refresh tokens without offline_access and its consent prompt, rotated on every use (RFC 9700 §4.14.2).
        issueRefreshToken: async () => true,
        rotateRefreshToken: true,
        ttl: {
          AccessToken: () => op.accessTokenTtl,
          AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Grant: 14 * 86400, Session: 14 * 86400, RefreshToken: 14 * 86400,
        },
      },
      build: (auth) => {
        baseAuth = auth;
        return front;
      },
    });
    bed.provider.provider.on('grant.success', (ctx) => {
      if (ctx.oidc.params?.grant_type === 'refresh_token') op.refreshGrants++;
    });
    bed.provider.provider.on('grant.error', (_ctx, err) => {
      op.grantErrors.push(err.error);
    });
  });
  afterAll(async () => {
    await bed.close();
  });
  beforeEach(() => {
    op.accessTokenTtl = 3600;
    op.refreshGrants = 0;
    op.grantErrors.length = 0;
    useApp();
  });
}

/**
 * Signs alice in, in a new browser, through the provider's login and consent pages, up to the
 * callback's answer (not following its redirect, whose request could already refresh a due
 * token); the browser and the session cookie the callback set.
 */
export async function login(): Promise<{ browser: Browser; cookie: string }> {
  const browser = new Browser();
  const callback = await browser.request((await authorizationResponse(browser, `${bed.baseURL}/login`)).href);
  expect(callback.status).toBe(302);
  expect(callback.headers.get('location')).toBe('/');
  const cookie = await browser.cookie(bed.baseURL, 'oidc_session');
  expect(cookie).toBeDefined();
  return { browser, cookie: cookie! };
}

/** One request carrying exactly `cookie` (or none) as the session cookie: no jar, nothing else. */
export function send(path: string, cookie: string | undefined, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Page> {
  return requestWithSessionCookie(`${bed.baseURL}${path}`, cookie, { method: options.method ?? 'GET', headers: { ...JSON_ACCEPT, ...options.headers } });
}

/** Opens a session cookie with `secrets` (as the lib does); `undefined` when none of them sealed it or it expired. */
export function open(cookie: string, secrets: string[] = [baseAuth.secret as string]): SealedPayload | undefined {
  return unsealCookiePayload(new Sealer(secrets), cookie)?.payload as SealedPayload | undefined;
}

/** Resolves at `epochSeconds` (seconds since the epoch), at once when that has passed. */
export function until(epochSeconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, epochSeconds * 1000 - Date.now())));
}

export function seen(page: Page): OidcSeen {
  expect(page.status).toBe(200);
  return JSON.parse(page.body) as OidcSeen;
}
