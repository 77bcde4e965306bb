/**
 * `pushedAuthorizationRequests: 'required'` (RFC 9126): every login's parameters are pushed, and
 * a provider that publishes no `pushed_authorization_request_endpoint` (§5) refuses each login
 * with 502 `par_unsupported`, whose message names the cause and the fix, instead of sending the
 * parameters through the browser as `true` does. A provider whose metadata sets
 * `require_pushed_authorization_requests` gets pushed requests whatever the option says, and one
 * that sets it without publishing the endpoint refuses the login the same way. Against the real
 * OpenID Provider (`oidc-provider`, PAR turned on or off), and the hostile provider for metadata
 * oidc-provider cannot publish.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import request from 'supertest';
import { authCallback, AuthErrorCodes, ConfigurationError, github, type AuthCallbackConfig } from 'express-oidc-callback';
import express from 'express';
import { Browser } from '../../support/browser.js';
import { errorAsJson } from '../../support/error-handler.js';
import { startHostileProvider, type HostileProvider } from '../../support/hostile-provider.js';
import { CLIENT_ID, CLIENT_SECRET, SECRET, signIn, startLogin, startTestbed, type Testbed } from '../../support/testbed.js';

const PAR_URN = 'urn:ietf:params:oauth:request_uri:';

/** authCallback(auth) and a JSON error handler. */
function appWith(auth: AuthCallbackConfig): Express {
  const app = express();
  app.use(authCallback(auth));
  app.get('/', (req, res) => {
    res.json({ sub: req.user?.sub ?? null });
  });
  app.use(errorAsJson);
  return app;
}

/** The sorted names of an authorization URL's query. */
function keys(url: URL): string[] {
  return [...url.searchParams.keys()].sort();
}

describe('against oidc-provider', () => {
  let withoutPar: Testbed;
  let withPar: Testbed;
  let requiring: Testbed;
  /** Requests oidc-provider's authorization endpoint received, per testbed. */
  const authorizationRequests = new Map<Testbed, number>();

  beforeAll(async () => {
    withoutPar = await startTestbed({
      auth: { pushedAuthorizationRequests: 'required' },
      providerConfiguration: { features: { devInteractions: { enabled: true }, pushedAuthorizationRequests: { enabled: false } } },
    });
    withPar = await startTestbed({ auth: { pushedAuthorizationRequests: 'required' } });
    requiring = await startTestbed({
      auth: { pushedAuthorizationRequests: false },
      providerConfiguration: {
        features: { devInteractions: { enabled: true }, pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: true } },
      },
    });
    for (const bed of [withoutPar, withPar, requiring]) {
      authorizationRequests.set(bed, 0);
      bed.provider.server.prependListener('request', (req) => {
        if (new URL(req.url ?? '/', 'http://x').pathname === '/auth') authorizationRequests.set(bed, authorizationRequests.get(bed)! + 1);
      });
    }
  });
  afterAll(async () => {
    await Promise.all([withoutPar, withPar, requiring].map((bed) => bed.close()));
  });

  test('\'required\', and the provider publishes no PAR endpoint: /login is 502 par_unsupported naming the cause and the fix; no redirect, no pending login', async () => {
    const metadata = await (await fetch(`${withoutPar.provider.issuer}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    expect(metadata.pushed_authorization_request_endpoint).toBeUndefined();

    const browser = new Browser();
    const res = await browser.request(`${withoutPar.baseURL}/login`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(502);
    const body = JSON.parse(res.body) as { error: string };
    expect(body.error).toBe(AuthErrorCodes.PAR_UNSUPPORTED);
    expect(res.headers.get('location')).toBeNull();
    expect(res.headers.getSetCookie().filter((c) => c.includes('_tx_'))).toEqual([]);
    expect(authorizationRequests.get(withoutPar)).toBe(0);

    // The message (for the logs: a 5xx is not shown to the user) names the cause and the fix.
    const app = appWith({ ...withoutPar.auth });
    const direct = await request(app).get('/login');
    expect(direct.status).toBe(502);
    expect(direct.body.code).toBe('par_unsupported');
    expect(direct.body.message).toContain('pushed_authorization_request_endpoint');
    expect(direct.body.message).toContain('RFC 9126');
    expect(direct.body.message).toContain('pushedAuthorizationRequests: true');
  });

  test('true against the same provider falls back to a plain authorization request (what \'required\' refuses)', async () => {
    const app = appWith({ ...withoutPar.auth, pushedAuthorizationRequests: true });
    const res = await request(app).get('/login');
    expect(res.status).toBe(302);
    const url = new URL(res.headers.location as string);
    expect(url.searchParams.get('redirect_uri')).toBe(`${withoutPar.baseURL}/callback`);
    expect(url.searchParams.has('request_uri')).toBe(false);
  });

  test('\'required\', and the provider offers PAR: the request is pushed (the URL carries only client_id and request_uri) and the login completes', async () => {
    const { authorizationUrl } = await startLogin(new Browser(), `${withPar.baseURL}/login`);
    expect(keys(authorizationUrl)).toEqual(['client_id', 'request_uri']);
    expect(authorizationUrl.searchParams.get('request_uri')!.startsWith(PAR_URN)).toBe(true);
    const landing = await signIn(new Browser(), `${withPar.baseURL}/login?returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${withPar.baseURL}/profile`);
    expect(landing.status).toBe(200);
  });

  test('a provider whose metadata sets require_pushed_authorization_requests gets PAR with the option false, and the login completes', async () => {
    const metadata = await (await fetch(`${requiring.provider.issuer}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    expect(metadata.require_pushed_authorization_requests).toBe(true);
    expect(requiring.auth.pushedAuthorizationRequests).toBe(false);

    const { authorizationUrl } = await startLogin(new Browser(), `${requiring.baseURL}/login`);
    expect(keys(authorizationUrl)).toEqual(['client_id', 'request_uri']);
    const landing = await signIn(new Browser(), `${requiring.baseURL}/login?returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${requiring.baseURL}/profile`);
  });
});

describe('metadata oidc-provider cannot publish (hostile provider)', () => {
  let hostile: HostileProvider;
  beforeAll(async () => {
    hostile = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  });
  afterAll(async () => {
    await hostile.close();
  });

  test.each([false, true, 'required'] as const)(
    'require_pushed_authorization_requests without a PAR endpoint (pushedAuthorizationRequests %s): 502 par_unsupported, blaming the provider\'s configuration',
    async (option) => {
      hostile.reset();
      hostile.behaviour.metadata = { require_pushed_authorization_requests: true };
      const app = appWith({ issuer: hostile.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL: 'http://localhost:3000', secret: SECRET, pushedAuthorizationRequests: option });
      const res = await request(app).get('/login');
      expect(res.status).toBe(502);
      expect(res.body.code).toBe('par_unsupported');
      expect(res.body.message).toContain('require_pushed_authorization_requests');
      expect(res.body.message).toContain('fix the provider');
      expect(res.headers.location).toBeUndefined();
      expect(hostile.requests.authorize).toBe(0);
    },
  );
});

describe('start-up checks', () => {
  const base: AuthCallbackConfig = { issuer: 'http://localhost:1', clientId: 'c', clientSecret: 's', baseURL: 'http://localhost:3000', secret: SECRET };

  test.each(['always', 'yes', 1, null])('pushedAuthorizationRequests %p is a ConfigurationError naming the values it takes', (value) => {
    expect(() => authCallback({ ...base, pushedAuthorizationRequests: value as unknown as boolean })).toThrow(ConfigurationError);
    expect(() => authCallback({ ...base, pushedAuthorizationRequests: value as unknown as boolean })).toThrow(/option "pushedAuthorizationRequests" must be true, false or 'required'/);
  });

  test('\'required\' with a provider adapter is refused', () => {
    expect(() => authCallback({ ...base, issuer: undefined, adapter: github(), pushedAuthorizationRequests: 'required' })).toThrow(/option "pushedAuthorizationRequests" needs an OpenID Provider/);
  });
});
