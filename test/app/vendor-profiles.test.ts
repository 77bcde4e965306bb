/**
 * The configurations docs/providers.md gives for Auth0, Scalekit, PingOne,
 * Asgardeo, WorkOS and a generic OpenID Provider, each proved end to end (login → callback →
 * token exchange → /api/me → logout where the vendor has one) against `oidc-provider`
 * reproducing that vendor's issuer identifier, endpoint paths, parameters and response shapes
 * (test/support/vendor-provider.ts), as the seed documents (../shared/seeds/) show them. Tests
 * cannot reach the real services.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import express, { type Express } from 'express';
import session, { MemoryStore } from 'express-session';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, type CryptoKey, type JWK } from 'jose';
import type { ClientMetadata } from 'oidc-provider';
import { authCallback, requireAuth, type AuthCallbackConfig } from 'express-oidc-callback';
import { Browser, type Page } from '../support/browser.js';
import { errorAsJsonLogged } from '../support/error-handler.js';
import { closeServer, listen } from '../support/http-server.js';
import { captureConsoleErrors } from '../support/log-guard.js';
import {
  CLIENT_ID, CLIENT_SECRET, SECRET, SESSION_SECRET, authorizationResponse, signIn, startLogin, startTestbed,
} from '../support/testbed.js';
import { startVendorProvider, type TokenExchange, type VendorProvider, type VendorProviderOptions } from '../support/vendor-provider.js';

const JSON_ACCEPT = { accept: 'application/json' };
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** What the test app's `/api/tokens` answers: `req.oidc`'s tokens (`null` for `undefined`). */
interface TokensSeen {
  idToken: string;
  accessToken: string;
  tokenType: string;
  refreshToken: string | null;
  scope: string | null;
  expiresAt: number | null;
  /** `req.oidc.isExpired()`. */
  isExpired: boolean;
}

/** A vendor's provider and an app configured for it, each on its own localhost port. */
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

// The test app logs every 5xx, as the example app does; the refusals below are expected ones.
const consoleErrors = captureConsoleErrors();

/** The client's key pair for private_key_jwt (Auth0's `client_assertion`). */
let clientKey: { privateJwk: JWK; publicJwk: JWK; publicKey: CryptoKey };
beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  clientKey = {
    privateJwk: { ...(await exportJWK(privateKey)), kid: 'app-key-1' },
    publicJwk: { ...(await exportJWK(publicKey)), kid: 'app-key-1', use: 'sig' },
    publicKey,
  };
});

/**
 * The app: express-session, authCallback(`auth`), `GET /` (where logins and logouts land),
 * `GET /api/me` (every claim of the session, `req.oidc.claims`, as the example app's: `req.user`
 * leaves out the protocol claims such as `iss` and `aud`) and `GET /api/tokens` (`req.oidc`'s tokens) behind
 * requireAuth(). Errors answer `{ code, message }` with their status; a 5xx is logged first.
 */
function buildApp(auth: AuthCallbackConfig): Express {
  const app = express();
  app.use(session({ store: new MemoryStore(), secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
  app.use(authCallback(auth));
  app.get('/', (req, res) => {
    res.type('text').send(req.user ? `signed in as ${req.user.sub}` : 'signed out');
  });
  app.get('/api/me', requireAuth(), (req, res) => {
    res.json(req.oidc.claims);
  });
  app.get('/api/tokens', requireAuth(), (req, res) => {
    const o = req.oidc;
    res.json({
      idToken: o.idToken, accessToken: o.accessToken, tokenType: o.tokenType,
      refreshToken: o.refreshToken ?? null, scope: o.scope ?? null, expiresAt: o.expiresAt ?? null, isExpired: o.isExpired(),
    });
  });
  app.use(errorAsJsonLogged);
  return app;
}

/**
 * Starts the vendor's provider, with one client registered for the app (`test-app`, its secret,
 * redirect URI `baseURL/callback`, post-logout redirect URI `baseURL`, `client` over these), and
 * the app with authCallback({ issuer: the provider's issuer, clientId, clientSecret, baseURL,
 * secret, ...`auth` }).
 */
async function startBed(
  profile: Omit<VendorProviderOptions, 'clients'>,
  client: Partial<ClientMetadata>,
  auth: Partial<AuthCallbackConfig> | ((op: VendorProvider) => Partial<AuthCallbackConfig>),
): Promise<Bed> {
  const server = createServer();
  const baseURL = `http://localhost:${await listen(server)}`;
  const op = await startVendorProvider({
    ...profile,
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [`${baseURL}/callback`],
      post_logout_redirect_uris: [baseURL],
      ...client,
    }],
  });
  server.on('request', buildApp({
    issuer: op.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: SECRET,
    ...(typeof auth === 'function' ? auth(op) : auth),
  }));
  const bed: Bed = {
    op,
    baseURL,
    async close() {
      await closeServer(server);
      await op.close();
    },
  };
  open.push(bed);
  return bed;
}

/** The provider's discovery document, fetched where OpenID Connect Discovery 1.0 §4 says: issuer + `/.well-known/openid-configuration`. */
async function discovery(op: VendorProvider): Promise<Record<string, unknown>> {
  const res = await fetch(`${op.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

/**
 * Signs in from `/login` + `query` through the provider's login and consent pages, lands on the
 * app's `/`, and reads `/api/me`; returns the claims, and the authorization request the app
 * sent the browser to (the one URL visited at `authorizationEndpoint`).
 */
async function login(bed: Bed, browser: Browser, authorizationEndpoint: string, query = ''): Promise<{ me: Record<string, unknown>; authorizationRequest: URL }> {
  const landed = await signIn(browser, `${bed.baseURL}/login${query}`, 'alice');
  expect({ url: landed.url, status: landed.status, body: landed.body }).toEqual({ url: `${bed.baseURL}/`, status: 200, body: 'signed in as alice' });
  const visited = browser.history.filter((url) => url.startsWith(`${authorizationEndpoint}?`));
  expect(visited).toHaveLength(1);
  const me = await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
  expect(me.status).toBe(200);
  return { me: JSON.parse(me.body) as Record<string, unknown>, authorizationRequest: new URL(visited[0]!) };
}

async function tokens(bed: Bed, browser: Browser): Promise<TokensSeen> {
  const res = await browser.request(`${bed.baseURL}/api/tokens`, { headers: JSON_ACCEPT });
  expect(res.status).toBe(200);
  return JSON.parse(res.body) as TokensSeen;
}

/** The login's one token request, accepted by the provider. */
function onlyTokenRequest(op: VendorProvider): TokenExchange & { response: Record<string, unknown> } {
  expect(op.tokenRequests.map((r) => r.error ?? 'accepted')).toEqual(['accepted']);
  return op.tokenRequests[0] as TokenExchange & { response: Record<string, unknown> };
}

/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): `/logout` ends the app's session
 * and sends the browser to `endSessionEndpoint` with the session's ID token as `id_token_hint`
 * and `post_logout_redirect_uri` = `baseURL`; the provider (after its confirmation page) sends
 * the browser back to the app, signed out.
 */
async function logoutThroughProvider(bed: Bed, browser: Browser, endSessionEndpoint: string, idToken: string): Promise<void> {
  const res = await browser.request(`${bed.baseURL}/logout`);
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location')!);
  expect(location.origin + location.pathname).toBe(endSessionEndpoint);
  expect(location.searchParams.get('id_token_hint')).toBe(idToken);
  expect(location.searchParams.get('post_logout_redirect_uri')).toBe(bed.baseURL);
  expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeUndefined();
  const confirm = await browser.visit(location.href);
  expect(confirm.status).toBe(200);
  const back = await browser.submit(confirm, { logout: 'yes' });
  expect({ url: back.url, body: back.body }).toEqual({ url: `${bed.baseURL}/`, body: 'signed out' });
  const me = await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
  expect(me.status).toBe(401);
}

/** The `Authorization: Basic` credentials (RFC 6749 §2.3.1: each part form-encoded). */
function basicCredentials(header: string | undefined): [string, string] {
  expect(header).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
  const [id, secret] = Buffer.from(header!.slice('Basic '.length), 'base64').toString().split(':');
  const formDecode = (value: string | undefined) => decodeURIComponent((value ?? '').replace(/\+/g, ' '));
  return [formDecode(id), formDecode(secret)];
}

/** The client authentication a token (or PAR) request carried, as the method it is. */
function expectClientAuthentication(request: { authorization: string | undefined; params: Record<string, unknown> }, method: 'client_secret_basic' | 'client_secret_post'): void {
  if (method === 'client_secret_basic') {
    expect(basicCredentials(request.authorization)).toEqual([CLIENT_ID, CLIENT_SECRET]);
    expect(request.params).not.toHaveProperty('client_secret');
  } else {
    expect(request.params).toMatchObject({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
    expect(request.authorization).toBeUndefined();
  }
  expect(request.params).not.toHaveProperty('client_assertion');
}

describe('Auth0', () => {
  const API = 'https://api.example.test/orders';
  /** Auth0's paths: `/authorize`, `/oauth/token`, `/oauth/par`, `/userinfo`, `/.well-known/jwks.json`, `/oidc/logout`. */
  const auth0: Omit<VendorProviderOptions, 'clients'> = {
    issuerPath: '/',
    routes: {
      authorization: '/authorize',
      token: '/oauth/token',
      pushed_authorization_request: '/oauth/par',
      userinfo: '/userinfo',
      jwks: '/.well-known/jwks.json',
      end_session: '/oidc/logout',
    },
    configuration: { extraParams: ['audience'] },
  };

  test('Auth0: issuer with its trailing slash, audience pushed by PAR to /oauth/par, private_key_jwt client_assertion at POST /oauth/token, /api/me, logout at /oidc/logout', async () => {
    const bed = await startBed(
      auth0,
      { client_secret: undefined, token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [clientKey.publicJwk] } } as Partial<ClientMetadata>,
      (op) => ({
        issuer: `${op.origin}/`,
        clientSecret: undefined,
        clientAuthMethod: 'private_key_jwt',
        clientPrivateKey: clientKey.privateJwk,
        authorizationParams: { audience: API },
        pushedAuthorizationRequests: true,
      }),
    );
    const { op } = bed;
    expect(op.issuer).toBe(`${op.origin}/`);
    const browser = new Browser();
    const { me, authorizationRequest } = await login(bed, browser, `${op.origin}/authorize`);
    expect(me).toMatchObject({ sub: 'alice', iss: `${op.origin}/`, aud: CLIENT_ID });
    expect(op.requests[0]).toBe('GET /.well-known/openid-configuration');
    expect(await discovery(op)).toMatchObject({
      issuer: `${op.origin}/`,
      authorization_endpoint: `${op.origin}/authorize`,
      token_endpoint: `${op.origin}/oauth/token`,
      pushed_authorization_request_endpoint: `${op.origin}/oauth/par`,
      jwks_uri: `${op.origin}/.well-known/jwks.json`,
      end_session_endpoint: `${op.origin}/oidc/logout`,
    });

    // PAR (RFC 9126): the browser carried only client_id and the request_uri; the parameters,
    // audience among them, went over the back channel with the client's assertion.
    expect([...authorizationRequest.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(authorizationRequest.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
    expect(op.pushedRequests).toHaveLength(1);
    const pushed = op.pushedRequests[0]!;
    expect(pushed).toMatchObject({ audience: API, response_type: 'code', code_challenge_method: 'S256', client_assertion_type: JWT_BEARER });
    expect(op.authorizations).toEqual([expect.objectContaining({ audience: API, client_id: CLIENT_ID })]);

    // private_key_jwt (RFC 7523 §2.2), as Auth0's seed shows: client_assertion signed with the
    // registered key, aud = the issuer identifier (with its slash), and no client_secret.
    const token = onlyTokenRequest(op);
    expect(op.requests).toContain('POST /oauth/token');
    expect(token.params).toMatchObject({ grant_type: 'authorization_code', client_assertion_type: JWT_BEARER });
    expect(token.params.code_verifier).toMatch(/^[\w.~-]{43,128}$/);
    expect(token.params).not.toHaveProperty('client_secret');
    expect(token.authorization).toBeUndefined();
    for (const assertion of [token.params.client_assertion, pushed.client_assertion]) {
      const { payload, protectedHeader } = await jwtVerify(assertion as string, clientKey.publicKey, {
        algorithms: ['RS256'], issuer: CLIENT_ID, subject: CLIENT_ID, audience: `${op.origin}/`,
      });
      expect(protectedHeader.kid).toBe('app-key-1');
      expect(typeof payload.jti).toBe('string');
    }
    // The ID token's signature was checked against Auth0's JWKS path.
    expect(op.requests).toContain('GET /.well-known/jwks.json');

    const { idToken } = await tokens(bed, browser);
    expect(idToken).toBe(token.response.id_token);
    await logoutThroughProvider(bed, browser, `${op.origin}/oidc/logout`, idToken);
  });

  test('Auth0: dpop: true binds the tokens to the session\'s key: dpop_jkt pushed to /oauth/par, a DPoP proof of that key at POST /oauth/token, token_type DPoP', async () => {
    const bed = await startBed(
      { ...auth0, configuration: { ...auth0.configuration, features: { dPoP: { enabled: true, nonceSecret: Buffer.alloc(32, 7) } } } },
      { dpop_bound_access_tokens: true } as Partial<ClientMetadata>,
      (op) => ({ issuer: `${op.origin}/`, authorizationParams: { audience: API }, pushedAuthorizationRequests: true, dpop: true }),
    );
    const { op } = bed;
    const browser = new Browser();
    const { me } = await login(bed, browser, `${op.origin}/authorize`);
    expect(me).toMatchObject({ sub: 'alice', iss: `${op.origin}/` });
    expect(op.pushedRequests).toEqual([expect.objectContaining({ audience: API, dpop_jkt: expect.stringMatching(/^[\w-]{43}$/) })]);
    const token = onlyTokenRequest(op);
    expect(token.dpop).toBeDefined();
    const proof = decodeProtectedHeader(token.dpop!);
    expect(proof.typ).toBe('dpop+jwt');
    expect(await calculateJwkThumbprint(proof.jwk!)).toBe(op.pushedRequests[0]!.dpop_jkt);
    expect(token.response.token_type).toBe('DPoP');
    expect((await tokens(bed, browser)).tokenType).toBe('DPoP');
  });

  test('Auth0: without PAR, audience (authorizationParams) and an Organizations invitation link\'s organization and invitation (loginParams) are in the authorization request at /authorize', async () => {
    const bed = await startBed(auth0, {}, { authorizationParams: { audience: API }, loginParams: ['prompt', 'login_hint', 'organization', 'invitation'] });
    const { op } = bed;
    const browser = new Browser();
    const { authorizationUrl: authorizationRequest } = await startLogin(browser, `${bed.baseURL}/login?invitation=Fe5dlEJH6dyQLxYVIEPf1e2bn5qpeRzT&organization=org_W30fXzNYd5Dk4Xo1&organization_name=acme`);
    expect(authorizationRequest.origin + authorizationRequest.pathname).toBe(`${op.origin}/authorize`);
    expect(authorizationRequest.searchParams.getAll('audience')).toEqual([API]);
    expect(authorizationRequest.searchParams.getAll('organization')).toEqual(['org_W30fXzNYd5Dk4Xo1']);
    expect(authorizationRequest.searchParams.getAll('invitation')).toEqual(['Fe5dlEJH6dyQLxYVIEPf1e2bn5qpeRzT']);
    expect(authorizationRequest.searchParams.has('organization_name')).toBe(false); // not listed in loginParams
    expect(op.pushedRequests).toEqual([]);
  });

  test('Auth0: the issuer configured without its trailing slash → /login answers 502, and the logged error says to set the exact issuer', async () => {
    const bed = await startBed(auth0, {}, (op) => ({ issuer: op.origin }));
    const { op } = bed;
    const page = await new Browser().request(`${bed.baseURL}/login`, { headers: JSON_ACCEPT });
    expect(page.status).toBe(502);
    expect(JSON.parse(page.body)).toMatchObject({ code: 'invalid_provider_response' });
    expect(page.headers.get('location')).toBeNull();
    expect(op.requests).toContain('GET /.well-known/openid-configuration');
    expect(op.requests.filter((r) => r.startsWith('GET /authorize'))).toEqual([]);
    const logged = consoleErrors.calls.map((args: unknown[]) => (args[0] as Error).message);
    expect(logged).toEqual([expect.stringContaining(`names the issuer "${op.origin}/", not the configured "${op.origin}"`)]);
    expect(logged[0]).toContain('set issuer to exactly the value the provider publishes');
  });
});

describe('Scalekit', () => {
  /** The app lets a login choose its organization and connection (not in the default loginParams). */
  const SCALEKIT_LOGIN_PARAMS = ['login_hint', 'organization_id', 'connection_id'];
  /** Scalekit's paths: `/oauth/authorize`, `/oauth/token`, `/keys`, `/userinfo`, `/oidc/logout`; access tokens for 899 s, no refresh token. */
  const scalekit: Omit<VendorProviderOptions, 'clients'> = {
    issuerPath: '',
    routes: { authorization: '/oauth/authorize', token: '/oauth/token', jwks: '/keys', userinfo: '/userinfo', end_session: '/oidc/logout' },
    configuration: { extraParams: ['organization_id', 'connection_id'], ttl: { AccessToken: 899 } },
  };

  test('Scalekit: organization_id and connection_id from /login reach /oauth/authorize; POST /oauth/token answers expires_in 899 and no refresh token; req.oidc.expiresAt ≈ now + 899, refreshToken undefined; logout at /oidc/logout', async () => {
    const bed = await startBed(scalekit, { token_endpoint_auth_method: 'client_secret_post' }, { clientAuthMethod: 'client_secret_post', loginParams: SCALEKIT_LOGIN_PARAMS });
    const { op } = bed;
    const browser = new Browser();
    const before = Math.floor(Date.now() / 1000);
    const { me, authorizationRequest } = await login(bed, browser, `${op.origin}/oauth/authorize`, '?organization_id=org_59615193906282635&connection_id=conn_59615193913');
    const after = Math.ceil(Date.now() / 1000);
    expect(me).toMatchObject({ sub: 'alice', email: 'alice@example.com', iss: op.issuer });

    expect(authorizationRequest.searchParams.getAll('organization_id')).toEqual(['org_59615193906282635']);
    expect(authorizationRequest.searchParams.getAll('connection_id')).toEqual(['conn_59615193913']);
    expect(op.authorizations).toEqual([expect.objectContaining({ organization_id: 'org_59615193906282635', connection_id: 'conn_59615193913' })]);

    // The seed's response: access_token, expires_in 899, id_token, token_type Bearer; no refresh_token.
    const token = onlyTokenRequest(op);
    expect(op.requests).toContain('POST /oauth/token');
    expectClientAuthentication(token, 'client_secret_post');
    // oidc-provider counts expires_in from the token's creation: across a second boundary it says 898.
    expect(token.response).toMatchObject({ token_type: 'Bearer' });
    expect([898, 899]).toContain(token.response.expires_in);
    expect(token.response).not.toHaveProperty('refresh_token');

    const seen = await tokens(bed, browser);
    expect(seen.accessToken).toBe(token.response.access_token);
    expect(seen.refreshToken).toBeNull();
    expect(seen.expiresAt).toBeGreaterThanOrEqual(before + 898);
    expect(seen.expiresAt).toBeLessThanOrEqual(after + 899);

    await logoutThroughProvider(bed, browser, `${op.origin}/oidc/logout`, seen.idToken);
  });

  test('Scalekit: without a refresh token, autoRefresh leaves the session alone when the 899 s access token is due (refreshMargin 900): requests pass, no refresh is attempted', async () => {
    const bed = await startBed(scalekit, { token_endpoint_auth_method: 'client_secret_post' }, { clientAuthMethod: 'client_secret_post', refreshMargin: 900, loginParams: SCALEKIT_LOGIN_PARAMS });
    const { op } = bed;
    const browser = new Browser();
    await login(bed, browser, `${op.origin}/oauth/authorize`);
    for (let i = 0; i < 2; i++) {
      const seen = await tokens(bed, browser);
      expect({ refreshToken: seen.refreshToken, isExpired: seen.isExpired }).toEqual({ refreshToken: null, isExpired: false });
    }
    const me = await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);
    expect(op.tokenRequests.map((r) => r.params.grant_type)).toEqual(['authorization_code']);
  });

  test('Scalekit: an IdP-initiated login (idp_initiated_login, a JWT the environment signed naming connection_id, organization_id, login_hint and relay_state, at the redirect URI, no code) starts a fresh login at that connection and organization, which completes and returns to relay_state', async () => {
    // The default loginParams: /login's query could not choose the connection, the signed token may.
    const bed = await startBed(scalekit, { token_endpoint_auth_method: 'client_secret_post' }, { clientAuthMethod: 'client_secret_post' });
    const { op } = bed;
    const browser = new Browser();
    const initiated = new URL(`${bed.baseURL}/callback`);
    initiated.searchParams.set('idp_initiated_login', await op.sign({
      iss: op.issuer, connection_id: 'conn_59615193913', organization_id: 'org_59615193906282635', login_hint: 'alice@example.com',
      relay_state: `${bed.baseURL}/api/me`, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 300,
    }));
    const restart = await browser.request(initiated.href);
    expect(restart.status).toBe(302);
    expect(op.tokenRequests).toEqual([]); // nothing was accepted as a login
    const authorize = new URL(restart.headers.get('location')!);
    expect(authorize.origin + authorize.pathname).toBe(`${op.origin}/oauth/authorize`);
    expect(authorize.searchParams.get('login_hint')).toBe('alice@example.com');

    const landed = await signIn(browser, authorize.href, 'alice');
    expect({ url: landed.url, status: landed.status }).toEqual({ url: `${bed.baseURL}/api/me`, status: 200 });
    expect(JSON.parse(landed.body)).toMatchObject({ sub: 'alice', iss: op.issuer });
    expect(op.authorizations).toEqual([expect.objectContaining({ connection_id: 'conn_59615193913', organization_id: 'org_59615193906282635' })]);
    onlyTokenRequest(op);
  });
});

describe('PingOne', () => {
  const ENV = '5f8a2b1c-0d3e-4f56-9a7b-8c9d0e1f2a3b';
  /** PingOne's paths under `/{envID}/as`: `/authorize`, `/token`, `/jwks`, `/userinfo`, `/signoff`. */
  const pingOne: Omit<VendorProviderOptions, 'clients'> = {
    issuerPath: `/${ENV}/as`,
    routes: { authorization: '/authorize', token: '/token', jwks: '/jwks', userinfo: '/userinfo', end_session: '/signoff' },
  };

  test.each(['client_secret_post', 'client_secret_basic'] as const)('PingOne with %s: issuer /{envID}/as, /{envID}/as/authorize, POST /{envID}/as/token, the granted scope of the token response in req.oidc.scope, logout at /{envID}/as/signoff', async (method) => {
    const bed = await startBed(pingOne, { token_endpoint_auth_method: method }, {
      clientAuthMethod: method,
      // The application has no refresh token grant: PingOne, like oidc-provider, grants no offline_access then.
      scope: 'openid profile email offline_access',
    });
    const { op } = bed;
    const issuer = `${op.origin}/${ENV}/as`;
    expect(op.issuer).toBe(issuer);
    const browser = new Browser();
    const { me, authorizationRequest } = await login(bed, browser, `${issuer}/authorize`);
    expect(me).toMatchObject({ sub: 'alice', iss: issuer, aud: CLIENT_ID });
    expect(op.requests[0]).toBe(`GET /${ENV}/as/.well-known/openid-configuration`);
    expect(await discovery(op)).toMatchObject({
      issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, end_session_endpoint: `${issuer}/signoff`,
    });
    expect(authorizationRequest.searchParams.get('scope')).toBe('openid profile email offline_access');

    const token = onlyTokenRequest(op);
    expect(op.requests).toContain(`POST /${ENV}/as/token`);
    expectClientAuthentication(token, method);
    // The seed's response carries scope; req.oidc.scope is the granted scope, not the requested one.
    expect(token.response.scope).toBe('openid profile email');
    const seen = await tokens(bed, browser);
    expect(seen.scope).toBe(token.response.scope);

    await logoutThroughProvider(bed, browser, `${issuer}/signoff`, seen.idToken);
  });
});

describe('Asgardeo', () => {
  const ORG = 'bifrost';
  /**
   * Asgardeo's paths under `/t/{org}`: `/oauth2/authorize`, `/oauth2/token`, `/oauth2/jwks`,
   * `/oauth2/userinfo`, `/oidc/logout`; its issuer identifier is its token endpoint's URL, and
   * its access tokens are opaque UUIDs beside a JWT ID token.
   */
  const asgardeo: Omit<VendorProviderOptions, 'clients'> = {
    issuerPath: `/t/${ORG}/oauth2/token`,
    mountPath: `/t/${ORG}`,
    routes: { authorization: '/oauth2/authorize', token: '/oauth2/token', jwks: '/oauth2/jwks', userinfo: '/oauth2/userinfo', end_session: '/oidc/logout' },
    accessTokenValue: randomUUID,
  };

  test.each(['client_secret_basic', 'client_secret_post'] as const)('Asgardeo with %s: issuer = the token endpoint /t/{org}/oauth2/token, /t/{org}/oauth2/authorize, an opaque UUID access token (not a JWT) accepted at userinfo, logout at /t/{org}/oidc/logout', async (method) => {
    const bed = await startBed(asgardeo, { token_endpoint_auth_method: method }, { clientAuthMethod: method, fetchUserInfo: true });
    const { op } = bed;
    const tenant = `${op.origin}/t/${ORG}`;
    expect(op.issuer).toBe(`${tenant}/oauth2/token`);
    const browser = new Browser();
    const { me } = await login(bed, browser, `${tenant}/oauth2/authorize`);
    expect(me).toMatchObject({ sub: 'alice', iss: op.issuer, aud: CLIENT_ID });
    expect(op.requests[0]).toBe(`GET /t/${ORG}/oauth2/token/.well-known/openid-configuration`);
    expect(await discovery(op)).toMatchObject({
      issuer: `${tenant}/oauth2/token`,
      token_endpoint: `${tenant}/oauth2/token`,
      authorization_endpoint: `${tenant}/oauth2/authorize`,
      userinfo_endpoint: `${tenant}/oauth2/userinfo`,
      end_session_endpoint: `${tenant}/oidc/logout`,
    });

    const token = onlyTokenRequest(op);
    expect(op.requests).toContain(`POST /t/${ORG}/oauth2/token`);
    expectClientAuthentication(token, method);
    const seen = await tokens(bed, browser);
    expect(seen.accessToken).toBe(token.response.access_token);
    expect(seen.accessToken).toMatch(UUID);
    expect(() => decodeJwt(seen.accessToken)).toThrow();
    expect(decodeJwt(seen.idToken)).toMatchObject({ iss: op.issuer, sub: 'alice' });
    // fetchUserInfo: the login called userinfo with the opaque token, and the provider accepted it.
    expect(op.requests).toContain(`GET /t/${ORG}/oauth2/userinfo`);

    await logoutThroughProvider(bed, browser, `${tenant}/oidc/logout`, seen.idToken);
  });
});

describe('WorkOS (standard OpenID endpoints)', () => {
  /** WorkOS AuthKit's standard endpoints: `/oauth2/authorize`, `/oauth2/token`, `/oauth2/jwks`, `/oauth2/userinfo`; no end_session_endpoint. */
  const workos: Omit<VendorProviderOptions, 'clients'> = {
    issuerPath: '',
    routes: { authorization: '/oauth2/authorize', token: '/oauth2/token', jwks: '/oauth2/jwks', userinfo: '/oauth2/userinfo' },
    configuration: { features: { rpInitiatedLogout: { enabled: false } } },
  };
  const publicClient = { client_secret: undefined, token_endpoint_auth_method: 'none' } as Partial<ClientMetadata>;

  test('WorkOS: a public client without a secret (none) logs in with PKCE S256 at /oauth2/authorize and /oauth2/token; logout without an end_session_endpoint returns to the app', async () => {
    const bed = await startBed(workos, publicClient, { clientSecret: undefined });
    const { op } = bed;
    const browser = new Browser();
    const { me, authorizationRequest } = await login(bed, browser, `${op.origin}/oauth2/authorize`);
    expect(me).toMatchObject({ sub: 'alice', iss: op.issuer, aud: CLIENT_ID });
    expect(authorizationRequest.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizationRequest.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);

    // The seed: code_verifier is required when the client secret is not present.
    const token = onlyTokenRequest(op);
    expect(op.requests).toContain('POST /oauth2/token');
    expect(token.authorization).toBeUndefined();
    expect(token.params.client_id).toBe(CLIENT_ID);
    expect(token.params.code_verifier).toMatch(/^[\w.~-]{43,128}$/);
    expect(token.params).not.toHaveProperty('client_secret');
    expect(token.params).not.toHaveProperty('client_assertion');

    const logout = await browser.request(`${bed.baseURL}/logout`);
    // No end_session_endpoint: straight to basePath + returnTo (here /), on the app's own origin.
    expect({ status: logout.status, location: logout.headers.get('location') }).toEqual({ status: 302, location: '/' });
    const me2 = await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me2.status).toBe(401);
  });

  test('WorkOS: a confidential client sends client_id and client_secret in the body (client_secret_post) at /oauth2/token, and PKCE still', async () => {
    const bed = await startBed(workos, { token_endpoint_auth_method: 'client_secret_post' }, { clientAuthMethod: 'client_secret_post' });
    const { op } = bed;
    const { me } = await login(bed, new Browser(), `${op.origin}/oauth2/authorize`);
    expect(me).toMatchObject({ sub: 'alice', iss: op.issuer });
    const token = onlyTokenRequest(op);
    expect(op.requests).toContain('POST /oauth2/token');
    expectClientAuthentication(token, 'client_secret_post');
    expect(token.params.code_verifier).toMatch(/^[\w.~-]{43,128}$/);
  });

  test('WorkOS: an attacker\'s code injected into the victim\'s callback is refused at /oauth2/token (PKCE: the victim\'s code_verifier does not match) → 400 invalid_grant, no session', async () => {
    const bed = await startBed(workos, publicClient, { clientSecret: undefined });
    const { op } = bed;
    const victim = new Browser();
    const { state } = await startLogin(victim, `${bed.baseURL}/login`);
    const attackers = await authorizationResponse(new Browser(), `${bed.baseURL}/login`, 'mallory');
    const injected = new URL(`${bed.baseURL}/callback`);
    injected.searchParams.set('code', attackers.searchParams.get('code')!);
    injected.searchParams.set('state', state);
    injected.searchParams.set('iss', attackers.searchParams.get('iss')!);

    const res: Page = await victim.request(injected.href, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'invalid_grant' });
    expect(await victim.cookie(bed.baseURL, 'oidc_session')).toBeUndefined();
    expect(op.tokenRequests).toHaveLength(1);
    expect(op.tokenRequests[0]).toMatchObject({
      error: 'invalid_grant', detail: 'code_verifier does not match code_challenge', params: { code: attackers.searchParams.get('code') },
    });
    const me = await victim.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(401);
  });
});

describe('generic OpenID Provider', () => {
  test('generic OpenID Provider: the default configuration (issuer, clientId, clientSecret, baseURL, secret) logs in, reads /api/me, and logs out at the end_session_endpoint', async () => {
    const bed = await startTestbed();
    open.push(bed);
    const browser = new Browser();
    const landed = await signIn(browser, `${bed.baseURL}/login`, 'alice');
    expect({ url: landed.url, status: landed.status }).toEqual({ url: `${bed.baseURL}/`, status: 200 });
    const me = await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'alice', iss: bed.provider.issuer, aud: CLIENT_ID });
    const logout = await browser.request(`${bed.baseURL}/logout`);
    expect(logout.status).toBe(302);
    const endSession = new URL(logout.headers.get('location')!);
    expect(endSession.origin + endSession.pathname).toBe(`${bed.provider.issuer}/session/end`);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(bed.baseURL);
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^ey/);
  });
});
