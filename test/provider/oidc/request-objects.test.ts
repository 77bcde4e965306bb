/**
 * Signed request objects (JAR, RFC 9101) with the `requestObject` option: the authorization
 * request's parameters signed with `clientPrivateKey` and sent as `request` (§5.1), or pushed
 * (RFC 9126 §3) when PAR is on. Against the real OpenID Provider (`oidc-provider` with
 * `features.requestObjects`), whose client is registered with its public key (`jwks`) and
 * `request_object_signing_alg`, and, for the proof that the request object is what carries the
 * parameters, `require_signed_request_object`. A provider that does not accept request objects
 * as they would be sent refuses each login with 502 `request_object_unsupported`; a key that
 * cannot sign with the algorithm is a start-up `ConfigurationError`.
 */
import { afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import express from 'express';
import { decodeJwt, decodeProtectedHeader, exportJWK, exportPKCS8, generateKeyPair, importJWK, jwtVerify, type JWK } from 'jose';
import request from 'supertest';
import type { ConfigurationError} from 'express-oidc-callback';
import { authCallback, github, type AuthCallbackConfig } from 'express-oidc-callback';
import { Browser } from '../../support/browser.js';
import { errorAsJson } from '../../support/error-handler.js';
import { withSameRealmClone } from '../../support/same-realm-clone.js';
import { CLIENT_ID, SECRET, signIn, startLogin, startTestbed, type Testbed, type TestbedOptions } from '../../support/testbed.js';
import { configurationError } from '../../support/expect-error.js';

const PAR_URN = 'urn:ietf:params:oauth:request_uri:';
const KID = 'client-request-object-key';

/** The client's key pair, as the options take it and as the provider registers it. */
interface ClientKey {
  privateJwk: JWK;
  publicJwk: JWK;
  pem: string;
}

async function clientKey(alg: 'ES256' | 'RS256' | 'EdDSA'): Promise<ClientKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid: KID },
    publicJwk: { ...(await exportJWK(publicKey)), kid: KID, use: 'sig' },
    pem: await exportPKCS8(privateKey),
  };
}

let es256: ClientKey;
let rsa: ClientKey;
let ed25519: ClientKey;
beforeAll(async () => {
  [es256, rsa, ed25519] = await Promise.all([clientKey('ES256'), clientKey('RS256'), clientKey('EdDSA')]);
});

const open: Testbed[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((bed) => bed.close()));
});

/** oidc-provider's features with request objects on (and PAR, on by default, kept). */
function features(requestObjects: boolean, more: Record<string, unknown> = {}): Record<string, unknown> {
  return { devInteractions: { enabled: true }, requestObjects: { enabled: requestObjects }, ...more };
}

/** A testbed whose client is registered with `key`'s public half (a `jwks`: see withSameRealmClone). */
async function start(options: TestbedOptions & { key: ClientKey; registration?: Record<string, unknown> }): Promise<Testbed> {
  const bed = await withSameRealmClone(() => startTestbed({
    ...options,
    // The same key authenticates the client (private_key_jwt, chosen by default with a clientPrivateKey).
    client: { jwks: { keys: [options.key.publicJwk] }, token_endpoint_auth_method: 'private_key_jwt', ...options.registration } as TestbedOptions['client'],
  }));
  open.push(bed);
  return bed;
}

/** The request object of an authorization URL: verified with `key`, its header and claims. */
async function requestObjectOf(url: URL | URLSearchParams, key: ClientKey, alg: string): Promise<{ header: Record<string, unknown>; claims: Record<string, unknown> }> {
  const jwt = (url instanceof URL ? url.searchParams : url).get('request');
  expect(jwt).not.toBeNull();
  await jwtVerify(jwt!, await importJWK(key.publicJwk, alg), { algorithms: [alg] });
  return { header: decodeProtectedHeader(jwt!) as Record<string, unknown>, claims: decodeJwt(jwt!) };
}

describe('sent as the request parameter (RFC 9101 §5.1)', () => {
  test('an ES256 request object: the URL carries only client_id and request; its claims are the whole request, signed with the client key; the login completes', async () => {
    const bed = await start({
      key: es256,
      registration: { request_object_signing_alg: 'ES256' },
      auth: { requestObject: true, clientPrivateKey: es256.privateJwk },
      providerConfiguration: { features: features(true) },
    });
    const { authorizationUrl } = await startLogin(new Browser(), `${bed.baseURL}/login?prompt=login`);
    expect([...authorizationUrl.searchParams.keys()].sort()).toEqual(['client_id', 'request']);
    expect(authorizationUrl.searchParams.get('client_id')).toBe(CLIENT_ID);
    const { header, claims } = await requestObjectOf(authorizationUrl, es256, 'ES256');
    expect(header).toEqual({ alg: 'ES256', typ: 'oauth-authz-req+jwt', kid: KID }); // RFC 9101 §10.8
    expect(claims).toMatchObject({
      iss: CLIENT_ID, aud: bed.provider.issuer, client_id: CLIENT_ID, response_type: 'code', redirect_uri: `${bed.baseURL}/callback`,
      scope: 'openid profile email', code_challenge_method: 'S256', prompt: 'login',
    });
    for (const name of ['state', 'nonce', 'code_challenge', 'jti']) expect(typeof claims[name]).toBe('string');
    expect(claims.exp).toBeGreaterThan(Math.floor(Date.now() / 1000));

    const landing = await signIn(new Browser(), `${bed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${bed.baseURL}/profile`);
    expect(landing.status).toBe(200);
  });

  test('a client registered with require_signed_request_object: refused without requestObject, signed in with it', async () => {
    const options = {
      key: rsa,
      registration: { request_object_signing_alg: 'RS256', require_signed_request_object: true },
      providerConfiguration: { features: features(true) },
    };
    const without = await start({ ...options, auth: { clientPrivateKey: rsa.pem, clientKeyId: KID } });
    const refused = await new Browser().visit(`${without.baseURL}/login`);
    // The provider sends the browser back with its refusal (RFC 6749 §4.1.2.1), and no session begins.
    expect(refused.url.startsWith(`${without.baseURL}/callback?error=invalid_request`)).toBe(true);
    expect(refused.status).toBe(400);

    const withObject = await start({ ...options, auth: { requestObject: true, clientPrivateKey: rsa.pem, clientKeyId: KID } });
    const landing = await signIn(new Browser(), `${withObject.baseURL}/login?returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${withObject.baseURL}/profile`);
  });

  test('requestObject: { alg: \'PS256\' } with an RSA key: the header says PS256, and the provider accepts it', async () => {
    const bed = await start({
      key: rsa,
      registration: { request_object_signing_alg: 'PS256' },
      auth: { requestObject: { alg: 'PS256' }, clientPrivateKey: rsa.privateJwk },
      providerConfiguration: { features: features(true) },
    });
    const { authorizationUrl } = await startLogin(new Browser(), `${bed.baseURL}/login`);
    expect((await requestObjectOf(authorizationUrl, rsa, 'PS256')).header.alg).toBe('PS256');
    const landing = await signIn(new Browser(), `${bed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${bed.baseURL}/profile`);
  });

  test('an Ed25519 key: the header names the configured EdDSA, and the provider accepts it', async () => {
    const bed = await start({
      key: ed25519,
      registration: { request_object_signing_alg: 'EdDSA' },
      auth: { requestObject: true, clientPrivateKey: ed25519.privateJwk },
      providerConfiguration: { features: features(true) },
    });
    const { authorizationUrl } = await startLogin(new Browser(), `${bed.baseURL}/login`);
    expect((await requestObjectOf(authorizationUrl, ed25519, 'EdDSA')).header.alg).toBe('EdDSA');
    const landing = await signIn(new Browser(), `${bed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${bed.baseURL}/profile`);
  });
});

describe('pushed (RFC 9126 §3)', () => {
  test('with pushedAuthorizationRequests: the request object goes to the PAR endpoint (beside client authentication only), the URL carries request_uri, and the login completes', async () => {
    const pushedBodies: URLSearchParams[] = [];
    const bed = await start({
      key: es256,
      registration: { request_object_signing_alg: 'ES256', require_signed_request_object: true },
      auth: {
        requestObject: true,
        clientPrivateKey: es256.privateJwk,
        pushedAuthorizationRequests: 'required',
        customFetch: async (url, init) => {
          if (new URL(url).pathname === '/request') pushedBodies.push(new URLSearchParams(String(init.body)));
          return fetch(url, init);
        },
      },
      providerConfiguration: { features: features(true) },
    });
    const accepted: Record<string, unknown>[] = [];
    bed.provider.provider.on('pushed_authorization_request.success', (ctx: { oidc: { params?: Record<string, unknown> } }) => {
      accepted.push({ ...ctx.oidc.params });
    });

    const { authorizationUrl } = await startLogin(new Browser(), `${bed.baseURL}/login`);
    expect([...authorizationUrl.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(authorizationUrl.searchParams.get('request_uri')!.startsWith(PAR_URN)).toBe(true);
    expect(pushedBodies).toHaveLength(1);
    // The request object and the client's authentication (private_key_jwt), nothing else.
    expect([...pushedBodies[0]!.keys()].sort()).toEqual(['client_assertion', 'client_assertion_type', 'client_id', 'request']);
    const { claims } = await requestObjectOf(pushedBodies[0]!, es256, 'ES256');
    expect(claims).toMatchObject({ iss: CLIENT_ID, aud: bed.provider.issuer, redirect_uri: `${bed.baseURL}/callback` });
    // The provider read the parameters out of the request object.
    expect(accepted[0]).toMatchObject({ state: claims.state, code_challenge: claims.code_challenge, redirect_uri: `${bed.baseURL}/callback` });

    const landing = await signIn(new Browser(), `${bed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landing.url).toBe(`${bed.baseURL}/profile`);
  });
});

describe('a provider that does not accept them as sent: 502 request_object_unsupported, no redirect', () => {
  /** `/login` of an app built from the testbed's options over `auth`: its status and error. */
  async function login(bed: Testbed, auth: Partial<AuthCallbackConfig> = {}): Promise<{ status: number; code?: string; message?: string; location?: string }> {
    const app = express();
    app.use(authCallback({ ...bed.auth, ...auth }));
    app.use(errorAsJson);
    const res = await request(app).get('/login');
    return { status: res.status, code: res.body.code, message: res.body.message, location: res.headers.location };
  }

  test('request objects off at the provider (no request_parameter_supported): the message names it and the fix', async () => {
    const bed = await start({ key: es256, auth: { requestObject: true, clientPrivateKey: es256.privateJwk }, providerConfiguration: { features: features(false) } });
    const res = await login(bed);
    expect(res).toMatchObject({ status: 502, code: 'request_object_unsupported', location: undefined });
    expect(res.message).toContain('request_parameter_supported');
    expect(res.message).toContain('turn request objects on at the provider');
  });

  test('request objects off at the provider, pushed: neither is published', async () => {
    const bed = await start({ key: es256, auth: { requestObject: true, clientPrivateKey: es256.privateJwk, pushedAuthorizationRequests: true }, providerConfiguration: { features: features(false) } });
    const res = await login(bed);
    expect(res).toMatchObject({ status: 502, code: 'request_object_unsupported' });
    expect(res.message).toContain('publishes neither');
  });

  test('an algorithm the provider does not list: the message names the algorithm and the list', async () => {
    const bed = await start({
      key: es256,
      auth: { requestObject: true, clientPrivateKey: es256.privateJwk },
      providerConfiguration: { features: features(true), enabledJWA: { requestObjectSigningAlgValues: ['RS256', 'PS256'] } },
    });
    const res = await login(bed);
    expect(res).toMatchObject({ status: 502, code: 'request_object_unsupported' });
    expect(res.message).toContain('signs with ES256');
    expect(res.message).toContain('RS256, PS256');
  });
});

describe('start-up checks', () => {
  const base: AuthCallbackConfig = { issuer: 'http://localhost:1', clientId: 'c', clientSecret: 's', baseURL: 'http://localhost:3000', secret: SECRET };

  const startUpError = (overrides: Partial<AuthCallbackConfig>): ConfigurationError => configurationError(() => authCallback({ ...base, ...overrides } as AuthCallbackConfig));

  test('requestObject without clientPrivateKey names clientPrivateKey', () => {
    const err = startUpError({ requestObject: true });
    expect(err.option).toBe('clientPrivateKey');
    expect(err.message).toContain('required by requestObject');
  });

  test.each([
    ['RS256 with an EC P-256 key', { alg: 'RS256' }, () => es256.privateJwk, 'needs an RSA key', 'an EC P-256 key'],
    ['ES256 with an RSA key', { alg: 'ES256' }, () => rsa.pem, 'needs an EC P-256 key', 'an RSA key (2048 bits)'],
    ['EdDSA with an RSA key', { alg: 'EdDSA' }, () => rsa.privateJwk, 'needs an Ed25519 key', 'an RSA key'],
    ['HS256 (symmetric)', { alg: 'HS256' }, () => es256.privateJwk, 'asymmetric', ''],
  ])('requestObject.alg %s is refused, naming the algorithm and the key', (_, requestObject, key, needs, is) => {
    const err = startUpError({ requestObject, clientPrivateKey: key() });
    expect(err.option).toBe('requestObject.alg');
    expect(err.message).toContain(needs);
    expect(err.message).toContain(is);
  });

  test('without requestObject.alg, the algorithm of clientAssertionAlg is checked against the key', () => {
    const err = startUpError({ requestObject: true, clientPrivateKey: rsa.privateJwk, clientAssertionAlg: 'ES384' });
    expect(err.option).toBe('clientAssertionAlg');
  });

  test.each([['yes'], [1], [null], [{ alg: 5 }], [['ES256']]])('requestObject %p is refused', (value) => {
    expect(startUpError({ requestObject: value as unknown as boolean, clientPrivateKey: es256.privateJwk }).option).toMatch(/^requestObject/);
  });

  test('a fitting key and algorithm are accepted', () => {
    expect(() => authCallback({ ...base, requestObject: { alg: 'PS384' }, clientPrivateKey: rsa.pem })).not.toThrow();
    expect(() => authCallback({ ...base, requestObject: true, clientPrivateKey: ed25519.privateJwk })).not.toThrow();
  });

  test('requestObject with a provider adapter is refused', () => {
    expect(startUpError({ issuer: undefined, adapter: github(), requestObject: true }).message).toContain('needs an OpenID Provider');
  });
});
