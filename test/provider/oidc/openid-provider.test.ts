/**
 * How the middleware survives a faulty or hostile OpenID Provider: the example app, over real
 * HTTP, against the hostile provider of test/support/hostile-provider.ts. Every failure must
 * answer the right status and code, set no session cookie, leave `req.user` undefined, and put
 * no token, code or secret in the response.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { callbackUrl, startExampleApp, type AppServer } from '../../support/app-server.js';
import { Browser, type Page } from '../../support/browser.js';
import { basicCredentials, s256 } from '../../support/fake-server.js';
import { startHostileProvider, type HostileProvider, type IdTokenMode } from '../../support/hostile-provider.js';
import { closedPortURL } from '../../support/http-server.js';
import { jsonError } from '../../support/leaks.js';
import { captureConsoleErrors } from '../../support/log-guard.js';

/** Characters that RFC 6749 §2.3.1 requires to be form-url-encoded before Basic encoding (`:` above all). */
const CLIENT_ID = 'rp:hostile test';
const CLIENT_SECRET = 'hostile-secret:with+plus&amp=equals/%25 and space';
const SECRET = 'a-test-secret-of-at-least-32-characters-0123456789';
const SESSION_SECRET = 'express-session-test-secret';
/** authCallback()'s `httpTimeout`, in seconds. */
const HTTP_TIMEOUT = 0.5;
const JSON_ACCEPT = { accept: 'application/json' };
/** The example app's message for every 5xx: the AuthError's own message stays in the logs. */
const GENERIC_MESSAGE = 'Something went wrong. Please try again.';

type App = AppServer;

/** The example app, on its own 127.0.0.1 port, pointed at `issuer`. */
function startApp(issuer: string, auth: Partial<AuthCallbackConfig> = {}): Promise<App> {
  return startExampleApp({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, secret: SECRET, sessionSecret: SESSION_SECRET, httpTimeout: HTTP_TIMEOUT }, issuer, auth);
}

/** No `oidc_session` cookie (or chunk) in the answer, none in the browser. */
async function expectNoSessionCookie(browser: Browser, app: App, page: Page): Promise<void> {
  const set = page.headers.getSetCookie().filter((c) => /^oidc_session(\.\d+)?=[^;]/.test(c));
  expect(set).toEqual([]);
  expect(await browser.cookie(app.baseURL, 'oidc_session')).toBeUndefined();
}

/** Nothing secret in the body: no issued code or token, no client secret, no JWT, no stack trace. */
function expectNoLeak(page: Page, provider?: HostileProvider): void {
  const secrets = [CLIENT_SECRET, encodeURIComponent(CLIENT_SECRET), SECRET, SESSION_SECRET, ...(provider?.secrets() ?? [])];
  for (const secret of secrets) expect(page.body).not.toContain(secret);
  expect(page.body).not.toMatch(/eyJ[\w-]*\.[\w-]*\./);
  expect(page.body).not.toMatch(/\n\s+at [^\n]+:\d+:\d+/);
  expect(page.body).not.toMatch(/AuthError|ClientError|OperationProcessingError/);
}

/** `req.user` stays undefined: the guarded API answers 401. */
async function expectSignedOut(browser: Browser, app: App): Promise<void> {
  const me = await browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
  expect(me.status).toBe(401);
  expect(jsonError(me).error).toBe('unauthorized');
}

// The example app logs every 5xx with console.error; these tests cause many on purpose.
const consoleErrors = captureConsoleErrors();

describe('discovery faults', () => {
  let provider: HostileProvider;
  let app: App;
  beforeEach(async () => {
    provider = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    app = await startApp(provider.issuer);
  });
  afterEach(async () => {
    await app.close();
    await provider.close();
  });

  test('an unreachable provider: /login answers 502 provider_unreachable, as JSON or as escaped HTML without a stack trace', async () => {
    const unreachable = await startApp(await closedPortURL());
    try {
      const browser = new Browser();
      const asJson = await browser.request(`${unreachable.baseURL}/login`, { headers: JSON_ACCEPT });
      expect(asJson.status).toBe(502);
      expect(jsonError(asJson)).toEqual({ error: 'provider_unreachable', error_description: GENERIC_MESSAGE });
      expect(asJson.headers.get('location')).toBeNull();
      await expectNoSessionCookie(browser, unreachable, asJson);
      expectNoLeak(asJson);

      const asHtml = await browser.request(`${unreachable.baseURL}/login`);
      expect(asHtml.status).toBe(502);
      expect(asHtml.headers.get('content-type')).toMatch(/^text\/html/);
      expect(asHtml.body).toContain('<title>Sign-in problem</title>');
      expect(asHtml.body).toContain(GENERIC_MESSAGE);
      expect(asHtml.body).not.toContain('could not be reached');
      await expectNoSessionCookie(browser, unreachable, asHtml);
      expectNoLeak(asHtml);
      await expectSignedOut(browser, unreachable);
    } finally {
      await unreachable.close();
    }
  });

  test('discovery that hangs: /login answers 504 provider_timeout after httpTimeout', async () => {
    provider.behaviour.discovery = 'hang';
    const browser = new Browser();
    const page = await browser.request(`${app.baseURL}/login`, { headers: JSON_ACCEPT });
    expect(page.status).toBe(504);
    expect(jsonError(page).error).toBe('provider_timeout');
    expect(provider.requests.discovery).toBe(1);
    expect(provider.requests.authorize).toBe(0);
    await expectNoSessionCookie(browser, app, page);
    expectNoLeak(page, provider);
  });

  test.each([
    ['answers 500', 'error-500'],
    ['answers HTML, not JSON', 'html'],
    ['declares an issuer that is not the configured one', 'wrong-issuer'],
  ] as const)('discovery that %s: /login answers 502 invalid_provider_response', async (_what, mode) => {
    provider.behaviour.discovery = mode;
    const browser = new Browser();
    const page = await browser.request(`${app.baseURL}/login`, { headers: JSON_ACCEPT });
    expect(page.status).toBe(502);
    expect(jsonError(page)).toEqual({ error: 'invalid_provider_response', error_description: GENERIC_MESSAGE });
    expect(page.headers.get('location')).toBeNull();
    expect(provider.requests.discovery).toBe(1);
    await expectNoSessionCookie(browser, app, page);
    expectNoLeak(page, provider);
    await expectSignedOut(browser, app);
  });

  test('discovery without an authorization_endpoint: /login answers 502 invalid_provider_response, not 500', async () => {
    provider.behaviour.overrides.discovery = (_req, res) => {
      res.json({ issuer: provider.issuer, token_endpoint: `${provider.issuer}/token`, jwks_uri: `${provider.issuer}/jwks`, response_types_supported: ['code'] });
    };
    const browser = new Browser();
    const page = await browser.request(`${app.baseURL}/login`, { headers: JSON_ACCEPT });
    expect(page.status).toBe(502);
    expect(jsonError(page)).toEqual({ error: 'invalid_provider_response', error_description: GENERIC_MESSAGE });
    await expectNoSessionCookie(browser, app, page);
  });

  test('a failed discovery is not cached: once the provider is fixed the next /login works, and discovery is then fetched once', async () => {
    provider.behaviour.discovery = 'error-500';
    const browser = new Browser();
    const failed = await browser.request(`${app.baseURL}/login`, { headers: JSON_ACCEPT });
    expect(failed.status).toBe(502);
    expect(provider.requests.discovery).toBe(1);

    provider.behaviour.discovery = 'ok';
    for (let i = 0; i < 4; i++) {
      const login = await browser.request(`${app.baseURL}/login`);
      expect(login.status).toBe(302);
      const location = new URL(login.headers.get('location')!);
      expect(location.origin + location.pathname).toBe(`${provider.issuer}/authorize`);
      expect(location.searchParams.get('client_id')).toBe(CLIENT_ID);
    }
    expect(provider.requests.discovery).toBe(2);
  });
});

describe('token endpoint and ID token faults (one app through all of them)', () => {
  let provider: HostileProvider;
  let app: App;
  beforeAll(async () => {
    provider = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    app = await startApp(provider.issuer);
  });
  afterAll(async () => {
    await app.close();
    await provider.close();
  });
  beforeEach(() => {
    provider.reset();
  });

  /** Runs a login up to the callback, answered as JSON; checks what every failure must. */
  async function failingCallback(status: number, code: string): Promise<Page> {
    const browser = new Browser();
    const url = await callbackUrl(browser, app, provider);
    const page = await browser.request(url, { headers: JSON_ACCEPT });
    expect({ status: page.status, code: jsonError(page).error }).toEqual({ status, code });
    expect(provider.requests.token).toBe(1);
    await expectNoSessionCookie(browser, app, page);
    expectNoLeak(page, provider);
    await expectSignedOut(browser, app);
    return page;
  }

  test('token endpoint invalid_grant: 400 invalid_grant, with a message meant for the user', async () => {
    provider.behaviour.token = 'invalid_grant';
    const page = await failingCallback(400, 'invalid_grant');
    expect(jsonError(page).error_description).not.toBe(GENERIC_MESSAGE);
  });

  test('token endpoint invalid_client (401 with WWW-Authenticate): 502 invalid_client', async () => {
    provider.behaviour.token = 'invalid_client';
    const page = await failingCallback(502, 'invalid_client');
    expect(jsonError(page).error_description).toBe(GENERIC_MESSAGE);
  });

  test('token endpoint answers HTML, not JSON: 502 invalid_provider_response, and the HTML is not echoed', async () => {
    provider.behaviour.token = 'not-json';
    const page = await failingCallback(502, 'invalid_provider_response');
    expect(page.body).not.toContain('Upstream said');
  });

  test('token endpoint hangs: 504 provider_timeout', async () => {
    provider.behaviour.token = 'hang';
    await failingCallback(504, 'provider_timeout');
  });

  test.each([
    ['signed with another key (the signature is checked in the code flow)', 'bad-signature'],
    ['unsigned, alg none', 'alg-none'],
    ['from another issuer', 'wrong-iss'],
    ['for another audience', 'wrong-aud'],
    ['with another nonce', 'wrong-nonce'],
    ['expired an hour ago', 'expired'],
  ] as [string, IdTokenMode][])('an ID token %s: 502 invalid_id_token, no session', async (_what, mode) => {
    provider.behaviour.idToken = mode;
    const issuedBefore = provider.issued.idTokens.length;
    await failingCallback(502, 'invalid_id_token');
    // The token endpoint did answer with an ID token: it is the token that was refused.
    expect(provider.issued.idTokens).toHaveLength(issuedBefore + 1);
  });

  test('a token set too large for the cookie even in chunks: 500 session_too_large at the callback, not a dropped cookie and a login loop', async () => {
    // 16 KB of claims: sealed, more than a request's headers can carry back (Node's limit is 16 KiB).
    provider.behaviour.claims = { bulk: 'x'.repeat(16_000) };
    consoleErrors.clear();
    await failingCallback(500, 'session_too_large');
    const logged = consoleErrors.calls.flat().find((arg: unknown) => (arg as { code?: unknown }).code === 'session_too_large') as Error;
    expect(logged.message).toMatch(/^The sealed session is \d+ bytes, more than the \d+ a request's headers can carry back/);
  });

  test('a token response without an ID token: 502 invalid_provider_response', async () => {
    provider.behaviour.overrides.token = (_req, res) => {
      const accessToken = randomBytes(24).toString('base64url');
      provider.issued.accessTokens.push(accessToken);
      res.set('Cache-Control', 'no-store').json({ access_token: accessToken, token_type: 'Bearer', expires_in: 3600 });
    };
    await failingCallback(502, 'invalid_provider_response');
  });

  test('an authorization error whose description carries HTML: 400, its markup stripped from the message, and the token endpoint is never called', async () => {
    provider.behaviour.authorize = 'access_denied';
    provider.behaviour.errorDescription = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const browser = new Browser();
    const url = await callbackUrl(browser, app, provider);
    const page = await browser.request(url);
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).not.toMatch(/<script>|<img/);
    // The description's markup is stripped from the message itself, whatever page shows it.
    expect(page.body).toContain('script alert(1) /script img src=x onerror=alert(2)');
    expect(page.body).toContain('access_denied');
    expect(provider.requests.token).toBe(0);
    await expectNoSessionCookie(browser, app, page);
    expectNoLeak(page, provider);
    await expectSignedOut(browser, app);
  });

  test('the client authenticates with client_secret_basic (RFC 6749 §2.3.1) and proves PKCE S256 (RFC 7636 §4.6)', async () => {
    const browser = new Browser();
    const url = await callbackUrl(browser, app, provider);
    const page = await browser.request(url);
    expect(page.status).toBe(302);

    expect(provider.authorizeRequests).toHaveLength(1);
    const authorize = provider.authorizeRequests[0]!;
    expect(authorize.params.get('code_challenge_method')).toBe('S256');
    const challenge = authorize.params.get('code_challenge');
    expect(challenge).toMatch(/^[\w-]{43}$/);

    expect(provider.tokenRequests).toHaveLength(1);
    const token = provider.tokenRequests[0]!;
    const authorization = token.headers.authorization;
    expect(authorization).toMatch(/^Basic /);
    // The id and secret are form-url-encoded before base64: the ':' inside them stays out of the way.
    const raw = Buffer.from(authorization!.slice('Basic '.length), 'base64').toString('utf8');
    expect(raw.split(':')).toHaveLength(2);
    expect(basicCredentials(authorization)).toEqual({ id: CLIENT_ID, secret: CLIENT_SECRET });
    expect(token.params.has('client_secret')).toBe(false);
    expect(token.body).not.toContain(encodeURIComponent(CLIENT_SECRET));

    expect(token.params.get('grant_type')).toBe('authorization_code');
    expect(token.params.get('code')).toBe(authorize.code);
    expect(token.params.get('redirect_uri')).toBe(`${app.baseURL}/callback`);
    const verifier = token.params.get('code_verifier');
    expect(verifier).toMatch(/^[A-Za-z0-9\-._~]{43,128}$/);
    expect(s256(verifier!)).toBe(challenge);
  });

  test('the process keeps serving: after a fault, a normal login through the same provider succeeds', async () => {
    provider.behaviour.token = 'hang';
    await failingCallback(504, 'provider_timeout');

    provider.reset();
    const browser = new Browser();
    const url = await callbackUrl(browser, app, provider);
    const landed = await browser.request(url);
    expect(landed.status).toBe(302);
    expect(landed.headers.get('location')).toBe('/');
    expect(landed.headers.getSetCookie().some((c) => /^oidc_session=[^;]+/.test(c))).toBe(true);
    expect(await browser.cookie(app.baseURL, 'oidc_session')).toMatch(/^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expectNoLeak(landed, provider);

    const me = await browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({
      iss: provider.issuer,
      aud: CLIENT_ID,
      sub: 'mallory',
      name: 'Mallory Hostile',
      email: 'mallory@example.test',
    });
    expect(provider.requests.token).toBe(1);
  });
});
