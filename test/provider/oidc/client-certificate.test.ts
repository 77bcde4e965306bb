/**
 * The `clientCertificate` option (lib/provider/oidc/client-certificate.ts): the client
 * certificate and key in the configuration, presented through undici for RFC 8705 §2 mutual-TLS
 * client authentication, end to end against oidc-provider over https requesting a client
 * certificate on every connection (test/support/mtls-bed.ts); and its start-up checks.
 */
import { createPublicKey, X509Certificate } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import { authCallback, type AuthCallbackConfig } from '../../../lib/index.js';
import {
  CA_ISSUED, CA_ISSUED_OTHER_SUBJECT, expectLoginCompletes, expectRefused, httpsFetch, SELF_SIGNED, SERVER_CA, start, subjectDn,
  useMtlsBeds,
} from '../../support/mtls-bed.js';
import { CLIENT_ID, SECRET } from '../../support/testbed.js';

useMtlsBeds();

describe('the clientCertificate option: the certificate and key in config, presented through undici', () => {
  const dn = { tls_client_auth_subject_dn: subjectDn(CA_ISSUED.cert) };
  const x5c = [new X509Certificate(SELF_SIGNED.cert).raw.toString('base64')];
  const registered = { jwks: { keys: [{ ...createPublicKey(SELF_SIGNED.cert).export({ format: 'jwk' }), x5c }] } };

  test('RFC 8705 §2.1 tls_client_auth with clientCertificate: the login completes, the certificate presented, only client_id sent', async () => {
    const bed = await start('tls_client_auth', dn, CA_ISSUED, 'option');
    await expectLoginCompletes(bed, CA_ISSUED);
  });

  test('RFC 8705 §2.2 self_signed_tls_client_auth with clientCertificate: the login completes', async () => {
    const bed = await start('self_signed_tls_client_auth', registered, SELF_SIGNED, 'option');
    await expectLoginCompletes(bed, SELF_SIGNED);
  });

  test('RFC 8705 §2.1: a clientCertificate with another subject DN is 502 invalid_client, no session', async () => {
    const bed = await start('tls_client_auth', dn, CA_ISSUED_OTHER_SUBJECT, 'option');
    await expectRefused(bed, 'certificate subject value does not match the registered one');
  });

  test('start-up checks: not PEM, a key that is not the certificate\'s, and with customFetch are TypeErrors naming the key', () => {
    const config: AuthCallbackConfig = { issuer: 'https://op.example', clientId: CLIENT_ID, baseURL: 'https://app.example', secret: SECRET, clientAuthMethod: 'tls_client_auth' };
    expect(() => authCallback({ ...config, clientCertificate: { cert: 'not a certificate', key: CA_ISSUED.key } })).toThrow(/clientCertificate\.cert/);
    expect(() => authCallback({ ...config, clientCertificate: { cert: CA_ISSUED.cert, key: 'not a key' } })).toThrow(/clientCertificate\.key/);
    expect(() => authCallback({ ...config, clientCertificate: { cert: CA_ISSUED.cert, key: SELF_SIGNED.key } })).toThrow(/not the private key of clientCertificate\.cert/);
    expect(() => authCallback({ ...config, clientCertificate: CA_ISSUED, customFetch: httpsFetch({ ca: SERVER_CA, ...CA_ISSUED }) })).toThrow(/cannot be combined with customFetch/);
    expect(() => authCallback({ ...config, clientCertificate: CA_ISSUED })).not.toThrow();
  });
});
