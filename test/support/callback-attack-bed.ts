/**
 * The set-up of the attacks on the callback route (test/callback/callback-route.*.test.ts,
 * test/callback/authorization-response.test.ts, test/provider/oidc/translate-error.test.ts): the
 * example app over real HTTP against the hostile provider of test/support/hostile-provider.ts, a
 * fresh app per test (discovery is cached per app, so each test's overrides are seen), and what
 * every test checks.
 *
 * Every rejection must: answer 4xx (bad authorization response) or 502/504 (bad or absent
 * provider answer); set no session cookie; leave `req.user` undefined, or an existing session
 * exactly as it was; use up the pending login; put no token, code or secret in the body nor in
 * what the app logs; and leave the app serving.
 *
 * {@link useCallbackAttackBed} starts it for a test file; {@link provider} and {@link app} are
 * the current ones.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from '@jest/globals';
import type { Express } from 'express';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { appSecrets, callbackUrl as loginCallbackUrl, signInAt, startExampleApp, type AppClient, type AppServer } from './app-server.js';
import { Browser, type Page } from './browser.js';
import { startHostileProvider, type HostileProvider, type Override } from './hostile-provider.js';
import { jsonError, leaksInLogs, leaksInPage, sessionCookiesSet } from './leaks.js';
import { captureConsoleErrors, type ConsoleErrors } from './log-guard.js';

export const CLIENT_ID = 'rp:attack test';
const CLIENT_SECRET = 'attack-secret:with+plus&amp=equals/%25 and space';
const SECRET = 'another-test-secret-of-at-least-32-characters-0123';
const SESSION_SECRET = 'express-session-attack-test-secret';
/** authCallback()'s `httpTimeout`, in seconds. */
export const HTTP_TIMEOUT = 0.5;
/** A generous upper bound for any answer, in milliseconds: ten times `httpTimeout`. */
export const ANSWER_BOUND_MS = 5000;
export const JSON_ACCEPT = { accept: 'application/json' };
const CLIENT: AppClient = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, secret: SECRET, sessionSecret: SESSION_SECRET, httpTimeout: HTTP_TIMEOUT };
/** Headers an attacker (or a misconfigured proxy) controls. */
export const HOSTILE_HOST_HEADERS = {
  host: 'evil.example',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'https',
  'x-forwarded-for': '203.0.113.9',
};
const MINTED_KID = 'test-minted';

type App = AppServer;

export let provider: HostileProvider;
/** A fresh example app per test, so that discovery (cached per app) sees each test's overrides. */
export let app: App;
/** Every console.error() call of the current test (the example app logs each 5xx). */
let consoleErrors: ConsoleErrors;

/** The example app, on its own 127.0.0.1 port, against the hostile provider; `configure` may change the built app. */
export function startApp(options: { auth?: Partial<AuthCallbackConfig>; configure?: (built: Express) => void } = {}): Promise<App> {
  return startExampleApp(CLIENT, provider.issuer, options.auth, options.configure);
}

/**
 * Starts the hostile provider for the test file and a fresh example app for each test, mutes
 * and records what the app logs, and checks after each test that nothing secret was logged.
 * What the app logged during the current test is the returned record's `calls`.
 */
export function useCallbackAttackBed(): ConsoleErrors {
  consoleErrors = captureConsoleErrors();
  beforeAll(async () => {
    provider = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  });
  afterAll(async () => {
    await provider.close();
  });
  beforeEach(async () => {
    provider.reset();
    app = await startApp();
  });
  afterEach(async () => {
    try {
      expectCleanLogs();
    } finally {
      await app.close();
    }
  });
  return consoleErrors;
}

// ---------------------------------------------------------------------------------------------
// What every test checks

/** Every value that must stay secret: ours, and every code, token and code_verifier of the provider. */
function secrets(): string[] {
  const fromTokenRequests = provider.tokenRequests.flatMap((r) => [
    r.params.get('code_verifier') ?? '',
    /^Basic (.+)$/.exec(r.headers.authorization ?? '')?.[1] ?? '',
  ]);
  return [...appSecrets(CLIENT), ...provider.secrets(), ...fromTokenRequests]
    .filter((s) => s.length > 0);
}

/** Nothing secret in an answer's body, and no stack trace. */
export function expectNoLeak(page: Page): void {
  expect(leaksInPage(page, secrets())).toEqual([]);
}

/** Nothing secret in anything the app logged during this test, read as deep as it goes. */
function expectCleanLogs(): void {
  expect(leaksInLogs(consoleErrors.calls, secrets())).toEqual([]);
}

/** A refused callback: the status and code, no session cookie set, nothing secret in the body. */
export function expectRefused(page: Page, status: number, code: string): void {
  expect({ status: page.status, error: jsonError(page).error }).toEqual({ status, error: code });
  expect(sessionCookiesSet(page)).toEqual([]);
  expectNoLeak(page);
}

/** A browser attacked in a test: signed out, or signed in with `session` as its oidc_session cookie. */
export interface Victim {
  browser: Browser;
  session: string | undefined;
}

export const VICTIMS = [['signed out', false], ['signed in', true]] as const;

export async function victim(signedIn: boolean): Promise<Victim> {
  const browser = new Browser();
  return { browser, session: signedIn ? await signIn(browser) : undefined };
}

/** A signed-out victim is still signed out; a signed-in one still has the very same session. */
export async function expectVictimUnchanged(v: Victim, target: App = app): Promise<void> {
  expect(await v.browser.cookie(target.baseURL, 'oidc_session')).toBe(v.session);
  const me = await v.browser.request(`${target.baseURL}/api/me`, { headers: JSON_ACCEPT });
  if (v.session === undefined) {
    expect(me.status).toBe(401);
    expect(jsonError(me).error).toBe('unauthorized');
  } else {
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ iss: provider.issuer, sub: 'mallory', aud: CLIENT_ID });
  }
}

/**
 * `url` again in a browser that is signed in: its login is used up, so it is a stale callback
 * (the back button, a replay): 302 to /, the token endpoint not called, no session cookie set nor
 * cleared, nothing secret in the answer.
 */
export async function expectUsedUpWhileSignedIn(browser: Browser, url: string): Promise<void> {
  const tokens = provider.requests.token;
  const again = await browser.request(url, { headers: JSON_ACCEPT });
  expect({ status: again.status, location: again.headers.get('location') }).toEqual({ status: 302, location: '/' });
  expect(sessionCookiesSet(again)).toEqual([]);
  expectNoLeak(again);
  expect(provider.requests.token).toBe(tokens);
}

/** `url` again in `browser`: its login is used up (400 missing_transaction), and the token endpoint is not called. */
export async function expectUsedUp(browser: Browser, url: string): Promise<void> {
  const tokens = provider.requests.token;
  const again = await browser.request(url, { headers: JSON_ACCEPT });
  expectRefused(again, 400, 'missing_transaction');
  expect(provider.requests.token).toBe(tokens);
}

// ---------------------------------------------------------------------------------------------
// Driving a login

/** GET /login in `browser`: the authorization request it is sent to. */
export async function startLogin(browser: Browser, target: App = app, query = ''): Promise<URL> {
  const login = await browser.request(`${target.baseURL}/login${query}`);
  expect(login.status).toBe(302);
  const authorizationUrl = new URL(login.headers.get('location')!);
  expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(`${provider.issuer}/authorize`);
  return authorizationUrl;
}

/** The provider's answer to an authorization request (it signs the user in at once): the callback URL, not yet requested. */
export async function authorize(browser: Browser, authorizationUrl: URL): Promise<URL> {
  const answer = await browser.request(authorizationUrl.href);
  expect(answer.status).toBe(302);
  return new URL(answer.headers.get('location')!, answer.url);
}

/** A login up to the callback the provider sends the browser to, not yet requested. */
export function callbackUrl(browser: Browser, target: App = app, query = ''): Promise<URL> {
  return loginCallbackUrl(browser, target, provider, `/login${query}`);
}

/** A whole login; the oidc_session cookie it leaves. */
export function signIn(browser: Browser, target: App = app): Promise<string> {
  return signInAt(browser, target, provider);
}

/** The process keeps serving: a normal login in a new browser succeeds. */
export async function expectNormalLogin(target: App = app): Promise<void> {
  const browser = new Browser();
  await signIn(browser, target);
  const me = await browser.request(`${target.baseURL}/api/me`, { headers: JSON_ACCEPT });
  expect(me.status).toBe(200);
  expect(JSON.parse(me.body)).toMatchObject({ iss: provider.issuer, sub: 'mallory', aud: CLIENT_ID });
}

/**
 * One request to `target` through node:http, so that the path is sent byte for byte and `Host`
 * can be set (fetch can do neither); cookies from and into `browser`'s jar.
 */
export async function rawRequest(
  browser: Browser,
  target: App,
  path: string,
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<Page> {
  const url = `${target.baseURL}${path}`;
  const headers: Record<string, string> = { ...JSON_ACCEPT, ...options.headers };
  const cookie = await browser.jar.getCookieString(url);
  if (cookie) headers.cookie = cookie;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = String(Buffer.byteLength(options.body));
  }
  const answer = await new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port: new URL(target.baseURL).port,
      path,
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
  const answerHeaders = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) answerHeaders.append(name, v);
  }
  for (const setCookie of answerHeaders.getSetCookie()) await browser.jar.setCookie(setCookie, url, { ignoreError: true });
  return { url, status: answer.status, headers: answerHeaders, body: answer.body };
}

// ---------------------------------------------------------------------------------------------
// Making the provider misbehave beyond its modes

/** Serves discovery as the provider's own document with `changes` over it and `removed` keys left out. */
export async function overrideDiscovery(changes: Record<string, unknown>, removed: string[] = []): Promise<void> {
  const document = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  for (const key of removed) delete document[key];
  provider.behaviour.overrides.discovery = (_req, res) => {
    res.json({ ...document, ...changes });
  };
}

export type Mint = (claims: Record<string, unknown>) => Promise<string>;

/**
 * Publishes a key of the test's own in the provider's JWKS (beside the provider's) and returns
 * a function that signs ID tokens with it, as the provider would. Call it before the app's first
 * login: openid-client caches the JWKS.
 */
export async function mintIdTokens(): Promise<Mint> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const published = (await (await fetch(`${provider.issuer}/jwks`)).json()) as { keys: JWK[] };
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: MINTED_KID, use: 'sig', alg: 'RS256' };
  provider.behaviour.overrides.jwks = (_req, res) => {
    res.type('application/jwk-set+json').send(JSON.stringify({ keys: [...published.keys, jwk] }));
  };
  return async (claims) => {
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: MINTED_KID, typ: 'JWT' }).sign(privateKey);
    provider.issued.idTokens.push(token);
    return token;
  };
}

/** A random token-like value, registered as issued so the leak checks look for it. */
export function issuedAccessToken(): string {
  const token = randomBytes(24).toString('base64url');
  provider.issued.accessTokens.push(token);
  return token;
}

/**
 * A token endpoint that does not check PKCE (nor the client): for any code the provider issued it
 * answers a valid token response whose ID token carries the nonce of that code's own /authorize
 * request, as a provider binds it. `shape` may change the response before it is sent.
 */
export function pkceIgnoringTokenEndpoint(mint: Mint, shape: (body: Record<string, unknown>) => unknown = (body) => body): Override {
  return async (req, res) => {
    const code = new URLSearchParams(String(req.body)).get('code');
    const record = provider.authorizeRequests.find((r) => r.code !== undefined && r.code === code);
    if (record === undefined) {
      res.status(400).json({ error: 'invalid_grant' });
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    const nonce = record.params.get('nonce');
    const idToken = await mint({
      iss: provider.issuer, sub: 'mallory', aud: CLIENT_ID, iat: now, exp: now + 3600, ...(nonce !== null && { nonce }),
    });
    res.set('Cache-Control', 'no-store').json(shape({ access_token: issuedAccessToken(), token_type: 'Bearer', expires_in: 3600, id_token: idToken }));
  };
}
