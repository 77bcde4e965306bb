/**
 * The checks of a client's registration at start-up (and of each `tenants.client()` answer):
 * its identifier, and the credentials its authentication method needs, imported once to prove
 * they are usable.
 *
 * @packageDocumentation
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { ASYMMETRIC_JWS_ALGS, assertString, fail } from './checks.js';
import { defaultKeyAlgorithm, describeKey, keyMismatch, privateKeyObject } from './key-algorithms.js';
import type { ResolvedOptions } from './resolved-options.js';
import { CLIENT_AUTH_METHODS, type ClientCertificate } from './client-options.js';
import type { TenantClient } from './tenants.js';

/**
 * Checks a client's registration: `clientId`, and the credentials its `clientAuthMethod` needs.
 *
 * @param prefix - prepended to each key in error messages (`''`, or `'tenants.client().'`)
 * @throws ConfigurationError naming the bad key
 */
export function checkClient(config: TenantClient & { customFetch?: unknown }, prefix: string, requestObject?: ResolvedOptions['requestObject']): void {
  const key = (name: string): string => prefix + name;
  assertString(config.clientId, key('clientId'));
  if (config.clientSecret !== undefined) assertString(config.clientSecret, key('clientSecret'));
  const clientAuthMethod = config.clientAuthMethod;
  if (clientAuthMethod !== undefined && !(CLIENT_AUTH_METHODS as readonly string[]).includes(clientAuthMethod)) {
    fail(key('clientAuthMethod'), `must be one of ${CLIENT_AUTH_METHODS.join(', ')} (got ${JSON.stringify(clientAuthMethod)})`);
  }
  if (clientAuthMethod?.startsWith('client_secret_') && config.clientSecret === undefined) fail(key('clientSecret'), `is required by clientAuthMethod "${clientAuthMethod}"`);
  const clientPrivateKey = config.clientPrivateKey;
  let keyObject: KeyObject | undefined;
  if (clientPrivateKey !== undefined) {
    const isPem = typeof clientPrivateKey === 'string' && clientPrivateKey.includes('-----BEGIN PRIVATE KEY-----');
    const isJwk = typeof clientPrivateKey === 'object' && clientPrivateKey !== null && typeof clientPrivateKey.kty === 'string' && typeof clientPrivateKey.d === 'string';
    if (!isPem && !isJwk) fail(key('clientPrivateKey'), 'must be a private JWK (with "d") or a PKCS#8 PEM string ("-----BEGIN PRIVATE KEY-----")');
    try {
      keyObject = privateKeyObject(clientPrivateKey);
    } catch {
      fail(key('clientPrivateKey'), 'is not a private key Node.js can import (a PKCS#8 PEM, or a private JWK)');
    }
  }
  if (requestObject !== undefined) {
    if (keyObject === undefined) fail(key('clientPrivateKey'), 'is required by requestObject: the request object is signed with it (RFC 9101 §4)');
    const alg = requestObject.alg ?? config.clientAssertionAlg ?? defaultKeyAlgorithm(clientPrivateKey!);
    checkKeyFits(keyObject, alg, requestObject.alg !== undefined ? 'requestObject.alg' : key(config.clientAssertionAlg !== undefined ? 'clientAssertionAlg' : 'clientPrivateKey'), key('clientPrivateKey'));
  }
  if (clientAuthMethod === 'private_key_jwt' && clientPrivateKey === undefined) fail(key('clientPrivateKey'), 'is required by clientAuthMethod "private_key_jwt"');
  if (clientAuthMethod?.endsWith('tls_client_auth') && config.customFetch === undefined) {
    fail(key('clientCertificate'), `(or a customFetch that presents one) is required by clientAuthMethod "${clientAuthMethod}" (RFC 8705 §2)`);
  }
  if (config.clientKeyId !== undefined) assertString(config.clientKeyId, key('clientKeyId'));
  if (config.clientAssertionAlg !== undefined) assertString(config.clientAssertionAlg, key('clientAssertionAlg'));
  if (config.customFetch !== undefined && typeof config.customFetch !== 'function') fail(key('customFetch'), 'must be a function (url, init) => Promise<Response>');
}

/**
 * Checks that `key` can sign with `alg` (RFC 7518 §3), so that a mismatch is found at start-up,
 * not by every login.
 *
 * @param algKey - the option that chose `alg` (named first in the error)
 * @param keyKey - the option that holds the key
 * @throws ConfigurationError naming `algKey`, the algorithm, the key's type, and the fix
 */
function checkKeyFits(key: KeyObject, alg: string, algKey: string, keyKey: string): void {
  if (!ASYMMETRIC_JWS_ALGS.has(alg)) fail(algKey, `must be one of ${[...ASYMMETRIC_JWS_ALGS].join(', ')} (got ${JSON.stringify(alg)}): a private key signs with an asymmetric algorithm`);
  const needed = keyMismatch(key, alg);
  if (needed !== undefined) {
    fail(algKey, `is ${alg}, which needs ${needed}, but ${keyKey} is ${describeKey(key)}: choose the algorithm of the key (RFC 7518 §3), or another key`);
  }
}

/**
 * Checks that `certificate` holds a certificate and the private key that goes with it.
 *
 * @throws ConfigurationError naming `clientCertificate.cert` or `clientCertificate.key`
 */
export function checkClientCertificate(certificate: ClientCertificate): void {
  if (certificate === null || typeof certificate !== 'object') fail('clientCertificate', 'must be { cert, key } (PEM)');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certificate.cert);
  } catch {
    fail('clientCertificate.cert', 'is not a PEM certificate');
  }
  let key;
  try {
    key = createPrivateKey({ key: certificate.key, ...(certificate.passphrase !== undefined && { passphrase: certificate.passphrase }) });
  } catch {
    fail('clientCertificate.key', 'is not a PEM private key (or its passphrase is wrong)');
  }
  if (!x509.checkPrivateKey(key)) fail('clientCertificate.key', 'is not the private key of clientCertificate.cert');
}
