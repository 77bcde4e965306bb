/**
 * `routes.backchannelLogout`: OpenID Connect Back-Channel Logout 1.0, over real HTTP.
 *
 * - End to end with a real OpenID Provider (`oidc-provider`, back-channel logout on): the user
 *   ends the session at the provider, the provider POSTs a logout token to the app, and a copy
 *   of the app's session cookie taken before stops working.
 * - Validation (§2.4, §2.6, §4.1) and the answer (§2.8), with logout tokens made by hand against
 *   the hostile provider of test/support/hostile-provider.ts, which publishes this file's key.
 *   Every refused request names a signed-in session of its own, which must survive it (no mark,
 *   no jti kept); the same token without its defect then ends that session.
 * - What a mark ends (§2.7): by `sid`, that session only; by `sub` alone, the user's earlier
 *   sessions, not a later login.
 * - Without the option: no route, and no store read on guarded requests.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import express from 'express';
import { MemoryStore } from 'express-session';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTHeaderParameters, type JWTPayload } from 'jose';
import { createApp } from '../example-app/app.js';
import { startDevProvider, type DevClient, type DevProvider } from '../example-app/dev-provider.js';
import { Browser } from './support/browser.js';
import { startHostileProvider, type HostileProvider } from './support/hostile-provider.js';
import { CLIENT_ID, CLIENT_SECRET, SECRET, SESSION_SECRET, signIn } from './support/testbed.js';

const ROUTE = '/backchannel-logout';
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const MINTED_KID = 'test-minted-logout';
const JSON_ACCEPT = { accept: 'application/json' };
const HTML_ACCEPT = { accept: 'text/html' };
/** A stack trace, or a path of this machine, in an answer. */
const STACK_TRACE = /\n\s+at |node_modules|\/work\/|\.ts:\d+/;
/** Every timer API but `Date`: with these left real, `jest.useFakeTimers` only stops the clock. */
const ALL_BUT_DATE = [
  'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame',
  'requestIdleCallback', 'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval',
  'setTimeout', 'clearTimeout',
] as const;

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** What a logout token names: a session (`sid`), a user (`sub`), or both. */
interface Target {
  sub?: string;
  sid?: string;
}

interface RunningApp {
  baseURL: string;
  store: MemoryStore;
  close(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closer(server: Server): () => Promise<void> {
  return () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

async function answer(res: Response): Promise<Answer> {
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** POSTs `body` to the app's back-channel logout route, form-encoded unless `contentType` says otherwise. */
async function postLogout(baseURL: string, body: string, contentType = 'application/x-www-form-urlencoded'): Promise<Answer> {
  return answer(await fetch(`${baseURL}${ROUTE}`, { method: 'POST', headers: { 'content-type': contentType }, body, redirect: 'manual' }));
}

function form(token: string): string {
  return new URLSearchParams({ logout_token: token }).toString();
}

/** `/api/me` as `browser` (JSON: 401 when signed out). */
async function apiMe(browser: Browser, baseURL: string): Promise<Answer> {
  return browser.request(`${baseURL}/api/me`, { headers: JSON_ACCEPT });
}

/** The §2.8 error answer: 400, `invalid_request`, not cached, no stack trace. */
function expectRefused(res: Answer, token?: string): void {
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
function expectAccepted(res: Answer): void {
  expect({ status: res.status, body: res.body }).toEqual({ status: 200, body: '' });
  expect(res.headers.get('cache-control')).toBe('no-store');
}

/** Number of records in an express-session store (its own sessions and this package's records). */
function storeSize(store: MemoryStore): Promise<number> {
  return new Promise((resolve, reject) => {
    store.length((err, length) => (err ? reject(err) : resolve(length ?? 0)));
  });
}

/** Waits until the next whole second of the clock has just begun. */
function untilNextSecond(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 10));
}

/** Runs `fn` with `Date` stopped at the current time (timers stay real); `clock.set(s)` moves it. */
async function withStoppedClock<T>(fn: (clock: { now(): number; set(seconds: number): void }) => Promise<T>): Promise<T> {
  const start = Math.floor(Date.now() / 1000) * 1000 + 100;
  jest.useFakeTimers({ doNotFake: [...ALL_BUT_DATE], now: start });
  try {
    return await fn({
      now: () => Math.floor(Date.now() / 1000),
      set: (seconds) => jest.setSystemTime(seconds * 1000 + 100),
    });
  } finally {
    jest.useRealTimers();
  }
}

// ---------------------------------------------------------------------------------------------
// End to end, against oidc-provider

describe('end to end with oidc-provider (features.backchannelLogout)', () => {
  let provider: DevProvider;
  let app: RunningApp;
  /** The status of every answer the app gave to a POST on the route. */
  const routeAnswers: number[] = [];
  /** The provider's 'backchannel.success' and 'backchannel.error' events, in order. */
  const deliveries: string[] = [];

  let restoreWarn: () => void;

  beforeAll(async () => {
    // oidc-provider warns, at its first back-channel delivery, that it cannot set up its SSRF guard under Jest.
    const { warn } = console;
    const spy = jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider ')) return;
      warn.apply(console, args);
    });
    restoreWarn = () => spy.mockRestore();
    const server = createServer();
    const baseURL = `http://localhost:${await listen(server)}`;
    const client: DevClient & { backchannel_logout_uri: string; backchannel_logout_session_required: boolean } = {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [`${baseURL}/callback`],
      post_logout_redirect_uris: [baseURL],
      backchannel_logout_uri: `${baseURL}${ROUTE}`,
      backchannel_logout_session_required: true,
    };
    provider = await startDevProvider({
      clients: [client],
      configuration: {
        features: {
          devInteractions: { enabled: true },
          backchannelLogout: { enabled: true },
          rpInitiatedLogout: {
            enabled: true,
            async logoutSource(ctx: { body: string }, logoutForm: string) {
              ctx.body = `<!doctype html><html><body>${logoutForm}<button form="op.logoutForm" name="logout" value="yes">Sign out</button></body></html>`;
            },
            async postLogoutSuccessSource(ctx: { body: string }) {
              ctx.body = '<!doctype html><html><body>Signed out</body></html>';
            },
          },
        },
      },
    });
    provider.provider.on('backchannel.success', () => deliveries.push('success'));
    provider.provider.on('backchannel.error', (_ctx: unknown, err: Error) => deliveries.push(`error: ${err.message}`));
    const auth: AuthCallbackConfig = {
      issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET, routes: { backchannelLogout: ROUTE },
    };
    const store = new MemoryStore();
    const wrapper = express();
    wrapper.use((req, res, next) => {
      if (req.method === 'POST' && req.path === ROUTE) res.on('finish', () => routeAnswers.push(res.statusCode));
      next();
    });
    wrapper.use(createApp({ auth, sessionSecret: SESSION_SECRET, store }));
    server.on('request', wrapper);
    app = { baseURL, store, close: closer(server) };
  });
  afterAll(async () => {
    restoreWarn();
    await app.close();
    await provider.close();
  });

  test('a logout at the provider ends a copied session cookie, in any browser, and a new login works (§2.5, §2.7, §2.8)', async () => {
    const browser = new Browser();
    await signIn(browser, `${app.baseURL}/login`);
    const me = await apiMe(browser, app.baseURL);
    expect(me.status).toBe(200);
    const claims = JSON.parse(me.body) as { sub: string; sid?: string };
    expect(claims.sub).toBe('alice');
    expect(typeof claims.sid).toBe('string'); // backchannel_logout_session_required: the ID token carries sid
    const cookies = await browser.jar.getCookies(app.baseURL);
    const copied = cookies.filter((c) => c.key.startsWith('oidc_session')).map((c) => `${c.key}=${c.value}`).join('; ');
    expect(copied).not.toBe('');
    const withCopy = (path: string, accept: Record<string, string>) => fetch(`${app.baseURL}${path}`, { headers: { ...accept, cookie: copied }, redirect: 'manual' });

    // The app's /logout clears its own cookie, but a copy of a cookie session still works until the provider says so.
    const confirmation = await browser.visit(`${app.baseURL}/logout`);
    expect(confirmation.url.startsWith(`${provider.issuer}/session/end`)).toBe(true);
    expect((await withCopy('/api/me', JSON_ACCEPT)).status).toBe(200);
    expect(routeAnswers).toEqual([]);

    const after = await browser.submit(confirmation, { logout: 'yes' });
    expect(after.status).toBe(200);
    expect(deliveries).toEqual(['success']);
    expect(routeAnswers).toEqual([200]);

    expect((await withCopy('/api/me', JSON_ACCEPT)).status).toBe(401);
    const profile = await withCopy('/profile', HTML_ACCEPT);
    expect(profile.status).toBe(302);
    expect(profile.headers.get('location')).toBe(`/login?returnTo=${encodeURIComponent('/profile')}`);
    const fresh = new Browser();
    expect((await fresh.request(`${app.baseURL}/api/me`, { headers: { ...JSON_ACCEPT, cookie: copied } })).status).toBe(401);

    // A new login (a new provider session, a new sid) is not affected by the mark.
    const again = new Browser();
    await signIn(again, `${app.baseURL}/login`);
    const newMe = await apiMe(again, app.baseURL);
    expect(newMe.status).toBe(200);
    expect((JSON.parse(newMe.body) as { sid?: string }).sid).not.toBe(claims.sid);
    expect((await apiMe(again, app.baseURL)).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-made logout tokens, against the hostile provider

let hostile: HostileProvider;
/** The key this file signs logout tokens with, published in the hostile provider's JWKS. */
let mintKey: CryptoKey;
/** A key of the same kind that the provider never published. */
let strayKey: CryptoKey;

/** An app (the example app) with the back-channel logout route unless `auth` says otherwise, on its own port. */
async function startHostileApp(auth: Partial<AuthCallbackConfig> = { routes: { backchannelLogout: ROUTE } }, store = new MemoryStore()): Promise<RunningApp> {
  const server = createServer();
  const baseURL = `http://localhost:${await listen(server)}`;
  server.on('request', createApp({
    auth: { issuer: hostile.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET, ...auth },
    sessionSecret: SESSION_SECRET,
    store,
  }));
  return { baseURL, store, close: closer(server) };
}

/** Signs in through the hostile provider with ID token claims over its own (e.g. `{ sub, sid }`). */
async function signInWith(app: RunningApp, claims: Record<string, unknown>): Promise<Browser> {
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
function logoutClaims(target: Target | JWTPayload): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { iss: hostile.issuer, aud: CLIENT_ID, iat: now, exp: now + 120, jti: randomUUID(), events: { [EVENT]: {} }, ...target };
}

/** `claims` with `edits` applied: each value replaces, `undefined` removes. */
function edit(claims: JWTPayload, edits: Record<string, unknown>): JWTPayload {
  const result: Record<string, unknown> = { ...claims };
  for (const [name, value] of Object.entries(edits)) {
    if (value === undefined) delete result[name];
    else result[name] = value;
  }
  return result;
}

/** A logout token signed RS256 with the published key (or `key`), under `header` over `{ alg, kid, typ: 'logout+jwt' }`. */
function mint(claims: JWTPayload, header: Partial<JWTHeaderParameters> = {}, key: CryptoKey = mintKey): Promise<string> {
  const protectedHeader = { alg: 'RS256', kid: MINTED_KID, typ: 'logout+jwt', ...header } as JWTHeaderParameters;
  if (protectedHeader.typ === undefined) delete protectedHeader.typ;
  return new SignJWT(claims).setProtectedHeader(protectedHeader).sign(key);
}

/** An unsecured JWS (`alg: none`, empty signature). */
function unsigned(claims: JWTPayload): string {
  const encode = (value: unknown) => base64url.encode(JSON.stringify(value));
  return `${encode({ alg: 'none', typ: 'logout+jwt' })}.${encode(claims)}.`;
}

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

describe('validation of the logout token (§2.4, §2.6) and the answer (§2.8)', () => {
  let app: RunningApp;
  let victims = 0;

  /** A new signed-in session with its own sub and sid, for a test to aim logout tokens at. */
  async function newVictim(): Promise<{ target: Target; browser: Browser }> {
    victims++;
    const target = { sub: `victim-${victims}`, sid: `victim-sid-${victims}` };
    return { target, browser: await signInWith(app, target) };
  }

  /** A refused request made no mark and kept no jti, and the session it named still works; the same token without the defect then ends it. */
  async function expectSurvivedThenEnded(victim: { target: Target; browser: Browser }, sizeBefore: number): Promise<void> {
    expect(await storeSize(app.store)).toBe(sizeBefore);
    expect((await apiMe(victim.browser, app.baseURL)).status).toBe(200);
    expectAccepted(await postLogout(app.baseURL, form(await mint(logoutClaims(victim.target)))));
    expect((await apiMe(victim.browser, app.baseURL)).status).toBe(401);
  }

  beforeAll(async () => {
    app = await startHostileApp();
  });
  afterAll(async () => {
    await app.close();
  });

  test('a valid logout token (RS256, typ logout+jwt, sub, sid, events, jti, iat, exp) is answered 200 with Cache-Control: no-store (§2.8)', async () => {
    const bystander = await newVictim();
    const victim = await newVictim();
    expectAccepted(await postLogout(app.baseURL, form(await mint(logoutClaims(victim.target)))));
    expect((await apiMe(victim.browser, app.baseURL)).status).toBe(401);
    expect((await apiMe(bystander.browser, app.baseURL)).status).toBe(200);
  });

  test.each([['JWT', 'JWT'], ['absent', undefined]])('typ %s is accepted as well as logout+jwt (§4.1: explicit typing is recommended, not required)', async (_label, typ) => {
    const victim = await newVictim();
    expectAccepted(await postLogout(app.baseURL, form(await mint(logoutClaims(victim.target), { typ }))));
    expect((await apiMe(victim.browser, app.baseURL)).status).toBe(401);
  });

  test('an iat 100 s old is still accepted (§2.6: iat checked as for ID tokens, within 120 s here)', async () => {
    const victim = await newVictim();
    const token = await mint(edit(logoutClaims(victim.target), { iat: Math.floor(Date.now() / 1000) - 100 }));
    expectAccepted(await postLogout(app.baseURL, form(token)));
    expect((await apiMe(victim.browser, app.baseURL)).status).toBe(401);
  });

  /** Each case: how a logout token for `target` is made wrong. */
  const refusedTokens: [string, (target: Target) => Promise<string>][] = [
    ['§2.6: a signature by a key the provider does not publish (under the published kid)', (target) => mint(logoutClaims(target), {}, strayKey)],
    ['§2.6: a kid the provider does not publish', (target) => mint(logoutClaims(target), { kid: 'unknown-kid' }, strayKey)],
    ['§2.6: alg none', async (target) => unsigned(logoutClaims(target))],
    ['§2.6: HS256 with the client secret as key (not the pinned RS256)', (target) => new SignJWT(logoutClaims(target))
      .setProtectedHeader({ alg: 'HS256', typ: 'logout+jwt' }).sign(new TextEncoder().encode(CLIENT_SECRET))],
    ['§2.6: an iss that is not the issuer', (target) => mint(edit(logoutClaims(target), { iss: `${hostile.issuer}/impostor` }))],
    ['§2.6: an aud that is not this client', (target) => mint(edit(logoutClaims(target), { aud: 'another-client' }))],
    ['§2.6: an iat older than 120 s + clockTolerance 30 s (160 s)', (target) => {
      const now = Math.floor(Date.now() / 1000);
      return mint(edit(logoutClaims(target), { iat: now - 160, exp: now + 120 }));
    }],
    ['§2.6: an iat 10 minutes old', (target) => {
      const now = Math.floor(Date.now() / 1000);
      return mint(edit(logoutClaims(target), { iat: now - 600, exp: now + 120 }));
    }],
    ['§2.6: an iat 2 minutes in the future (beyond clockTolerance)', (target) => {
      const now = Math.floor(Date.now() / 1000);
      return mint(edit(logoutClaims(target), { iat: now + 120, exp: now + 300 }));
    }],
    ['§2.6: an exp in the past (beyond clockTolerance)', (target) => {
      const now = Math.floor(Date.now() / 1000);
      return mint(edit(logoutClaims(target), { iat: now - 100, exp: now - 60 }));
    }],
    ['§2.4: no exp', (target) => mint(edit(logoutClaims(target), { exp: undefined }))],
    ['§2.4: no iat', (target) => mint(edit(logoutClaims(target), { iat: undefined }))],
    ['§2.4: no jti', (target) => mint(edit(logoutClaims(target), { jti: undefined }))],
    ['§2.4: no events claim', (target) => mint(edit(logoutClaims(target), { events: undefined }))],
    ['§2.6: events without the back-channel logout member', (target) => mint(edit(logoutClaims(target), { events: { 'http://schemas.openid.net/event/other': {} } }))],
    ['§2.4: the back-channel logout member is a string, not an object', (target) => mint(edit(logoutClaims(target), { events: { [EVENT]: 'logout' } }))],
    ['§2.4: the back-channel logout member is an array, not an object', (target) => mint(edit(logoutClaims(target), { events: { [EVENT]: [] } }))],
    ['§2.6: neither sub nor sid', (target) => mint(edit(logoutClaims(target), { sub: undefined, sid: undefined }))],
    ['§2.6: a nonce claim', (target) => mint(edit(logoutClaims(target), { nonce: 'n-0S6_WzA2Mj' }))],
    ['§4.1: typ at+jwt (an access token is not a logout token)', (target) => mint(logoutClaims(target), { typ: 'at+jwt' })],
  ];

  test.each(refusedTokens)('%s → 400 invalid_request, no session ended', async (_name, make) => {
    const victim = await newVictim();
    const token = await make(victim.target);
    const before = await storeSize(app.store);
    expectRefused(await postLogout(app.baseURL, form(token)), token);
    await expectSurvivedThenEnded(victim, before);
  });

  test('§2.6: a replayed jti → 400, whether the same token or a new one reusing it', async () => {
    const first = await newVictim();
    const claims = logoutClaims(first.target);
    const token = await mint(claims);
    expectAccepted(await postLogout(app.baseURL, form(token)));
    expect((await apiMe(first.browser, app.baseURL)).status).toBe(401);
    const victim = await newVictim();
    const before = await storeSize(app.store);
    expectRefused(await postLogout(app.baseURL, form(token)), token);
    const reused = await mint({ ...claims, ...victim.target });
    expectRefused(await postLogout(app.baseURL, form(reused)), reused);
    await expectSurvivedThenEnded(victim, before);
  });

  /** Each case: a request body that is not one form-encoded logout_token, made from a valid token for the victim. */
  const refusedRequests: [string, (token: string) => [body: string, contentType?: string]][] = [
    ['§2.5: no logout_token parameter', () => ['token=x']],
    ['§2.5: an empty body', () => ['']],
    ['§2.5: an empty logout_token', () => ['logout_token=']],
    ['§2.5: logout_token twice', (token) => [`${form(token)}&${form(token)}`]],
    ['§2.5: a JSON body instead of a form', (token) => [JSON.stringify({ logout_token: token }), 'application/json']],
  ];

  test.each(refusedRequests)('%s → 400 invalid_request, no session ended', async (_name, make) => {
    const victim = await newVictim();
    const token = await mint(logoutClaims(victim.target));
    const [body, contentType] = make(token);
    const before = await storeSize(app.store);
    expectRefused(await postLogout(app.baseURL, body, contentType), token);
    await expectSurvivedThenEnded(victim, before);
  });

  test('§2.5: a GET to the route, even with a valid logout_token in its query, is not a logout', async () => {
    const victim = await newVictim();
    const token = await mint(logoutClaims(victim.target));
    const before = await storeSize(app.store);
    const res = await answer(await fetch(`${app.baseURL}${ROUTE}?${form(token)}`, { redirect: 'manual' }));
    expect(res.status).toBe(404);
    await expectSurvivedThenEnded(victim, before);
  });
});

describe('what a mark ends (§2.7)', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startHostileApp();
  });
  afterAll(async () => {
    await app.close();
  });

  test('a logout token with sid only ends that session: another session of the same user (another sid) keeps working (§2.7)', async () => {
    const first = await signInWith(app, { sub: 'bob', sid: 'bob-1' });
    const second = await signInWith(app, { sub: 'bob', sid: 'bob-2' });
    expectAccepted(await postLogout(app.baseURL, form(await mint(logoutClaims({ sid: 'bob-1' })))));

    expect((await apiMe(first, app.baseURL)).status).toBe(401);
    const profile = await first.request(`${app.baseURL}/profile`, { headers: HTML_ACCEPT });
    expect(profile.status).toBe(302);
    expect(profile.headers.get('location')).toBe(`/login?returnTo=${encodeURIComponent('/profile')}`);
    expect(await first.cookie(app.baseURL, 'oidc_session')).toBeUndefined(); // the ended session's cookie is cleared
    expect((await apiMe(second, app.baseURL)).status).toBe(200);
  });

  test('a logout token with sub only ends every earlier session of that user, not another user\'s, and a later login works (§2.7)', async () => {
    const first = await signInWith(app, { sub: 'carol', sid: 'carol-1' });
    const second = await signInWith(app, { sub: 'carol', sid: 'carol-2' });
    const other = await signInWith(app, { sub: 'dave', sid: 'dave-1' });
    expectAccepted(await postLogout(app.baseURL, form(await mint(logoutClaims({ sub: 'carol' })))));

    expect((await apiMe(first, app.baseURL)).status).toBe(401);
    expect((await apiMe(second, app.baseURL)).status).toBe(401);
    expect((await apiMe(other, app.baseURL)).status).toBe(200);

    // Session times are whole seconds: log in again in the next second (the same second is the next test's).
    await untilNextSecond();
    const later = await signInWith(app, { sub: 'carol', sid: 'carol-3' });
    expect((await apiMe(later, app.baseURL)).status).toBe(200);
  });

  test('a login in the same second as a sub-only logout, but after it, keeps working (§2.7)', async () => {
    const before = await signInWith(app, { sub: 'erin', sid: 'erin-1' });
    await untilNextSecond();
    const loggedOutAt = Date.now();
    expectAccepted(await postLogout(app.baseURL, form(await mint(logoutClaims({ sub: 'erin' })))));
    hostile.behaviour.claims = { sub: 'erin', sid: 'erin-2' };
    const after = new Browser();
    const landing = await after.visit(`${app.baseURL}/login`);
    hostile.behaviour.claims = {};
    expect(landing.status).toBe(200);
    const me = await apiMe(after, app.baseURL);
    expect(Math.floor(Date.now() / 1000)).toBe(Math.floor(loggedOutAt / 1000)); // the case this test is about
    expect((await apiMe(before, app.baseURL)).status).toBe(401);
    expect(me.status).toBe(200);
  });
});

describe('replay window (§2.6: jti, iat)', () => {
  test('a logout token cannot be replayed once its jti record has expired: iat must refuse it by then (§2.6)', async () => {
    const app = await startHostileApp();
    try {
      await withStoppedClock(async (clock) => {
        const t0 = clock.now();
        // iat 30 s ahead: within clockTolerance (30 s), so accepted now.
        const token = await mint(logoutClaims({ sub: 'frank', sid: 'frank-replay', iat: t0 + 30, exp: t0 + 600 }));
        expectAccepted(await postLogout(app.baseURL, form(token)));
        clock.set(t0 + 195); // the jti record (kept 120 + 2 × 30 s) is gone; iat is 165 s old
        expectRefused(await postLogout(app.baseURL, form(token)), token);
      });
    } finally {
      await app.close();
    }
  });

  test('a logout token whose mark the store failed to write can be delivered again (§2.6 jti, §2.8)', async () => {
    class FailingMarkStore extends MemoryStore {
      failNextMark = false;
      override set(key: string, data: Parameters<MemoryStore['set']>[1], callback?: (err?: unknown) => void): void {
        if (this.failNextMark && key.startsWith('oidc:logout-sid:')) {
          this.failNextMark = false;
          callback?.(new Error('store down'));
          return;
        }
        super.set(key, data, callback);
      }
    }
    const store = new FailingMarkStore();
    const app = await startHostileApp(undefined, store);
    const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const browser = await signInWith(app, { sub: 'gina', sid: 'gina-1' });
      const token = await mint(logoutClaims({ sub: 'gina', sid: 'gina-1' }));
      store.failNextMark = true;
      const failed = await postLogout(app.baseURL, form(token));
      expect(failed.status).toBe(503);
      expect(failed.body).not.toMatch(STACK_TRACE);
      expectAccepted(await postLogout(app.baseURL, form(token))); // the provider delivers it again
      expect((await apiMe(browser, app.baseURL)).status).toBe(401);
    } finally {
      errors.mockRestore();
      await app.close();
    }
  });
});

describe('without routes.backchannelLogout', () => {
  /** An express-session store that counts the reads of this package's records (`oidc:` keys). */
  class CountingStore extends MemoryStore {
    recordReads = 0;
    override get(key: string, callback: Parameters<MemoryStore['get']>[1]): void {
      if (key.startsWith('oidc:')) this.recordReads++;
      super.get(key, callback);
    }
  }

  test('there is no back-channel logout URI (§2.2), and guarded requests of a cookie session read nothing from the store', async () => {
    const store = new CountingStore();
    const app = await startHostileApp({}, store);
    try {
      const browser = await signInWith(app, { sub: 'henry', sid: 'henry-1' });
      const reads = store.recordReads;
      for (let i = 0; i < 3; i++) expect((await apiMe(browser, app.baseURL)).status).toBe(200);
      expect((await browser.request(`${app.baseURL}/profile`, { headers: HTML_ACCEPT })).status).toBe(200);
      expect(store.recordReads).toBe(reads);

      const token = await mint(logoutClaims({ sub: 'henry', sid: 'henry-1' }));
      expect((await postLogout(app.baseURL, form(token))).status).toBe(404);
      expect((await apiMe(browser, app.baseURL)).status).toBe(200);
      expect(store.recordReads).toBe(reads);
    } finally {
      await app.close();
    }
  });

  test('with the route, the same guarded requests do read the marks (§2.7), so the count above can grow', async () => {
    const store = new CountingStore();
    const app = await startHostileApp({ routes: { backchannelLogout: ROUTE } }, store);
    try {
      const browser = await signInWith(app, { sub: 'henry', sid: 'henry-2' });
      const reads = store.recordReads;
      expect((await apiMe(browser, app.baseURL)).status).toBe(200);
      expect(store.recordReads).toBeGreaterThan(reads);
    } finally {
      await app.close();
    }
  });
});
