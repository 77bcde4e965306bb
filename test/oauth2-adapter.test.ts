/**
 * The `oauth2()` adapter (a token endpoint and a user endpoint) and its `github()` profile, end
 * to end: a small app (express-session, authCallback({ adapter }), requireAuth(), `/me`) over
 * real HTTP with a cookie jar, against a local fake of GitHub's OAuth web flow and REST `/user`
 * laid out as GitHub Enterprise Server (test/support/github-provider.ts).
 *
 * Proved here: the authorization request (PKCE S256, `state`, `scope=read:user`); the code
 * exchange with `client_secret_post`, the `code_verifier` GitHub checks, and JSON asked for by
 * `Accept`; `/user` read with the access token and GitHub's API headers; `req.user` (`sub` the
 * numeric id as a string, `preferred_username` the login, …); GitHub's errors answered with HTTP
 * 200 mapped to RFC 6749's (a refused code or PKCE → 400 `invalid_grant`, refused credentials →
 * 502 `invalid_client`); a failing or incomplete `/user`, a failing or silent token endpoint →
 * 502/504 with no session; a session without refresh token or expiry that keeps working; a GitHub
 * App's expiring tokens refreshed (and a refused refresh token ending the session); and a custom
 * `oauth2()` profile with its own `userClaims` and `client_secret_basic`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import express, { type NextFunction, type Request, type Response } from 'express';
import session, { MemoryStore } from 'express-session';
import { base64url } from 'jose';
import { authCallback, github, oauth2, requireAuth, type AuthCallbackConfig, type ProviderAdapter } from 'express-oidc-callback';
import { Browser, type Page } from './support/browser.js';
import { leaksInLogs, leaksInPage, sessionCookiesSet } from './support/leaks.js';
import { OCTOCAT, startGitHubProvider, type GitHubProvider } from './support/github-provider.js';

const CLIENT_ID = 'Iv1.8a61f9b3a7aba766';
const CLIENT_SECRET = '1f2e3d4c5b6a79880a1b2c3d4e5f60718293a4b5';
const SECRET = 'an-oauth2-adapter-test-secret-of-32-characters-plus';
const SESSION_SECRET = 'express-session-oauth2-test-secret';
const HTTP_TIMEOUT = 1;
/** Well under openid-client's own 30 s timeout. */
const TIMEOUT_BOUND_MS = 3000;
const JSON_ACCEPT = { accept: 'application/json' };
const TOKEN_PATH = '/login/oauth/access_token';
const USER_PATH = '/api/v3/user';

interface Me {
  user: Record<string, unknown>;
  idToken: string | null;
  accessToken: string | null;
  refreshToken: string | null;
  expiresAt: number | null;
  scope: string | null;
  extra: Record<string, unknown> | null;
}

interface App {
  baseURL: string;
  close(): Promise<void>;
}

let gh: GitHubProvider;
const open: App[] = [];
const logged: unknown[][] = [];
let restoreConsole: () => void;

beforeAll(async () => {
  gh = await startGitHubProvider();
  const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    logged.push(args);
  });
  restoreConsole = () => spy.mockRestore();
});
afterAll(async () => {
  restoreConsole();
  await gh.close();
});
beforeEach(() => {
  gh.reset();
  logged.length = 0;
});
afterEach(async () => {
  try {
    expect(leaksInLogs(logged, secrets())).toEqual([]);
  } finally {
    await Promise.all(open.splice(0).map((app) => app.close()));
  }
});

function secrets(): string[] {
  return [CLIENT_SECRET, SECRET, SESSION_SECRET, ...gh.secrets()];
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function githubAdapter(): ProviderAdapter {
  return github({ baseURL: gh.baseURL, apiBaseURL: gh.apiBaseURL });
}

/**
 * The app on its own port, its client registered at the fake (callback `baseURL/callback`):
 * express-session, authCallback({ adapter, … }), `GET /me` behind requireAuth(), errors as
 * `{ code, message }` (a 5xx logged first).
 */
async function startApp(adapter: ProviderAdapter = githubAdapter(), auth: Partial<AuthCallbackConfig> = {}): Promise<App> {
  const server = createServer();
  const baseURL = `http://localhost:${await listen(server)}`;
  gh.register({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: `${baseURL}/callback` });
  const app = express();
  app.use(session({ store: new MemoryStore(), secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
  app.use(authCallback({ adapter, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET, httpTimeout: HTTP_TIMEOUT, ...auth }));
  app.get('/me', requireAuth(), (req, res) => {
    const o = req.oidc;
    const me: Me = {
      user: req.user as unknown as Record<string, unknown>,
      idToken: o.idToken ?? null,
      accessToken: o.accessToken ?? null,
      refreshToken: o.refreshToken ?? null,
      expiresAt: o.expiresAt ?? null,
      scope: o.scope ?? null,
      extra: (o.extra as Record<string, unknown> | undefined) ?? null,
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
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  open.push(started);
  return started;
}

async function authorize(app: App, browser: Browser): Promise<{ authorizationUrl: URL; callbackUrl: URL }> {
  const start = await browser.request(`${app.baseURL}/login`);
  expect(start.status).toBe(302);
  const authorizationUrl = new URL(start.headers.get('location')!);
  const answer = await browser.request(authorizationUrl.href);
  expect(answer.status).toBe(302);
  return { authorizationUrl, callbackUrl: new URL(answer.headers.get('location')!) };
}

async function signIn(app: App, browser: Browser): Promise<URL> {
  const { authorizationUrl, callbackUrl } = await authorize(app, browser);
  const callback = await browser.request(callbackUrl.href);
  expect({ status: callback.status, location: callback.headers.get('location'), body: callback.status === 302 ? '' : callback.body })
    .toEqual({ status: 302, location: '/', body: '' });
  return authorizationUrl;
}

function codeOf(page: Page): string {
  expect(page.headers.get('content-type')).toMatch(/^application\/json/);
  return (JSON.parse(page.body) as { code: string }).code;
}

async function me(app: App, browser: Browser): Promise<Me> {
  const page = await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT });
  expect(page.status).toBe(200);
  return JSON.parse(page.body) as Me;
}

async function expectRefused(app: App, browser: Browser, page: Page, status: number, code: string): Promise<void> {
  expect({ status: page.status, code: codeOf(page) }).toEqual({ status, code });
  expect(sessionCookiesSet(page)).toEqual([]);
  expect(leaksInPage(page, secrets())).toEqual([]);
  expect((await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT })).status).toBe(401);
}

async function failedCallback(app: App, browser: Browser): Promise<Page> {
  const { callbackUrl } = await authorize(app, browser);
  return browser.request(callbackUrl.href);
}

const S256 = (verifier: string): string => base64url.encode(createHash('sha256').update(verifier).digest());

describe('github()', () => {
  test('signs in: PKCE S256 and scope read:user, client_secret_post with the code_verifier, /user with GitHub\'s headers, req.user mapped', async () => {
    const app = await startApp();
    const browser = new Browser();
    const authorizationUrl = await signIn(app, browser);

    expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(`${gh.baseURL}/login/oauth/authorize`);
    const params = Object.fromEntries(authorizationUrl.searchParams);
    expect(Object.keys(params).sort()).toEqual(['client_id', 'code_challenge', 'code_challenge_method', 'redirect_uri', 'response_type', 'scope', 'state']);
    expect(params).toMatchObject({ client_id: CLIENT_ID, redirect_uri: `${app.baseURL}/callback`, response_type: 'code', scope: 'read:user', code_challenge_method: 'S256' });

    // The code exchange: credentials in the form body (client_secret_post), JSON asked for, the verifier of the challenge.
    const [exchange, ...more] = gh.requestsTo(TOKEN_PATH);
    expect(more).toEqual([]);
    expect(exchange!.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(exchange!.headers.accept).toMatch(/application\/json/);
    expect(exchange!.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(exchange!.params)).toEqual({
      grant_type: 'authorization_code', code: gh.issued.codes.at(-1), redirect_uri: `${app.baseURL}/callback`,
      code_verifier: expect.any(String), client_id: CLIENT_ID, client_secret: CLIENT_SECRET,
    });
    expect(S256(exchange!.params.get('code_verifier')!)).toBe(params.code_challenge);
    expect(gh.tokenAnswers.map((a) => a.contentType)).toEqual([expect.stringMatching(/^application\/json/)]);

    // /user with the access token and GitHub's API headers.
    const [userRequest, ...moreUser] = gh.requestsTo(USER_PATH);
    expect(moreUser).toEqual([]);
    const accessToken = gh.issued.accessTokens.at(-1)!;
    expect(userRequest!.headers.authorization).toBe(`Bearer ${accessToken}`);
    expect(userRequest!.headers.accept).toBe('application/vnd.github+json');
    expect(userRequest!.headers['x-github-api-version']).toBe('2022-11-28');

    expect(await me(app, browser)).toEqual({
      user: {
        iss: gh.baseURL,
        sub: '583231',
        preferred_username: 'octocat',
        name: 'The Octocat',
        email: 'octocat@github.example',
        picture: OCTOCAT.avatar_url,
        profile: OCTOCAT.html_url,
      },
      idToken: null,
      accessToken,
      refreshToken: null,
      expiresAt: null,
      scope: 'read:user',
      extra: null,
    });
  });

  test('an OAuth App\'s token (no expiry, no refresh token): the session keeps working, nothing is refreshed', async () => {
    const app = await startApp();
    const browser = new Browser();
    await signIn(app, browser);
    for (let i = 0; i < 3; i++) expect((await me(app, browser)).user.sub).toBe('583231');
    expect(gh.requestsTo(TOKEN_PATH)).toHaveLength(1);
    expect(gh.requestsTo(USER_PATH)).toHaveLength(1); // the user is read once, at login
  });

  test('a user without a public email or name: only the claims GitHub gave', async () => {
    gh.behaviour.userFields = { email: null, name: null };
    const app = await startApp();
    const browser = new Browser();
    await signIn(app, browser);
    expect((await me(app, browser)).user).toEqual({ iss: gh.baseURL, sub: '583231', preferred_username: 'octocat', picture: OCTOCAT.avatar_url, profile: OCTOCAT.html_url });
  });

  test('a code GitHub refuses (bad_verification_code, with HTTP 200): 400 invalid_grant, no session', async () => {
    const app = await startApp();
    const browser = new Browser();
    const { callbackUrl } = await authorize(app, browser);
    callbackUrl.searchParams.set('code', 'not-a-code-github-issued');
    const page = await browser.request(callbackUrl.href);
    await expectRefused(app, browser, page, 400, 'invalid_grant');
    expect(gh.tokenAnswers.map((a) => [a.status, (JSON.parse(a.body) as { error: string }).error])).toEqual([[200, 'bad_verification_code']]);
    expect(gh.requestsTo(USER_PATH)).toHaveLength(0);
  });

  test('PKCE is what GitHub checks: another login\'s code, brought to this login\'s callback, is refused (400 invalid_grant)', async () => {
    const app = await startApp();
    const browser = new Browser();
    // Two logins pending in one browser: the code of the first, with the state (and so the verifier) of the second.
    const first = await authorize(app, browser);
    const second = await authorize(app, browser);
    const crossed = new URL(second.callbackUrl);
    crossed.searchParams.set('code', first.callbackUrl.searchParams.get('code')!);
    const page = await browser.request(crossed.href);
    await expectRefused(app, browser, page, 400, 'invalid_grant');
    const sent = gh.requestsTo(TOKEN_PATH)[0]!.params.get('code_verifier')!;
    expect(S256(sent)).toBe(second.authorizationUrl.searchParams.get('code_challenge'));
    expect(S256(sent)).not.toBe(first.authorizationUrl.searchParams.get('code_challenge'));
  });

  test('wrong client credentials (incorrect_client_credentials, with HTTP 200): 502 invalid_client, no session, no secret logged', async () => {
    const app = await startApp(githubAdapter(), { clientSecret: 'the-wrong-client-secret-0000000000000000' });
    const browser = new Browser();
    await expectRefused(app, browser, await failedCallback(app, browser), 502, 'invalid_client');
    expect(leaksInLogs(logged, ['the-wrong-client-secret-0000000000000000'])).toEqual([]);
    expect(logged).toHaveLength(1);
  });

  test.each([
    ['401 Bad credentials', 'unauthorized'],
    ['a 500 HTML page', 'error-500'],
    ['a user without an id', 'no-id'],
  ] as const)('/user answering %s: 502 invalid_provider_response, no session', async (_name, mode) => {
    gh.behaviour.user = mode;
    const app = await startApp();
    const browser = new Browser();
    await expectRefused(app, browser, await failedCallback(app, browser), 502, 'invalid_provider_response');
    expect(gh.requestsTo(USER_PATH)).toHaveLength(1);
  });

  test('the token endpoint answering 500 with HTML: 502, no session, nothing of the page echoed', async () => {
    gh.behaviour.token = 'error-500';
    const app = await startApp();
    const browser = new Browser();
    const page = await failedCallback(app, browser);
    expect(page.status).toBe(502);
    await expectRefused(app, browser, page, 502, codeOf(page));
    expect(page.body).not.toContain('gho_not-a-real-token');
  });

  test.each([
    ['the token endpoint', 'token'],
    ['/user', 'user'],
  ] as const)('%s not answering: 504 provider_timeout within httpTimeout (not openid-client\'s 30 s)', async (_name, endpoint) => {
    gh.behaviour[endpoint] = 'hang';
    const app = await startApp();
    const browser = new Browser();
    const { callbackUrl } = await authorize(app, browser);
    const started = Date.now();
    const page = await browser.request(callbackUrl.href);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_BOUND_MS);
    await expectRefused(app, browser, page, 504, 'provider_timeout');
  });

  test('GitHub unreachable: 502 provider_unreachable', async () => {
    const closed = createServer();
    const port = await listen(closed);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const app = await startApp(github({ baseURL: `http://localhost:${port}`, apiBaseURL: `http://localhost:${port}/api/v3` }));
    const browser = new Browser();
    const start = await browser.request(`${app.baseURL}/login`);
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const page = await browser.request(`${app.baseURL}/callback?code=0123456789abcdef0123&state=${state}`);
    await expectRefused(app, browser, page, 502, 'provider_unreachable');
  });

  test('a GitHub App\'s expiring token is refreshed (client_secret_post, rotated refresh token) and the user kept', async () => {
    gh.behaviour.expiring = true;
    gh.behaviour.expiresIn = 30; // within the default refreshMargin (60 s): due at once
    const app = await startApp();
    const browser = new Browser();
    await signIn(app, browser);
    const firstRefresh = gh.issued.refreshTokens.at(-1)!;
    gh.behaviour.expiresIn = 28800;

    const seen = await me(app, browser);
    const refreshes = gh.requestsTo(TOKEN_PATH).filter((r) => r.params.get('grant_type') === 'refresh_token');
    expect(refreshes.map((r) => Object.fromEntries(r.params))).toEqual([
      { grant_type: 'refresh_token', refresh_token: firstRefresh, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
    ]);
    expect(seen.accessToken).toBe(gh.issued.accessTokens.at(-1));
    expect(seen.refreshToken).toBe(gh.issued.refreshTokens.at(-1));
    expect(seen.refreshToken).not.toBe(firstRefresh);
    expect(seen.expiresAt).toBeGreaterThan(Date.now() / 1000 + 28000);
    expect(seen.user).toMatchObject({ sub: '583231', preferred_username: 'octocat', iss: gh.baseURL });
    expect(gh.requestsTo(USER_PATH)).toHaveLength(1); // a refresh keeps the login's claims
  });

  test('a refresh token GitHub refuses (bad_refresh_token, with HTTP 200) ends the session: 401, cookie cleared', async () => {
    gh.behaviour.expiring = true;
    gh.behaviour.expiresIn = 30;
    const app = await startApp();
    const browser = new Browser();
    await signIn(app, browser);
    gh.reset(); // GitHub forgets every refresh token (revoked)
    gh.register({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: `${app.baseURL}/callback` });

    const page = await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT });
    expect({ status: page.status, code: codeOf(page) }).toEqual({ status: 401, code: 'unauthorized' });
    expect(sessionCookiesSet(page)).toEqual([expect.stringMatching(/^oidc_session=;/)]);
    expect(gh.tokenAnswers.map((a) => (JSON.parse(a.body) as { error?: string }).error)).toEqual(['bad_refresh_token']);
    expect((await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT })).status).toBe(401);
    expect(gh.requestsTo(TOKEN_PATH)).toHaveLength(1);
  });
});

describe('oauth2(): a custom profile', () => {
  test('client_secret_basic (RFC 6749 §2.3.1 encoding), its own userClaims, no scope sent by default', async () => {
    const secret = 'custom secret:with+plus&amp=equals/%25';
    const adapter = oauth2({
      issuer: `${gh.baseURL}/acme`,
      authorizationEndpoint: `${gh.baseURL}/login/oauth/authorize`,
      tokenEndpoint: `${gh.baseURL}${TOKEN_PATH}`,
      userEndpoint: `${gh.baseURL}${USER_PATH}`,
      // An `iss` from the user endpoint must not rebind the session to another issuer.
      userClaims: (u) => ({ sub: `acme|${String(u.node_id)}`, nickname: String(u.login), company: u.company, iss: 'https://evil.example' }),
    });
    const app = await startApp(adapter, { clientSecret: secret });
    gh.register({ clientId: CLIENT_ID, clientSecret: secret, redirectUri: `${app.baseURL}/callback` });
    const browser = new Browser();
    const authorizationUrl = await signIn(app, browser);
    expect(authorizationUrl.searchParams.has('scope')).toBe(false);

    const exchange = gh.requestsTo(TOKEN_PATH)[0]!;
    // RFC 6749 §2.3.1: each of client_id and secret form-urlencoded, then joined by ':' (the secret's own ':' encoded).
    const basic = /^Basic ([A-Za-z0-9+/]+=*)$/.exec(exchange.headers.authorization ?? '');
    expect(basic).not.toBeNull();
    const [id, encodedSecret, ...rest] = Buffer.from(basic![1]!, 'base64').toString('utf8').split(':');
    expect(rest).toEqual([]);
    const unform = (value: string): string => decodeURIComponent(value.replace(/\+/g, ' '));
    expect([unform(id!), unform(encodedSecret!)]).toEqual([CLIENT_ID, secret]);
    expect(exchange.params.has('client_secret')).toBe(false);
    expect(exchange.params.get('code_verifier')).toMatch(/^[\w-]{43,128}$/);
    expect(gh.requestsTo(USER_PATH)[0]!.headers.accept).toBe('application/json');

    expect((await me(app, browser)).user).toEqual({ iss: `${gh.baseURL}/acme`, sub: 'acme|MDQ6VXNlcjU4MzIzMQ==', nickname: 'octocat', company: '@github' });
  });

  test('a userClaims that throws, or gives no sub: 502 invalid_provider_response, no session', async () => {
    for (const userClaims of [
      (): { sub: string } => { throw new Error('no such field'); },
      (): { sub: string } => ({ sub: '' }),
    ]) {
      gh.reset();
      const app = await startApp(oauth2({
        issuer: gh.baseURL,
        authorizationEndpoint: `${gh.baseURL}/login/oauth/authorize`,
        tokenEndpoint: `${gh.baseURL}${TOKEN_PATH}`,
        userEndpoint: `${gh.baseURL}${USER_PATH}`,
        userClaims,
      }));
      const browser = new Browser();
      await expectRefused(app, browser, await failedCallback(app, browser), 502, 'invalid_provider_response');
    }
  });

  test('endpoints that are not https (but on loopback) or not URLs are TypeErrors when the adapter is built', () => {
    const endpoints = {
      issuer: 'https://sso.example.com',
      authorizationEndpoint: 'https://sso.example.com/authorize',
      tokenEndpoint: 'https://sso.example.com/token',
      userEndpoint: 'https://api.example.com/me',
      userClaims: (u: Record<string, unknown>) => ({ sub: String(u.id) }),
    };
    expect(() => oauth2(endpoints)).not.toThrow();
    expect(() => oauth2({ ...endpoints, tokenEndpoint: 'http://sso.example.com/token' })).toThrow(TypeError);
    expect(() => oauth2({ ...endpoints, tokenEndpoint: 'http://sso.example.com/token' })).toThrow(/tokenEndpoint/);
    expect(() => oauth2({ ...endpoints, userEndpoint: '/me' })).toThrow(/userEndpoint/);
    expect(() => github({ apiBaseURL: 'http://github.internal.example/api/v3' })).toThrow(TypeError);
  });
});
