/**
 * The DPoP key pair of one session (RFC 9449, option `dpop`): generated at login, kept with the
 * session (the private key sealed like the tokens), and used for every request that needs proof
 * of possession: the code exchange, refreshes, UserInfo and `req.oidc.fetchResource()`.
 *
 * @packageDocumentation
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

/** A session's DPoP key pair, as kept: JWKs (the private one holds `d`). */
export interface DPoPKey {
  alg: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** A new DPoP key pair for `alg` (default ES256, the algorithm RFC 9449's examples use). */
export async function generateDPoPKey(alg: string): Promise<DPoPKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) };
}

/** The key pair as `CryptoKey`s, for openid-client's `getDPoPHandle()`. */
export async function importDPoPKey(key: DPoPKey): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey }> {
  const [privateKey, publicKey] = await Promise.all([
    importJWK(key.privateJwk, key.alg),
    importJWK({ ...key.publicJwk, ext: true }, key.alg),
  ]);
  return { privateKey: privateKey as CryptoKey, publicKey: publicKey as CryptoKey };
}

/** The JWK SHA-256 thumbprint of the public key (RFC 7638), sent as `dpop_jkt` (RFC 9449 §10). */
export function dpopThumbprint(key: DPoPKey): Promise<string> {
  return calculateJwkThumbprint(key.publicJwk, 'sha256');
}

/** `true` when `value` has the shape of a {@link DPoPKey}. */
export function isDPoPKey(value: unknown): value is DPoPKey {
  const key = value as Partial<DPoPKey> | null;
  return typeof key === 'object' && key !== null && typeof key.alg === 'string'
    && typeof key.privateJwk === 'object' && key.privateJwk !== null && typeof key.publicJwk === 'object' && key.publicJwk !== null;
}

/**
 * The key to prove possession with for tokens of `tokenType`: the session's DPoP key when the
 * provider bound the tokens to it (`token_type` `DPoP`, RFC 9449 §5), else `undefined`: a
 * `Bearer` token is sent as one (RFC 6750), whatever key the login made.
 */
export function boundKey(tokens: { tokenType: string; dpopKey?: DPoPKey | undefined }): DPoPKey | undefined {
  return tokens.dpopKey !== undefined && tokens.tokenType.toLowerCase() === 'dpop' ? tokens.dpopKey : undefined;
}
