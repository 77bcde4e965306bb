/**
 * The app side of the provider adapter tests (test/provider/adapters/): a small app on its own
 * port (express-session on a MemoryStore, authCallback({ adapter, … }), `GET /me` behind
 * requireAuth(), errors answered as `{ code, message }` with a 5xx logged first), driven over real
 * HTTP with a cookie jar against a local fake of the provider; and what the tests check of it:
 * nothing secret in an answer nor in what the app logged.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from '@jest/globals';
import express, { type Express, type Request } from 'express';
import session, { MemoryStore } from 'express-session';
import { authCallback, requireAuth, type AuthCallbackConfig } from 'express-oidc-callback';
import type { Browser, Page } from './browser.js';
import { errorAsJsonLogged } from './error-handler.js';
import { serveApp } from './http-server.js';
import { leaksInPage, sessionCookiesSet } from './leaks.js';
import { guardLogs, type ConsoleErrors } from './log-guard.js';

const JSON_ACCEPT = { accept: 'application/json' };

export interface AdapterApp {
  baseURL: string;
  /** The app's express-session store. */
  store: MemoryStore;
  close(): Promise<void>;
}

export interface AdapterAppOptions {
  /** authCallback()'s options, given the app's `baseURL` (where a test registers its client at the fake). */
  auth: (baseURL: string) => AuthCallbackConfig;
  /** express-session's secret. */
  sessionSecret: string;
  /** What `GET /me` (behind requireAuth()) answers. */
  me: (req: Request) => unknown;
  /** Changes the built app before it serves (settings, more routes). */
  configure?: (app: Express) => void;
}

/** What must stay secret in the apps' answers and logs: set by {@link useAdapterApps}. */
let secrets: () => readonly string[] = () => [];
const open: AdapterApp[] = [];

/**
 * For the tests of a file: starts the provider's fake with `startFake` before them (handed to
 * `started`, reset before each test, closed after them), mutes and records what the apps log,
 * checks it after each test for leaks of `ourSecrets()` ({@link guardLogs}), and closes the apps
 * the test started. What the apps logged during the current test is the returned record's `calls`.
 */
export function useAdapterApps<Fake extends { reset(): void; close(): Promise<void> }>(
  startFake: () => Promise<Fake>,
  started: (fake: Fake) => void,
  ourSecrets: () => readonly string[],
): ConsoleErrors {
  secrets = ourSecrets;
  const consoleErrors = guardLogs(ourSecrets);
  let fake: Fake | undefined;
  beforeAll(async () => {
    fake = await startFake();
    started(fake);
  });
  afterAll(async () => {
    await fake?.close();
  });
  beforeEach(() => {
    fake?.reset();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((app) => app.close()));
  });
  return consoleErrors;
}

/** An app on its own port, closed after the test. */
export async function startAdapterApp(options: AdapterAppOptions): Promise<AdapterApp> {
  const store = new MemoryStore();
  const { baseURL, close } = await serveApp((url) => {
    const app = express();
    app.use(session({ store, secret: options.sessionSecret, resave: false, saveUninitialized: false }));
    app.use(authCallback(options.auth(url)));
    app.get('/me', requireAuth(), (req, res) => {
      res.json(options.me(req));
    });
    options.configure?.(app);
    app.use(errorAsJsonLogged);
    return app;
  });
  const started: AdapterApp = { baseURL, store, close };
  open.push(started);
  return started;
}

/** A login up to the provider's answer: the authorization request the app sent, and the callback URL it redirected to (not yet requested). */
export async function authorize(app: AdapterApp, browser: Browser, query = ''): Promise<{ authorizationUrl: URL; callbackUrl: URL }> {
  const start = await browser.request(`${app.baseURL}/login${query}`);
  expect(start.status).toBe(302);
  const authorizationUrl = new URL(start.headers.get('location')!);
  const answer = await browser.request(authorizationUrl.href);
  expect(answer.status).toBe(302);
  return { authorizationUrl, callbackUrl: new URL(answer.headers.get('location')!) };
}

/** The callback's answer for a login the provider answered as the test made it (an error, here). */
export async function failedCallback(app: AdapterApp, browser: Browser): Promise<Page> {
  const { callbackUrl } = await authorize(app, browser);
  return browser.request(callbackUrl.href);
}

/** The `code` of the app's JSON error answer. */
export function codeOf(page: Page): string {
  expect(page.headers.get('content-type')).toMatch(/^application\/json/);
  return (JSON.parse(page.body) as { code: string }).code;
}

/** What `/me` answers `browser` (200). */
export async function meOf<T>(app: AdapterApp, browser: Browser): Promise<T> {
  const page = await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT });
  expect(page.status).toBe(200);
  return JSON.parse(page.body) as T;
}

/** The refusal: its status and code, no session cookie set, nothing secret or a stack in the body, and `/me` still 401. */
export async function expectRefused(app: AdapterApp, browser: Browser, page: Page, status: number, code: string): Promise<void> {
  expect({ status: page.status, code: codeOf(page) }).toEqual({ status, code });
  expect(sessionCookiesSet(page)).toEqual([]);
  expect(leaksInPage(page, secrets())).toEqual([]);
  const after = await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT });
  expect(after.status).toBe(401);
}
