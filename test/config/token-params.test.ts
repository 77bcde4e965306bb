/**
 * Extra parameters of the token endpoint requests: `tokenEndpointParams` with the authorization
 * code exchange (RFC 6749 §4.1.3), `refreshParams` with every refresh (RFC 6749 §6), automatic or
 * by `req.oidc.refresh()`, and `req.oidc.refresh({ tokenEndpointParams })` for one refresh, over
 * `refreshParams`. What the real OpenID Provider (`oidc-provider`) received is read from its
 * `grant.success` event (the request body as parsed). The parameters the protocol sets itself are
 * refused at start-up (and in the call) with a `ConfigurationError`, as is their use with an
 * adapter.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express, { type Express } from 'express';
import type { ConfigurationError} from 'express-oidc-callback';
import { authCallback, ERR_INVALID_OPTION, github, type AuthCallbackConfig } from 'express-oidc-callback';
import { Browser } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { startGitHubProvider } from '../support/github-provider.js';
import { signIn, startTestbed, type Testbed } from '../support/testbed.js';
import { configurationError } from '../support/expect-error.js';

const JSON_ACCEPT = { accept: 'application/json' };
/** Token request parameters the protocol sets: each is refused in every one of the three places. */
const PROTOCOL_NAMES = [
  'grant_type', 'code', 'code_verifier', 'redirect_uri', 'refresh_token', 'client_id', 'client_secret', 'client_assertion', 'client_assertion_type',
];

/** One token request the provider granted: its grant type and body. */
interface Grant {
  grantType: string;
  body: Record<string, unknown>;
}

let bed: Testbed;
let current: Express;
const grants: Grant[] = [];
/** The access token lifetime the provider issues next, in seconds. */
let accessTokenTtl = 3600;

/** authCallback(auth) with `GET /` (the user) and `POST /refresh` (req.oidc.refresh(), its options the JSON of the form field `options`). */
function buildApp(auth: AuthCallbackConfig): Express {
  const app = express();
  app.use(authCallback(auth));
  app.get('/', (req, res) => {
    res.json({ sub: req.user?.sub ?? null });
  });
  app.post('/refresh', express.urlencoded({ extended: false }), async (req, res, next) => {
    try {
      const { options } = req.body as { options?: string };
      await req.oidc.refresh(options === undefined ? undefined : JSON.parse(options) as { tokenEndpointParams?: Record<string, string> });
      res.json({ refreshed: true });
    } catch (err) {
      next(err);
    }
  });
  app.use(errorAsJson);
  return app;
}

/** Serves the testbed's port with a new app of `auth` over the testbed's. */
function useApp(auth: Partial<AuthCallbackConfig>): void {
  current = buildApp({ ...bed.auth, ...auth });
}

/** The parameters of a grant's body that are not the protocol's own. */
function extra(grant: Grant | undefined): Record<string, unknown> {
  const own = new Set([...PROTOCOL_NAMES, 'scope']);
  return Object.fromEntries(Object.entries(grant?.body ?? {}).filter(([name]) => !own.has(name)));
}

/** The form body of `POST /refresh` that calls req.oidc.refresh(options). */
function refreshOptions(options: unknown): URLSearchParams {
  return new URLSearchParams({ options: JSON.stringify(options) });
}

function grantsOf(type: string): Grant[] {
  return grants.filter((g) => g.grantType === type);
}

beforeAll(async () => {
  const front = express();
  front.use((req, res, next) => current(req, res, next));
  bed = await startTestbed({
    providerConfiguration: {
      issueRefreshToken: async () => true,
      ttl: {
        AccessToken: () => accessTokenTtl,
        AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Grant: 14 * 86400, Session: 14 * 86400, RefreshToken: 14 * 86400,
      },
    },
    build: () => front,
  });
  bed.provider.provider.on('grant.success', (ctx: { oidc: { body?: Record<string, unknown> } }) => {
    const body = { ...ctx.oidc.body };
    grants.push({ grantType: String(body.grant_type), body });
  });
});
afterAll(async () => {
  await bed.close();
});
beforeEach(() => {
  grants.length = 0;
  accessTokenTtl = 3600;
});

describe('what the provider receives', () => {
  test('tokenEndpointParams go with the code exchange only, not with a refresh', async () => {
    useApp({ tokenEndpointParams: { audience: 'https://api.example.com', tenant_hint: 'a b&c=d' } });
    const browser = new Browser();
    const landed = await signIn(browser, `${bed.baseURL}/login`);
    expect(JSON.parse(landed.body)).toEqual({ sub: 'alice' });
    const refreshed = await browser.request(`${bed.baseURL}/refresh`, { method: 'POST', headers: JSON_ACCEPT, body: new URLSearchParams() });
    expect(refreshed.status).toBe(200);

    expect(grantsOf('authorization_code')).toHaveLength(1);
    expect(extra(grantsOf('authorization_code')[0])).toEqual({ audience: 'https://api.example.com', tenant_hint: 'a b&c=d' });
    expect(grantsOf('refresh_token')).toHaveLength(1);
    expect(extra(grantsOf('refresh_token')[0])).toEqual({});
  });

  test('refreshParams go with an automatic refresh (autoRefresh) and with req.oidc.refresh(), not with the code exchange', async () => {
    useApp({ refreshParams: { audience: 'https://refresh.example.com' } });
    accessTokenTtl = 30; // within refreshMargin (60 s): the next request refreshes first
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`); // the landing page's request refreshed once already
    const automatic = grantsOf('refresh_token').length;
    expect(automatic).toBeGreaterThanOrEqual(1);
    const refreshed = await browser.request(`${bed.baseURL}/refresh`, { method: 'POST', headers: JSON_ACCEPT, body: new URLSearchParams() });
    expect(refreshed.status).toBe(200);

    expect(extra(grantsOf('authorization_code')[0])).toEqual({});
    const refreshes = grantsOf('refresh_token');
    expect(refreshes.length).toBeGreaterThan(automatic); // the route's own (its request may refresh automatically first)
    for (const grant of refreshes) expect(extra(grant)).toEqual({ audience: 'https://refresh.example.com' });
  });

  test('req.oidc.refresh({ tokenEndpointParams }) adds its own over refreshParams, for that refresh only', async () => {
    useApp({ refreshParams: { audience: 'https://refresh.example.com', keep: 'kept' } });
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`);
    const asked = await browser.request(`${bed.baseURL}/refresh`, {
      method: 'POST', headers: JSON_ACCEPT, body: refreshOptions({ tokenEndpointParams: { audience: 'https://other.example.com', only_here: '1' } }),
    });
    expect(asked.status).toBe(200);
    const plain = await browser.request(`${bed.baseURL}/refresh`, { method: 'POST', headers: JSON_ACCEPT, body: new URLSearchParams() });
    expect(plain.status).toBe(200);

    const refreshes = grantsOf('refresh_token');
    expect(refreshes.map(extra)).toEqual([
      { audience: 'https://other.example.com', keep: 'kept', only_here: '1' },
      { audience: 'https://refresh.example.com', keep: 'kept' },
    ]);
  });

  test('req.oidc.refresh() with a protocol parameter is a ConfigurationError, and nothing is sent', async () => {
    useApp({});
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`);
    for (const name of ['refresh_token', 'grant_type', 'client_assertion']) {
      const res = await browser.request(`${bed.baseURL}/refresh`, {
        method: 'POST', headers: JSON_ACCEPT, body: refreshOptions({ tokenEndpointParams: { [name]: 'x' } }),
      });
      expect(JSON.parse(res.body)).toEqual({ code: ERR_INVALID_OPTION, message: expect.stringContaining(`"tokenEndpointParams.${name}"`) });
    }
    const notString = await browser.request(`${bed.baseURL}/refresh`, {
      method: 'POST', headers: JSON_ACCEPT, body: refreshOptions({ tokenEndpointParams: { audience: 1 } }),
    });
    expect(JSON.parse(notString.body)).toEqual({ code: ERR_INVALID_OPTION, message: expect.stringContaining('must be a string') });
    expect(grantsOf('refresh_token')).toHaveLength(0);
  });
});

test('req.oidc.refresh({ tokenEndpointParams }) on a provider adapter\'s session is a ConfigurationError, and nothing is sent', async () => {
  const gh = await startGitHubProvider();
  gh.behaviour.expiring = true; // a GitHub App: refresh tokens
  const clientSecret = 'gh-client-secret-0123456789abcdef';
  const previous = current;
  try {
    gh.register({ clientId: 'gh-client', clientSecret, redirectUri: `${bed.baseURL}/callback` });
    current = buildApp({ adapter: github({ baseURL: gh.baseURL, apiBaseURL: gh.apiBaseURL }), clientId: 'gh-client', clientSecret, baseURL: bed.auth.baseURL, secret: bed.auth.secret });
    const browser = new Browser();
    const landed = await browser.visit(`${bed.baseURL}/login`);
    expect(JSON.parse(landed.body)).toEqual({ sub: expect.any(String) });
    const res = await browser.request(`${bed.baseURL}/refresh`, { method: 'POST', headers: JSON_ACCEPT, body: refreshOptions({ tokenEndpointParams: { audience: 'x' } }) });
    expect(JSON.parse(res.body)).toEqual({ code: ERR_INVALID_OPTION, message: expect.stringContaining('needs an OpenID Provider') });
    const plain = await browser.request(`${bed.baseURL}/refresh`, { method: 'POST', headers: JSON_ACCEPT, body: new URLSearchParams() });
    expect(plain.status).toBe(200);
    expect(gh.requestsTo('/login/oauth/access_token').map((r) => r.params.get('grant_type'))).toEqual(['authorization_code', 'refresh_token']);
  } finally {
    current = previous;
    await gh.close();
  }
});

describe('start-up checks', () => {
  const base: AuthCallbackConfig = {
    issuer: 'http://localhost:1', clientId: 'c', clientSecret: 's', baseURL: 'http://localhost:3000', secret: 'a-start-up-check-secret-of-at-least-32-characters',
  };

  const startUpError = (overrides: Partial<AuthCallbackConfig>): ConfigurationError => configurationError(() => authCallback({ ...base, ...overrides } as AuthCallbackConfig));

  test.each(['tokenEndpointParams', 'refreshParams'] as const)('%s: every parameter the protocol sets is refused, naming it and the fix', (option) => {
    for (const name of PROTOCOL_NAMES) {
      const err = startUpError({ [option]: { [name]: 'x' } });
      expect(err.option).toBe(`${option}.${name}`);
      expect(err.message).toContain(`option "${option}.${name}"`);
      expect(err.message).toContain('remove it');
    }
    expect(startUpError({ [option]: { client_assertion_anything: 'x' } }).option).toBe(`${option}.client_assertion_anything`);
  });

  test.each(['tokenEndpointParams', 'refreshParams'] as const)('%s: values must be strings, in an object', (option) => {
    expect(startUpError({ [option]: { audience: 42 } as unknown as Record<string, string> }).option).toBe(`${option}.audience`);
    expect(startUpError({ [option]: ['audience'] as unknown as Record<string, string> }).option).toBe(option);
    expect(startUpError({ [option]: 'audience=x' as unknown as Record<string, string> }).option).toBe(option);
  });

  test('other names are accepted', () => {
    expect(() => authCallback({ ...base, tokenEndpointParams: { resource: 'https://api', audience: 'a' }, refreshParams: { resource: 'https://api', scope: 'openid' } })).not.toThrow();
  });

  test.each(['tokenEndpointParams', 'refreshParams'] as const)('%s cannot be used with a provider adapter', (option) => {
    const err = startUpError({ issuer: undefined, adapter: github(), [option]: { audience: 'x' } });
    expect(err.option).toBe(option);
    expect(err.message).toContain('needs an OpenID Provider');
  });
});
