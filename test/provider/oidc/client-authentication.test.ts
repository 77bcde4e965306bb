/**
 * Client authentication at the token endpoint (lib/provider/oidc/client-authentication.ts), against a real
 * OpenID Provider (oidc-provider) that enforces each client's registered method:
 * client_secret_basic and client_secret_post (RFC 6749 §2.3.1), client_secret_jwt and
 * private_key_jwt (OpenID Connect Core 1.0 §9, RFC 7523 §2.2), none (a public client, PKCE only);
 * the automatic choice from `token_endpoint_auth_methods_supported`; `customFetch`; the options.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import {
  decodeProtectedHeader, exportJWK, exportPKCS8, generateKeyPair, jwtVerify, type CryptoKey, type JWK,
} from 'jose';
import { authCallback, type AuthCallbackConfig } from '../../../lib/index.js';
import type { DevClient } from '../../../example-app/dev-provider.js';
import { captureConsoleErrors } from '../../support/log-guard.js';
import {
  CLIENT_ID, CLIENT_SECRET, SECRET, expectLoginCompletes, refusedClientLogin, startTestbed, type Testbed, type TestbedOptions,
} from '../../support/testbed.js';
import { withSameRealmClone } from '../../support/same-realm-clone.js';

const json = { accept: 'application/json' };
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const WRONG_SECRET = 'a-wrong-client-secret-that-is-long-enough-0123456789';

/** What reached the provider's token endpoint, as oidc-provider parsed it. */
interface TokenRequest {
  authorization: string | undefined;
  params: Record<string, unknown>;
  accepted: boolean;
}

/** A testbed, and every request its provider's token endpoint received. */
interface Bed {
  bed: Testbed;
  tokenRequests: TokenRequest[];
}

const open: Testbed[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((bed) => bed.close()));
});

// The example app logs every 5xx; the refusals below are expected ones (and are checked for leaks).
const consoleErrors = captureConsoleErrors();

/** Starts a testbed whose provider may register clients with `jwks` ({@link withSameRealmClone}). */
async function start(options: TestbedOptions): Promise<Bed> {
  const bed = await withSameRealmClone(() => startTestbed(options));
  open.push(bed);
  const tokenRequests: TokenRequest[] = [];
  const record = (accepted: boolean) => (ctx: { get(name: string): string; oidc?: { body?: Record<string, unknown> } }) => {
    tokenRequests.push({ authorization: ctx.get('authorization') || undefined, params: { ...ctx.oidc?.body }, accepted });
  };
  bed.provider.provider.on('grant.success', record(true));
  bed.provider.provider.on('grant.error', record(false));
  return { bed, tokenRequests };
}

/** A client registration; `jwks` and a missing `client_secret` are oidc-provider's, beyond DevClient. */
function registration(fields: Record<string, unknown>): Partial<DevClient> {
  return fields as Partial<DevClient>;
}

/**
 * The provider refuses the client's credential at the token endpoint: the callback answers 502
 * `invalid_client` (JSON), sets no session cookie, and neither the body nor the log carries `secrets`.
 */
async function expectRefused({ bed, tokenRequests }: Bed, secrets: string[]): Promise<void> {
  const { res, browser } = await refusedClientLogin(bed);
  const logged = consoleErrors.calls.map((args: unknown[]) => inspect(args, { depth: Infinity })).join('\n');
  for (const secret of secrets) {
    expect(res.body).not.toContain(secret);
    expect(logged).not.toContain(secret);
  }
  expect(tokenRequests.map((r) => r.accepted)).toEqual([false]);
  const me = await browser.request(`${bed.baseURL}/api/me`, { headers: json });
  expect(me.status).toBe(401);
}

/** The one token request of a login, accepted by the provider. */
function onlyTokenRequest(tokenRequests: TokenRequest[]): TokenRequest {
  expect(tokenRequests.map((r) => r.accepted)).toEqual([true]);
  return tokenRequests[0]!;
}

/**
 * RFC 7523 §2.2 and §3: a `jwt-bearer` client assertion signed with `key`, `iss` = `sub` = the
 * client_id, `aud` the provider (its issuer or token endpoint), a `jti`, `exp` in the future; and
 * no other credential beside it.
 */
async function expectClientAssertion(
  bed: Testbed, request: TokenRequest, expected: { alg: string; kid?: string; key: CryptoKey | Uint8Array },
): Promise<void> {
  const { params } = request;
  expect(params.client_assertion_type).toBe(JWT_BEARER);
  expect(typeof params.client_assertion).toBe('string');
  const assertion = params.client_assertion as string;
  const header = decodeProtectedHeader(assertion);
  expect(header.alg).toBe(expected.alg);
  if (expected.kid !== undefined) expect(header.kid).toBe(expected.kid);
  const { payload } = await jwtVerify(assertion, expected.key, {
    algorithms: [expected.alg],
    issuer: CLIENT_ID,
    subject: CLIENT_ID,
    audience: [bed.provider.issuer, `${bed.provider.issuer}/token`],
  });
  expect(typeof payload.jti).toBe('string');
  expect((payload.jti as string).length).toBeGreaterThanOrEqual(16);
  expect(payload.exp).toBeGreaterThan(Math.floor(Date.now() / 1000));
  expect(params).not.toHaveProperty('client_secret');
  expect(request.authorization).toBeUndefined();
}

/** A signing key of the client for private_key_jwt, in every form the options take. */
interface ClientKey {
  kid: string;
  privateJwk: JWK;
  /** The public JWK to register at the provider. */
  publicJwk: JWK;
  /** The private key as a PKCS#8 PEM. */
  pem: string;
  publicKey: CryptoKey;
}

async function clientKey(alg: 'RS256' | 'ES256'): Promise<ClientKey> {
  const kid = `client-${alg.toLowerCase()}`;
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid },
    publicJwk: { ...(await exportJWK(publicKey)), kid, use: 'sig' },
    pem: await exportPKCS8(privateKey),
    publicKey,
  };
}

/** Per algorithm, the client's registered key and another one with the same `kid`. */
let keys: Record<'RS256' | 'ES256', { registered: ClientKey; other: ClientKey }>;
beforeAll(async () => {
  const [rs, rsOther, es, esOther] = await Promise.all([clientKey('RS256'), clientKey('RS256'), clientKey('ES256'), clientKey('ES256')]);
  keys = { RS256: { registered: rs, other: rsOther }, ES256: { registered: es, other: esOther } };
});

describe('client_secret_basic (RFC 6749 §2.3.1)', () => {
  const client = registration({ token_endpoint_auth_method: 'client_secret_basic' });

  test('client_secret_basic (RFC 6749 §2.3.1): the provider accepts the Basic header and the login completes', async () => {
    const { bed, tokenRequests } = await start({ client, auth: { clientAuthMethod: 'client_secret_basic' } });
    await expectLoginCompletes(bed);
    const request = onlyTokenRequest(tokenRequests);
    // client_id and secret, each application/x-www-form-urlencoded, joined by ":", base64-encoded.
    expect(request.authorization).toMatch(/^Basic [A-Za-z0-9+/]+=*$/);
    const [id, secret] = Buffer.from(request.authorization!.slice('Basic '.length), 'base64').toString().split(':');
    const formDecode = (value: string | undefined) => decodeURIComponent((value ?? '').replace(/\+/g, ' '));
    expect([formDecode(id), formDecode(secret)]).toEqual([CLIENT_ID, CLIENT_SECRET]);
    expect(request.params).not.toHaveProperty('client_secret');
    expect(request.params).not.toHaveProperty('client_assertion');
  });

  test('client_secret_basic (RFC 6749 §2.3.1): a wrong secret is 502 invalid_client, no session, no secret shown', async () => {
    const bed = await start({ client, auth: { clientAuthMethod: 'client_secret_basic', clientSecret: WRONG_SECRET } });
    await expectRefused(bed, [WRONG_SECRET, CLIENT_SECRET]);
  });
});

describe('client_secret_post (RFC 6749 §2.3.1)', () => {
  const client = registration({ token_endpoint_auth_method: 'client_secret_post' });

  test('client_secret_post (RFC 6749 §2.3.1): the provider accepts client_secret in the body and the login completes', async () => {
    const { bed, tokenRequests } = await start({ client, auth: { clientAuthMethod: 'client_secret_post' } });
    await expectLoginCompletes(bed);
    const request = onlyTokenRequest(tokenRequests);
    expect(request.params).toMatchObject({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
    expect(request.authorization).toBeUndefined();
    expect(request.params).not.toHaveProperty('client_assertion');
  });

  test('client_secret_post (RFC 6749 §2.3.1): a wrong secret is 502 invalid_client, no session, no secret shown', async () => {
    const bed = await start({ client, auth: { clientAuthMethod: 'client_secret_post', clientSecret: WRONG_SECRET } });
    await expectRefused(bed, [WRONG_SECRET, CLIENT_SECRET]);
  });
});

describe('client_secret_jwt (OIDC Core §9, RFC 7523 §2.2)', () => {
  const client = registration({ token_endpoint_auth_method: 'client_secret_jwt' });

  test('client_secret_jwt (OIDC Core §9, RFC 7523 §2.2): an HS256 assertion keyed with the secret is accepted and the login completes', async () => {
    const { bed, tokenRequests } = await start({ client, auth: { clientAuthMethod: 'client_secret_jwt' } });
    await expectLoginCompletes(bed);
    await expectClientAssertion(bed, onlyTokenRequest(tokenRequests), { alg: 'HS256', key: new TextEncoder().encode(CLIENT_SECRET) });
  });

  test('client_secret_jwt (OIDC Core §9, RFC 7523 §2.2): an assertion keyed with a wrong secret is 502 invalid_client', async () => {
    const bed = await start({ client, auth: { clientAuthMethod: 'client_secret_jwt', clientSecret: WRONG_SECRET } });
    await expectRefused(bed, [WRONG_SECRET, CLIENT_SECRET]);
  });
});

describe('private_key_jwt (OIDC Core §9, RFC 7523 §2.2)', () => {
  const kinds = [
    { name: 'an RSA private JWK', alg: 'RS256', use: (k: ClientKey) => ({ clientPrivateKey: k.privateJwk }) },
    { name: 'an EC P-256 private JWK', alg: 'ES256', use: (k: ClientKey) => ({ clientPrivateKey: k.privateJwk }) },
    { name: 'an RSA PKCS#8 PEM', alg: 'RS256', use: (k: ClientKey) => ({ clientPrivateKey: k.pem, clientKeyId: k.kid }) },
  ] as const;

  test.each(kinds)('private_key_jwt (OIDC Core §9, RFC 7523 §2.2) with $name: a $alg assertion with the kid is accepted and the login completes', async ({ alg, use }) => {
    const key = keys[alg].registered;
    const { bed, tokenRequests } = await start({
      client: registration({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] } }),
      auth: { clientAuthMethod: 'private_key_jwt', clientSecret: undefined, ...use(key) },
    });
    await expectLoginCompletes(bed);
    await expectClientAssertion(bed, onlyTokenRequest(tokenRequests), { alg, kid: key.kid, key: key.publicKey });
  });

  test.each(kinds)('private_key_jwt (OIDC Core §9, RFC 7523 §2.2) with $name whose public half is not registered: 502 invalid_client', async ({ alg, use }) => {
    const { registered, other } = keys[alg]; // the same kid: only the signature tells them apart
    const bed = await start({
      client: registration({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [registered.publicJwk] } }),
      auth: { clientAuthMethod: 'private_key_jwt', clientSecret: undefined, ...use(other) },
    });
    await expectRefused(bed, [other.privateJwk.d!, other.pem.split('\n')[1]!]);
  });

  test('private_key_jwt (OIDC Core §9, RFC 7523 §2.2) with an EC P-256 PKCS#8 PEM and no clientAssertionAlg: ES256, as documented for the key type', async () => {
    const key = keys.ES256.registered;
    const { bed, tokenRequests } = await start({
      client: registration({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] } }),
      auth: { clientAuthMethod: 'private_key_jwt', clientSecret: undefined, clientPrivateKey: key.pem, clientKeyId: key.kid },
    });
    await expectLoginCompletes(bed);
    await expectClientAssertion(bed, onlyTokenRequest(tokenRequests), { alg: 'ES256', kid: key.kid, key: key.publicKey });
  });
});

describe('none (OIDC Core §9): a public client, PKCE only (RFC 7636)', () => {
  test('none (OIDC Core §9): a public client sends only client_id and the code_verifier, and the login completes', async () => {
    const { bed, tokenRequests } = await start({
      client: registration({ client_secret: undefined, token_endpoint_auth_method: 'none' }),
      auth: { clientAuthMethod: 'none' }, // the testbed's clientSecret stays configured, and must not be sent
    });
    await expectLoginCompletes(bed);
    const request = onlyTokenRequest(tokenRequests);
    expect(request.authorization).toBeUndefined();
    expect(request.params.client_id).toBe(CLIENT_ID);
    expect(request.params.code_verifier).toMatch(/^[\w.~-]{43,128}$/);
    expect(request.params).not.toHaveProperty('client_secret');
    expect(request.params).not.toHaveProperty('client_assertion');
    expect(request.params).not.toHaveProperty('client_assertion_type');
  });

  test('none (OIDC Core §9) for a client registered as confidential: 502 invalid_client, no session', async () => {
    const bed = await start({
      client: registration({ token_endpoint_auth_method: 'client_secret_basic' }),
      auth: { clientSecret: undefined },
    });
    await expectRefused(bed, [CLIENT_SECRET]);
    expect(bed.tokenRequests[0]!.params.client_id).toBe(CLIENT_ID);
    expect(bed.tokenRequests[0]!.authorization).toBeUndefined();
  });
});

describe('the automatic choice from token_endpoint_auth_methods_supported (OIDC Discovery §3, OIDC Core §9)', () => {
  async function discovered(bed: Testbed): Promise<unknown> {
    const res = await fetch(`${bed.provider.issuer}/.well-known/openid-configuration`);
    return ((await res.json()) as Record<string, unknown>).token_endpoint_auth_methods_supported;
  }

  test('client_secret_post (RFC 6749 §2.3.1) when the provider lists it and not client_secret_basic', async () => {
    const { bed, tokenRequests } = await start({
      providerConfiguration: { clientAuthMethods: ['client_secret_post', 'private_key_jwt', 'none'] },
      client: registration({ token_endpoint_auth_method: 'client_secret_post' }),
    });
    expect(await discovered(bed)).toEqual(['client_secret_post', 'private_key_jwt', 'none']);
    await expectLoginCompletes(bed);
    const request = onlyTokenRequest(tokenRequests);
    expect(request.params.client_secret).toBe(CLIENT_SECRET);
    expect(request.authorization).toBeUndefined();
  });

  test('client_secret_basic (RFC 6749 §2.3.1) first when the provider lists it, whatever the list\'s order', async () => {
    const { bed, tokenRequests } = await start({
      providerConfiguration: { clientAuthMethods: ['client_secret_post', 'client_secret_jwt', 'client_secret_basic'] },
      client: registration({ token_endpoint_auth_method: 'client_secret_basic' }),
    });
    await expectLoginCompletes(bed);
    const request = onlyTokenRequest(tokenRequests);
    expect(request.authorization).toMatch(/^Basic /);
    expect(request.params).not.toHaveProperty('client_secret');
  });

  test('client_secret_jwt (RFC 7523 §2.2) when it is the only secret method the provider lists', async () => {
    const { bed, tokenRequests } = await start({
      providerConfiguration: { clientAuthMethods: ['client_secret_jwt', 'none'] },
      client: registration({ token_endpoint_auth_method: 'client_secret_jwt' }),
    });
    await expectLoginCompletes(bed);
    await expectClientAssertion(bed, onlyTokenRequest(tokenRequests), { alg: 'HS256', key: new TextEncoder().encode(CLIENT_SECRET) });
  });

  test('private_key_jwt (RFC 7523 §2.2) first when a private key is configured (a secret too) and the provider lists it', async () => {
    const key = keys.RS256.registered;
    const { bed, tokenRequests } = await start({
      client: registration({ token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [key.publicJwk] } }),
      auth: { clientPrivateKey: key.privateJwk }, // clientSecret stays the testbed's
    });
    expect(await discovered(bed)).toContain('client_secret_basic');
    await expectLoginCompletes(bed);
    await expectClientAssertion(bed, onlyTokenRequest(tokenRequests), { alg: 'RS256', kid: key.kid, key: key.publicKey });
  });

  test('none (OIDC Core §9) without a secret or a key', async () => {
    const { bed, tokenRequests } = await start({
      client: registration({ client_secret: undefined, token_endpoint_auth_method: 'none' }),
      auth: { clientSecret: undefined },
    });
    await expectLoginCompletes(bed);
    const request = onlyTokenRequest(tokenRequests);
    expect(request.authorization).toBeUndefined();
    expect(request.params).not.toHaveProperty('client_assertion');
  });
});

describe('customFetch', () => {
  test('carries every request to the provider (discovery, JWKS, token, UserInfo) and the login completes', async () => {
    const urls: string[] = [];
    const customFetch = async (url: string, init: RequestInit): Promise<Response> => {
      urls.push(`${init.method ?? 'GET'} ${url}`);
      const headers = new Headers(init.headers);
      headers.set('x-via', 'customFetch');
      return fetch(url, { ...init, headers });
    };
    const { bed } = await start({ auth: { customFetch, fetchUserInfo: true } });
    // What the provider itself received, with and without the mark customFetch adds.
    const received: { path: string; via: string | undefined }[] = [];
    const [handler] = bed.provider.server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    bed.provider.server.removeAllListeners('request');
    bed.provider.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      received.push({ path: new URL(req.url!, bed.provider.issuer).pathname, via: req.headers['x-via'] as string | undefined });
      handler!(req, res);
    });

    await expectLoginCompletes(bed);
    const issuer = bed.provider.issuer;
    expect(urls).toEqual(expect.arrayContaining([
      `GET ${issuer}/.well-known/openid-configuration`,
      `GET ${issuer}/jwks`,
      `POST ${issuer}/token`,
      `GET ${issuer}/me`,
    ]));
    const backChannel = ['/.well-known/openid-configuration', '/jwks', '/token', '/me'];
    for (const path of backChannel) {
      expect(received.filter((r) => r.path === path).length).toBeGreaterThan(0);
      expect(received.filter((r) => r.path === path && r.via !== 'customFetch')).toEqual([]);
    }
  });
});

describe('options', () => {
  const base: AuthCallbackConfig = { issuer: 'https://op.example', clientId: CLIENT_ID, baseURL: 'https://app.example', secret: SECRET };

  function optionError(overrides: Record<string, unknown>): TypeError {
    try {
      authCallback({ ...base, ...overrides } as AuthCallbackConfig);
    } catch (err) {
      expect(err).toBeInstanceOf(TypeError);
      return err as TypeError;
    }
    throw new Error(`authCallback(${inspect(overrides)}) did not throw`);
  }

  test('an unknown clientAuthMethod is a TypeError naming clientAuthMethod', () => {
    expect(optionError({ clientAuthMethod: 'client_secret_digest' }).message).toContain('option "clientAuthMethod"');
    expect(optionError({ clientAuthMethod: 42 }).message).toContain('option "clientAuthMethod"');
  });

  test.each(['client_secret_basic', 'client_secret_post', 'client_secret_jwt'])('%s without clientSecret is a TypeError naming clientSecret', (method) => {
    expect(optionError({ clientAuthMethod: method }).message).toContain('option "clientSecret"');
  });

  test('private_key_jwt without clientPrivateKey is a TypeError naming clientPrivateKey', () => {
    expect(optionError({ clientAuthMethod: 'private_key_jwt', clientSecret: CLIENT_SECRET }).message).toContain('option "clientPrivateKey"');
  });

  test('a clientPrivateKey that is a public JWK (no d) or a random string is a TypeError naming clientPrivateKey', () => {
    const key = keys.RS256.registered;
    expect(optionError({ clientAuthMethod: 'private_key_jwt', clientPrivateKey: key.publicJwk }).message).toContain('option "clientPrivateKey"');
    expect(optionError({ clientPrivateKey: 'not-a-key-at-all' }).message).toContain('option "clientPrivateKey"');
    // The private key itself works, so the refusals above are about the key's form.
    expect(() => authCallback({ ...base, clientAuthMethod: 'private_key_jwt', clientPrivateKey: key.privateJwk })).not.toThrow();
    expect(() => authCallback({ ...base, clientAuthMethod: 'private_key_jwt', clientPrivateKey: key.pem })).not.toThrow();
  });

  test('a clientPrivateKey shaped like a key that is none (a PEM of garbage, a JWK whose d is garbage) is a TypeError at start-up, not at the first login', () => {
    const garbagePem = '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5IGF0IGFsbA==\n-----END PRIVATE KEY-----\n';
    expect(optionError({ clientAuthMethod: 'private_key_jwt', clientPrivateKey: garbagePem }).message).toContain('option "clientPrivateKey"');
    expect(optionError({ clientAuthMethod: 'private_key_jwt', clientPrivateKey: { kty: 'RSA', d: 'bm90LWEta2V5' } }).message).toContain('option "clientPrivateKey"');
  });

  test('a customFetch that is not a function is a TypeError naming customFetch', () => {
    expect(optionError({ customFetch: 'https://proxy.example' }).message).toContain('option "customFetch"');
  });
});
