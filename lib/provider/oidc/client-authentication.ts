/**
 * How the client authenticates at the token endpoint (RFC 6749 §2.3, OpenID Connect Core 1.0
 * §9): the method, chosen from the configuration or the provider's metadata, and its
 * openid-client implementation.
 *
 * @packageDocumentation
 */
import { createPrivateKey } from 'node:crypto';
import { importJWK, importPKCS8, type JWK } from 'jose';
import * as client from 'openid-client';
import type { ClientAuthMethod } from '../../config/client-options.js';
import type { ResolvedOptions } from '../../config/resolved-options.js';

/**
 * The method to use: `clientAuthMethod` when configured; otherwise the first the client has the
 * credentials for, in the order `private_key_jwt` (a private key), `client_secret_basic`,
 * `client_secret_post`, `client_secret_jwt` (a secret), `none`, that the provider lists in
 * `token_endpoint_auth_methods_supported` (whose default is `client_secret_basic`, OpenID
 * Connect Discovery 1.0 §3). When it lists none of them, the first the credentials allow.
 *
 * @param supported - the provider's `token_endpoint_auth_methods_supported`
 */
export function chooseAuthMethod(options: ResolvedOptions, supported: readonly string[] | undefined): ClientAuthMethod {
  if (options.clientAuthMethod !== undefined) return options.clientAuthMethod;
  const candidates: ClientAuthMethod[] = [];
  if (options.clientPrivateKey !== undefined) candidates.push('private_key_jwt');
  if (options.clientSecret !== undefined) candidates.push('client_secret_basic', 'client_secret_post', 'client_secret_jwt');
  if (candidates.length === 0) candidates.push('none');
  const listed = supported ?? ['client_secret_basic'];
  return candidates.find((method) => listed.includes(method)) ?? candidates[0]!;
}

/** The JWS algorithm of a private key for `private_key_jwt`: its JWK `alg`, else the usual one for its type. */
function keyAlgorithm(jwk: JWK): string {
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

/**
 * The openid-client implementation of `method`. A private key (JWK or PKCS#8 PEM) is imported
 * here, once per call; its `kid` is sent in the assertion's header.
 */
export async function clientAuthentication(options: ResolvedOptions, method: ClientAuthMethod): Promise<client.ClientAuth> {
  const secret = options.clientSecret!;
  switch (method) {
    case 'client_secret_basic':
      return client.ClientSecretBasic(secret);
    case 'client_secret_post':
      return client.ClientSecretPost(secret);
    case 'client_secret_jwt':
      return client.ClientSecretJwt(secret);
    case 'private_key_jwt': {
      const source = options.clientPrivateKey!;
      if (typeof source === 'string') {
        const alg = options.clientAssertionAlg ?? keyAlgorithm(createPrivateKey(source).export({ format: 'jwk' }) as JWK);
        const key = await importPKCS8(source, alg);
        return client.PrivateKeyJwt({ key, ...(options.clientKeyId !== undefined && { kid: options.clientKeyId }) });
      }
      const alg = options.clientAssertionAlg ?? keyAlgorithm(source);
      const key = await importJWK(source, alg);
      const kid = options.clientKeyId ?? source.kid;
      return client.PrivateKeyJwt({ key: key as client.CryptoKey, ...(kid !== undefined && { kid }) });
    }
    case 'tls_client_auth':
    case 'self_signed_tls_client_auth':
      // RFC 8705 §2: the TLS client certificate, presented by customFetch, authenticates the client.
      return client.TlsClientAuth();
    case 'none':
      return client.None();
  }
}
