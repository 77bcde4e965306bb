/**
 * Mutual-TLS client authentication (RFC 8705 §2, lib/provider/oidc/client-authentication.ts):
 * `clientAuthMethod: 'tls_client_auth'` (§2.1, a certificate from a CA the provider trusts,
 * matched by its subject DN) and `'self_signed_tls_client_auth'` (§2.2, a self-signed
 * certificate registered in the client's `jwks`), with the certificate presented by a
 * `customFetch` built on node:https; and the option checks. The provider is oidc-provider over
 * https requesting a client certificate on every connection (test/support/mtls-bed.ts).
 */
import { createPublicKey, X509Certificate } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import { authCallback, type AuthCallbackConfig } from '../../../lib/index.js';
import {
  CA_ISSUED, CA_ISSUED_OTHER_SUBJECT, expectLoginCompletes, expectRefused, httpsFetch, OTHER_SELF_SIGNED, SELF_SIGNED, SERVER_CA,
  start, subjectDn, useMtlsBeds,
} from '../../support/mtls-bed.js';
import { CLIENT_ID, SECRET } from '../../support/testbed.js';

useMtlsBeds();

describe('RFC 8705 §2.1 PKI mutual-TLS method (tls_client_auth)', () => {
  // §2.1.2: the client is registered with the subject DN of its certificate.
  const client = { tls_client_auth_subject_dn: subjectDn(CA_ISSUED.cert) };

  test('RFC 8705 §2.1: a certificate from the trusted CA with the registered subject DN: the login completes, only client_id sent', async () => {
    expect(client.tls_client_auth_subject_dn).toBe('CN=test-app,O=express-oidc-callback tests');
    const bed = await start('tls_client_auth', client, CA_ISSUED);
    await expectLoginCompletes(bed, CA_ISSUED);
  });

  test.each([
    ['a certificate from the trusted CA with another subject DN', CA_ISSUED_OTHER_SUBJECT, 'certificate subject value does not match the registered one'],
    ['a self-signed certificate with the registered subject DN', SELF_SIGNED, 'client certificate was not verified'],
    ['no client certificate', undefined, 'client certificate was not provided'],
  ])('RFC 8705 §2.1: %s is 502 invalid_client, no session', async (_, presented, reason) => {
    const bed = await start('tls_client_auth', client, presented);
    await expectRefused(bed, reason);
  });
});

describe('RFC 8705 §2.2 self-signed certificate mutual-TLS method (self_signed_tls_client_auth)', () => {
  // §2.2.2: the client registers its certificate in `jwks`, as an `x5c` (oidc-provider matches its SHA-256 thumbprint).
  const x5c = [new X509Certificate(SELF_SIGNED.cert).raw.toString('base64')];
  const client = { jwks: { keys: [{ ...createPublicKey(SELF_SIGNED.cert).export({ format: 'jwk' }), x5c }] } };

  test('RFC 8705 §2.2: the registered self-signed certificate: the login completes, only client_id sent', async () => {
    const bed = await start('self_signed_tls_client_auth', client, SELF_SIGNED);
    await expectLoginCompletes(bed, SELF_SIGNED);
  });

  test.each([
    ['another self-signed certificate with the same subject', OTHER_SELF_SIGNED, 'unregistered client certificate provided'],
    ['an unregistered certificate from the trusted CA', CA_ISSUED, 'unregistered client certificate provided'],
    ['no client certificate', undefined, 'client certificate was not provided'],
  ])('RFC 8705 §2.2: %s is 502 invalid_client, no session', async (_, presented, reason) => {
    const bed = await start('self_signed_tls_client_auth', client, presented);
    await expectRefused(bed, reason);
  });
});

describe('options (RFC 8705 §2: the certificate is presented by clientCertificate or customFetch)', () => {
  test.each(['tls_client_auth', 'self_signed_tls_client_auth'] as const)('clientAuthMethod %s without clientCertificate or customFetch is a TypeError naming both', (method) => {
    const config: AuthCallbackConfig = { issuer: 'https://op.example', clientId: CLIENT_ID, baseURL: 'https://app.example', secret: SECRET, clientAuthMethod: method };
    expect(() => authCallback(config)).toThrow(TypeError);
    expect(() => authCallback(config)).toThrow(/clientCertificate.*customFetch/);
    expect(() => authCallback({ ...config, customFetch: httpsFetch({ ca: SERVER_CA, ...CA_ISSUED }) })).not.toThrow();
  });
});
