/**
 * DPoP only when the token is bound (RFC 9449 §5, §7; RFC 6750). With option `dpop: true` the
 * login always offers a key (`dpop_jkt`, a proof on the code exchange), but the tokens are
 * DPoP-bound only when the provider answers `token_type` `DPoP`; a `Bearer` token is then used as
 * one everywhere: `Authorization: Bearer`, no `DPoP` header, for UserInfo (at login and through
 * `req.oidc.fetchUserInfo()`), for `req.oidc.fetchResource()` and for refreshes. With
 * `dpop: 'required'` a provider that does not advertise DPoP, or answers with a Bearer token,
 * refuses the login with 502 `dpop_unsupported`.
 *
 * Against real oidc-provider instances (test/support/testbed.ts): one with `features.dPoP` off
 * (no `dpop_signing_alg_values_supported`, Bearer tokens), one with oidc-provider's default
 * (DPoP on); and against the hostile provider of test/support/hostile-provider.ts, which can
 * advertise DPoP in discovery while it always answers Bearer. Each provider's UserInfo
 * requests, and those of a small resource server, are recorded with their `Authorization` and
 * `DPoP` headers.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import express, { type Express, type Request, type Response } from 'express';
import session from 'express-session';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { authCallback, requireAuth } from '../../lib/index.js';
import { unsealCookiePayload } from '../../lib/session/session-codec.js';
import { Sealer } from '../../lib/session/seal.js';
import { Browser, type Page } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { startHostileProvider, type HostileProvider } from '../support/hostile-provider.js';
import { closer, listen, serveApp } from '../support/http-server.js';
import { sessionCookiesSet } from '../support/leaks.js';
import { pendingLoginCookies, SECRET, SESSION_SECRET, signIn, startLogin, startTestbed, type Testbed } from '../support/testbed.js';

const JSON_ACCEPT = { accept: 'application/json' };

/** The `Authorization` and `DPoP` headers of one request a server received. */
interface Received {
  path: string;
  authorization: string | undefined;
  dpop: string | undefined;
}

function received(req: IncomingMessage): Received {
  const dpop = req.headers.dpop;
  return { path: (req.url ?? '').split('?')[0]!, authorization: req.headers.authorization, dpop: Array.isArray(dpop) ? dpop.join(',') : dpop };
}

/** A resource server that records every request and answers 200 `{ ok: true }`. */
interface ResourceServer {
  url: string;
  requests: Received[];
  close(): Promise<void>;
}

async function startResourceServer(): Promise<ResourceServer> {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    requests.push(received(req));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}/orders`, requests, close: closer(server) };
}

/**
 * The app the tests sign in to: express-session, `authCallback(auth)`, and routes that show and
 * use `req.oidc`: `GET /tokens`, `GET /userinfo` (`fetchUserInfo()`), `GET /call?url=`
 * (`fetchResource(url)`), `POST /refresh` (`refresh()`); errors answered as JSON `{ code, message }`.
 */
function buildApp(auth: AuthCallbackConfig): Express {
  const app = express();
  app.use(session({ secret: SESSION_SECRET, resave: false, saveUninitialized: false, store: new session.MemoryStore() }));
  app.use(authCallback(auth));
  app.get('/', (_req: Request, res: Response) => {
    res.type('text').send('home');
  });
  app.get('/tokens', requireAuth({ redirect: false }), (req: Request, res: Response) => {
    res.json({ tokenType: req.oidc.tokenType, accessToken: req.oidc.accessToken, user: req.user });
  });
  app.get('/userinfo', requireAuth({ redirect: false }), async (req: Request, res: Response) => {
    res.json(await req.oidc.fetchUserInfo());
  });
  app.get('/call', requireAuth({ redirect: false }), async (req: Request, res: Response) => {
    const upstream = await req.oidc.fetchResource(String(req.query.url));
    res.json({ status: upstream.status });
  });
  app.post('/refresh', requireAuth({ redirect: false }), async (req: Request, res: Response) => {
    await req.oidc.refresh();
    res.json({ tokenType: req.oidc.tokenType, accessToken: req.oidc.accessToken });
  });
  app.use(errorAsJson);
  return app;
}

/** oidc-provider's configuration with `features.dPoP` off (it is on by default), and refresh tokens for every login. */
const WITHOUT_DPOP = {
  features: {
    devInteractions: { enabled: true },
    dPoP: { enabled: false },
  },
  issueRefreshToken: async () => true,
};

/** Records the UserInfo requests (`/me`) an oidc-provider testbed receives. */
function recordUserInfo(bed: Testbed): Received[] {
  const requests: Received[] = [];
  bed.provider.server.on('request', (req: IncomingMessage) => {
    if ((req.url ?? '').startsWith('/me')) requests.push(received(req));
  });
  return requests;
}

/** The provider's discovery document. */
async function discovery(issuer: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  expect(res.status).toBe(200);
  return await res.json() as Record<string, unknown>;
}

async function getJson<T>(browser: Browser, url: string): Promise<{ page: Page; body: T }> {
  const page = await browser.request(url, { headers: JSON_ACCEPT });
  return { page, body: JSON.parse(page.body) as T };
}

interface TokensSeen {
  tokenType: string;
  accessToken: string;
  user: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------

describe('dpop: true against a provider without DPoP: the Bearer tokens are used as Bearer tokens (RFC 9449 §5, RFC 6750 §2.1)', () => {
  let bed: Testbed;
  let userinfoRequests: Received[];
  let resource: ResourceServer;

  beforeAll(async () => {
    bed = await startTestbed({ auth: { dpop: true, fetchUserInfo: true }, providerConfiguration: WITHOUT_DPOP, build: buildApp });
    userinfoRequests = recordUserInfo(bed);
    resource = await startResourceServer();
  });
  afterAll(async () => {
    await resource.close();
    await bed.close();
  });

  /** A login through the provider's forms, the app offering DPoP (dpop_jkt); the browser and the authorization request. */
  async function login(): Promise<{ browser: Browser; authorizationUrl: URL }> {
    const browser = new Browser();
    const { authorizationUrl } = await startLogin(browser, `${bed.baseURL}/login`);
    expect(authorizationUrl.searchParams.get('dpop_jkt')).toMatch(/^[\w-]{43}$/);
    const landed = await signIn(browser, authorizationUrl.href);
    expect(landed.url).toBe(`${bed.baseURL}/`);
    expect(landed.status).toBe(200);
    return { browser, authorizationUrl };
  }

  test('the provider does not advertise DPoP: discovery has no dpop_signing_alg_values_supported (RFC 9449 §5.1)', async () => {
    const metadata = await discovery(bed.provider.issuer);
    expect(metadata).toHaveProperty('userinfo_endpoint');
    expect(metadata).not.toHaveProperty('dpop_signing_alg_values_supported');
  });

  test('RFC 9449 §5: the login succeeds with token_type Bearer, fetchUserInfo at login sends Authorization: Bearer and no DPoP proof (no 502), and the session keeps no DPoP key', async () => {
    userinfoRequests.length = 0;
    const { browser } = await login();
    const { page, body } = await getJson<TokensSeen>(browser, `${bed.baseURL}/tokens`);
    expect(page.status).toBe(200);
    expect(body.tokenType.toLowerCase()).toBe('bearer');
    expect(body.user).toMatchObject({ sub: 'alice', email: 'alice@example.com' });
    expect(userinfoRequests).toEqual([{ path: '/me', authorization: `Bearer ${body.accessToken}`, dpop: undefined }]);

    // The option's documented rule: a key the provider did not bind the tokens to is dropped.
    const cookie = await browser.cookie(bed.baseURL, 'oidc_session');
    const opened = unsealCookiePayload(new Sealer([SECRET]), cookie!);
    expect(opened?.payload.accessToken).toBe(body.accessToken);
    expect(opened?.payload).not.toHaveProperty('dpopKey');
  });

  test('RFC 6750 §2.1: req.oidc.fetchResource(url) sends Authorization: Bearer <token> and no DPoP header', async () => {
    const { browser } = await login();
    const { body: tokens } = await getJson<TokensSeen>(browser, `${bed.baseURL}/tokens`);
    resource.requests.length = 0;
    const { page, body } = await getJson<{ status: number }>(browser, `${bed.baseURL}/call?url=${encodeURIComponent(resource.url)}`);
    expect(page.status).toBe(200);
    expect(body).toEqual({ status: 200 });
    expect(resource.requests).toEqual([{ path: '/orders', authorization: `Bearer ${tokens.accessToken}`, dpop: undefined }]);
  });

  test('OpenID Connect Core 1.0 §5.3.1: req.oidc.fetchUserInfo() answers the claims, the request made with Authorization: Bearer and no DPoP header', async () => {
    const { browser } = await login();
    const { body: tokens } = await getJson<TokensSeen>(browser, `${bed.baseURL}/tokens`);
    userinfoRequests.length = 0;
    const { page, body } = await getJson<Record<string, unknown>>(browser, `${bed.baseURL}/userinfo`);
    expect(page.status).toBe(200);
    expect(body).toMatchObject({ sub: 'alice', email: 'alice@example.com' });
    expect(userinfoRequests).toEqual([{ path: '/me', authorization: `Bearer ${tokens.accessToken}`, dpop: undefined }]);
  });

  test('RFC 6749 §6: req.oidc.refresh() works and gives a new Bearer token, then used as Bearer for a resource and for UserInfo', async () => {
    const { browser } = await login();
    const { body: before } = await getJson<TokensSeen>(browser, `${bed.baseURL}/tokens`);
    const refreshed = await browser.request(`${bed.baseURL}/refresh`, { body: new URLSearchParams(), headers: JSON_ACCEPT });
    expect(refreshed.status).toBe(200);
    const after = JSON.parse(refreshed.body) as TokensSeen;
    expect(after.tokenType.toLowerCase()).toBe('bearer');
    expect(after.accessToken).not.toBe(before.accessToken);

    resource.requests.length = 0;
    const call = await getJson<{ status: number }>(browser, `${bed.baseURL}/call?url=${encodeURIComponent(resource.url)}`);
    expect(call.body).toEqual({ status: 200 });
    expect(resource.requests).toEqual([{ path: '/orders', authorization: `Bearer ${after.accessToken}`, dpop: undefined }]);

    userinfoRequests.length = 0;
    const userinfo = await getJson<Record<string, unknown>>(browser, `${bed.baseURL}/userinfo`);
    expect(userinfo.page.status).toBe(200);
    expect(userinfo.body).toMatchObject({ sub: 'alice' });
    expect(userinfoRequests).toEqual([{ path: '/me', authorization: `Bearer ${after.accessToken}`, dpop: undefined }]);
  });
});

describe('dpop: true against a provider with DPoP: the tokens are DPoP-bound and used with proofs (RFC 9449 §5, §7)', () => {
  let bed: Testbed;
  let userinfoRequests: Received[];
  let resource: ResourceServer;

  beforeAll(async () => {
    // oidc-provider's default configuration has features.dPoP on.
    bed = await startTestbed({ auth: { dpop: true, fetchUserInfo: true }, build: buildApp });
    userinfoRequests = recordUserInfo(bed);
    resource = await startResourceServer();
  });
  afterAll(async () => {
    await resource.close();
    await bed.close();
  });

  test('RFC 9449 §5.1, §5: the provider advertises DPoP, the login\'s tokens are DPoP-bound, and UserInfo at login carried a proof', async () => {
    const metadata = await discovery(bed.provider.issuer);
    expect(metadata.dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256']));
    const browser = new Browser();
    userinfoRequests.length = 0;
    const landed = await signIn(browser, `${bed.baseURL}/login`);
    expect(landed.status).toBe(200);
    const { body } = await getJson<TokensSeen>(browser, `${bed.baseURL}/tokens`);
    expect(body.tokenType.toLowerCase()).toBe('dpop');
    expect(userinfoRequests.length).toBeGreaterThan(0);
    expect(userinfoRequests.at(-1)!.authorization).toBe(`DPoP ${body.accessToken}`);
    expect(typeof userinfoRequests.at(-1)!.dpop).toBe('string');
  });

  test('RFC 9449 §7.1: req.oidc.fetchResource(url) sends Authorization: DPoP <token> and a DPoP proof for the bound key, the method, the URL and the token', async () => {
    const browser = new Browser();
    const { authorizationUrl } = await startLogin(browser, `${bed.baseURL}/login`);
    await signIn(browser, authorizationUrl.href);
    const { body: tokens } = await getJson<TokensSeen>(browser, `${bed.baseURL}/tokens`);
    resource.requests.length = 0;
    const { body } = await getJson<{ status: number }>(browser, `${bed.baseURL}/call?url=${encodeURIComponent(resource.url)}`);
    expect(body).toEqual({ status: 200 });
    expect(resource.requests).toHaveLength(1);
    const [request] = resource.requests;
    expect(request!.authorization).toBe(`DPoP ${tokens.accessToken}`);
    expect(typeof request!.dpop).toBe('string');
    const header = decodeProtectedHeader(request!.dpop!);
    expect(header.typ).toBe('dpop+jwt');
    expect(await calculateJwkThumbprint(header.jwk as JWK, 'sha256')).toBe(authorizationUrl.searchParams.get('dpop_jkt'));
    expect(decodeJwt(request!.dpop!)).toMatchObject({
      htm: 'GET', htu: resource.url, ath: createHash('sha256').update(tokens.accessToken).digest('base64url'),
    });
  });

  test('RFC 9449 §7: req.oidc.fetchUserInfo() works with the DPoP-bound token and sends a proof', async () => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`);
    const { body: tokens } = await getJson<TokensSeen>(browser, `${bed.baseURL}/tokens`);
    userinfoRequests.length = 0;
    const { page, body } = await getJson<Record<string, unknown>>(browser, `${bed.baseURL}/userinfo`);
    expect(page.status).toBe(200);
    expect(body).toMatchObject({ sub: 'alice' });
    expect(userinfoRequests.length).toBeGreaterThan(0);
    expect(userinfoRequests.every((r) => r.authorization === `DPoP ${tokens.accessToken}` && typeof r.dpop === 'string')).toBe(true);
  });
});

describe('dpop: \'required\' refuses a provider that does not bind the tokens (502 dpop_unsupported)', () => {
  test('RFC 9449 §5.1: against a provider that does not advertise DPoP, /login answers 502 dpop_unsupported before any redirect: no Location, no pending login, no authorization request', async () => {
    const bed = await startTestbed({ auth: { dpop: 'required' }, providerConfiguration: WITHOUT_DPOP, build: buildApp });
    const authorizeRequests: string[] = [];
    bed.provider.server.on('request', (req: IncomingMessage) => {
      if ((req.url ?? '').startsWith('/auth')) authorizeRequests.push(req.url!);
    });
    try {
      const browser = new Browser();
      const page = await browser.request(`${bed.baseURL}/login`, { headers: JSON_ACCEPT });
      expect(page.status).toBe(502);
      expect((JSON.parse(page.body) as { code: string }).code).toBe('dpop_unsupported');
      expect(page.headers.get('location')).toBeNull();
      expect(await pendingLoginCookies(browser, bed.baseURL)).toEqual([]);
      expect(authorizeRequests).toEqual([]);
    } finally {
      await bed.close();
    }
  });

  describe('against a provider that advertises DPoP but answers the token request with token_type Bearer', () => {
    const CLIENT_ID = 'rp-dpop-required';
    const CLIENT_SECRET = 'dpop-required-client-secret-0123456789';
    let provider: HostileProvider;
    let baseURL: string;
    let close: () => Promise<void>;

    beforeAll(async () => {
      provider = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
      provider.behaviour.metadata = { dpop_signing_alg_values_supported: ['ES256'] };
      ({ baseURL, close } = await serveApp((url) => buildApp({
        issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL: url, secret: SECRET, dpop: 'required',
      })));
    });
    afterAll(async () => {
      await close();
      await provider.close();
    });

    test('RFC 9449 §5: the login starts (dpop_jkt sent), the code exchange carries a proof, but the Bearer answer makes the callback 502 dpop_unsupported and sets no session cookie', async () => {
      const browser = new Browser();
      const login = await browser.request(`${baseURL}/login`);
      expect(login.status).toBe(302);
      const authorizationUrl = new URL(login.headers.get('location')!);
      expect(authorizationUrl.searchParams.get('dpop_jkt')).toMatch(/^[\w-]{43}$/);
      const answer = await browser.request(authorizationUrl.href);
      expect(answer.status).toBe(302);
      const callback = await browser.request(new URL(answer.headers.get('location')!, answer.url).href, { headers: JSON_ACCEPT });

      expect(callback.status).toBe(502);
      expect((JSON.parse(callback.body) as { code: string }).code).toBe('dpop_unsupported');
      expect(sessionCookiesSet(callback)).toEqual([]);
      expect(await browser.cookie(baseURL, 'oidc_session')).toBeUndefined();
      const codeExchanges = provider.tokenRequests.filter((r) => r.params.get('grant_type') === 'authorization_code');
      expect(codeExchanges).toHaveLength(1);
      expect(typeof codeExchanges[0]!.headers.dpop).toBe('string');

      const tokens = await browser.request(`${baseURL}/tokens`, { headers: JSON_ACCEPT });
      expect(tokens.status).toBe(401);
    });
  });
});

describe('dpop: \'required\' holds for refreshes too', () => {
  test('a refresh answered with a Bearer token ends the session (401 session_ended), rather than keeping unbound tokens', async () => {
    /** The provider binds the login's tokens; its refresh answer is rewritten to say Bearer. */
    const customFetch = async (url: string, init: RequestInit): Promise<globalThis.Response> => {
      const res = await fetch(url, init);
      if (init.method !== 'POST' || !String(init.body).includes('grant_type=refresh_token') || !res.ok) return res;
      const body = await res.json() as Record<string, unknown>;
      return new globalThis.Response(JSON.stringify({ ...body, token_type: 'Bearer' }), { status: res.status, headers: res.headers });
    };
    const bed = await startTestbed({
      auth: { dpop: 'required', scope: 'openid profile email offline_access', customFetch },
      build: buildApp,
      providerConfiguration: { issueRefreshToken: async () => true },
    });
    try {
      const browser = new Browser();
      await signIn(browser, `${bed.baseURL}/login`);
      const before = await getJson<{ tokenType: string }>(browser, `${bed.baseURL}/tokens`);
      expect(before.body.tokenType.toLowerCase()).toBe('dpop');
      const refresh = await browser.request(`${bed.baseURL}/refresh`, { method: 'POST', headers: { accept: 'application/json' } });
      expect(refresh.status).toBe(401);
      expect(JSON.parse(refresh.body)).toMatchObject({ code: 'session_ended' });
      expect((await browser.request(`${bed.baseURL}/tokens`, { headers: { accept: 'application/json' } })).status).toBe(401);
    } finally {
      await bed.close();
    }
  });
});

describe('option dpop is checked', () => {
  test('authCallback({ dpop: \'yes\' }) throws a TypeError naming dpop', () => {
    const config = {
      issuer: 'http://localhost:3999', clientId: 'rp', clientSecret: 'secret', baseURL: 'http://localhost:3000', secret: SECRET, dpop: 'yes',
    } as unknown as AuthCallbackConfig;
    expect(() => authCallback(config)).toThrow(TypeError);
    expect(() => authCallback(config)).toThrow(/dpop/);
  });
});
