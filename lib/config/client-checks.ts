/**
 * The checks of a client's registration at start-up (and of each `tenants.client()` answer):
 * its identifier, and the credentials its authentication method needs, imported once to prove
 * they are usable.
 *
 * @packageDocumentation
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { ASYMMETRIC_JWS_ALGS, assertInstalled, assertString, fail } from './checks.js';
import { defaultKeyAlgorithm, describeKey, keyMismatch, privateKeyObject } from './key-algorithms.js';
import type { ResolvedOptions } from './resolved-options.js';
import type { JWK } from 'jose';
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
  if (clientAuthMethod === 'private_key_jwt' && clientPrivateKey === undefined) fail(key('clientPrivateKey'), 'is required by clientAuthMethod "private_key_jwt"');
  if (clientAuthMethod?.endsWith('tls_client_auth') && config.customFetch === undefined) {
    fail(key('clientCertificate'), `(or a customFetch that presents one) is required by clientAuthMethod "${clientAuthMethod}" (RFC 8705 §2)`);
  }
  if (config.clientKeyId !== undefined) assertString(config.clientKeyId, key('clientKeyId'));
  if (config.clientAssertionAlg !== undefined) assertString(config.clientAssertionAlg, key('clientAssertionAlg'));
  if (keyObject !== undefined) checkSigningAlgorithms(keyObject, clientPrivateKey!, config.clientAssertionAlg, key);
  if (requestObject !== undefined) {
    if (keyObject === undefined) fail(key('clientPrivateKey'), 'is required by requestObject: the request object is signed with it (RFC 9101 §4)');
    // Without its own alg, the request object is signed with the assertion's, checked above.
    if (requestObject.alg !== undefined) checkKeyFits(keyObject, requestObject.alg, 'requestObject.alg', key('clientPrivateKey'));
  }
  if (config.customFetch !== undefined && typeof config.customFetch !== 'function') fail(key('customFetch'), 'must be a function (url, init) => Promise<Response>');
}

/**
 * Checks the algorithm the client's private key signs with (the `private_key_jwt` assertion's,
 * RFC 7523 §2.2, and by default the request object's): `clientAssertionAlg`, else the JWK's
 * `alg`, else the usual one of the key's type, which must exist.
 *
 * @throws ConfigurationError naming `clientAssertionAlg` (or `clientPrivateKey.alg`, or
 *   `clientPrivateKey`), the algorithm and the key's type
 */
function checkSigningAlgorithms(keyObject: KeyObject, source: JWK | string, clientAssertionAlg: string | undefined, key: (name: string) => string): void {
  if (clientAssertionAlg !== undefined) {
    checkKeyFits(keyObject, clientAssertionAlg, key('clientAssertionAlg'), key('clientPrivateKey'));
  } else if (typeof source === 'object' && typeof source.alg === 'string') {
    checkKeyFits(keyObject, source.alg, key('clientPrivateKey.alg'), key('clientPrivateKey'));
  } else if (keyMismatch(keyObject, defaultKeyAlgorithm(source)) !== undefined) {
    fail(key('clientPrivateKey'), `is ${describeKey(keyObject)}, which no JWS algorithm this package signs with can use (RS*, PS*: RSA of at least 2048 bits; ES256, ES384, ES512: EC P-256, P-384, P-521; EdDSA: Ed25519; RFC 7518 §3): use another key`);
  }
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
    const fitting = [...ASYMMETRIC_JWS_ALGS].filter((candidate) => keyMismatch(key, candidate) === undefined);
    const fix = fitting.length > 0 ? `use an algorithm this key signs with (${fitting.join(', ')}; RFC 7518 §3), or another key` : 'use another key (RFC 7518 §3)';
    fail(algKey, `is ${alg}, which needs ${needed}, but ${keyKey} is ${describeKey(key)}: ${fix}`);
  }
}

/**
 * Checks that `certificate` holds a certificate and the private key that goes with it, and that
 * `undici` (an optional peer dependency, which presents it) is installed.
 *
 * @throws ConfigurationError naming `clientCertificate.cert` or `clientCertificate.key`, or
 *   `clientCertificate` when undici is missing
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
  // Node's fetch cannot present a client certificate: undici's can (provider/oidc/client-certificate.ts).
  assertInstalled('undici', 'clientCertificate');
}
