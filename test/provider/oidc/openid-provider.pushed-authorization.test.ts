/**
 * Pushed authorization requests (RFC 9126) by the OpenID Provider (lib/provider/oidc/
 * openid-provider.ts), end to end: against oidc-provider, which offers PAR (and can require it),
 * and against the hostile provider of test/support/hostile-provider.ts advertising a separate PAR
 * endpoint that refuses or fails.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express, { type Express } from 'express';
import request from 'supertest';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { Browser } from '../../support/browser.js';
import { type HostileProvider, startHostileProvider } from '../../support/hostile-provider.js';
import { closedPortURL, serveApp } from '../../support/http-server.js';
import {
  authorizationUrlOf, CLIENT_ID, CLIENT_SECRET, SECRET, signIn, startLogin, startTestbed, type Testbed, testbedTools, useTestbed,
} from '../../support/testbed.js';

/** The `request_uri` prefix of RFC 9126 §2.2. */
const PAR_URN = 'urn:ietf:params:oauth:request_uri:';

/** The default testbed: oidc-provider (PAR offered, not required) and the example app (PAR off). */
const bed = useTestbed();
const { appWith } = testbedTools(bed);

describe('pushed authorization requests (RFC 9126)', () => {
  /** What oidc-provider's PAR endpoint received, per request (parameters of the pushed request). */
  const pushed: Record<string, unknown>[] = [];
  /** Records every pushed request `tb`'s provider accepts. */
  function recordPushed(tb: Testbed): void {
    tb.provider.provider.on('pushed_authorization_request.success', (ctx: { oidc: { params?: Record<string, unknown> } }) => {
      pushed.push(Object.fromEntries(Object.entries(ctx.oidc.params ?? {}).filter(([, v]) => v !== undefined)));
    });
  }
  let parBed: Testbed;
  let requiredBed: Testbed;

  beforeAll(async () => {
    parBed = await startTestbed({ auth: { pushedAuthorizationRequests: true } });
    requiredBed = await startTestbed({
      providerConfiguration: {
        features: { devInteractions: { enabled: true }, pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true } },
      },
    });
    recordPushed(bed);
    recordPushed(parBed);
    recordPushed(requiredBed);
  });
  afterAll(async () => {
    await parBed.close();
    await requiredBed.close();
  });
  beforeEach(() => {
    pushed.length = 0;
  });

  /** The keys of an authorization URL's query, sorted. */
  function keys(url: URL): string[] {
    return [...url.searchParams.keys()].sort();
  }

  test('oidc-provider 9 offers PAR by default (§5: pushed_authorization_request_endpoint), without requiring it', async () => {
    const metadata = await (await fetch(`${bed.provider.issuer}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    expect(metadata.pushed_authorization_request_endpoint).toBe(`${bed.provider.issuer}/request`);
    expect(metadata.require_pushed_authorization_requests).not.toBe(true); // absent: false (RFC 9126 §5)
  });

  test('pushedAuthorizationRequests off (default) and PAR not required: a plain authorization URL with every parameter', async () => {
    const url = await authorizationUrlOf(bed.app, '/login?prompt=login');
    expect(keys(url)).toEqual(['client_id', 'code_challenge', 'code_challenge_method', 'nonce', 'prompt', 'redirect_uri', 'response_type', 'scope', 'state']);
    expect(pushed).toHaveLength(0);
  });

  test('§2 and §4: with pushedAuthorizationRequests, the URL carries only client_id and request_uri; the parameters went by the back channel; the login completes', async () => {
    const browser = new Browser();
    const { authorizationUrl } = await startLogin(browser, `${parBed.baseURL}/login`);
    expect(keys(authorizationUrl)).toEqual(['client_id', 'request_uri']);
    expect(authorizationUrl.searchParams.get('client_id')).toBe(CLIENT_ID);
    expect(authorizationUrl.searchParams.get('request_uri')!.startsWith(PAR_URN)).toBe(true);
    expect(pushed).toHaveLength(1);
    expect(pushed[0]).toMatchObject({
      client_id: CLIENT_ID, response_type: 'code', redirect_uri: `${parBed.baseURL}/callback`, code_challenge_method: 'S256',
    });
    expect(pushed[0]!.state).toEqual(expect.stringMatching(/^[\w-]{43}$/));
    expect(pushed[0]!.code_challenge).toEqual(expect.stringMatching(/^[\w-]{43}$/));

    const landing = await signIn(new Browser(), `${parBed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${parBed.baseURL}/profile`);
    expect(landing.status).toBe(200);
  });

  test('per-login parameters are pushed too, and the provider honours them (prompt=login asks again)', async () => {
    const browser = new Browser();
    await signIn(browser, `${parBed.baseURL}/login`);
    await browser.jar.setCookie('oidc_session=; Max-Age=0; Path=/', parBed.baseURL);
    pushed.length = 0;

    const { authorizationUrl } = await startLogin(browser, `${parBed.baseURL}/login?prompt=login&login_hint=ann%40example.com`);
    expect(keys(authorizationUrl)).toEqual(['client_id', 'request_uri']);
    expect(pushed).toHaveLength(1);
    expect(pushed[0]).toMatchObject({ prompt: 'login', login_hint: 'ann@example.com' });
    const form = await browser.visit(authorizationUrl.href);
    expect(form.body).toMatch(/name="login"/);
    // Without prompt=login the provider's session answers at once: the form above was the prompt's doing.
    const landing = await browser.visit(`${parBed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${parBed.baseURL}/profile`);
  });

  test('§5: a provider that requires PAR gets it even with pushedAuthorizationRequests off, and the login completes', async () => {
    const metadata = await (await fetch(`${requiredBed.provider.issuer}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    expect(metadata.require_pushed_authorization_requests).toBe(true);
    expect(requiredBed.auth.pushedAuthorizationRequests).toBeUndefined();

    const { authorizationUrl } = await startLogin(new Browser(), `${requiredBed.baseURL}/login`);
    expect(keys(authorizationUrl)).toEqual(['client_id', 'request_uri']);
    expect(pushed).toHaveLength(1);
    const landing = await signIn(new Browser(), `${requiredBed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${requiredBed.baseURL}/profile`);
  });

  describe('a PAR endpoint that fails (hostile provider advertising a separate PAR endpoint)', () => {
    let hostile: HostileProvider;
    let parServer: { url: string; close(): Promise<void> };
    /** How the PAR endpoint answers the next request. */
    let answer: (res: express.Response) => void;
    const received: { authorization: string | undefined; body: URLSearchParams }[] = [];

    beforeAll(async () => {
      hostile = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
      const par = express();
      par.post('/par', express.text({ type: () => true }), (req, res) => {
        received.push({ authorization: req.headers.authorization, body: new URLSearchParams(typeof req.body === 'string' ? req.body : '') });
        answer(res);
      });
      const server = await serveApp(() => par);
      parServer = { url: `${server.baseURL}/par`, close: server.close };
    });
    afterAll(async () => {
      await parServer.close();
      await hostile.close();
    });
    beforeEach(() => {
      hostile.reset();
      received.length = 0;
      answer = (res) => { res.status(400).json({ error: 'invalid_request', error_description: 'refused' }); };
    });

    /** An app (fresh discovery) against the hostile provider, whose discovery has `metadata` over its own. */
    function hostileApp(metadata: Record<string, unknown>, auth: Partial<AuthCallbackConfig> = {}): Express {
      hostile.behaviour.metadata = metadata;
      return appWith(auth, { issuer: hostile.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL: 'http://localhost:3000', secret: SECRET });
    }

    test('§2.3: a PAR endpoint answering 400 invalid_request: /login answers 502 (not 500), no redirect', async () => {
      const app = hostileApp({ pushed_authorization_request_endpoint: parServer.url }, { pushedAuthorizationRequests: true });
      const res = await request(app).get('/login?prompt=login');
      expect(res.status).toBe(502);
      expect(res.body.code).toBe('invalid_request');
      expect(res.headers.location).toBeUndefined();
      expect(hostile.requests.authorize).toBe(0);
      // It was a real pushed request: client authentication, and the per-login parameters in the body.
      expect(received).toHaveLength(1);
      expect(received[0]!.authorization).toMatch(/^Basic /);
      expect(received[0]!.body.get('prompt')).toBe('login');
      expect(received[0]!.body.get('state')).toMatch(/^[\w-]{43}$/);
    });

    test('§5: require_pushed_authorization_requests sends the request there even with pushedAuthorizationRequests off', async () => {
      const app = hostileApp({ pushed_authorization_request_endpoint: parServer.url, require_pushed_authorization_requests: true });
      const res = await request(app).get('/login');
      expect(received).toHaveLength(1);
      expect(res.status).toBe(502);
      expect(res.headers.location).toBeUndefined();
      expect(hostile.requests.authorize).toBe(0);
    });

    test('without pushedAuthorizationRequests nor a requirement, an advertised PAR endpoint is not used', async () => {
      const app = hostileApp({ pushed_authorization_request_endpoint: parServer.url });
      const url = await authorizationUrlOf(app, '/login');
      expect(url.origin + url.pathname).toBe(`${hostile.issuer}/authorize`);
      expect(url.searchParams.get('state')).toMatch(/^[\w-]{43}$/);
      expect(received).toHaveLength(0);
    });

    test('§2.2: a PAR endpoint answering 500 with plain text: 502 invalid_provider_response', async () => {
      answer = (res) => { res.status(500).type('text').send('Internal Server Error'); };
      const res = await request(hostileApp({ pushed_authorization_request_endpoint: parServer.url }, { pushedAuthorizationRequests: true })).get('/login');
      expect(res.status).toBe(502);
      expect(res.body.code).toBe('invalid_provider_response');
      expect(res.headers.location).toBeUndefined();
    });

    test('§2.2: a 201 without request_uri: 502 invalid_provider_response', async () => {
      answer = (res) => { res.status(201).json({ expires_in: 60 }); };
      const res = await request(hostileApp({ pushed_authorization_request_endpoint: parServer.url }, { pushedAuthorizationRequests: true })).get('/login');
      expect(res.status).toBe(502);
      expect(res.body.code).toBe('invalid_provider_response');
    });

    test('an unreachable PAR endpoint: 502 provider_unreachable', async () => {
      const app = hostileApp({ pushed_authorization_request_endpoint: `${await closedPortURL()}/par` }, { pushedAuthorizationRequests: true });
      const res = await request(app).get('/login');
      expect(res.status).toBe(502);
      expect(res.body.code).toBe('provider_unreachable');
    });

    test('§5: PAR required but no pushed_authorization_request_endpoint advertised: 502, no redirect', async () => {
      const res = await request(hostileApp({ require_pushed_authorization_requests: true })).get('/login');
      expect(res.status).toBe(502);
      expect(res.headers.location).toBeUndefined();
      expect(received).toHaveLength(0);
    });
  });
});
