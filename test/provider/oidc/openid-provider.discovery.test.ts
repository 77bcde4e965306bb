/**
 * What a failed discovery says (lib/provider/oidc/openid-provider.ts `configuration()`, its
 * messages from lib/provider/oidc/translate-error.ts): the `/.well-known/` URL it requested and
 * what went wrong there (the HTTP status, the content type, the network error), so that the
 * message leads to the fix. Against a closed port, an unresolvable `.invalid` host (no network
 * needed: the name is reserved, RFC 6761 §6.4) and the hostile provider of
 * test/support/hostile-provider.ts; then once through the app, where the error reaches `next()`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { authCallback } from '../../../lib/index.js';
import { AuthError } from '../../../lib/errors.js';
import { resolveOptions } from '../../../lib/config/resolve-options.js';
import type { IssuerOptions } from '../../../lib/config/resolved-options.js';
import { discoveryUrl, OpenIdProvider } from '../../../lib/provider/oidc/openid-provider.js';
import { errorAsJson } from '../../support/error-handler.js';
import { startHostileProvider, type HostileProvider } from '../../support/hostile-provider.js';
import { closedPortURL } from '../../support/http-server.js';

const BASE: AuthCallbackConfig = {
  issuer: 'http://localhost:1',
  clientId: 'discovery-test',
  clientSecret: 'discovery-test-client-secret',
  baseURL: 'http://localhost:3000',
  secret: 'a-test-secret-of-at-least-32-characters-0123456789',
  httpTimeout: 0.5,
};

/** What discovery of `issuer` rejects with (failing the test when it succeeds, or rejects with something else). */
async function discoveryError(issuer: string, config: Partial<AuthCallbackConfig> = {}): Promise<AuthError> {
  const provider = new OpenIdProvider(resolveOptions({ ...BASE, issuer, ...config }) as IssuerOptions);
  const thrown = await provider.configuration().then(() => undefined, (err: unknown) => err);
  expect(thrown).toBeInstanceOf(AuthError);
  return thrown as AuthError;
}

describe('discoveryUrl()', () => {
  test.each([
    ['http://localhost:3001', 'http://localhost:3001/.well-known/openid-configuration'],
    ['https://idp.example.test/', 'https://idp.example.test/.well-known/openid-configuration'],
    ['https://idp.example.test/tenant', 'https://idp.example.test/tenant/.well-known/openid-configuration'],
    ['https://idp.example.test/tenant/', 'https://idp.example.test/tenant/.well-known/openid-configuration'],
    ['https://idp.example.test/.well-known/openid-configuration', 'https://idp.example.test/.well-known/openid-configuration'],
  ])('%s → %s (as openid-client builds it)', (issuer, url) => {
    expect(discoveryUrl(new URL(issuer))).toBe(url);
  });
});

describe('the provider cannot be reached: 502 provider_unreachable, naming the URL and the network error', () => {
  test('a closed port: ECONNREFUSED, nothing listens there', async () => {
    const issuer = await closedPortURL();
    const err = await discoveryError(issuer);
    expect({ status: err.status, code: err.code }).toEqual({ status: 502, code: 'provider_unreachable' });
    expect(err.message).toContain(`GET ${issuer}/.well-known/openid-configuration`);
    expect(err.message).toContain('ECONNREFUSED: nothing accepts connections at that host and port');
  });

  test('a host name that does not resolve (.invalid): ENOTFOUND, check its spelling', async () => {
    const err = await discoveryError('https://idp.example.invalid/tenant');
    expect({ status: err.status, code: err.code }).toEqual({ status: 502, code: 'provider_unreachable' });
    expect(err.message).toContain('GET https://idp.example.invalid/tenant/.well-known/openid-configuration');
    expect(err.message).toContain('ENOTFOUND: the host name does not resolve');
  });
});

describe('the provider answers something else than its metadata: 502 invalid_provider_response, naming the URL and the answer', () => {
  let provider: HostileProvider;
  beforeAll(async () => {
    provider = await startHostileProvider();
  });
  afterAll(async () => {
    await provider.close();
  });
  beforeEach(() => {
    provider.reset();
  });

  test('404 (an issuer with a path the provider does not serve): the status, and that issuer must be the issuer identifier', async () => {
    const issuer = `${provider.issuer}/no-such-tenant`;
    const err = await discoveryError(issuer);
    expect({ status: err.status, code: err.code }).toEqual({ status: 502, code: 'invalid_provider_response' });
    expect(err.message).toContain(`GET ${issuer}/.well-known/openid-configuration answered HTTP 404`);
    expect(err.message).toContain('check issuer, which must be the provider\'s issuer identifier exactly');
    expect(err.message).not.toContain('OAUTH_RESPONSE_IS_NOT_CONFORM');
  });

  test('500: the status, and that the provider is failing', async () => {
    provider.behaviour.discovery = 'error-500';
    const err = await discoveryError(provider.issuer);
    expect(err.code).toBe('invalid_provider_response');
    expect(err.message).toContain(`GET ${provider.issuer}/.well-known/openid-configuration answered HTTP 500`);
    expect(err.message).toContain('the provider is failing');
  });

  test('a redirect (discovery follows none): the status, and to set issuer to the identifier', async () => {
    provider.behaviour.overrides.discovery = (_req, res) => { res.redirect(301, `${provider.issuer}/elsewhere`); };
    const err = await discoveryError(provider.issuer);
    expect(err.message).toContain('answered HTTP 301');
    expect(err.message).toContain('a redirect, which discovery does not follow');
  });

  test('an HTML page: the content type, and that issuer names a web page', async () => {
    provider.behaviour.discovery = 'html';
    const err = await discoveryError(provider.issuer);
    expect(err.code).toBe('invalid_provider_response');
    expect(err.message).toContain(`GET ${provider.issuer}/.well-known/openid-configuration answered HTTP 200 with text/html, not the provider's JSON metadata`);
    expect(err.message).toContain('issuer probably names a web page');
  });

  test('JSON that does not parse, and JSON without an issuer: each says so', async () => {
    provider.behaviour.overrides.discovery = (_req, res) => { res.type('json').send('{"issuer":'); };
    expect((await discoveryError(provider.issuer)).message).toContain('answered a body that is not valid JSON');
    provider.behaviour.overrides.discovery = (_req, res) => { res.json({ hello: 'world' }); };
    expect((await discoveryError(provider.issuer)).message).toContain('answered JSON that is not OpenID Provider metadata (no issuer)');
  });

  test('another issuer (openid-client\'s check, and this package\'s exact one): both issuers named', async () => {
    provider.behaviour.discovery = 'wrong-issuer';
    const other = await discoveryError(provider.issuer);
    expect(other.code).toBe('invalid_provider_response');
    expect(other.message).toContain(`names the issuer "${provider.issuer}/other-tenant", not the configured "${provider.issuer}"`);
    expect(other.message).toContain(`GET ${provider.issuer}/.well-known/openid-configuration`);
    provider.behaviour.discovery = 'issuer-trailing-slash';
    const slash = await discoveryError(provider.issuer);
    expect(slash.message).toContain(`names the issuer "${provider.issuer}/", not the configured "${provider.issuer}"`);
  });

  test('no answer within httpTimeout: 504 provider_timeout, naming the URL and httpTimeout', async () => {
    provider.behaviour.discovery = 'hang';
    const err = await discoveryError(provider.issuer);
    expect({ status: err.status, code: err.code }).toEqual({ status: 504, code: 'provider_timeout' });
    expect(err.message).toBe(`The OpenID Provider did not answer discovery (GET ${provider.issuer}/.well-known/openid-configuration) within httpTimeout (0.5 seconds)`);
  });

  test('through the app: /login passes the same error to next()', async () => {
    const issuer = `${provider.issuer}/no-such-tenant`;
    const app = express();
    app.use(authCallback({ ...BASE, issuer }));
    app.use(errorAsJson);
    const res = await request(app).get('/login');
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ code: 'invalid_provider_response' });
    expect((res.body as { message: string }).message).toContain(`GET ${issuer}/.well-known/openid-configuration answered HTTP 404`);
  });
});
