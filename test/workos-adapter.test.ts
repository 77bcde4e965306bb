/**
 * The `workos()` provider adapter end to end: a small app (express-session, authCallback() with
 * `adapter: workos({ apiBaseURL })`, requireAuth(), `/me`) over real HTTP with a cookie jar,
 * against a faithful local fake of WorkOS AuthKit's User Management API
 * (test/support/workos-provider.ts: `/user_management/authorize`, JSON
 * `/user_management/authenticate`, `/sso/jwks/{clientId}`, `/user_management/sessions/logout`).
 *
 * Proved here: the authorization request WorkOS expects (PKCE S256, `provider=authkit` unless
 * an organization or connection is named); the code exchange as JSON with `client_secret` and
 * `code_verifier` (a confidential client) or `code_verifier` alone (a public one); `req.user` as
 * the WorkOS user under OpenID Connect claim names with `iss` = `apiBaseURL` and the access
 * token's `sid`/`org_id`/`role`/`permissions`; `req.oidc.extra`; no ID token; refresh (rotating
 * refresh tokens) and a refused refresh ending the session; logout through WorkOS's session
 * logout; and every way WorkOS (or the network) can fail, each refused with the right status and
 * no session, nothing secret in the answer or the logs. Sessions are proved in both storages.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import express, { type NextFunction, type Request, type Response } from 'express';
import session, { MemoryStore } from 'express-session';
import { base64url, decodeJwt } from 'jose';
import { authCallback, requireAuth, workos, type AuthCallbackConfig } from 'express-oidc-callback';
import { Browser, type Page } from './support/browser.js';
import { leaksInLogs, leaksInPage, sessionCookiesSet } from './support/leaks.js';
import { DEFAULT_USER, startWorkOSProvider, type RecordedRequest, type WorkOSProvider } from './support/workos-provider.js';

const CLIENT_ID = 'client_01HCONFIDENTIAL0000000000';
const PUBLIC_CLIENT_ID = 'client_01HPUBLIC00000000000000000';
const CLIENT_SECRET = 'sk_test_a1b2c3d4e5f6+secret/with=symbols';
const SECRET = 'a-workos-adapter-test-secret-of-32-characters-or-more';
const SESSION_SECRET = 'express-session-workos-test-secret';
/** authCallback()'s `httpTimeout`, in seconds. */
const HTTP_TIMEOUT = 1;
/** An upper bound for a timed-out answer, in milliseconds: well under the 5 s jose and 30 s openid-client would wait by themselves. */
const TIMEOUT_BOUND_MS = 3000;
const JSON_ACCEPT = { accept: 'application/json' };
const AUTHENTICATE = '/user_management/authenticate';

/** What `/me` answers: the request's user and `req.oidc`, `null` for `undefined`. */
interface Me {
  user: Record<string, unknown>;
  extra: Record<string, unknown> | null;
  idToken: string | null;
  accessToken: string | null;
  refreshToken: string | null;
  expiresAt: number | null;
  tokenType: string | null;
}

interface App {
  baseURL: string;
  store: MemoryStore;
  close(): Promise<void>;
}

let provider: WorkOSProvider;
const open: App[] = [];
/** Every console.error() call of the current test (the app logs each 5xx, as a real one would). */
const logged: unknown[][] = [];
let restoreConsole: () => void;

beforeAll(async () => {
  provider = await startWorkOSProvider();
  const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    logged.push(args);
  });
  restoreConsole = () => spy.mockRestore();
});
afterAll(async () => {
  restoreConsole();
  await provider.close();
});
beforeEach(() => {
  provider.reset();
  logged.length = 0;
});
afterEach(async () => {
  try {
    expect(leaksInLogs(logged, secrets())).toEqual([]);
  } finally {
    await Promise.all(open.splice(0).map((app) => app.close()));
  }
});

/** Every value that must stay secret: ours, and every code and token the fake issued. */
function secrets(): string[] {
  return [CLIENT_SECRET, SECRET, SESSION_SECRET, ...provider.secrets()];
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

interface StartOptions {
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
async function startApp(options: StartOptions = {}): Promise<App> {
  const server = createServer();
  const baseURL = `http://localhost:${await listen(server)}`;
  const clientId = options.public ? PUBLIC_CLIENT_ID : CLIENT_ID;
  provider.register({
    clientId,
    ...(!options.public && { clientSecret: CLIENT_SECRET }),
    redirectUris: [`${baseURL}/callback`],
    logoutRedirectUris: [baseURL],
  });
  const store = new MemoryStore();
  const app = express();
  app.set('json escape', true);
  app.use(session({ store, secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
  app.use(authCallback({
    adapter: workos({ apiBaseURL: options.apiBaseURL ?? provider.baseURL }),
    clientId,
    ...(!options.public && { clientSecret: CLIENT_SECRET }),
    baseURL,
    secret: SECRET,
    httpTimeout: HTTP_TIMEOUT,
    // Who may choose the organization or connection is the app's call (a link from any site can set them).
    loginParams: ['prompt', 'login_hint', 'max_age', 'organization', 'organization_id', 'connection', 'connection_id'],
    ...options.auth,
  }));
  app.get('/', (req, res) => {
    res.type('text').send(req.user ? `signed in as ${req.user.sub}` : 'signed out');
  });
  app.get('/me', requireAuth(), (req, res) => {
    const o = req.oidc;
    const me: Me = {
      user: req.user as unknown as Record<string, unknown>,
      extra: (o.extra as Record<string, unknown> | undefined) ?? null,
      idToken: o.idToken ?? null,
      accessToken: o.accessToken ?? null,
      refreshToken: o.refreshToken ?? null,
      expiresAt: o.expiresAt ?? null,
      tokenType: o.tokenType ?? null,
    };
    res.json(me);
  });
  app.use((err: { status?: number; code?: string; message: string }, _req: Request, res: Response, _next: NextFunction) => {
    const status = err.status ?? 500;
    if (status >= 500) console.error(err);
    res.status(status).json({ code: err.code, message: err.message });
  });
  server.on('request', app);
  const started: App = {
    baseURL,
    store,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  open.push(started);
  return started;
}

/** A login up to the fake's answer: the authorization request the app sent, and the callback URL WorkOS redirected to (not yet requested). */
async function authorize(app: App, browser: Browser, query = ''): Promise<{ authorizationUrl: URL; callbackUrl: URL }> {
  const start = await browser.request(`${app.baseURL}/login${query}`);
  expect(start.status).toBe(302);
  const authorizationUrl = new URL(start.headers.get('location')!);
  const answer = await browser.request(authorizationUrl.href);
  expect(answer.status).toBe(302);
  return { authorizationUrl, callbackUrl: new URL(answer.headers.get('location')!) };
}

/** A whole login; the callback's answer must be the redirect to `/` with a session cookie. */
async function signIn(app: App, browser: Browser, query = ''): Promise<{ authorizationUrl: URL; callback: Page }> {
  const { authorizationUrl, callbackUrl } = await authorize(app, browser, query);
  const callback = await browser.request(callbackUrl.href);
  expect({ status: callback.status, location: callback.headers.get('location'), body: callback.status === 302 ? '' : callback.body })
    .toEqual({ status: 302, location: '/', body: '' });
  expect(await browser.cookie(app.baseURL, 'oidc_session')).toBeDefined();
  return { authorizationUrl, callback };
}

/** The callback's answer for a login WorkOS answered as the test made it (an error, here). */
async function failedCallback(app: App, browser: Browser): Promise<Page> {
  const { callbackUrl } = await authorize(app, browser);
  return browser.request(callbackUrl.href);
}

/** The `code` of the app's JSON error answer. */
function codeOf(page: Page): string {
  expect(page.headers.get('content-type')).toMatch(/^application\/json/);
  return (JSON.parse(page.body) as { code: string }).code;
}

async function me(app: App, browser: Browser): Promise<Me> {
  const page = await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT });
  expect(page.status).toBe(200);
  return JSON.parse(page.body) as Me;
}

/** The refusal: its status and code, no session cookie set, nothing secret or a stack in the body, and `/me` still 401. */
async function expectRefused(app: App, browser: Browser, page: Page, status: number, code: string): Promise<void> {
  expect({ status: page.status, code: codeOf(page) }).toEqual({ status, code });
  expect(sessionCookiesSet(page)).toEqual([]);
  expect(leaksInPage(page, secrets())).toEqual([]);
  const after = await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT });
  expect(after.status).toBe(401);
}

/** The one authenticate request of a login (a code grant). */
function onlyCodeGrant(): RecordedRequest {
  const sent = provider.requestsTo(AUTHENTICATE);
  expect(sent).toHaveLength(1);
  return sent[0]!;
}

const S256 = (verifier: string): string => base64url.encode(createHash('sha256').update(verifier).digest());

/** The user as the adapter maps it: OpenID Connect names, `iss` = apiBaseURL, and the access token's `sid`. */
function expectedUser(sid: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: provider.baseURL,
    sub: DEFAULT_USER.id,
    email: DEFAULT_USER.email,
    email_verified: true,
    given_name: 'Marcelina',
    family_name: 'Davis',
    name: 'Marcelina Davis',
    picture: DEFAULT_USER.profile_picture_url,
    sid,
    ...extra,
  };
}

describe.each(['cookie', 'store'] as const)('sessionStorage %s', (sessionStorage) => {
  test('a confidential client signs in: the authorization request, the JSON code exchange with client_secret and code_verifier, req.user mapped, no ID token', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    const browser = new Browser();
    const { authorizationUrl } = await signIn(app, browser);

    // The authorization request: WorkOS's path and parameters, PKCE S256, AuthKit as the provider; no scope, no nonce.
    expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(`${provider.baseURL}/user_management/authorize`);
    const params = Object.fromEntries(authorizationUrl.searchParams);
    expect(Object.keys(params).sort()).toEqual(['client_id', 'code_challenge', 'code_challenge_method', 'provider', 'redirect_uri', 'response_type', 'state']);
    expect(params).toMatchObject({ client_id: CLIENT_ID, redirect_uri: `${app.baseURL}/callback`, response_type: 'code', code_challenge_method: 'S256', provider: 'authkit' });
    expect(params.state).toMatch(/^[\w-]{20,}$/);

    // The code exchange: JSON, with the secret and the verifier of the challenge.
    const grant = onlyCodeGrant();
    expect(grant.method).toBe('POST');
    expect(grant.headers['content-type']).toMatch(/^application\/json/);
    expect(grant.headers.authorization).toBeUndefined();
    const code = provider.issued.codes.at(-1)!;
    expect(grant.json).toEqual({
      client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_type: 'authorization_code', code, code_verifier: expect.any(String),
    });
    expect(S256(grant.json!.code_verifier as string)).toBe(params.code_challenge);
    // The access token was checked against the client's JWKS.
    expect(provider.requestsTo(`/sso/jwks/${CLIENT_ID}`)).toHaveLength(1);

    const seen = await me(app, browser);
    const accessToken = provider.issued.accessTokens.at(-1)!;
    const sid = decodeJwt(accessToken).sid as string;
    expect(sid).toMatch(/^session_/);
    expect(seen).toEqual({
      user: expectedUser(sid),
      extra: { authentication_method: 'GoogleOAuth' },
      idToken: null,
      accessToken,
      refreshToken: provider.issued.refreshTokens.at(-1),
      expiresAt: decodeJwt(accessToken).exp,
      tokenType: 'bearer',
    });
    // Nothing of the exchange left in the express-session but the login (the transaction is used up).
    const landed = await browser.request(`${app.baseURL}/`);
    expect(landed.body).toBe(`signed in as ${DEFAULT_USER.id}`);
  });

  test('an organization login with an impersonator: organization_id sent without provider, extra and req.user carry the organization', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    provider.behaviour.impersonator = { email: 'admin@foocorp.example', reason: 'Investigating an issue with the customer\'s account.' };
    provider.behaviour.authenticationMethod = 'Impersonation';
    provider.behaviour.accessTokenClaims = { role: 'admin', permissions: ['posts:read', 'posts:write'] };
    const browser = new Browser();
    const { authorizationUrl } = await signIn(app, browser, '?organization_id=org_01EHZNVPK3SFK441A1RGBFSHRT');
    expect(authorizationUrl.searchParams.get('organization_id')).toBe('org_01EHZNVPK3SFK441A1RGBFSHRT');
    expect(authorizationUrl.searchParams.has('provider')).toBe(false);

    const seen = await me(app, browser);
    const sid = decodeJwt(provider.issued.accessTokens.at(-1)!).sid as string;
    expect(seen.user).toEqual(expectedUser(sid, { org_id: 'org_01EHZNVPK3SFK441A1RGBFSHRT', role: 'admin', permissions: ['posts:read', 'posts:write'] }));
    expect(seen.extra).toEqual({
      organization_id: 'org_01EHZNVPK3SFK441A1RGBFSHRT',
      authentication_method: 'Impersonation',
      impersonator: { email: 'admin@foocorp.example', reason: 'Investigating an issue with the customer\'s account.' },
    });
    expect(seen.idToken).toBeNull();
  });

  test('autoRefresh: an access token within refreshMargin of its exp is refreshed by grant_type=refresh_token (rotated), the user kept', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    provider.behaviour.accessTokenTtl = 30; // within the default refreshMargin (60 s): due at once
    const browser = new Browser();
    await signIn(app, browser, '?organization=org_01REFRESH');
    const [firstAccess, firstRefresh] = [provider.issued.accessTokens.at(-1)!, provider.issued.refreshTokens.at(-1)!];
    provider.behaviour.accessTokenTtl = 3600; // the refreshed token is not due

    const seen = await me(app, browser);
    const refreshes = provider.refreshRequests();
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0]!.headers['content-type']).toMatch(/^application\/json/);
    expect(refreshes[0]!.json).toEqual({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_type: 'refresh_token', refresh_token: firstRefresh });
    const newAccess = provider.issued.accessTokens.at(-1)!;
    expect(newAccess).not.toBe(firstAccess);
    expect(seen.accessToken).toBe(newAccess);
    expect(seen.refreshToken).toBe(provider.issued.refreshTokens.at(-1));
    expect(seen.refreshToken).not.toBe(firstRefresh);
    expect(seen.expiresAt).toBe(decodeJwt(newAccess).exp);
    expect(seen.user.sub).toBe(DEFAULT_USER.id);
    expect(seen.user.org_id).toBe('org_01REFRESH');
    // The refresh answer has no authentication_method: the login's is kept.
    expect(seen.extra).toEqual({ organization_id: 'org_01REFRESH', authentication_method: 'GoogleOAuth' });

    // Not due any more: the next request does not refresh, and the rotated token is the one kept.
    expect((await me(app, browser)).accessToken).toBe(newAccess);
    expect(provider.refreshRequests()).toHaveLength(1);
  });

  test('a refresh answered without the organization and the impersonator drops them from req.user and req.oidc.extra', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    provider.behaviour.accessTokenTtl = 30;
    provider.behaviour.impersonator = { email: 'admin@foocorp.example' };
    const browser = new Browser();
    await signIn(app, browser, '?organization_id=org_01LEFT');
    provider.behaviour.accessTokenTtl = 3600;
    provider.behaviour.responseExtras = { organization_id: undefined, impersonator: undefined };
    provider.behaviour.accessTokenClaims = { org_id: undefined, role: undefined, permissions: undefined };

    const seen = await me(app, browser);
    expect(provider.refreshRequests()).toHaveLength(1);
    expect(seen.accessToken).toBe(provider.issued.accessTokens.at(-1));
    for (const name of ['org_id', 'role', 'permissions']) expect(seen.user).not.toHaveProperty(name);
    expect(seen.extra).not.toHaveProperty('organization_id');
    expect(seen.extra).not.toHaveProperty('impersonator');
    // The next request reads the same from the resealed session.
    expect((await me(app, browser)).extra).toEqual(seen.extra);
  });

  test('concurrent requests with a due access token share one refresh (WorkOS rotates the refresh token: a second would be refused)', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    provider.behaviour.accessTokenTtl = 30;
    const browser = new Browser();
    await signIn(app, browser);
    provider.behaviour.accessTokenTtl = 3600;
    const cookie = await browser.cookie(app.baseURL, 'oidc_session');
    const pages = await Promise.all(Array.from({ length: 5 }, () => fetch(`${app.baseURL}/me`, { headers: { ...JSON_ACCEPT, cookie: `oidc_session=${cookie}` } })));
    expect(pages.map((p) => p.status)).toEqual([200, 200, 200, 200, 200]);
    const seen = await Promise.all(pages.map(async (p) => (await p.json() as Me).accessToken));
    expect(new Set(seen)).toEqual(new Set([provider.issued.accessTokens.at(-1)]));
    expect(provider.refreshRequests()).toHaveLength(1);
  });

  test('a refresh answering for another user ends the session (OpenID Connect Core 1.0 §12.2, applied to WorkOS\'s user)', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    provider.behaviour.accessTokenTtl = 30;
    const browser = new Browser();
    await signIn(app, browser);
    provider.behaviour.user = { id: 'user_01SOMEBODYELSE000000000000' }; // the user object and the token's sub both
    const page = await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT });
    expect({ status: page.status, code: codeOf(page) }).toEqual({ status: 401, code: 'unauthorized' });
    expect(sessionCookiesSet(page)).toEqual([expect.stringMatching(/^oidc_session=;/)]);
    expect(provider.refreshRequests()).toHaveLength(1);
  });

  test('a refused refresh (invalid_grant) ends the session: the API gets 401, the cookie is cleared, WorkOS is not asked again', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    provider.behaviour.accessTokenTtl = 30;
    const browser = new Browser();
    await signIn(app, browser);
    const cookie = await browser.cookie(app.baseURL, 'oidc_session');
    provider.behaviour.refresh = 'invalid_grant';

    const page = await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT });
    expect(page.status).toBe(401);
    expect(codeOf(page)).toBe('unauthorized');
    expect(sessionCookiesSet(page)).toEqual([expect.stringMatching(/^oidc_session=;/)]);
    expect(await browser.cookie(app.baseURL, 'oidc_session')).toBeUndefined();
    expect(provider.refreshRequests()).toHaveLength(1);

    // A copy of the old cookie: refused again (store: its record is gone; cookie: WorkOS refuses again).
    const replay = await fetch(`${app.baseURL}/me`, { headers: { ...JSON_ACCEPT, cookie: `oidc_session=${cookie}` } });
    expect(replay.status).toBe(401);
    expect(provider.refreshRequests()).toHaveLength(sessionStorage === 'store' ? 1 : 2);
  });

  test('logout ends the local session and sends the browser to WorkOS\'s sessions/logout with session_id = sid and return_to = baseURL', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    const browser = new Browser();
    await signIn(app, browser);
    const sid = decodeJwt(provider.issued.accessTokens.at(-1)!).sid as string;
    const refreshToken = provider.issued.refreshTokens.at(-1)!;
    const cookie = await browser.cookie(app.baseURL, 'oidc_session');

    const out = await browser.request(`${app.baseURL}/logout`);
    expect(out.status).toBe(302);
    const location = new URL(out.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(`${provider.baseURL}/user_management/sessions/logout`);
    expect(Object.fromEntries(location.searchParams)).toEqual({ session_id: sid, return_to: app.baseURL });
    expect(await browser.cookie(app.baseURL, 'oidc_session')).toBeUndefined();

    const back = await browser.visit(location.href);
    expect({ url: back.url, body: back.body }).toEqual({ url: `${app.baseURL}/`, body: 'signed out' });
    expect(provider.endedSessions).toEqual([sid]);
    // WorkOS ended its session: the refresh token no longer works there.
    const refused = await fetch(`${provider.baseURL}${AUTHENTICATE}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_type: 'refresh_token', refresh_token: refreshToken }),
    });
    expect(refused.status).toBe(400);
    // With a store, a copy of the cookie is dead too.
    const replay = await fetch(`${app.baseURL}/me`, { headers: { ...JSON_ACCEPT, cookie: `oidc_session=${cookie}` } });
    expect(replay.status).toBe(sessionStorage === 'store' ? 401 : 200);
  });
});

describe('client authentication', () => {
  test('a public client (no clientSecret) sends the code_verifier and no client_secret, and still signs in', async () => {
    const app = await startApp({ public: true });
    const browser = new Browser();
    const { authorizationUrl } = await signIn(app, browser);
    const grant = onlyCodeGrant();
    expect(grant.json).toEqual({ client_id: PUBLIC_CLIENT_ID, grant_type: 'authorization_code', code: provider.issued.codes.at(-1), code_verifier: expect.any(String) });
    expect(S256(grant.json!.code_verifier as string)).toBe(authorizationUrl.searchParams.get('code_challenge'));
    expect(provider.requestsTo(`/sso/jwks/${PUBLIC_CLIENT_ID}`)).toHaveLength(1);
    expect((await me(app, browser)).user.sub).toBe(DEFAULT_USER.id);
  });

  test('a public client refreshes without a secret', async () => {
    const app = await startApp({ public: true });
    provider.behaviour.accessTokenTtl = 30;
    const browser = new Browser();
    await signIn(app, browser);
    provider.behaviour.accessTokenTtl = 3600;
    const seen = await me(app, browser);
    expect(provider.refreshRequests().map((r) => r.json)).toEqual([
      { client_id: PUBLIC_CLIENT_ID, grant_type: 'refresh_token', refresh_token: provider.issued.refreshTokens.at(-2) },
    ]);
    expect(seen.accessToken).toBe(provider.issued.accessTokens.at(-1));
  });

  test('a wrong client secret: 502 invalid_client, no session, nothing secret in the answer or the logs', async () => {
    const app = await startApp({ auth: { clientSecret: 'sk_test_the-wrong-one-0123456789' } });
    const browser = new Browser();
    const page = await failedCallback(app, browser);
    await expectRefused(app, browser, page, 502, 'invalid_client');
    expect(leaksInPage(page, ['sk_test_the-wrong-one-0123456789'])).toEqual([]);
    expect(leaksInLogs(logged, ['sk_test_the-wrong-one-0123456789'])).toEqual([]);
    expect(logged).toHaveLength(1); // the 5xx was logged, without its secret
  });
});

describe('authorization request parameters', () => {
  test('organization= is sent as organization_id, connection= as connection_id, and neither with provider', async () => {
    const app = await startApp();
    const browser = new Browser();
    const org = await authorize(app, browser, '?organization=org_01ACME');
    expect(org.authorizationUrl.searchParams.get('organization_id')).toBe('org_01ACME');
    expect(org.authorizationUrl.searchParams.has('organization')).toBe(false);
    expect(org.authorizationUrl.searchParams.has('provider')).toBe(false);
    const connection = await authorize(app, browser, '?connection=conn_01OKTA');
    expect(connection.authorizationUrl.searchParams.get('connection_id')).toBe('conn_01OKTA');
    expect(connection.authorizationUrl.searchParams.has('provider')).toBe(false);
    const hinted = await authorize(app, browser, '?login_hint=ann%40example.com');
    expect(hinted.authorizationUrl.searchParams.get('login_hint')).toBe('ann@example.com');
    expect(hinted.authorizationUrl.searchParams.get('provider')).toBe('authkit');
    // The organization login completes, and WorkOS answers with that organization.
    const landed = await browser.request(org.callbackUrl.href);
    expect(landed.status).toBe(302);
    expect((await me(app, browser)).extra).toEqual({ organization_id: 'org_01ACME', authentication_method: 'GoogleOAuth' });
  });

  test('max_age cannot be checked without an ID token\'s auth_time: a login asking for it is a 400, the option a TypeError; WorkOS never asked', async () => {
    const app = await startApp();
    const browser = new Browser();
    const page = await browser.request(`${app.baseURL}/login?max_age=0`);
    expect({ status: page.status, code: codeOf(page) }).toEqual({ status: 400, code: 'invalid_request' });
    expect(() => authCallback({ adapter: workos({ apiBaseURL: provider.baseURL }), clientId: CLIENT_ID, baseURL: app.baseURL, secret: 'x'.repeat(32), authorizationParams: { max_age: '300' } }))
      .toThrow(/authorizationParams.max_age/);
    expect(provider.requests).toEqual([]);
  });

  test('scope need not contain openid with an adapter, and WorkOS gets none', async () => {
    const app = await startApp({ auth: { scope: 'profile' } });
    const browser = new Browser();
    const { authorizationUrl } = await signIn(app, browser);
    expect(authorizationUrl.searchParams.has('scope')).toBe(false);
  });
});

describe('refusals of the code or of the callback', () => {
  test('a code WorkOS does not know: 400 invalid_grant, no session', async () => {
    const app = await startApp();
    const browser = new Browser();
    const { callbackUrl } = await authorize(app, browser);
    callbackUrl.searchParams.set('code', 'NOT-A-CODE-WORKOS-ISSUED');
    const page = await browser.request(callbackUrl.href);
    await expectRefused(app, browser, page, 400, 'invalid_grant');
  });

  test('a code used once already (replayed into a new login of the same browser): 400 invalid_grant', async () => {
    const app = await startApp();
    const browser = new Browser();
    const first = await signIn(app, browser);
    expect(first.callback.status).toBe(302);
    const usedCode = provider.issued.codes.at(-1)!;
    const victim = new Browser();
    const { callbackUrl } = await authorize(app, victim);
    callbackUrl.searchParams.set('code', usedCode);
    const page = await victim.request(callbackUrl.href);
    await expectRefused(app, victim, page, 400, 'invalid_grant');
    expect(provider.requestsTo(AUTHENTICATE).map((r) => r.json?.code)).toEqual([usedCode, usedCode]);
  });

  test('an expired code: 400 invalid_grant', async () => {
    const app = await startApp();
    provider.behaviour.codeTtl = -1;
    const browser = new Browser();
    await expectRefused(app, browser, await failedCallback(app, browser), 400, 'invalid_grant');
  });

  test('the user cancelling at WorkOS (error=access_denied): 400 access_denied, WorkOS not asked for tokens', async () => {
    const app = await startApp();
    provider.behaviour.authorize = 'access_denied';
    const browser = new Browser();
    const page = await failedCallback(app, browser);
    await expectRefused(app, browser, page, 400, 'access_denied');
    expect(provider.requestsTo(AUTHENTICATE)).toHaveLength(0);
  });

  test('a callback whose state is not the pending login\'s: 400 state_mismatch, WorkOS not called', async () => {
    const app = await startApp();
    const browser = new Browser();
    const { callbackUrl } = await authorize(app, browser);
    callbackUrl.searchParams.set('state', 'an-attackers-state-value-000000');
    const page = await browser.request(callbackUrl.href);
    await expectRefused(app, browser, page, 400, 'state_mismatch');
    expect(provider.requestsTo(AUTHENTICATE)).toHaveLength(0);
  });

  test('a callback in a browser that started no login: 400 missing_transaction, WorkOS not called', async () => {
    const app = await startApp();
    const { callbackUrl } = await authorize(app, new Browser());
    const stranger = new Browser();
    const page = await stranger.request(callbackUrl.href);
    await expectRefused(app, stranger, page, 400, 'missing_transaction');
    expect(provider.requestsTo(AUTHENTICATE)).toHaveLength(0);
  });

  test('a replayed callback: 400 missing_transaction, the session it made kept', async () => {
    const app = await startApp();
    const browser = new Browser();
    const { callbackUrl } = await authorize(app, browser);
    expect((await browser.request(callbackUrl.href)).status).toBe(302);
    const replay = await browser.request(callbackUrl.href);
    expect(replay.status).toBe(400);
    expect(codeOf(replay)).toBe('missing_transaction');
    expect(provider.requestsTo(AUTHENTICATE)).toHaveLength(1);
    expect((await me(app, browser)).user.sub).toBe(DEFAULT_USER.id);
  });
});

describe('WorkOS answers that must not sign anyone in', () => {
  test.each([
    ['an access token signed by a key the JWKS does not publish', 'unknown-key'],
    ['an access token whose sub is not the user object\'s id', 'wrong-sub'],
    ['an expired access token', 'expired'],
    ['an HS256 access token keyed with the client secret (algorithm downgrade)', 'hs256'],
    ['an access token that is not a JWT', 'opaque'],
  ] as const)('%s: 502 invalid_provider_response', async (_name, mode) => {
    const app = await startApp();
    provider.behaviour.accessToken = mode;
    const browser = new Browser();
    await expectRefused(app, browser, await failedCallback(app, browser), 502, 'invalid_provider_response');
  });

  test.each([
    ['a 500', 'error-500'],
    ['an HTML page with status 200', 'html'],
    ['malformed JSON', 'malformed-json'],
    ['an answer without its user', 'no-user'],
  ] as const)('%s: 502 invalid_provider_response, nothing of the body in the answer or the logs', async (_name, mode) => {
    const app = await startApp();
    provider.behaviour.authenticate = mode;
    const browser = new Browser();
    await expectRefused(app, browser, await failedCallback(app, browser), 502, 'invalid_provider_response');
    expect(logged).toHaveLength(1);
  });

  test('the JWKS failing: 502, no session', async () => {
    const app = await startApp();
    provider.behaviour.jwks = 'error-500';
    const browser = new Browser();
    await expectRefused(app, browser, await failedCallback(app, browser), 502, 'invalid_provider_response');
  });

  test('WorkOS unreachable: 502 provider_unreachable', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const app = await startApp({ apiBaseURL: `http://localhost:${port}` });
    const browser = new Browser();
    const start = await browser.request(`${app.baseURL}/login`);
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const page = await browser.request(`${app.baseURL}/callback?code=01HCODE000000000000&state=${state}`);
    await expectRefused(app, browser, page, 502, 'provider_unreachable');
  });

  test.each(['authenticate', 'jwks'] as const)('WorkOS not answering the %s request: 504 provider_timeout within httpTimeout', async (endpoint) => {
    const app = await startApp();
    provider.behaviour[endpoint] = 'hang';
    const browser = new Browser();
    const { callbackUrl } = await authorize(app, browser);
    const started = Date.now();
    const page = await browser.request(callbackUrl.href);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_BOUND_MS);
    await expectRefused(app, browser, page, 504, 'provider_timeout');
  });

  test('a refresh WorkOS fails (500) on an expired access token: 503 refresh_failed, the session kept for the next try', async () => {
    const app = await startApp({ auth: { refreshMargin: 0 } });
    provider.behaviour.accessTokenTtl = 1;
    const browser = new Browser();
    await signIn(app, browser);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    provider.behaviour.refresh = 'error-500';
    const failed = await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT });
    expect(failed.status).toBe(503);
    expect(codeOf(failed)).toBe('refresh_failed');
    expect(sessionCookiesSet(failed)).toEqual([]);
    expect(leaksInPage(failed, secrets())).toEqual([]);
    provider.behaviour.refresh = 'ok';
    provider.behaviour.accessTokenTtl = 3600;
    expect((await me(app, browser)).accessToken).toBe(provider.issued.accessTokens.at(-1));
  });
});

describe('options', () => {
  const base = { adapter: workos(), clientId: CLIENT_ID, baseURL: 'http://localhost:3000', secret: SECRET };

  test.each([
    ['issuer', { issuer: 'https://api.workos.com' }, /option "issuer"/],
    ['fetchUserInfo', { fetchUserInfo: true }, /option "fetchUserInfo"/],
    ['dpop', { dpop: true }, /option "dpop"/],
    ['routes.backchannelLogout', { routes: { backchannelLogout: '/backchannel-logout' } }, /option "routes.backchannelLogout"/],
    ['clientAuthMethod', { clientAuthMethod: 'client_secret_basic' }, /option "clientAuthMethod"/],
    ['pushedAuthorizationRequests', { pushedAuthorizationRequests: true }, /option "pushedAuthorizationRequests"/],
  ] as const)('an adapter with %s is a TypeError naming it', (_name, extra, message) => {
    expect(() => authCallback({ ...base, ...extra } as AuthCallbackConfig)).toThrow(TypeError);
    expect(() => authCallback({ ...base, ...extra } as AuthCallbackConfig)).toThrow(message);
  });

  test('an adapter that is not one, and a missing clientId, are TypeErrors', () => {
    expect(() => authCallback({ ...base, adapter: { issuer: 'https://x.example' } } as unknown as AuthCallbackConfig)).toThrow(/option "adapter"/);
    expect(() => authCallback({ ...base, clientId: undefined } as unknown as AuthCallbackConfig)).toThrow(/option "clientId"/);
  });

  test('a scope without openid is accepted with an adapter (not without one)', () => {
    expect(() => authCallback({ ...base, scope: 'profile email' })).not.toThrow();
    expect(() => authCallback({ issuer: 'https://op.example', clientId: CLIENT_ID, baseURL: base.baseURL, secret: SECRET, scope: 'profile email' })).toThrow(/option "scope"/);
  });

  test('workos() refuses a plain-http apiBaseURL off loopback: the client secret would cross the network in clear text', () => {
    expect(() => workos({ apiBaseURL: 'http://api.workos.example' })).toThrow(TypeError);
    expect(() => workos({ apiBaseURL: 'not a url' })).toThrow(TypeError);
    expect(() => workos({ apiBaseURL: 'http://127.0.0.1:8080' })).not.toThrow();
    expect(() => workos({ apiBaseURL: 'https://auth.example.com/' })).not.toThrow();
  });
});
