/**
 * A real OpenID Provider (`oidc-provider`, via the example app's development provider) and an
 * app using the middleware, each on its own localhost port, with real HTTP between them.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, expect } from '@jest/globals';
import express, { type Express } from 'express';
import session, { MemoryStore } from 'express-session';
import request from 'supertest';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { createApp } from '../../example-app/app.js';
import { startDevProvider, type DevClient, type DevProvider } from '../../example-app/dev-provider.js';
import signature from 'cookie-signature';
import { createHash } from 'node:crypto';
import { Sealer } from '../../lib/session/seal.js';
import type { Transaction } from '../../lib/transaction/transaction.js';
import { Browser, type Page } from './browser.js';
import { authCallback } from '../../lib/index.js';
import { errorAsJson } from './error-handler.js';
import { closeServer, listen } from './http-server.js';

export const CLIENT_ID = 'test-app';
export const CLIENT_SECRET = 'test-app-client-secret-0123456789abcdef';
export const SECRET = 'a-test-secret-of-at-least-32-characters-0123456789';
export const SESSION_SECRET = 'express-session-test-secret';

export interface Testbed {
  provider: DevProvider;
  /** The app's base URL, e.g. `http://localhost:51234`. */
  baseURL: string;
  app: Express;
  server: Server;
  /** The authCallback() options the app was built with. */
  auth: AuthCallbackConfig;
  /** The app's express-session store. */
  store: MemoryStore;
  close(): Promise<void>;
}

export interface TestbedOptions {
  /** authCallback() options over the defaults (issuer, clientId, clientSecret, baseURL, secret). */
  auth?: Partial<AuthCallbackConfig>;
  /** Client registration over the default (confidential, client_secret_basic). */
  client?: Partial<DevClient>;
  /** oidc-provider configuration over the development provider's. */
  providerConfiguration?: Record<string, unknown>;
  /**
   * The app's `baseURL` is `https://localhost:<port>` while it listens on plain http, as behind a
   * TLS-terminating proxy: the provider redirects to https, and tests request the http URL.
   */
  behindTlsProxy?: boolean;
  /** A path the app's `baseURL` ends with, e.g. `/auth` when the package is mounted there. */
  basePath?: string;
  /** Builds the app instead of the example app (whose pages the tests use by default). */
  build?: (auth: AuthCallbackConfig) => Express;
}

export async function startTestbed(options: TestbedOptions = {}): Promise<Testbed> {
  const server = createServer();
  const port = await listen(server);
  const baseURL = `http://localhost:${port}`;
  const callbackPath = options.auth?.routes?.callback ?? '/callback';
  const publicURL = (options.behindTlsProxy ? baseURL.replace(/^http:/, 'https:') : baseURL) + (options.basePath ?? '');
  const provider = await startDevProvider({
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [`${publicURL}${callbackPath}`],
      post_logout_redirect_uris: [publicURL],
      ...options.client,
    }],
    ...(options.providerConfiguration && { configuration: options.providerConfiguration }),
  });
  const auth: AuthCallbackConfig = {
    issuer: provider.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    baseURL: publicURL,
    secret: SECRET,
    ...options.auth,
  };
  const store = new MemoryStore();
  const app = options.build ? options.build(auth) : createApp({ auth, sessionSecret: SESSION_SECRET, store });
  server.on('request', app);
  return {
    provider,
    baseURL,
    app,
    server,
    auth,
    store,
    async close() {
      await closeServer(server);
      await provider.close();
    },
  };
}

/** A {@link Testbed} shared by the tests of a file (or `describe` block). */
export interface SharedTestbed extends Testbed {
  /** Requests the provider's token endpoint answered, successful or not, since the current test began. */
  tokenRequests: number;
}

/**
 * Starts a testbed before the tests of the file (or of the `describe` block it is called in) and
 * closes it after them; counts the requests its provider's token endpoint answers, from zero for
 * each test. The returned object reads through to the testbed once it has started.
 */
export function useTestbed(options: TestbedOptions = {}): SharedTestbed {
  let bed: Testbed | undefined;
  const started = (): Testbed => {
    if (bed === undefined) throw new Error('the testbed starts in beforeAll: use it in a test or a hook');
    return bed;
  };
  const shared: SharedTestbed = {
    get provider() { return started().provider; },
    get baseURL() { return started().baseURL; },
    get app() { return started().app; },
    get server() { return started().server; },
    get auth() { return started().auth; },
    get store() { return started().store; },
    close: () => started().close(),
    tokenRequests: 0,
  };
  beforeAll(async () => {
    bed = await startTestbed(options);
    bed.provider.provider.on('grant.success', () => { shared.tokenRequests++; });
    bed.provider.provider.on('grant.error', () => { shared.tokenRequests++; });
  });
  afterAll(async () => {
    await bed?.close();
  });
  beforeEach(() => {
    shared.tokenRequests = 0;
  });
  return shared;
}

/**
 * Signs in through the provider's development login form and consent page, as a user would.
 *
 * @param start - where the browser starts, e.g. `${baseURL}/login`
 * @returns the page the browser lands on after the callback
 */
export async function signIn(browser: Browser, start: string, user = 'alice'): Promise<Page> {
  const loginForm = await browser.visit(start);
  if (!/name="login"/.test(loginForm.body)) throw new Error(`expected the provider's login form, got ${loginForm.status} at ${loginForm.url}`);
  const consent = await browser.submit(loginForm, { login: user, password: 'any-password' });
  if (!/name="prompt" value="consent"/.test(consent.body)) return consent;
  return browser.submit(consent);
}

/** Starts a login and stops at the provider: the authorization request the app redirected to. */
export async function startLogin(browser: Browser, start: string): Promise<{ authorizationUrl: URL; state: string }> {
  const res = await browser.request(start);
  if (res.status !== 302) throw new Error(`expected a redirect from ${start}, got ${res.status}`);
  const authorizationUrl = new URL(res.headers.get('location')!);
  return { authorizationUrl, state: authorizationUrl.searchParams.get('state')! };
}

/**
 * Signs in at the provider but stops before the callback: the authorization response URL the
 * provider sent the browser to (carrying a real authorization code), not yet requested.
 */
export async function authorizationResponse(browser: Browser, start: string, user = 'alice'): Promise<URL> {
  let page = await browser.request(start);
  for (let hop = 0; hop < 20; hop++) {
    const location = page.headers.get('location');
    if (page.status >= 300 && page.status < 400 && location) {
      const next = new URL(location, page.url);
      if (next.searchParams.has('code') || next.searchParams.has('error')) return next;
      page = await browser.request(next.href);
    } else if (/name="login"/.test(page.body)) {
      page = await browser.submitOnce(page, { login: user, password: 'any-password' });
    } else if (/name="prompt" value="consent"/.test(page.body)) {
      page = await browser.submitOnce(page);
    } else {
      throw new Error(`unexpected page ${page.status} at ${page.url}`);
    }
  }
  throw new Error('no authorization response');
}

/** The express-session id inside a signed `connect.sid` cookie value. */
export function sessionIdOf(cookieValue: string): string | false {
  return signature.unsign(decodeURIComponent(cookieValue).replace(/^s:/, ''), SESSION_SECRET);
}

/** The express-session data the store holds for `id`, or undefined. */
export function storedSession(store: MemoryStore, id: string): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve, reject) => {
    store.get(id, (err, data) => (err ? reject(err) : resolve(data as Record<string, unknown> | undefined)));
  });
}

/**
 * The pending login `browser` holds for `state`: its sealed transaction cookie (see
 * lib/transaction/transaction-cookie.ts), opened with the transaction key of `secret`; `undefined` when none.
 */
export async function pendingLogin(browser: Browser, baseURL: string, state: string, secret = SECRET, callbackPath = '/callback'): Promise<Transaction | undefined> {
  const suffix = `_tx_${createHash('sha256').update(state).digest('base64url').slice(0, 16)}`;
  const cookie = (await browser.jar.getCookies(`${baseURL}${callbackPath}`)).find((c) => c.key.endsWith(suffix));
  return cookie && new Sealer([secret], 'transaction').unseal<{ state: string; transaction: Transaction }>(cookie.value)?.payload.transaction;
}

/** The names of the pending-login cookies `browser` would send to the callback. */
export async function pendingLoginCookies(browser: Browser, baseURL: string, callbackPath = '/callback'): Promise<string[]> {
  return (await browser.jar.getCookies(`${baseURL}${callbackPath}`)).map((c) => c.key).filter((name) => name.includes('_tx_'));
}

/** How an API client asks: for JSON. */
const JSON_ACCEPT = { accept: 'application/json' };

/** What tests of one testbed do with it, bound to `bed`. */
export interface TestbedTools {
  /** A bare app (express-session, authCallback() over `base` with `auth` over it, `GET /` answering `req.user`, errors as JSON) for supertest. */
  appWith(auth: Partial<AuthCallbackConfig>, base?: AuthCallbackConfig): Express;
  /** `/api/me` as JSON in `browser` (401 when signed out). */
  apiMe(browser: Browser, baseURL?: string): Promise<Page>;
  /** `req.user` is undefined: no session cookie in the browser, and the guarded API answers 401. */
  expectNotSignedIn(browser: Browser): Promise<void>;
  /** Ends the app's session in `browser` only: the provider's own session cookies stay. */
  dropAppSession(browser: Browser): Promise<void>;
}

export function testbedTools(bed: { baseURL: string; auth: AuthCallbackConfig }): TestbedTools {
  const apiMe = (browser: Browser, baseURL = bed.baseURL): Promise<Page> => browser.request(`${baseURL}/api/me`, { headers: JSON_ACCEPT });
  return {
    appWith(auth, base = bed.auth) {
      const app = express();
      app.use(session({ secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
      app.use(authCallback({ ...base, ...auth }));
      app.get('/', (req, res) => { res.json({ user: req.user ?? null }); });
      app.use(errorAsJson);
      return app;
    },
    apiMe,
    async expectNotSignedIn(browser) {
      expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeUndefined();
      expect((await apiMe(browser)).status).toBe(401);
    },
    async dropAppSession(browser) {
      await browser.jar.setCookie('oidc_session=; Max-Age=0; Path=/', bed.baseURL);
      expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeUndefined();
    },
  };
}

/** The authorization request that `path` of `app` (a login route URL) redirects to, asked through supertest. */
export async function authorizationUrlOf(app: Express, path: string): Promise<URL> {
  const res = await request(app).get(path);
  expect(res.status).toBe(302);
  return new URL(res.headers.location as string);
}

/** A whole login of alice through the provider: signIn from /login lands on `/`, then /api/me answers 200 with the user. */
export async function expectLoginCompletes(bed: { baseURL: string; provider: { issuer: string } }): Promise<void> {
  const browser = new Browser();
  const landed = await signIn(browser, `${bed.baseURL}/login`, 'alice');
  expect(landed.url).toBe(`${bed.baseURL}/`);
  expect(landed.status).toBe(200);
  const me = await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
  expect(me.status).toBe(200);
  expect(JSON.parse(me.body)).toMatchObject({ sub: 'alice', iss: bed.provider.issuer, aud: CLIENT_ID });
}

/**
 * A login whose client the provider refuses at the token endpoint: the callback answers 502
 * `invalid_client` (JSON), sets no session cookie, and the browser holds none. The answer and the
 * browser, for what else a test checks.
 */
export async function refusedClientLogin(bed: { baseURL: string }): Promise<{ res: Page; browser: Browser }> {
  const browser = new Browser();
  const response = await authorizationResponse(browser, `${bed.baseURL}/login`);
  const res = await browser.request(response.href, { headers: JSON_ACCEPT });
  expect(res.status).toBe(502);
  expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_client' });
  expect(res.headers.getSetCookie().some((c) => c.startsWith('oidc_session='))).toBe(false);
  expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeUndefined();
  return { res, browser };
}
