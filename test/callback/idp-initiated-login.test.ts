/**
 * lib/callback/idp-initiated-login.ts: Scalekit's IdP-initiated login, end to end against
 * `oidc-provider` in Scalekit's shape (test/support/vendor-provider.ts: `/oauth/authorize`,
 * `/keys`, `connection_id` and `organization_id` accepted), which signs the `idp_initiated_login`
 * token with its real key, the one its JWKS publishes and its ID tokens are signed with.
 *
 * - the token is verified with the issuer's keys, and its `connection_id`, `organization_id` and
 *   `login_hint` reach the fresh authorization request (the default `loginParams` would not let
 *   `/login`'s query set the first two), and the login lands on `relay_state`;
 * - a token signed with another key, expired, unsigned (`alg: none`), HMAC-signed, of another
 *   issuer or client, or with a malformed claim starts no login: 400 `invalid_idp_initiated_login`;
 * - `relay_state` off this origin lands on `/` (RFC 9700 §4.11);
 * - the app's fixed `authorizationParams` win: another organization or connection is 403
 *   `organization_mismatch`;
 * - with `tenants`, the token is verified as the request's issuer's.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express, type Request } from 'express';
import { base64url, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { authCallback, requireAuth, type AuthCallbackConfig } from 'express-oidc-callback';
import { Browser, type Page } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { startTenantBed } from '../support/tenant-bed.js';
import { CLIENT_ID, CLIENT_SECRET, SECRET, pendingLogin, pendingLoginCookies, signIn } from '../support/testbed.js';
import { startVendorProvider, type VendorProvider } from '../support/vendor-provider.js';

const JSON_ACCEPT = { accept: 'application/json' };
const CONNECTION = 'conn_59615193913';
const ORGANIZATION = 'org_59615193906282635';

/** A Scalekit provider and an app for it, each on its own localhost port. */
interface Bed {
  op: VendorProvider;
  /** The app's base URL, `http://localhost:<port>`. */
  baseURL: string;
  close(): Promise<void>;
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((bed) => bed.close()));
});

/** The app: authCallback(`auth`), `GET /` and `GET /dashboard` (who is signed in), `GET /api/me` behind requireAuth(); errors as `{ code, message }`. */
function buildApp(auth: AuthCallbackConfig): Express {
  const app = express();
  app.use(authCallback(auth));
  app.get(['/', '/dashboard'], (req: Request, res) => {
    res.type('text').send(req.user ? `signed in as ${req.user.sub} at ${req.originalUrl}` : 'signed out');
  });
  app.get('/api/me', requireAuth(), (req, res) => {
    res.json(req.user);
  });
  app.use(errorAsJson);
  return app;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** Scalekit's provider (its paths; `organization_id`, `connection_id` accepted) and the app with the default `loginParams` and `auth` over them. */
async function startBed(auth: Partial<AuthCallbackConfig> = {}): Promise<Bed> {
  const server = createServer();
  const baseURL = `http://localhost:${await listen(server)}`;
  const op = await startVendorProvider({
    issuerPath: '',
    routes: { authorization: '/oauth/authorize', token: '/oauth/token', jwks: '/keys', userinfo: '/userinfo', end_session: '/oidc/logout' },
    configuration: { extraParams: ['organization_id', 'connection_id'] },
    clients: [{
      client_id: CLIENT_ID, client_secret: CLIENT_SECRET, token_endpoint_auth_method: 'client_secret_post',
      redirect_uris: [`${baseURL}/callback`], post_logout_redirect_uris: [baseURL],
    }],
  });
  server.on('request', buildApp({
    issuer: op.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, clientAuthMethod: 'client_secret_post', baseURL, secret: SECRET, ...auth,
  }));
  const bed: Bed = {
    op,
    baseURL,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await op.close();
    },
  };
  open.push(bed);
  return bed;
}

const now = (): number => Math.floor(Date.now() / 1000);

/** The claims of a token Scalekit would send: the issuer, this client, five minutes to live, a connection of an organization. */
function scalekitClaims(op: VendorProvider, over: JWTPayload = {}): JWTPayload {
  return {
    iss: op.issuer, aud: CLIENT_ID, iat: now(), exp: now() + 300,
    connection_id: CONNECTION, organization_id: ORGANIZATION, login_hint: 'alice@example.com', relay_state: '/dashboard?tab=sso',
    ...over,
  };
}

/** The callback as Scalekit sends the browser to it: `idp_initiated_login=<token>` and nothing else (unless `extra`). */
function initiation(bed: Bed, token: string, extra: Record<string, string> = {}): string {
  const url = new URL(`${bed.baseURL}/callback`);
  url.search = new URLSearchParams({ idp_initiated_login: token, ...extra }).toString();
  return url.href;
}

/** Expects `res` to be the given refusal, with no login started: no redirect, no pending-login cookie. */
async function expectRefused(res: Page, browser: Browser, bed: Bed, status: number, code: string): Promise<{ code: string; message: string }> {
  const error = JSON.parse(res.body) as { code: string; message: string };
  expect({ status: res.status, code: error.code, location: res.headers.get('location') }).toEqual({ status, code, location: null });
  expect(await pendingLoginCookies(browser, bed.baseURL)).toEqual([]);
  expect(bed.op.authorizations).toEqual([]);
  return error;
}

/** The authorization request the app answered `res` with. */
function authorizationRequest(res: Page, bed: Bed): URL {
  expect(res.status).toBe(302);
  const url = new URL(res.headers.get('location')!);
  expect(url.origin + url.pathname).toBe(`${bed.op.origin}/oauth/authorize`);
  return url;
}

describe('a token the issuer signed', () => {
  test('starts a fresh login at its connection and organization for its login_hint, without loginParams allowing them, which lands on relay_state; nothing is accepted as a login before it', async () => {
    const bed = await startBed();
    const browser = new Browser();
    const res = await browser.request(initiation(bed, await bed.op.sign(scalekitClaims(bed.op))));
    const authorize = authorizationRequest(res, bed);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer'); // the token does not leak to the provider
    expect(Object.fromEntries(['connection_id', 'organization_id', 'login_hint'].map((p) => [p, authorize.searchParams.get(p)]))).toEqual({
      connection_id: CONNECTION, organization_id: ORGANIZATION, login_hint: 'alice@example.com',
    });
    // An ordinary login: state, nonce and PKCE, its transaction sealed in this browser.
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(await pendingLogin(browser, bed.baseURL, authorize.searchParams.get('state')!)).toMatchObject({ issuer: bed.op.issuer, returnTo: '/dashboard?tab=sso' });
    expect(bed.op.tokenRequests).toEqual([]);
    expect((await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT })).status).toBe(401);

    const landed = await signIn(browser, authorize.href, 'alice');
    expect({ url: landed.url, status: landed.status, body: landed.body }).toEqual({
      url: `${bed.baseURL}/dashboard?tab=sso`, status: 200, body: 'signed in as alice at /dashboard?tab=sso',
    });
    expect(bed.op.authorizations).toEqual([expect.objectContaining({ connection_id: CONNECTION, organization_id: ORGANIZATION, login_hint: 'alice@example.com' })]);
    expect(bed.op.tokenRequests.map((r) => r.error)).toEqual([undefined]);
  });

  test('without iss, aud, login_hint or relay_state (the claims Scalekit may leave out) it is accepted; relay_state as a URL of this app is kept as its path', async () => {
    const bed = await startBed();
    const browser = new Browser();
    const minimal = await bed.op.sign({ exp: now() + 60, organization_id: ORGANIZATION });
    const authorize = authorizationRequest(await browser.request(initiation(bed, minimal)), bed);
    expect([authorize.searchParams.get('organization_id'), authorize.searchParams.has('connection_id'), authorize.searchParams.has('login_hint')]).toEqual([ORGANIZATION, false, false]);
    expect(await pendingLogin(browser, bed.baseURL, authorize.searchParams.get('state')!)).toMatchObject({ returnTo: '/' });

    const absolute = await bed.op.sign(scalekitClaims(bed.op, { aud: [CLIENT_ID, 'another-client'], relay_state: `${bed.baseURL}/dashboard#top` }));
    const again = authorizationRequest(await browser.request(initiation(bed, absolute)), bed);
    expect(await pendingLogin(browser, bed.baseURL, again.searchParams.get('state')!)).toMatchObject({ returnTo: '/dashboard#top' });
  });

  test('query parameters beside the token are not read: only the signed claims choose the connection and where to land', async () => {
    const bed = await startBed();
    const browser = new Browser();
    const res = await browser.request(initiation(bed, await bed.op.sign(scalekitClaims(bed.op)), {
      connection_id: 'conn_EVIL', organization_id: 'org_EVIL', login_hint: 'mallory@example.com', relay_state: '/evil',
    }));
    const authorize = authorizationRequest(res, bed);
    expect([authorize.searchParams.get('connection_id'), authorize.searchParams.get('organization_id'), authorize.searchParams.get('login_hint')]).toEqual([CONNECTION, ORGANIZATION, 'alice@example.com']);
    expect(await pendingLogin(browser, bed.baseURL, authorize.searchParams.get('state')!)).toMatchObject({ returnTo: '/dashboard?tab=sso' });
  });

  test.each([
    ['another origin', 'https://evil.example/dashboard'],
    ['scheme-relative', '//evil.example/dashboard'],
    ['a backslash', '/\\evil.example'],
    ['javascript:', 'javascript:alert(1)'],
    ['this host on another port', 'http://localhost:1/dashboard'],
  ])('a relay_state off this origin (%s) lands on / (RFC 9700 §4.11)', async (_name, relay) => {
    const bed = await startBed();
    const browser = new Browser();
    const authorize = authorizationRequest(await browser.request(initiation(bed, await bed.op.sign(scalekitClaims(bed.op, { relay_state: relay })))), bed);
    expect(await pendingLogin(browser, bed.baseURL, authorize.searchParams.get('state')!)).toMatchObject({ returnTo: '/' });
  });

  test('is not a page load (an <img> of the callback from another site): 400 invalid_request, no login planted', async () => {
    const bed = await startBed();
    const browser = new Browser();
    const res = await browser.request(initiation(bed, await bed.op.sign(scalekitClaims(bed.op))), { headers: { ...JSON_ACCEPT, 'sec-fetch-dest': 'image' } });
    await expectRefused(res, browser, bed, 400, 'invalid_request');
  });

  test('a pending login of this browser is left alone', async () => {
    const bed = await startBed();
    const browser = new Browser();
    const first = authorizationRequest(await browser.request(`${bed.baseURL}/login`), bed);
    authorizationRequest(await browser.request(initiation(bed, await bed.op.sign(scalekitClaims(bed.op)))), bed);
    expect(await pendingLogin(browser, bed.baseURL, first.searchParams.get('state')!)).toBeDefined();
  });
});

describe('a token that fails verification starts no login: 400 invalid_idp_initiated_login', () => {
  /** The token's header and claims, base64url-encoded, with `signature` (a JWS compact serialization made by hand). */
  function handMade(header: Record<string, unknown>, claims: JWTPayload, signature = ''): string {
    const part = (value: unknown): string => base64url.encode(JSON.stringify(value));
    return `${part(header)}.${part(claims)}.${signature}`;
  }

  test.each([
    ['signed with another key under the issuer\'s kid', async (op: VendorProvider) => {
      const { privateKey } = await generateKeyPair('RS256');
      return new SignJWT(scalekitClaims(op)).setProtectedHeader({ alg: 'RS256', kid: 'vendor-rs256' }).sign(privateKey);
    }, /not signed with a key of the issuer/],
    ['signed with another key under a kid the issuer does not have', async (op: VendorProvider) => {
      const { privateKey } = await generateKeyPair('ES256');
      return new SignJWT(scalekitClaims(op)).setProtectedHeader({ alg: 'ES256', kid: 'attacker-key' }).sign(privateKey);
    }, /not signed with a key of the issuer/],
    ['unsigned (alg none)', async (op: VendorProvider) => handMade({ alg: 'none', typ: 'JWT' }, scalekitClaims(op)), /unsigned, or signed with an algorithm other than an asymmetric one/],
    ['HMAC-signed (HS256)', async (op: VendorProvider) => new SignJWT(scalekitClaims(op)).setProtectedHeader({ alg: 'HS256', kid: 'vendor-rs256' })
      .sign(new TextEncoder().encode('a-shared-secret-the-issuer-never-had-0123')), /unsigned, or signed with an algorithm other than an asymmetric one/],
    ['the issuer\'s signature over other claims', async (op: VendorProvider) => {
      const [header, , signature] = (await op.sign(scalekitClaims(op))).split('.');
      return `${header}.${base64url.encode(JSON.stringify(scalekitClaims(op, { organization_id: 'org_EVIL' })))}.${signature}`;
    }, /not signed with a key of the issuer/],
    ['expired', async (op: VendorProvider) => op.sign(scalekitClaims(op, { iat: now() - 600, exp: now() - 120 })), /has expired/],
    ['without exp', async (op: VendorProvider) => op.sign(scalekitClaims(op, { exp: undefined })), /"exp" claim/],
    ['not yet valid (nbf)', async (op: VendorProvider) => op.sign(scalekitClaims(op, { nbf: now() + 600 })), /"nbf" claim/],
    ['of another issuer', async (op: VendorProvider) => op.sign(scalekitClaims(op, { iss: 'https://another-environment.scalekit.dev' })), /issued by another issuer/],
    ['for another client', async (op: VendorProvider) => op.sign(scalekitClaims(op, { aud: 'another-client' })), /for another client/],
    ['with a connection_id that is not a string', async (op: VendorProvider) => op.sign(scalekitClaims(op, { connection_id: ['conn_1', 'conn_2'] })), /"connection_id" claim/],
    ['not a JWS (two parts)', async () => 'eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9', /not a signed JWT/],
  ])('%s', async (_name, make, message) => {
    const bed = await startBed();
    const browser = new Browser();
    const res = await browser.request(initiation(bed, await make(bed.op)), { headers: JSON_ACCEPT });
    const error = await expectRefused(res, browser, bed, 400, 'invalid_idp_initiated_login');
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/eyJ/); // the token is not echoed
  });

  test('the clockTolerance option bounds how far past exp a token is still taken', async () => {
    const bed = await startBed({ clockTolerance: 120 });
    const browser = new Browser();
    authorizationRequest(await browser.request(initiation(bed, await bed.op.sign(scalekitClaims(bed.op, { exp: now() - 60 })))), bed);
    const late = await browser.request(initiation(bed, await bed.op.sign(scalekitClaims(bed.op, { exp: now() - 180 }))), { headers: JSON_ACCEPT });
    expect(JSON.parse(late.body)).toMatchObject({ code: 'invalid_idp_initiated_login' });
  });
});

describe('the app\'s fixed authorizationParams win', () => {
  test('the organization the app fixes: a token of that organization starts the login there, with its connection', async () => {
    const bed = await startBed({ authorizationParams: { organization_id: ORGANIZATION } });
    const authorize = authorizationRequest(await new Browser().request(initiation(bed, await bed.op.sign(scalekitClaims(bed.op)))), bed);
    expect([authorize.searchParams.get('organization_id'), authorize.searchParams.get('connection_id')]).toEqual([ORGANIZATION, CONNECTION]);
  });

  test('a token naming only a login_hint starts the login at the organization the app fixes', async () => {
    const bed = await startBed({ authorizationParams: { organization_id: ORGANIZATION } });
    const token = await bed.op.sign(scalekitClaims(bed.op, { connection_id: undefined, organization_id: undefined }));
    const authorize = authorizationRequest(await new Browser().request(initiation(bed, token)), bed);
    expect([authorize.searchParams.get('organization_id'), authorize.searchParams.has('connection_id'), authorize.searchParams.get('login_hint')]).toEqual([ORGANIZATION, false, 'alice@example.com']);
  });

  test.each([
    ['another organization (and its connection)', { organization_id: ORGANIZATION }, { organization_id: 'org_OTHER', connection_id: 'conn_OTHER' }, /another organization/],
    ['a connection without the fixed organization', { organization_id: ORGANIZATION }, { organization_id: undefined, connection_id: 'conn_OTHER' }, /a connection but not the organization/],
    ['another connection than the fixed one', { connection_id: CONNECTION }, { connection_id: 'conn_OTHER' }, /another connection/],
  ])('%s: 403 organization_mismatch, no login', async (_name, fixed, claims, message) => {
    const bed = await startBed({ authorizationParams: fixed });
    const browser = new Browser();
    const res = await browser.request(initiation(bed, await bed.op.sign(scalekitClaims(bed.op, claims))), { headers: JSON_ACCEPT });
    expect((await expectRefused(res, browser, bed, 403, 'organization_mismatch')).message).toMatch(message);
  });

  test('a login_hint the app fixes is the one sent', async () => {
    const bed = await startBed({ authorizationParams: { login_hint: 'admin@example.com' } });
    const authorize = authorizationRequest(await new Browser().request(initiation(bed, await bed.op.sign(scalekitClaims(bed.op)))), bed);
    expect(authorize.searchParams.get('login_hint')).toBe('admin@example.com');
  });
});

describe('where the token is verified', () => {
  test('with routes.login false the middleware starts no login: the request is an ordinary callback, refused (400 missing_transaction)', async () => {
    const bed = await startBed({ routes: { login: false } });
    const browser = new Browser();
    const res = await browser.request(initiation(bed, await bed.op.sign(scalekitClaims(bed.op))), { headers: JSON_ACCEPT });
    await expectRefused(res, browser, bed, 400, 'missing_transaction');
  });

  test('with tenants, as the request\'s issuer\'s: the login starts there; a token another tenant issued is refused', async () => {
    const tenantBed = await startTenantBed([
      { org: 'acme', clientId: 'acme-app', clientSecret: 'acme-secret-0123456789abcdef', authMethod: 'client_secret_basic' },
      { org: 'globex', clientId: 'globex-app', clientSecret: 'globex-secret-0123456789abcdef', authMethod: 'client_secret_post' },
    ]);
    open.push(tenantBed);
    const [acme, globex] = tenantBed.tenants as [typeof tenantBed.tenants[0], typeof tenantBed.tenants[0]];
    const byOrg = new Map(tenantBed.tenants.map((t) => [t.org, t]));
    tenantBed.serve(buildApp({
      baseURL: tenantBed.baseURL, secret: SECRET,
      tenants: {
        issuer: (req) => byOrg.get(String(req.query.org))?.issuer,
        client: (issuer) => {
          const t = tenantBed.tenants.find((x) => x.issuer === issuer);
          return t && { clientId: t.clientId, clientSecret: t.clientSecret, clientAuthMethod: t.authMethod };
        },
      },
    }));
    const browser = new Browser();
    const claims = (issuer: string, aud: string): JWTPayload => ({ iss: issuer, aud, exp: now() + 60, connection_id: CONNECTION, relay_state: '/dashboard' });
    const res = await browser.request(`${tenantBed.baseURL}/callback?org=acme&idp_initiated_login=${await acme.op.sign(claims(acme.issuer, acme.clientId))}`);
    expect(res.status).toBe(302);
    const authorize = new URL(res.headers.get('location')!);
    expect([authorize.origin + authorize.pathname, authorize.searchParams.get('client_id'), authorize.searchParams.get('connection_id')]).toEqual([`${acme.base}/oauth2/authorize`, 'acme-app', CONNECTION]);

    // The tenants of this bed share one signing key: the token's iss tells them apart.
    const foreign = await browser.request(`${tenantBed.baseURL}/callback?org=acme&idp_initiated_login=${await globex.op.sign(claims(globex.issuer, 'acme-app'))}`, { headers: JSON_ACCEPT });
    expect({ status: foreign.status, ...JSON.parse(foreign.body) as object }).toMatchObject({ status: 400, code: 'invalid_idp_initiated_login' });
    const nobody = await browser.request(`${tenantBed.baseURL}/callback?idp_initiated_login=${await acme.op.sign(claims(acme.issuer, acme.clientId))}`, { headers: JSON_ACCEPT });
    expect({ status: nobody.status, ...JSON.parse(nobody.body) as object }).toMatchObject({ status: 400, code: 'unknown_issuer' });
  });

  test('a token whose keys cannot be fetched (the provider is down) is a 502, not a 400', async () => {
    const bed = await startBed();
    const token = await bed.op.sign(scalekitClaims(bed.op));
    // Discovery first, so that the failure is the JWKS fetch's.
    expect((await new Browser().request(`${bed.baseURL}/login`)).status).toBe(302);
    await bed.op.close();
    const res = await new Browser().request(initiation(bed, token), { headers: JSON_ACCEPT });
    expect({ status: res.status, code: (JSON.parse(res.body) as { code: string }).code }).toEqual({ status: 502, code: 'provider_unreachable' });
  });
});
