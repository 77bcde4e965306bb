/**
 * `clientAssertionAlg` (and a JWK's own `alg`, and `requestObject.alg`) must fit
 * `clientPrivateKey` (RFC 7518 §3: RS* and PS* an RSA key of at least 2048 bits, ES256/384/512 an EC
 * key on P-256/P-384/P-521, EdDSA an Ed25519 key). A mismatch is a `ConfigurationError` at
 * start-up naming the option, the algorithm and the key's type, and the algorithms the key can
 * sign with; before, every login failed with a 500 "Unexpected error during discovery". A
 * fitting non-default algorithm (ES384) is accepted by the real OpenID Provider.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { afterAll, describe, expect, test } from '@jest/globals';
import { decodeProtectedHeader, type JWK } from 'jose';
import type { ConfigurationError} from 'express-oidc-callback';
import { authCallback, type AuthCallbackConfig } from 'express-oidc-callback';
import { resolveOptions } from '../../lib/config/resolve-options.js';
import { tenantOptions } from '../../lib/config/tenant-options.js';
import { Browser } from '../support/browser.js';
import { withSameRealmClone } from '../support/same-realm-clone.js';
import { SECRET, signIn, startTestbed, type Testbed } from '../support/testbed.js';
import { configurationError } from '../support/expect-error.js';

const jwk = (key: KeyObject): JWK => key.export({ format: 'jwk' }) as JWK;
const pkcs8 = (key: KeyObject): string => key.export({ format: 'pem', type: 'pkcs8' }) as string;

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' });
const secp256k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
const ed25519 = generateKeyPairSync('ed25519');

const base: AuthCallbackConfig = { issuer: 'http://localhost:1', clientId: 'c', baseURL: 'http://localhost:3000', secret: SECRET };

const startUpError = (overrides: Partial<AuthCallbackConfig>): ConfigurationError => configurationError(() => authCallback({ ...base, ...overrides } as AuthCallbackConfig));

describe('clientAssertionAlg that does not fit clientPrivateKey: a ConfigurationError at start-up naming both', () => {
  test.each([
    ['RS256 with an EC P-256 JWK', 'RS256', jwk(p256.privateKey), 'needs an RSA key', 'an EC P-256 key', 'ES256'],
    ['ES256 with an EC P-384 PEM', 'ES256', pkcs8(p384.privateKey), 'needs an EC P-256 key', 'an EC P-384 key', 'ES384'],
    ['ES512 with an EC P-256 JWK', 'ES512', jwk(p256.privateKey), 'needs an EC P-521 key', 'an EC P-256 key', 'ES256'],
    ['EdDSA with an RSA JWK', 'EdDSA', jwk(rsa.privateKey), 'needs an Ed25519 key', 'an RSA key (2048 bits)', 'RS256, RS384, RS512, PS256, PS384, PS512'],
    ['PS256 with an Ed25519 PEM', 'PS256', pkcs8(ed25519.privateKey), 'needs an RSA or RSA-PSS key', 'an Ed25519 key', 'Ed25519, EdDSA'],
    ['ES384 with an EC P-521 PEM', 'ES384', pkcs8(p521.privateKey), 'needs an EC P-384 key', 'an EC P-521 key', 'ES512'],
    ['RS256 with a 1024-bit RSA key (RFC 7518 §3.3)', 'RS256', pkcs8(rsa1024.privateKey), 'needs an RSA key of at least 2048 bits', 'an RSA key (1024 bits)', 'use another key'],
  ])('%s', (_, alg, clientPrivateKey, needs, is, fix) => {
    const err = startUpError({ clientAuthMethod: 'private_key_jwt', clientPrivateKey, clientAssertionAlg: alg });
    expect(err.option).toBe('clientAssertionAlg');
    expect(err.message).toContain(`option "clientAssertionAlg" is ${alg}`);
    expect(err.message).toContain(needs);
    expect(err.message).toContain(`clientPrivateKey is ${is}`);
    expect(err.message).toContain(fix);
    expect(err.message).not.toContain('PRIVATE KEY'); // the key itself is never in the message
  });

  test('a symmetric or unknown algorithm is refused as such', () => {
    for (const alg of ['HS256', 'none', 'RSA-OAEP']) {
      const err = startUpError({ clientPrivateKey: jwk(rsa.privateKey), clientAssertionAlg: alg });
      expect(err.option).toBe('clientAssertionAlg');
      expect(err.message).toContain('asymmetric');
    }
  });

  test('without clientAuthMethod too (private_key_jwt is then chosen automatically)', () => {
    expect(startUpError({ clientPrivateKey: jwk(p256.privateKey), clientAssertionAlg: 'RS256' }).option).toBe('clientAssertionAlg');
  });

  test('a JWK whose own alg does not fit it names clientPrivateKey.alg', () => {
    const err = startUpError({ clientPrivateKey: { ...jwk(rsa.privateKey), alg: 'ES256' } });
    expect(err.option).toBe('clientPrivateKey.alg');
    expect(err.message).toContain('needs an EC P-256 key');
  });

  test('a key no algorithm signs with (secp256k1) names clientPrivateKey', () => {
    const err = startUpError({ clientPrivateKey: pkcs8(secp256k1.privateKey) });
    expect(err.option).toBe('clientPrivateKey');
    expect(err.message).toContain('use another key');
  });

  test('tenants.client(): the same check, naming tenants.client().clientAssertionAlg', () => {
    const options = resolveOptions({ ...base, issuer: undefined, clientId: undefined, tenants: { issuer: () => 'http://localhost:1', client: () => undefined } });
    expect(() => tenantOptions(options, 'http://localhost:1', { clientId: 'c', clientPrivateKey: jwk(ed25519.privateKey), clientAssertionAlg: 'ES256' }))
      .toThrow(expect.objectContaining({ option: 'tenants.client().clientAssertionAlg' }) as unknown as Error);
  });

  test.each([
    ['RS256', jwk(rsa.privateKey)], ['PS512', pkcs8(rsa.privateKey)], ['ES256', jwk(p256.privateKey)], ['ES384', pkcs8(p384.privateKey)],
    ['ES512', jwk(p521.privateKey)], ['EdDSA', jwk(ed25519.privateKey)], ['Ed25519', pkcs8(ed25519.privateKey)],
  ])('%s with a key of its type is accepted', (alg, clientPrivateKey) => {
    expect(() => authCallback({ ...base, clientPrivateKey, clientAssertionAlg: alg })).not.toThrow();
  });

  test('no clientAssertionAlg: each key type\'s default fits it', () => {
    for (const pair of [rsa, p256, p384, p521, ed25519]) {
      expect(() => authCallback({ ...base, clientPrivateKey: pkcs8(pair.privateKey) })).not.toThrow();
      expect(() => authCallback({ ...base, clientPrivateKey: jwk(pair.privateKey) })).not.toThrow();
    }
  });
});

describe('a fitting non-default algorithm at the real OpenID Provider', () => {
  let bed: Testbed | undefined;
  afterAll(async () => {
    await bed?.close();
  });

  test('ES384 with a P-384 key: the provider accepts the assertion and the login completes', async () => {
    const assertions: string[] = [];
    bed = await withSameRealmClone(() => startTestbed({
      client: { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ ...jwk(p384.publicKey), kid: 'p384' }] } } as never,
      auth: { clientSecret: undefined, clientPrivateKey: { ...jwk(p384.privateKey), kid: 'p384' }, clientAssertionAlg: 'ES384' },
      providerConfiguration: { enabledJWA: { clientAuthSigningAlgValues: ['ES256', 'ES384'] } },
    }));
    bed.provider.provider.on('grant.success', (ctx: { oidc: { body?: Record<string, unknown> } }) => {
      assertions.push(String(ctx.oidc.body?.client_assertion));
    });
    const landed = await signIn(new Browser(), `${bed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landed.url).toBe(`${bed.baseURL}/profile`);
    expect(assertions).toHaveLength(1);
    expect(decodeProtectedHeader(assertions[0]!)).toMatchObject({ alg: 'ES384', kid: 'p384' });
  });
});
