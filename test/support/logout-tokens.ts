/**
 * Back-channel logout tokens made by hand (OpenID Connect Back-Channel Logout 1.0), for the
 * tests of lib/logout/backchannel-logout.ts (test/logout/backchannel-logout*.test.ts): the
 * hostile provider of test/support/hostile-provider.ts publishes a key of these tests beside its
 * own, the example app signs in through it with the ID token claims a test chooses, and logout
 * tokens signed with that key are POSTed to the app's route.
 *
 * {@link useLogoutTokenProvider} starts the provider for a test file; {@link hostile},
 * {@link strayKey} are the current ones.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect } from '@jest/globals';
import { MemoryStore } from 'express-session';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { createApp } from '../../example-app/app.js';
import { Browser } from './browser.js';
import { startHostileProvider, type HostileProvider } from './hostile-provider.js';
import { serveApp } from './http-server.js';
import { CLIENT_ID, CLIENT_SECRET, SECRET, SESSION_SECRET } from './testbed.js';

/** The app's back-channel logout route. */
export const ROUTE = '/backchannel-logout';
/** The `events` member of a logout token (§2.4). */
export const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const MINTED_KID = 'test-minted-logout';
const JSON_ACCEPT = { accept: 'application/json' };
/** A stack trace, or a path of this machine, in an answer. */
export const STACK_TRACE = /\n\s+at |node_modules|\/work\/|\.ts:\d+/;

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** What a logout token names: a session (`sid`), a user (`sub`), or both. */
export interface Target {
  sub?: string;
  sid?: string;
}

export interface RunningApp {
  baseURL: string;
  store: MemoryStore;
  close(): Promise<void>;
}

export async function answer(res: Response): Promise<Answer> {
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** POSTs `body` to the app's back-channel logout route, form-encoded unless `contentType` says otherwise. */
export async function postLogout(baseURL: string, body: string, contentType = 'application/x-www-form-urlencoded'): Promise<Answer> {
  return answer(await fetch(`${baseURL}${ROUTE}`, { method: 'POST', headers: { 'content-type': contentType }, body, redirect: 'manual' }));
}

export function form(token: string): string {
  return new URLSearchParams({ logout_token: token }).toString();
}

/** `/api/me` as `browser` (JSON: 401 when signed out). */
export async function apiMe(browser: Browser, baseURL: string): Promise<Answer> {
  return browser.request(`${baseURL}/api/me`, { headers: JSON_ACCEPT });
}

/** The §2.8 error answer: 400, `invalid_request`, not cached, no stack trace. */
export function expectRefused(res: Answer, token?: string): void {
  expect(res.status).toBe(400);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const body = JSON.parse(res.body) as { error: string; error_description: unknown };
  expect(body.error).toBe('invalid_request');
  expect(typeof body.error_description).toBe('string');
  expect(res.body).not.toMatch(STACK_TRACE);
  if (token !== undefined) expect(res.body).not.toContain(token);
}

/** The §2.8 success answer. */
export function expectAccepted(res: Answer): void {
  expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: '' });
  expect(res.headers.get('cache-control')).toBe('no-store');
}

/** Number of records in an express-session store (its own sessions and this package's records). */
export function storeSize(store: MemoryStore): Promise<number> {
  return new Promise((resolve, reject) => {
    store.length((err, length) => (err ? reject(err) : resolve(length ?? 0)));
  });
}

export let hostile: HostileProvider;
/** The key this file signs logout tokens with, published in the hostile provider's JWKS. */
let mintKey: CryptoKey;
/** A key of the same kind that the provider never published. */
export let strayKey: CryptoKey;

/** Starts the hostile provider, publishing the key {@link mint} signs with, for the tests of the file. */
export function useLogoutTokenProvider(): void {
  beforeAll(async () => {
    hostile = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    const pair = await generateKeyPair('RS256');
    mintKey = pair.privateKey;
    strayKey = (await generateKeyPair('RS256')).privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: MINTED_KID, use: 'sig', alg: 'RS256' };
    hostile.behaviour.overrides.jwks = (_req, res) => {
      res.type('application/jwk-set+json').send(JSON.stringify({ keys: [...hostile.jwks(), jwk] }));
    };
  });
  afterAll(async () => {
    await hostile.close();
  });
}

/** An app (the example app) with the back-channel logout route unless `auth` says otherwise, on its own port. */
export async function startHostileApp(auth: Partial<AuthCallbackConfig> = { routes: { backchannelLogout: ROUTE } }, store = new MemoryStore()): Promise<RunningApp> {
  const { baseURL, close } = await serveApp((url) => createApp({
    auth: { issuer: hostile.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL: url, secret: SECRET, ...auth },
    sessionSecret: SESSION_SECRET,
    store,
  }));
  return { baseURL, store, close };
}

/** Signs in through the hostile provider with ID token claims over its own (e.g. `{ sub, sid }`). */
export async function signInWith(app: RunningApp, claims: Record<string, unknown>): Promise<Browser> {
  hostile.behaviour.claims = claims;
  const browser = new Browser();
  try {
    const landing = await browser.visit(`${app.baseURL}/login`);
    expect(landing.status).toBe(200);
  } finally {
    hostile.behaviour.claims = {};
  }
  const me = await apiMe(browser, app.baseURL);
  expect(me.status).toBe(200);
  expect(JSON.parse(me.body)).toMatchObject(claims);
  return browser;
}

/** The claims of a valid logout token for `target` (iat now, exp in 2 minutes, a fresh jti). */
export function logoutClaims(target: Target | JWTPayload): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { iss: hostile.issuer, aud: CLIENT_ID, iat: now, exp: now + 120, jti: randomUUID(), events: { [EVENT]: {} }, ...target };
}

/** A logout token signed RS256 with the published key (or `key`), under `header` over `{ alg, kid, typ: 'logout+jwt' }`. */
export function mint(claims: JWTPayload, header: Partial<JWTHeaderParameters> = {}, key: CryptoKey = mintKey): Promise<string> {
  const protectedHeader = { alg: 'RS256', kid: MINTED_KID, typ: 'logout+jwt', ...header } as JWTHeaderParameters;
  if (protectedHeader.typ === undefined) delete protectedHeader.typ;
  return new SignJWT(claims).setProtectedHeader(protectedHeader).sign(key);
}

/** An unsecured JWS (`alg: none`, empty signature). */
export function unsigned(claims: JWTPayload): string {
  const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${encode({ alg: 'none', typ: 'logout+jwt' })}.${encode(claims)}.`;
}
