/**
 * The hostile provider's signing keys (test/support/hostile-provider.ts): RSA and EC key pairs
 * shared by every provider of the test process, and JWS compact serializations made by hand, so
 * that an ID token can carry any header and any algorithm a test needs to send.
 */
import { createHmac } from 'node:crypto';
import { base64url, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/**
 * The JWS algorithm an ID token is signed with: `RS256` and `ES256` with the provider's current
 * key of that algorithm, `HS256` with the client secret as HMAC key (OpenID Connect Core 1.0
 * §10.1, the key a symmetric-alg downgrade would use), `none` unsigned (empty signature).
 */
export type SigningAlg = 'RS256' | 'ES256' | 'HS256' | 'none';

/** One of the provider's asymmetric signing keys. */
export interface ProviderKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: CryptoKey;
  /** The public key as the JWKS publishes it: with `kid`, `use: 'sig'` and `alg`. */
  readonly publicJwk: JWK;
}

/** A key pair as `jose`'s `generateKeyPair` gives it. */
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

/**
 * Key pairs shared by every provider of the test process, generated on first use: RSA key
 * generation costs tens of milliseconds, and each test starts providers of its own. Within one
 * provider every key is distinct ({@link KeyPairs.next}); across providers reuse is harmless,
 * as each has its own issuer.
 */
const keyPool = new Map<string, Promise<KeyPair>[]>();

/** One provider's view of {@link keyPool}: each call of `next(alg)` gives a pair it has not had. */
export class KeyPairs {
  readonly #used = new Map<string, number>();

  next(alg: string): Promise<KeyPair> {
    const index = this.#used.get(alg) ?? 0;
    this.#used.set(alg, index + 1);
    const pool = keyPool.get(alg) ?? [];
    keyPool.set(alg, pool);
    pool[index] ??= generateKeyPair(alg, { extractable: true });
    return pool[index];
  }
}

/** A key pair of `alg` this provider has not used yet, as the provider publishes it. */
export async function newKey(pairs: KeyPairs, alg: ProviderKey['alg'], kid: string): Promise<ProviderKey> {
  const pair = await pairs.next(alg);
  const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid, use: 'sig', alg };
  return { kid, alg, privateKey: pair.privateKey, publicJwk };
}

/**
 * A JWS compact serialization (RFC 7515 §7.1) of `payload` under exactly `header`, signed
 * per `alg` with `key` (a `CryptoKey` for RS256/ES256, the shared secret for HS256, nothing
 * for `none`). Hand-made rather than with `jose`'s `SignJWT`, which refuses the broken headers
 * (`crit` with unknown extensions, an `alg` that is not the key's) these tests need to send.
 */
export async function signCompact(header: Record<string, unknown>, payload: Record<string, unknown>, alg: SigningAlg, key: CryptoKey | string | undefined): Promise<string> {
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}`;
  let signature: Uint8Array;
  switch (alg) {
    case 'none':
      signature = new Uint8Array();
      break;
    case 'HS256':
      signature = createHmac('sha256', key as string).update(input).digest();
      break;
    case 'RS256':
      signature = new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key as CryptoKey, Buffer.from(input)));
      break;
    case 'ES256':
      // WebCrypto's ECDSA signature is already JWS's R || S (RFC 7518 §3.4).
      signature = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key as CryptoKey, Buffer.from(input)));
      break;
  }
  return `${input}.${base64url.encode(signature)}`;
}
