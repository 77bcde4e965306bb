/**
 * Attacks on the callback route, end to end: the example app over real HTTP against the hostile
 * provider of test/support/hostile-provider.ts. Forged, replayed, mixed-up and malformed
 * authorization responses (RFC 9700 §4, RFC 9207, RFC 6749 §3.1), injected codes (RFC 9700 §4.5,
 * §4.8), PKCE (RFC 7636), a redirect_uri that must not follow the Host header, and token
 * endpoint faults.
 *
 * Every rejection must: answer 4xx (bad authorization response) or 502/504 (bad or absent
 * provider answer); set no session cookie; leave `req.user` undefined, or an existing session
 * exactly as it was; use up the pending login; put no token, code or secret in the body nor in
 * what the app logs; and leave the app serving.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import type { Express } from 'express';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { startAppServer, type AppServer } from './support/app-server.js';
import { Browser, type Page } from './support/browser.js';
import { jsonError, leaksInLogs, leaksInPage, sessionCookiesSet } from './support/leaks.js';
import { closedPortIssuer, s256, startHostileProvider, type HostileProvider, type Override } from './support/hostile-provider.js';

const CLIENT_ID = 'rp:attack test';
const CLIENT_SECRET = 'attack-secret:with+plus&amp=equals/%25 and space';
const SECRET = 'another-test-secret-of-at-least-32-characters-0123';
const SESSION_SECRET = 'express-session-attack-test-secret';
/** authCallback()'s `httpTimeout`, in seconds. */
const HTTP_TIMEOUT = 0.5;
/** A generous upper bound for any answer, in milliseconds: ten times `httpTimeout`. */
const ANSWER_BOUND_MS = 5000;
const JSON_ACCEPT = { accept: 'application/json' };
/** Headers an attacker (or a misconfigured proxy) controls. */
const HOSTILE_HOST_HEADERS = {
  host: 'evil.example',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'https',
  'x-forwarded-for': '203.0.113.9',
};
const MINTED_KID = 'test-minted';

type App = AppServer;

let provider: HostileProvider;
/** A fresh example app per test, so that discovery (cached per app) sees each test's overrides. */
let app: App;
/** Every console.error() call of the current test (the example app logs each 5xx). */
const logged: unknown[][] = [];
let restoreConsole: () => void;

/** The example app, on its own 127.0.0.1 port, against the hostile provider; `configure` may change the built app. */
function startApp(options: { auth?: Partial<AuthCallbackConfig>; configure?: (built: Express) => void } = {}): Promise<App> {
  return startAppServer({
    auth: (baseURL) => ({
      issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET, httpTimeout: HTTP_TIMEOUT,
      ...options.auth,
    }),
    sessionSecret: SESSION_SECRET,
    ...(options.configure && { configure: options.configure }),
  });
}

beforeAll(async () => {
  provider = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    logged.push(args);
  });
  restoreConsole = () => spy.mockRestore();
});
afterAll(async () => {
  restoreConsole();
  await provider.close();
});
beforeEach(async () => {
  provider.reset();
  logged.length = 0;
  app = await startApp();
});
afterEach(async () => {
  try {
    expectCleanLogs();
  } finally {
    await app.close();
  }
});

// ---------------------------------------------------------------------------------------------
// What every test checks

/** Every value that must stay secret: ours, and every code, token and code_verifier of the provider. */
function secrets(): string[] {
  const fromTokenRequests = provider.tokenRequests.flatMap((r) => [
    r.params.get('code_verifier') ?? '',
    /^Basic (.+)$/.exec(r.headers.authorization ?? '')?.[1] ?? '',
  ]);
  return [CLIENT_SECRET, encodeURIComponent(CLIENT_SECRET), SECRET, SESSION_SECRET, ...provider.secrets(), ...fromTokenRequests]
    .filter((s) => s.length > 0);
}

/** Nothing secret in an answer's body, and no stack trace. */
function expectNoLeak(page: Page): void {
  expect(leaksInPage(page, secrets())).toEqual([]);
}

/** Nothing secret in anything the app logged during this test, read as deep as it goes. */
function expectCleanLogs(): void {
  expect(leaksInLogs(logged, secrets())).toEqual([]);
}



/** A refused callback: the status and code, no session cookie set, nothing secret in the body. */
function expectRefused(page: Page, status: number, code: string): void {
  expect({ status: page.status, error: jsonError(page).error }).toEqual({ status, error: code });
  expect(sessionCookiesSet(page)).toEqual([]);
  expectNoLeak(page);
}

/** A browser attacked in a test: signed out, or signed in with `session` as its oidc_session cookie. */
interface Victim {
  browser: Browser;
  session: string | undefined;
}

const VICTIMS = [['signed out', false], ['signed in', true]] as const;

async function victim(signedIn: boolean): Promise<Victim> {
  const browser = new Browser();
  return { browser, session: signedIn ? await signIn(browser) : undefined };
}

/** A signed-out victim is still signed out; a signed-in one still has the very same session. */
async function expectVictimUnchanged(v: Victim, target: App = app): Promise<void> {
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

/** `url` again in `browser`: its login is used up (400 missing_transaction), and the token endpoint is not called. */
async function expectUsedUp(browser: Browser, url: string): Promise<void> {
  const tokens = provider.requests.token;
  const again = await browser.request(url, { headers: JSON_ACCEPT });
  expectRefused(again, 400, 'missing_transaction');
  expect(provider.requests.token).toBe(tokens);
}

// ---------------------------------------------------------------------------------------------
// Driving a login

/** GET /login in `browser`: the authorization request it is sent to. */
async function startLogin(browser: Browser, target: App = app, query = ''): Promise<URL> {
  const login = await browser.request(`${target.baseURL}/login${query}`);
  expect(login.status).toBe(302);
  const authorizationUrl = new URL(login.headers.get('location')!);
  expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(`${provider.issuer}/authorize`);
  return authorizationUrl;
}

/** The provider's answer to an authorization request (it signs the user in at once): the callback URL, not yet requested. */
async function authorize(browser: Browser, authorizationUrl: URL): Promise<URL> {
  const answer = await browser.request(authorizationUrl.href);
  expect(answer.status).toBe(302);
  return new URL(answer.headers.get('location')!, answer.url);
}

/** A login up to the callback the provider sends the browser to, not yet requested. */
async function callbackUrl(browser: Browser, target: App = app, query = ''): Promise<URL> {
  const url = await authorize(browser, await startLogin(browser, target, query));
  expect(url.origin + url.pathname).toBe(`${target.baseURL}/callback`);
  return url;
}

/** A whole login; the oidc_session cookie it leaves. */
async function signIn(browser: Browser, target: App = app): Promise<string> {
  const landed = await browser.request((await callbackUrl(browser, target)).href);
  expect(landed.status).toBe(302);
  const cookie = await browser.cookie(target.baseURL, 'oidc_session');
  expect(cookie).toBeDefined();
  return cookie!;
}

/** The process keeps serving: a normal login in a new browser succeeds. */
async function expectNormalLogin(target: App = app): Promise<void> {
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
async function rawRequest(
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
async function overrideDiscovery(changes: Record<string, unknown>, removed: string[] = []): Promise<void> {
  const document = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  for (const key of removed) delete document[key];
  provider.behaviour.overrides.discovery = (_req, res) => {
    res.json({ ...document, ...changes });
  };
}

type Mint = (claims: Record<string, unknown>) => Promise<string>;

/**
 * Publishes a key of the test's own in the provider's JWKS (beside the provider's) and returns
 * a function that signs ID tokens with it, as the provider would. Call it before the app's first
 * login: openid-client caches the JWKS.
 */
async function mintIdTokens(): Promise<Mint> {
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
function issuedAccessToken(): string {
  const token = randomBytes(24).toString('base64url');
  provider.issued.accessTokens.push(token);
  return token;
}

/**
 * A token endpoint that does not check PKCE (nor the client): for any code the provider issued it
 * answers a valid token response whose ID token carries the nonce of that code's own /authorize
 * request, as a provider binds it. `shape` may change the response before it is sent.
 */
function pkceIgnoringTokenEndpoint(mint: Mint, shape: (body: Record<string, unknown>) => unknown = (body) => body): Override {
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

// =============================================================================================

describe('login CSRF and replay (RFC 9700 §4.7, RFC 6749 §10.12)', () => {
  test('RFC 9700 §4.7: the attacker\'s callback in a browser with no pending login → 400 missing_transaction, zero token requests', async () => {
    const attacker = new Browser();
    const forged = await callbackUrl(attacker);
    const v = await victim(false);
    const page = await v.browser.request(forged.href, { headers: JSON_ACCEPT });
    expectRefused(page, 400, 'missing_transaction');
    expect(provider.requests.token).toBe(0);
    await expectVictimUnchanged(v);
    // The code itself was good: only the victim's missing login stopped it.
    expect((await attacker.request(forged.href)).status).toBe(302);
  });

  test('RFC 9700 §4.7: the attacker\'s callback in a signed-in browser with no pending login → 400, zero token requests, the session unchanged', async () => {
    const v = await victim(true);
    const forged = await callbackUrl(new Browser());
    const page = await v.browser.request(forged.href, { headers: JSON_ACCEPT });
    expectRefused(page, 400, 'missing_transaction');
    expect(provider.requests.token).toBe(1); // the victim's own login only
    await expectVictimUnchanged(v);
  });

  test.each(VICTIMS)('RFC 6749 §10.12 state mismatch (%s victim): the attacker\'s callback during the victim\'s login → 400 state_mismatch, zero token requests; the victim\'s own login is not cancelled by it and completes', async (_kind, signedIn) => {
    const v = await victim(signedIn);
    const tokens = provider.requests.token;
    const genuine = await callbackUrl(v.browser);
    const forged = await callbackUrl(new Browser());
    expect(forged.searchParams.get('state')).not.toBe(genuine.searchParams.get('state'));
    const page = await v.browser.request(forged.href, { headers: JSON_ACCEPT });
    expectRefused(page, 400, 'state_mismatch');
    expect(provider.requests.token).toBe(tokens);
    await expectVictimUnchanged(v);
    // The forged callback was refused without touching this browser's pending login.
    const own = await v.browser.request(genuine.href, { headers: JSON_ACCEPT });
    expect(own.status).toBe(302);
    expect(provider.requests.token).toBe(tokens + 1);
    await expectUsedUp(v.browser, genuine.href);
  });

  test('RFC 6749 §4.1.2 replay: a successful callback replayed → 400 missing_transaction, no extra token request, the session unchanged; in another browser → 400', async () => {
    const browser = new Browser();
    const url = await callbackUrl(browser);
    const first = await browser.request(url.href);
    expect(first.status).toBe(302);
    const session = await browser.cookie(app.baseURL, 'oidc_session');
    expect(session).toBeDefined();
    expect(provider.requests.token).toBe(1);

    await expectUsedUp(browser, url.href);
    await expectVictimUnchanged({ browser, session });
    const other: Victim = { browser: new Browser(), session: undefined };
    await expectUsedUp(other.browser, url.href);
    await expectVictimUnchanged(other);
    expect(provider.requests.token).toBe(1);
  });
});

describe('mix-up (RFC 9700 §4.4, RFC 9207)', () => {
  test.each(VICTIMS)('RFC 9207 §2.4 (%s victim): an iss that is not the issuer → 400 issuer_mismatch, zero token requests, the login used up', async (_kind, signedIn) => {
    const v = await victim(signedIn);
    const tokens = provider.requests.token;
    provider.behaviour.authorize = 'wrong-iss';
    const url = await callbackUrl(v.browser);
    expect(url.searchParams.get('iss')).toBe(`${provider.issuer}/impostor`);
    const page = await v.browser.request(url.href, { headers: JSON_ACCEPT });
    expectRefused(page, 400, 'issuer_mismatch');
    expect(provider.requests.token).toBe(tokens);
    // Not even with the right iss afterwards.
    url.searchParams.set('iss', provider.issuer);
    await expectUsedUp(v.browser, url.href);
    await expectVictimUnchanged(v);
  });

  test('RFC 9207 §2.4: iss is compared exactly: the issuer with a trailing slash → 400 issuer_mismatch, zero token requests', async () => {
    const v = await victim(false);
    const url = await callbackUrl(v.browser);
    url.searchParams.set('iss', `${provider.issuer}/`);
    expectRefused(await v.browser.request(url.href, { headers: JSON_ACCEPT }), 400, 'issuer_mismatch');
    expect(provider.requests.token).toBe(0);
    await expectVictimUnchanged(v);
  });

  test('RFC 9207 §3: no iss while discovery advertises authorization_response_iss_parameter_supported → 400 issuer_mismatch, zero token requests, the login used up', async () => {
    const v = await victim(false);
    provider.behaviour.authorize = 'no-iss';
    const url = await callbackUrl(v.browser);
    expect(url.searchParams.has('iss')).toBe(false);
    expectRefused(await v.browser.request(url.href, { headers: JSON_ACCEPT }), 400, 'issuer_mismatch');
    expect(provider.requests.token).toBe(0);
    url.searchParams.set('iss', provider.issuer);
    await expectUsedUp(v.browser, url.href);
    await expectVictimUnchanged(v);
  });

  test.each([
    ['absent', {}, ['authorization_response_iss_parameter_supported']],
    ['false', { authorization_response_iss_parameter_supported: false }, []],
  ] as const)('RFC 9207 §2.4: no iss from a provider whose authorization_response_iss_parameter_supported is %s → accepted; a wrong iss is still refused', async (_what, changes, removed) => {
    await overrideDiscovery(changes, [...removed]);
    provider.behaviour.authorize = 'no-iss';
    const browser = new Browser();
    const url = await callbackUrl(browser);
    expect(url.searchParams.has('iss')).toBe(false);
    const landed = await browser.request(url.href);
    expect(landed.status).toBe(302);
    expect(sessionCookiesSet(landed)).toHaveLength(1);
    const me = await browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);

    provider.behaviour.authorize = 'wrong-iss';
    const other = new Browser();
    expectRefused(await other.request((await callbackUrl(other)).href, { headers: JSON_ACCEPT }), 400, 'issuer_mismatch');
    expect(provider.requests.token).toBe(1);
  });
});

describe('repeated and bracketed parameters, read from the raw request (RFC 6749 §3.1)', () => {
  /** Builds a raw query (or form body) from the genuine response's values; `iss` is already form-encoded. */
  type Build = (v: { code: string; state: string; iss: string }) => string;
  const MALFORMED: [string, Build][] = [
    ['state=a&state=b', ({ code, state, iss }) => `code=${code}&state=${state}&state=forged&iss=${iss}`],
    ['state twice with the same value', ({ code, state, iss }) => `code=${code}&state=${state}&state=${state}&iss=${iss}`],
    ['code=x&code=y', ({ code, state, iss }) => `code=${code}&code=forged&state=${state}&iss=${iss}`],
    ['iss twice', ({ code, state, iss }) => `code=${code}&state=${state}&iss=${iss}&iss=${iss}`],
    ['state[x]=1 beside state', ({ code, state, iss }) => `code=${code}&state=${state}&state[x]=1&iss=${iss}`],
    ['state%5Bx%5D=1 (encoded brackets) beside state', ({ code, state, iss }) => `code=${code}&state=${state}&state%5Bx%5D=1&iss=${iss}`],
    ['code[]=x beside code', ({ code, state, iss }) => `code=${code}&code[]=x&state=${state}&iss=${iss}`],
  ];
  const CASES = MALFORMED.flatMap(([name, build]) => (['GET', 'POST'] as const).map((method) => [name, method, build] as const));

  test.each(CASES)('RFC 6749 §3.1: %s as %s → 400 invalid_request, zero token requests, the login used up', async (_name, method, build) => {
    const v = await victim(false);
    const genuine = await callbackUrl(v.browser);
    const values = {
      code: genuine.searchParams.get('code')!,
      state: genuine.searchParams.get('state')!,
      iss: encodeURIComponent(genuine.searchParams.get('iss')!),
    };
    const raw = build(values);
    const page = method === 'GET'
      ? await rawRequest(v.browser, app, `/callback?${raw}`)
      : await rawRequest(v.browser, app, '/callback', { body: raw });
    expectRefused(page, 400, 'invalid_request');
    expect(provider.requests.token).toBe(0);
    // The genuine response, whose code was never exchanged, cannot finish the login any more.
    await expectUsedUp(v.browser, genuine.href);
    await expectVictimUnchanged(v);
  });
});

describe('authorization code injection (RFC 9700 §4.5, §4.8)', () => {
  test.each(VICTIMS)('RFC 9700 §4.5 (%s victim): the attacker\'s code with the victim\'s state → the provider\'s PKCE check (RFC 7636 §4.6) refuses it → 400 invalid_grant, the victim\'s login used up', async (_kind, signedIn) => {
    const v = await victim(signedIn);
    const attacker = new Browser();
    const stolen = await callbackUrl(attacker); // code A, bound to the attacker's code_challenge and nonce
    const attackerAuthorize = provider.authorizeRequests.at(-1)!;
    const genuine = await callbackUrl(v.browser); // the victim's pending login, state S_v
    const victimAuthorize = provider.authorizeRequests.at(-1)!;
    const tokens = provider.requests.token;

    const injected = new URL(`${app.baseURL}/callback`);
    injected.search = new URLSearchParams({
      code: stolen.searchParams.get('code')!,
      state: genuine.searchParams.get('state')!,
      iss: provider.issuer,
    }).toString();
    const page = await v.browser.request(injected.href, { headers: JSON_ACCEPT });
    expectRefused(page, 400, 'invalid_grant');
    expect(provider.requests.token).toBe(tokens + 1);
    // What the provider refused: the attacker's code with the victim's verifier.
    const sent = provider.tokenRequests.at(-1)!.params;
    expect(sent.get('code')).toBe(attackerAuthorize.code);
    expect(sent.get('redirect_uri')).toBe(`${app.baseURL}/callback`);
    expect(s256(sent.get('code_verifier')!)).toBe(victimAuthorize.params.get('code_challenge'));
    expect(s256(sent.get('code_verifier')!)).not.toBe(attackerAuthorize.params.get('code_challenge'));

    await expectUsedUp(v.browser, genuine.href);
    await expectVictimUnchanged(v);
  });

  test.each(VICTIMS)('RFC 9700 §4.5.3 (%s victim): the attacker\'s code at a provider that skips PKCE → its ID token carries the attacker\'s nonce → 502 invalid_id_token, no session', async (_kind, signedIn) => {
    const mint = await mintIdTokens();
    provider.behaviour.overrides.token = pkceIgnoringTokenEndpoint(mint);
    const v = await victim(signedIn); // signs in through the PKCE-ignoring endpoint: its tokens are otherwise valid
    const stolen = await callbackUrl(new Browser());
    const attackerNonce = provider.authorizeRequests.at(-1)!.params.get('nonce');
    const genuine = await callbackUrl(v.browser);
    const victimNonce = provider.authorizeRequests.at(-1)!.params.get('nonce');
    const issuedBefore = provider.issued.idTokens.length;

    const injected = new URL(genuine);
    injected.searchParams.set('code', stolen.searchParams.get('code')!);
    const page = await v.browser.request(injected.href, { headers: JSON_ACCEPT });
    expectRefused(page, 502, 'invalid_id_token');
    // The provider did answer with a well-signed ID token: the nonce is what refused it.
    expect(provider.issued.idTokens).toHaveLength(issuedBefore + 1);
    const nonce = decodeJwt(provider.issued.idTokens.at(-1)!).nonce;
    expect(nonce).toBe(attackerNonce);
    expect(nonce).not.toBe(victimNonce);
    expect(logged.length).toBeGreaterThan(0);

    await expectUsedUp(v.browser, genuine.href);
    await expectVictimUnchanged(v);
    await expectNormalLogin(); // control: the same endpoint, the right nonce
  });

  test.each([
    ['its own nonce', 'attacker-nonce'],
    ['no nonce', undefined],
  ] as const)('RFC 9700 §4.8 PKCE downgrade: the attacker\'s code requested without code_challenge and with %s, injected with the victim\'s state → 502 invalid_id_token, no session', async (_what, attackerNonce) => {
    const v = await victim(false);
    // The attacker asks the provider himself, for this client, without PKCE.
    const attacker = new Browser();
    const request = new URL(`${provider.issuer}/authorize`);
    request.search = new URLSearchParams({
      response_type: 'code', client_id: CLIENT_ID, redirect_uri: `${app.baseURL}/callback`, scope: 'openid', state: 'attacker-state',
      ...(attackerNonce !== undefined && { nonce: attackerNonce }),
    }).toString();
    const stolen = await authorize(attacker, request);
    expect(provider.authorizeRequests.at(-1)!.params.has('code_challenge')).toBe(false);
    const genuine = await callbackUrl(v.browser);
    const issuedBefore = provider.issued.idTokens.length;

    const injected = new URL(genuine);
    injected.searchParams.set('code', stolen.searchParams.get('code')!);
    const page = await v.browser.request(injected.href, { headers: JSON_ACCEPT });
    expectRefused(page, 502, 'invalid_id_token');
    // The provider took the downgraded code (it checks PKCE only for codes issued with a challenge).
    expect(provider.issued.idTokens).toHaveLength(issuedBefore + 1);
    expect(decodeJwt(provider.issued.idTokens.at(-1)!).nonce).toBe(attackerNonce);

    await expectUsedUp(v.browser, genuine.href);
    await expectVictimUnchanged(v);
  });
});

describe('PKCE, state and nonce (RFC 7636, RFC 6749 §10.12)', () => {
  test('RFC 7636 §4.1, §4.2, §7.2: 100 logins → 100 distinct code_verifiers of 43–128 [A-Za-z0-9-._~], S256 only (never plain), code_challenge = BASE64URL(SHA256(verifier)); 100 distinct states and nonces', async () => {
    for (let i = 0; i < 100; i++) {
      const browser = new Browser();
      const landed = await browser.request((await callbackUrl(browser)).href);
      expect(landed.status).toBe(302);
    }
    expect(provider.authorizeRequests).toHaveLength(100);
    expect(provider.tokenRequests).toHaveLength(100);

    for (const authorizeRequest of provider.authorizeRequests) {
      expect(authorizeRequest.params.getAll('code_challenge_method')).toEqual(['S256']);
      expect(authorizeRequest.params.getAll('code_challenge')).toHaveLength(1);
      expect(authorizeRequest.params.getAll('state')).toHaveLength(1);
      expect(authorizeRequest.params.getAll('nonce')).toHaveLength(1);
    }
    const verifiers = provider.tokenRequests.map((tokenRequest) => {
      const verifier = tokenRequest.params.get('code_verifier')!;
      expect(verifier).toMatch(/^[A-Za-z0-9\-._~]{43,128}$/);
      const record = provider.authorizeRequests.find((r) => r.code === tokenRequest.params.get('code'));
      expect(record).toBeDefined();
      expect(record!.params.get('code_challenge')).toBe(s256(verifier));
      expect(record!.params.get('code_challenge')).not.toBe(verifier);
      return verifier;
    });
    const states = provider.authorizeRequests.map((r) => r.params.get('state')!);
    const nonces = provider.authorizeRequests.map((r) => r.params.get('nonce')!);
    expect(new Set(verifiers).size).toBe(100);
    expect(new Set(states).size).toBe(100);
    expect(new Set(nonces).size).toBe(100);
    expect(new Set([...verifiers, ...states, ...nonces]).size).toBe(300);
  }, 60000);
});

describe('redirect_uri from configuration, never from the request (RFC 6749 §4.1.3, §10.6)', () => {
  test.each([
    ['the example app', undefined],
    ['the example app with trust proxy', (built: Express) => { built.set('trust proxy', true); }],
  ] as const)('%s: Host, X-Forwarded-Host and X-Forwarded-Proto of evil.example change neither the authorization request\'s nor the token request\'s redirect_uri', async (_what, configure) => {
    const target = configure === undefined ? app : await startApp({ configure });
    try {
      const browser = new Browser();
      const html = { ...HOSTILE_HOST_HEADERS, accept: 'text/html' };
      const login = await rawRequest(browser, target, '/login', { headers: html });
      expect(login.status).toBe(302);
      const authorizationUrl = new URL(login.headers.get('location')!);
      expect(authorizationUrl.searchParams.get('redirect_uri')).toBe(`${target.baseURL}/callback`);

      const callback = await authorize(browser, authorizationUrl);
      const landed = await rawRequest(browser, target, callback.pathname + callback.search, { headers: html });
      expect(landed.status).toBe(302);
      expect(landed.headers.get('location')).toBe('/');
      expect(provider.tokenRequests).toHaveLength(1);
      expect(provider.tokenRequests[0]!.params.get('redirect_uri')).toBe(`${target.baseURL}/callback`);
      expect(landed.headers.getSetCookie().join('\n')).not.toContain('evil.example');
      // The session works on the configured origin.
      const me = await browser.request(`${target.baseURL}/api/me`, { headers: JSON_ACCEPT });
      expect(me.status).toBe(200);
    } finally {
      if (target !== app) await target.close();
    }
  });
});

describe('what the callback answer gives away (RFC 9700 §4.2, §4.3)', () => {
  test('RFC 9700 §4.3: the 302 after a successful callback has a Location without code, state or iss', async () => {
    const browser = new Browser();
    const url = await callbackUrl(browser, app, '?returnTo=%2Fprofile');
    const landed = await browser.request(url.href);
    expect(landed.status).toBe(302);
    const location = landed.headers.get('location')!;
    expect(location).toBe('/profile');
    const parsed = new URL(location, app.baseURL);
    for (const name of ['code', 'state', 'iss']) expect(parsed.searchParams.has(name)).toBe(false);
    for (const name of ['code', 'state']) expect(location).not.toContain(url.searchParams.get(name)!);
  });

  test('RFC 9700 §4.2.4: a successful callback answers Referrer-Policy: no-referrer', async () => {
    const browser = new Browser();
    const landed = await browser.request((await callbackUrl(browser)).href);
    expect(landed.status).toBe(302);
    expect(landed.headers.get('referrer-policy')).toBe('no-referrer');
  });

  test.each([
    ['a 400 state_mismatch, as HTML', 400, async (browser: Browser) => {
      const url = await callbackUrl(browser);
      url.searchParams.set('state', 'forged');
      return browser.request(url.href);
    }],
    ['a 400 invalid_request (repeated code), as JSON', 400, async (browser: Browser) => {
      const url = await callbackUrl(browser);
      url.searchParams.append('code', 'forged');
      return browser.request(url.href, { headers: JSON_ACCEPT });
    }],
    ['a 502 (token endpoint 500), as JSON', 502, async (browser: Browser) => {
      provider.behaviour.overrides.token = (_req, res) => {
        res.status(500).type('text').send('Internal Server Error');
      };
      return browser.request((await callbackUrl(browser)).href, { headers: JSON_ACCEPT });
    }],
  ] as const)('RFC 9700 §4.2.4: an error answer to the callback (%s) carries Referrer-Policy: no-referrer', async (_what, status, run) => {
    const page = await run(new Browser());
    expect(page.status).toBe(status);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  });
});

describe('token endpoint faults (RFC 6749 §5.1, §5.2)', () => {
  interface Fault {
    status: number;
    code: string;
    /** Prepares the provider (before any login: it may publish a key) and returns the token endpoint's answer. */
    setup(): Promise<Override>;
    /** The answer cannot come before httpTimeout. */
    timesOut?: boolean;
  }
  const plain = (override: Override) => async () => override;
  const FAULTS: [string, Fault][] = [
    ['HTTP 500 with a plain-text body', { status: 502, code: 'invalid_provider_response', setup: plain((_req, res) => {
      res.status(500).type('text').send(`Internal Server Error: upstream token ${issuedAccessToken()} rejected`);
    }) }],
    // RFC 6749 §5.2 error responses are 400 (or 401): a 500 is no OAuth error response, whatever its body.
    ['HTTP 500 with an OAuth-looking error body (server_error)', { status: 502, code: 'invalid_provider_response', setup: plain((_req, res) => {
      res.status(500).json({ error: 'server_error', error_description: 'database down' });
    }) }],
    ['a 502 HTML error page from a proxy', { status: 502, code: 'invalid_provider_response', setup: plain((_req, res) => {
      res.status(502).type('html').send('<!doctype html><html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>');
    }) }],
    ['HTTP 200 with []', { status: 502, code: 'invalid_provider_response', setup: plain((_req, res) => {
      res.type('json').send('[]');
    }) }],
    ['HTTP 200 with {"access_token":123}', { status: 502, code: 'invalid_provider_response', setup: plain((_req, res) => {
      res.type('json').send('{"access_token":123}');
    }) }],
    ['HTTP 200 with {}', { status: 502, code: 'invalid_provider_response', setup: plain((_req, res) => {
      res.type('json').send('{}');
    }) }],
    ['HTTP 200 without token_type, otherwise valid (a well-signed ID token with the right nonce)', {
      status: 502,
      code: 'invalid_provider_response',
      setup: async () => pkceIgnoringTokenEndpoint(await mintIdTokens(), (body) => ({ ...body, token_type: undefined })),
    }],
    ['HTTP 204, no body', { status: 502, code: 'invalid_provider_response', setup: plain((_req, res) => {
      res.status(204).end();
    }) }],
    ['no answer at all (hangs)', { status: 504, code: 'provider_timeout', timesOut: true, setup: plain(() => undefined) }],
    ['headers and half a body, then nothing', { status: 504, code: 'provider_timeout', timesOut: true, setup: plain((_req, res) => {
      res.status(200).type('json');
      res.write(`{"access_token":"${issuedAccessToken()}","token_type":"Bearer","id_token":"`);
    }) }],
  ];

  test.each(FAULTS)('token endpoint answers %s → 502/504, no cookie, an existing session kept, the login used up, answered within httpTimeout', async (_what, fault) => {
    const override = await fault.setup();
    const signedIn = await victim(true);
    provider.behaviour.overrides.token = override;

    for (const v of [await victim(false), signedIn]) {
      const genuine = await callbackUrl(v.browser);
      const tokens = provider.requests.token;
      const started = performance.now();
      const page = await v.browser.request(genuine.href, { headers: JSON_ACCEPT });
      const elapsed = performance.now() - started;
      expectRefused(page, fault.status, fault.code);
      expect(provider.requests.token).toBe(tokens + 1);
      expect(elapsed).toBeLessThan(ANSWER_BOUND_MS);
      if (fault.timesOut) expect(elapsed).toBeGreaterThanOrEqual(HTTP_TIMEOUT * 1000 - 50);
      await expectUsedUp(v.browser, genuine.href);
      await expectVictimUnchanged(v);
    }
    expect(logged.length).toBeGreaterThanOrEqual(2); // the example app logs every 5xx: the log check is not vacuous

    delete provider.behaviour.overrides.token;
    await expectNormalLogin();
  });

  test('token endpoint refuses the connection → 502 provider_unreachable, no session, the login used up; the process keeps serving', async () => {
    await overrideDiscovery({ token_endpoint: `${await closedPortIssuer()}/token` });
    const v = await victim(false);
    const genuine = await callbackUrl(v.browser);
    const started = performance.now();
    const page = await v.browser.request(genuine.href, { headers: JSON_ACCEPT });
    expect(performance.now() - started).toBeLessThan(ANSWER_BOUND_MS);
    expectRefused(page, 502, 'provider_unreachable');
    expect(provider.requests.token).toBe(0);
    expect(logged.length).toBeGreaterThan(0);
    await expectUsedUp(v.browser, genuine.href);
    await expectVictimUnchanged(v);

    // This app keeps the discovered (broken) metadata; the process serves a fresh one normally.
    expect((await new Browser().request(`${app.baseURL}/login`)).status).toBe(302);
    delete provider.behaviour.overrides.discovery;
    const fresh = await startApp();
    try {
      await expectNormalLogin(fresh);
    } finally {
      await fresh.close();
    }
  });

  test.each(VICTIMS)('token endpoint invalid_grant (RFC 6749 §5.2, %s victim) → 400 invalid_grant, the session unchanged; a fresh login in the same browser then succeeds', async (_kind, signedIn) => {
    const v = await victim(signedIn);
    provider.behaviour.token = 'invalid_grant';
    const genuine = await callbackUrl(v.browser);
    const page = await v.browser.request(genuine.href, { headers: JSON_ACCEPT });
    expectRefused(page, 400, 'invalid_grant');
    expect(jsonError(page).error_description).toMatch(/refused/);
    await expectUsedUp(v.browser, genuine.href);
    await expectVictimUnchanged(v);

    provider.behaviour.token = 'ok';
    const fresh = await callbackUrl(v.browser);
    const landed = await v.browser.request(fresh.href);
    expect(landed.status).toBe(302);
    expect(sessionCookiesSet(landed)).toHaveLength(1);
    const session = await v.browser.cookie(app.baseURL, 'oidc_session');
    expect(session).toBeDefined();
    expect(session).not.toBe(v.session);
    const me = await v.browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);
  });
});
