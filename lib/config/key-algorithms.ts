/**
 * Which JWS algorithm a private key can sign with (RFC 7518 §3): the default for its type, and
 * the check that a configured algorithm fits the key, so that a mismatch is a start-up error
 * rather than a failure of every login.
 *
 * @packageDocumentation
 */
import { createPrivateKey, type JsonWebKey as NodeJsonWebKey, type KeyObject } from 'node:crypto';
import type { JWK } from 'jose';

/** The client's private key as a Node.js key object (a PKCS#8 PEM, or a private JWK). */
export function privateKeyObject(source: JWK | string): KeyObject {
  return typeof source === 'string' ? createPrivateKey(source) : createPrivateKey({ key: source as NodeJsonWebKey, format: 'jwk' });
}

/** Node.js's curve names, as JOSE names them (RFC 7518 §6.2.1.1). */
const CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** The curve each ECDSA algorithm signs with (RFC 7518 §3.4). */
const ECDSA_CURVES: Readonly<Record<string, string>> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

/** The JWS algorithm of a private key when none is configured: its JWK `alg`, else the usual one for its type. */
export function defaultKeyAlgorithm(source: JWK | string): string {
  const jwk: JWK = typeof source === 'string' ? privateKeyObject(source).export({ format: 'jwk' }) as JWK : source;
  if (typeof jwk.alg === 'string') return jwk.alg;
  switch (jwk.kty) {
    case 'EC':
      return { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[jwk.crv ?? ''] ?? 'ES256';
    case 'OKP':
      return 'EdDSA';
    default:
      return 'RS256';
  }
}

/** What `key` is, for messages: `an RSA key (1024 bits)`, `an EC P-384 key`, `an Ed25519 key`. */
export function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return `an RSA key (${details.modulusLength ?? '?'} bits)`;
    case 'ec':
      return `an EC ${CURVES[details.namedCurve ?? ''] ?? details.namedCurve ?? ''} key`;
    case 'ed25519':
      return 'an Ed25519 key';
    default:
      return `a key of type ${key.asymmetricKeyType ?? 'unknown'}`;
  }
}

/**
 * The key `alg` needs (RFC 7518 §3.3–§3.5, RFC 8037 §3.1), when `key` is not one: e.g. `an EC
 * P-256 key`; `undefined` when `key` can sign with `alg`. RSA keys must have at least 2048 bits
 * (RFC 7518 §3.3, §3.5). `alg` must be one of the asymmetric JWS algorithms.
 */
export function keyMismatch(key: KeyObject, alg: string): string | undefined {
  const type = key.asymmetricKeyType;
  if (/^(?:RS|PS)(?:256|384|512)$/.test(alg)) {
    const fits = type === 'rsa' || (type === 'rsa-pss' && alg.startsWith('PS'));
    if (!fits) return alg.startsWith('PS') ? 'an RSA or RSA-PSS key' : 'an RSA key';
    return (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048 ? 'an RSA key of at least 2048 bits' : undefined;
  }
  const curve = ECDSA_CURVES[alg];
  if (curve !== undefined) {
    return type === 'ec' && CURVES[key.asymmetricKeyDetails?.namedCurve ?? ''] === curve ? undefined : `an EC ${curve} key`;
  }
  if (alg === 'EdDSA' || alg === 'Ed25519') return type === 'ed25519' ? undefined : 'an Ed25519 key';
  return 'an asymmetric key';
}
