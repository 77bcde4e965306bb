/**
 * ID token validation in the code flow, after the OpenID Foundation's relying-party
 * certification tests (each test names its test id in brackets; `Core §…` where the OpenID
 * Foundation has no RP test for the check). The example app, over real HTTP, against the hostile
 * provider of test/support/hostile-provider.ts; the ID token comes from the token endpoint.
 *
 * Every rejection must answer 502 (`invalid_id_token` for a bad ID token), set no session
 * cookie, leave `req.user` undefined (or, for a browser already signed in, its session exactly
 * as it was), and put no code, token or secret in the response, nor in what the app logs: the
 * example app `console.error()`s every 5xx, and each logged argument is checked as
 * `util.inspect()` prints it.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { appSecrets, callbackUrl, startExampleApp, type AppClient, type AppServer } from '../../support/app-server.js';
import { Browser, type Page } from '../../support/browser.js';
import { jsonError, leaksInLogs, leaksInPage, sessionCookiesSet } from '../../support/leaks.js';
import { startHostileProvider, type HostileProvider } from '../../support/hostile-provider.js';
import { captureConsoleErrors } from '../../support/log-guard.js';

const CLIENT_ID = 'rp-id-token-test';
/** Also the HMAC key of the HS256 downgrade attempts. */
const CLIENT_SECRET = 'id-token-client-secret:with+plus&amp=equals/%25 and space';
const SECRET = 'a-test-secret-of-at-least-32-characters-0123456789';
const SESSION_SECRET = 'express-session-test-secret';
/** authCallback()'s `httpTimeout`, in seconds. */
const HTTP_TIMEOUT = 2;
const JSON_ACCEPT = { accept: 'application/json' };
/** A JWS's signing input (`header.payload`, both JSON objects): the token without its signature, claims readable. */

/** authCallback()'s options for these tests, over the defaults of {@link startApp}. */
type AuthOptions = Partial<AuthCallbackConfig>;

type App = AppServer;

const CLIENT: AppClient = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, secret: SECRET, sessionSecret: SESSION_SECRET, httpTimeout: HTTP_TIMEOUT };

/** The example app, on its own 127.0.0.1 port, pointed at `issuer`. */
function startApp(issuer: string, auth: AuthOptions = {}): Promise<App> {
  return startExampleApp(CLIENT, issuer, auth);
}

/** Seconds since the epoch. */
function now(): number {
  return Math.floor(Date.now() / 1000);
}

/** The decoded JWS protected header of a compact JWS. */
function jwsHeader(jws: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Every secret a response or a log line must not contain. */
function secrets(provider: HostileProvider): string[] {
  return [...appSecrets(CLIENT), ...provider.secrets()];
}

/** Nothing secret in the body: no issued code or token, no client secret, no JWT, no stack trace. */
function expectNoLeak(page: Page, provider: HostileProvider): void {
  expect(leaksInPage(page, secrets(provider))).toEqual([]);
}

// The example app logs every 5xx with console.error; these tests cause many on purpose.
const consoleErrors = captureConsoleErrors();

/**
 * What the app logged since the last `mockClear()`: at least one line (the 5xx), and in none of
 * its arguments, as `util.inspect()` prints them and as `reachableText()` finds them, an issued
 * code or token, a secret, a JWT, or a JWS signing input.
 */
function expectLogsClean(provider: HostileProvider): void {
  expect(consoleErrors.calls.length).toBeGreaterThan(0);
  expect(leaksInLogs(consoleErrors.calls, secrets(provider))).toEqual([]);
}

/** A whole login that must succeed: 302 to `/`, a session cookie, and `/api/me` answers the user's claims. */
async function goodLogin(browser: Browser, app: App, provider: HostileProvider): Promise<{ cookie: string; me: Record<string, unknown> }> {
  const tokenRequests = provider.requests.token;
  const landed = await browser.request(await callbackUrl(browser, app, provider));
  expect({ status: landed.status, body: landed.body }).toMatchObject({ status: 302 });
  expect(landed.headers.get('location')).toBe('/');
  expect(sessionCookiesSet(landed).some((c) => /^oidc_session=[^;]+/.test(c))).toBe(true);
  expect(provider.requests.token).toBe(tokenRequests + 1);
  expectNoLeak(landed, provider);
  const cookie = await browser.cookie(app.baseURL, 'oidc_session');
  expect(cookie).toMatch(/^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/);
  const me = await browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
  expect(me.status).toBe(200);
  const claims = JSON.parse(me.body) as Record<string, unknown>;
  expect(claims).toMatchObject({ iss: provider.issuer, sub: 'mallory', aud: CLIENT_ID });
  return { cookie: cookie!, me: claims };
}

/** What a failed login answers: the status, and the code (any code but `internal_error` when omitted). */
interface Failure {
  status: number;
  code?: string;
}

const BAD_ID_TOKEN: Failure = { status: 502, code: 'invalid_id_token' };
const BAD_USERINFO: Failure = { status: 502, code: 'invalid_userinfo' };

/**
 * A whole login that must fail at the callback: the status and code, one token request, no
 * session cookie set, nothing secret in the answer or the logs. A browser that was signed in
 * before keeps its session cookie and its `req.user` exactly; any other stays signed out.
 */
async function failingLogin(app: App, provider: HostileProvider, browser = new Browser(), expected: Failure = BAD_ID_TOKEN): Promise<Page> {
  const cookieBefore = await browser.cookie(app.baseURL, 'oidc_session');
  const meBefore = cookieBefore === undefined ? undefined : (await browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT })).body;
  const tokenRequests = provider.requests.token;
  consoleErrors.clear();

  const url = await callbackUrl(browser, app, provider);
  const page = await browser.request(url, { headers: JSON_ACCEPT });
  const { error } = jsonError(page);
  expect({ status: page.status, code: error }).toEqual({ status: expected.status, code: expected.code ?? error });
  expect(error).not.toBe('internal_error');
  expect(provider.requests.token).toBe(tokenRequests + 1);
  expect(sessionCookiesSet(page)).toEqual([]);
  expectNoLeak(page, provider);
  expectLogsClean(provider);

  expect(await browser.cookie(app.baseURL, 'oidc_session')).toBe(cookieBefore);
  const me = await browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
  if (cookieBefore === undefined) {
    expect(me.status).toBe(401);
    expect(jsonError(me).error).toBe('unauthorized');
  } else {
    expect(me.status).toBe(200);
    expect(me.body).toBe(meBefore);
  }
  return page;
}

/** Signs `browser` in with a good login, then runs a failing one in the same browser (see {@link failingLogin}). */
async function failingLoginWhileSignedIn(app: App, provider: HostileProvider, breakIt: () => void | Promise<void>, expected: Failure = BAD_ID_TOKEN): Promise<Page> {
  const browser = new Browser();
  const before = await goodLogin(browser, app, provider);
  await breakIt();
  const page = await failingLogin(app, provider, browser, expected);
  expect(await browser.cookie(app.baseURL, 'oidc_session')).toBe(before.cookie);
  return page;
}

let provider: HostileProvider;
let app: App;
// A fresh provider and app per test: the app's cached JWKS and discovery never carry over.
beforeEach(async () => {
  provider = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  app = await startApp(provider.issuer);
  consoleErrors.clear();
});
afterEach(async () => {
  await app.close();
  await provider.close();
});

/** Replaces the app with one built with `auth` options. */
async function restartApp(auth: AuthOptions, issuer = provider.issuer): Promise<void> {
  await app.close();
  app = await startApp(issuer, auth);
}

describe('signature and algorithm', () => {
  test('a good login first: RS256 with the published kid is accepted, and the JWKS was fetched [rp-id_token-sig-rs256]', async () => {
    await goodLogin(new Browser(), app, provider);
    expect(provider.requests.jwks).toBe(1);
  });

  test('bad RS256 signature → 502 invalid_id_token, an existing session is left as it was [rp-id_token-bad-sig-rs256]', async () => {
    await failingLoginWhileSignedIn(app, provider, () => {
      provider.behaviour.idToken = 'bad-signature';
    });
  });

  test('alg none (unsigned) → 502 invalid_id_token, an existing session is left as it was [rp-id_token-sig-none]', async () => {
    await failingLoginWhileSignedIn(app, provider, () => {
      provider.behaviour.alg = 'none';
    });
    expect(provider.issued.idTokens.at(-1)).toMatch(/^[\w-]+\.[\w-]+\.$/);
  });

  test.each([
    ['none', 'none', 'rp-id_token-sig-none'],
    ['none', 'HS256', 'rp-id_token-sig-hs256'],
    ['HS256', 'HS256', 'rp-id_token-sig-hs256'],
  ] as const)('discovery advertising only %s, ID token %s (client secret as HMAC key) → 502 invalid_id_token: the alg stays pinned to RS256 [%s]', async (advertised, alg, _id) => {
    provider.behaviour.metadata = { id_token_signing_alg_values_supported: [advertised] };
    provider.behaviour.alg = alg;
    await failingLogin(app, provider);
    expect(jwsHeader(provider.issued.idTokens.at(-1)!).alg).toBe(alg);
  });

  test('idTokenSigningAlg ES256 and a provider signing ES256 → accepted [rp-id_token-sig-es256]', async () => {
    await restartApp({ idTokenSigningAlg: 'ES256' });
    provider.behaviour.metadata = { id_token_signing_alg_values_supported: ['ES256'] };
    provider.behaviour.alg = 'ES256';
    await goodLogin(new Browser(), app, provider);
    expect(provider.jwks().map((k) => k.alg)).toEqual(['RS256', 'ES256']);
  });

  test('idTokenSigningAlg ES256 and a provider signing RS256 with a published key → 502 invalid_id_token [rp-id_token-sig-es256]', async () => {
    await restartApp({ idTokenSigningAlg: 'ES256' });
    await provider.rotateKey('ES256'); // an ES256 key is published too: only the alg decides
    provider.behaviour.metadata = { id_token_signing_alg_values_supported: ['ES256', 'RS256'] };
    provider.behaviour.alg = 'RS256';
    await failingLogin(app, provider);
  });

  test.each([
    ['crit: ["exp"]', { crit: ['exp'] }],
    ['crit: ["b64"] with b64: false (RFC 7797)', { crit: ['b64'], b64: false }],
    ['crit naming an unknown extension', { crit: ['urn:example:unknown'], 'urn:example:unknown': true }],
  ])('a JWS header with %s → 502 invalid_id_token [Core §3.1.3.7, RFC 7515 §4.1.11]', async (_what, header) => {
    provider.behaviour.header = header;
    await failingLogin(app, provider);
    expect(jwsHeader(provider.issued.idTokens.at(-1)!)).toMatchObject(header);
  });
});

describe('claims', () => {
  test('wrong iss → 502 invalid_id_token [rp-id_token-issuer-mismatch]', async () => {
    provider.behaviour.claims = { iss: 'https://issuer.example.test' };
    await failingLogin(app, provider);
  });

  test('missing sub → 502 invalid_id_token [rp-id_token-sub]', async () => {
    provider.behaviour.claims = { sub: undefined };
    await failingLogin(app, provider);
  });

  test.each([
    ['wrong aud', { aud: 'some-other-client' }],
    ['missing aud', { aud: undefined }],
    ['several aud without azp', { aud: [CLIENT_ID, 'some-other-client'], azp: undefined }],
    ['several aud with a wrong azp', { aud: [CLIENT_ID, 'some-other-client'], azp: 'some-other-client' }],
  ])('%s → 502 invalid_id_token [rp-id_token-aud]', async (_what, claims) => {
    provider.behaviour.claims = claims;
    await failingLogin(app, provider);
  });

  test('several aud with azp = client_id → accepted [rp-id_token-aud]', async () => {
    provider.behaviour.claims = { aud: [CLIENT_ID, 'some-other-client'], azp: CLIENT_ID };
    const browser = new Browser();
    const landed = await browser.request(await callbackUrl(browser, app, provider));
    expect(landed.status).toBe(302);
    const me = await browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'mallory', aud: [CLIENT_ID, 'some-other-client'], azp: CLIENT_ID });
  });

  test('missing iat → 502 invalid_id_token [rp-id_token-iat]', async () => {
    provider.behaviour.claims = { iat: undefined };
    await failingLogin(app, provider);
  });

  test('iat an hour in the future (beyond clockTolerance 30 s) → 502 invalid_id_token [rp-id_token-iat]', async () => {
    provider.behaviour.transformClaims = (claims) => ({ ...claims, iat: now() + 3600, exp: now() + 7200 });
    await failingLogin(app, provider);
  });

  test('iat 120 s in the future (beyond clockTolerance 30 s) → 502 invalid_id_token [rp-id_token-iat]', async () => {
    provider.behaviour.transformClaims = (claims) => ({ ...claims, iat: now() + 120, exp: now() + 3600 });
    await failingLogin(app, provider);
  });

  test('iat 10 s in the future (within clockTolerance 30 s) → accepted [rp-id_token-iat]', async () => {
    const iat = now() + 10;
    provider.behaviour.claims = { iat, exp: iat + 3600 };
    const { me } = await goodLogin(new Browser(), app, provider);
    expect(me.iat).toBe(iat);
  });

  test('exp 5 minutes in the past (beyond clockTolerance 30 s) → 502 invalid_id_token [Core §3.1.3.7 step 9]', async () => {
    provider.behaviour.claims = { iat: now() - 900, exp: now() - 300 };
    await failingLogin(app, provider);
  });

  test('exp 10 s in the past with clockTolerance 30 → accepted [Core §3.1.3.7 step 9]', async () => {
    await restartApp({ clockTolerance: 30 });
    const exp = now() - 10;
    provider.behaviour.claims = { iat: exp - 600, exp };
    const { me } = await goodLogin(new Browser(), app, provider);
    expect(me.exp).toBe(exp);
  });

  test('exp 10 s in the past with clockTolerance 5 → 502 invalid_id_token [Core §3.1.3.7 step 9]', async () => {
    await restartApp({ clockTolerance: 5 });
    provider.behaviour.claims = { iat: now() - 600, exp: now() - 10 };
    await failingLogin(app, provider);
  });

  test('wrong nonce → 502 invalid_id_token, an existing session is left as it was [rp-nonce-invalid]', async () => {
    await failingLoginWhileSignedIn(app, provider, () => {
      provider.behaviour.claims = { nonce: 'a-nonce-this-login-never-sent' };
    });
  });

  test('missing nonce → 502 invalid_id_token [rp-nonce-invalid]', async () => {
    provider.behaviour.claims = { nonce: undefined };
    await failingLogin(app, provider);
    expect(provider.authorizeRequests.at(-1)!.params.get('nonce')).toMatch(/^[\w-]{43}$/);
  });
});

describe('kid and JWKS', () => {
  test('no kid, one key in the JWKS → accepted [rp-id_token-kid-absent-single-jwks]', async () => {
    provider.behaviour.header = { kid: undefined };
    await goodLogin(new Browser(), app, provider);
    expect(provider.jwks()).toHaveLength(1);
    expect(jwsHeader(provider.issued.idTokens.at(-1)!)).not.toHaveProperty('kid');
  });

  test('no kid, several keys in the JWKS → 502 invalid_id_token [rp-id_token-kid-absent-multiple-jwks]', async () => {
    await provider.createKey('RS256');
    expect(provider.jwks()).toHaveLength(2);
    provider.behaviour.header = { kid: undefined };
    await failingLogin(app, provider);
  });

  test('key rotated between two logins → the second is accepted, with exactly one more JWKS request [rp-key-rotation-op-sign-key]', async () => {
    await goodLogin(new Browser(), app, provider);
    expect(provider.requests.jwks).toBe(1);
    const oldKid = provider.signingKey()!.kid;
    const rotated = await provider.rotateKey();
    expect(provider.jwks().map((k) => k.kid)).toEqual([rotated.kid]);
    expect(rotated.kid).not.toBe(oldKid);

    await goodLogin(new Browser(), app, provider);
    expect(provider.requests.jwks).toBe(2);
  });

  test('key rotated right before the ID token is signed → accepted, with exactly one more JWKS request [rp-key-rotation-op-sign-key-native]', async () => {
    await goodLogin(new Browser(), app, provider);
    expect(provider.requests.jwks).toBe(1);
    const oldKid = provider.signingKey()!.kid;
    const browser = new Browser();
    const url = await callbackUrl(browser, app, provider); // the login starts under the old key
    provider.behaviour.rotateBeforeSigning = true;
    const landed = await browser.request(url);
    expect(landed.status).toBe(302);
    expect(provider.behaviour.rotateBeforeSigning).toBe(false);
    expect(provider.signingKey()!.kid).not.toBe(oldKid);
    const me = await browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);
    expect(provider.requests.jwks).toBe(2);
  });

  test('a kid still unknown after the re-fetch (a key never published) → 502 invalid_id_token, the JWKS fetched at most once more, an existing session left as it was [rp-key-rotation-op-sign-key]', async () => {
    let jwksBefore = 0;
    await failingLoginWhileSignedIn(app, provider, async () => {
      jwksBefore = provider.requests.jwks;
      provider.behaviour.signingKey = await provider.createKey('RS256', { publish: false });
    });
    expect(jwksBefore).toBe(1);
    expect(provider.requests.jwks).toBeLessThanOrEqual(jwksBefore + 1);
  });

});

describe('discovery issuer', () => {
  /** /login must fail before the browser is sent anywhere. */
  async function loginRefused(): Promise<void> {
    const browser = new Browser();
    consoleErrors.clear();
    const page = await browser.request(`${app.baseURL}/login`, { headers: JSON_ACCEPT });
    expect({ status: page.status, code: jsonError(page).error }).toEqual({ status: 502, code: 'invalid_provider_response' });
    expect(page.headers.get('location')).toBeNull();
    expect(provider.requests.discovery).toBeGreaterThanOrEqual(1);
    expect(provider.requests.authorize).toBe(0);
    expect(sessionCookiesSet(page)).toEqual([]);
    expectNoLeak(page, provider);
    expectLogsClean(provider);
  }

  test('discovery issuer of another tenant → /login answers 502 and never redirects [rp-discovery-issuer-not-matching-config]', async () => {
    provider.behaviour.discovery = 'wrong-issuer';
    await loginRefused();
    await loginRefused(); // a failed discovery is not cached as a success either
  });

  test('discovery issuer = configured issuer + "/" → /login answers 502 and never redirects [rp-discovery-issuer-not-matching-config]', async () => {
    provider.behaviour.discovery = 'issuer-trailing-slash';
    await loginRefused();
  });

  test('configured issuer with a trailing "/", discovery issuer without → /login answers 502 and never redirects [rp-discovery-issuer-not-matching-config]', async () => {
    await restartApp({}, `${provider.issuer}/`);
    await loginRefused();
  });

  test('configured and discovered issuer both with a trailing "/" (Auth0 style) → the login works [rp-discovery-issuer-not-matching-config]', async () => {
    await restartApp({}, `${provider.issuer}/`);
    provider.behaviour.issuerIdentifier = `${provider.issuer}/`;
    const browser = new Browser();
    const landed = await browser.request(await callbackUrl(browser, app, provider));
    expect(landed.status).toBe(302);
    const me = await browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ iss: `${provider.issuer}/`, sub: 'mallory' });
  });
});

describe('userinfo (fetchUserInfo: true)', () => {
  beforeEach(async () => {
    await restartApp({ fetchUserInfo: true });
  });

  test('userinfo sub ≠ ID token sub → 502 invalid_userinfo, nothing from userinfo in the session [rp-userinfo-bad-sub-claim]', async () => {
    provider.behaviour.userinfoClaims = { sub: 'someone-else', picture: 'https://pictures.example.test/impostor.png' };
    const page = await failingLogin(app, provider, new Browser(), BAD_USERINFO);
    expect(provider.requests.userinfo).toBe(1);
    expect(page.body).not.toContain('impostor');
  });

  test('userinfo sub ≠ ID token sub while signed in → 502 invalid_userinfo, the existing session keeps its claims [rp-userinfo-bad-sub-claim]', async () => {
    const page = await failingLoginWhileSignedIn(app, provider, () => {
      provider.behaviour.userinfoClaims = { sub: 'someone-else', picture: 'https://pictures.example.test/impostor.png' };
    }, BAD_USERINFO);
    expect(page.body).not.toContain('impostor');
    expect(provider.requests.userinfo).toBe(2);
  });

  test('userinfo sub = ID token sub → its extra claims appear in req.user, the ID token\'s win [rp-userinfo-bearer-header]', async () => {
    provider.behaviour.userinfoClaims = { name: 'Name From Userinfo', locale: 'en-GB' };
    const { me } = await goodLogin(new Browser(), app, provider);
    expect(me).toMatchObject({
      sub: 'mallory',
      name: 'Mallory Hostile',
      picture: 'https://pictures.example.test/mallory.png',
      locale: 'en-GB',
    });
    expect(provider.requests.userinfo).toBe(1);
    const request = provider.userinfoRequests[0]!;
    expect(request.headers.authorization).toBe(`Bearer ${provider.issued.accessTokens.at(-1)}`);
  });

  test('without fetchUserInfo the userinfo endpoint is never called, and req.user has only the ID token\'s claims', async () => {
    await restartApp({});
    const { me } = await goodLogin(new Browser(), app, provider);
    expect(provider.requests.userinfo).toBe(0);
    expect(me).not.toHaveProperty('picture');
  });
});

describe('max_age (authorizationParams: { max_age: "60" })', () => {
  beforeEach(async () => {
    await restartApp({ authorizationParams: { max_age: '60' } });
  });

  test('the authorization request carries max_age=60, and a recent auth_time is accepted [Core §3.1.3.7 step 13]', async () => {
    const { me } = await goodLogin(new Browser(), app, provider);
    expect(provider.authorizeRequests[0]!.params.get('max_age')).toBe('60');
    expect(typeof me.auth_time).toBe('number');
  });

  test('an ID token without auth_time → 502 invalid_id_token [Core §3.1.3.7 step 13]', async () => {
    provider.behaviour.claims = { auth_time: undefined };
    await failingLogin(app, provider);
  });

  test('auth_time older than max_age + clockTolerance → 401 max_age_exceeded: the provider did not re-authenticate [Core §3.1.3.7 step 13]', async () => {
    provider.behaviour.claims = { auth_time: now() - 60 - 30 - 60 };
    const browser = new Browser();
    const page = await browser.request(await callbackUrl(browser, app, provider), { headers: JSON_ACCEPT });
    expect({ status: page.status, code: jsonError(page).error }).toEqual({ status: 401, code: 'max_age_exceeded' });
    expect(sessionCookiesSet(page)).toEqual([]);
    expectNoLeak(page, provider);
    expect((await browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT })).status).toBe(401);
  });
});

describe('what openid-client leaves to its caller (OpenID Connect Core 1.0 §3.1.3.7, §3.1.3.8)', () => {
  test('azp naming another client, with a single aud: 502 invalid_id_token [§3.1.3.7 item 5: when present it must be the client_id]', async () => {
    provider.behaviour.claims = { azp: 'some-other-client' };
    await failingLogin(app, provider);
  });

  test('azp naming this client is accepted', async () => {
    provider.behaviour.claims = { azp: CLIENT_ID };
    const { me } = await goodLogin(new Browser(), app, provider);
    expect(me.azp).toBe(CLIENT_ID);
  });

  test('an at_hash that is not the access token\'s: 502 invalid_id_token [§3.1.3.8]', async () => {
    provider.behaviour.atHash = 'wrong';
    await failingLogin(app, provider);
  });

  test('the access token\'s own at_hash is accepted', async () => {
    provider.behaviour.atHash = 'correct';
    const { me } = await goodLogin(new Browser(), app, provider);
    expect(me.at_hash).toMatch(/^[\w-]{22}$/);
  });
});
