/**
 * How the client authenticates at the token endpoint (RFC 6749 §2.3, OpenID Connect Core 1.0
 * §9): the method, chosen from the configuration or the provider's metadata, and its
 * openid-client implementation.
 *
 * @packageDocumentation
 */
import { importJWK, importPKCS8 } from 'jose';
import * as client from 'openid-client';
import type { ClientAuthMethod } from '../../config/client-options.js';
import type { ResolvedOptions } from '../../config/resolved-options.js';
import { defaultKeyAlgorithm } from '../../config/key-algorithms.js';

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

/**
 * The client's private key (`clientPrivateKey`, a JWK or a PKCS#8 PEM), imported for `alg`, and
 * the `kid` to send with what it signs (`clientKeyId`, else the JWK's `kid`).
 */
export async function importClientKey(options: Pick<ResolvedOptions, 'clientPrivateKey' | 'clientKeyId'>, alg: string): Promise<client.PrivateKey> {
  const source = options.clientPrivateKey!;
  const key = typeof source === 'string' ? await importPKCS8(source, alg) : await importJWK(source, alg) as client.CryptoKey;
  const kid = options.clientKeyId ?? (typeof source === 'string' ? undefined : source.kid);
  return { key, ...(kid !== undefined && { kid }) };
}

/**
 * The openid-client implementation of `method`. A private key (JWK or PKCS#8 PEM) is imported
 * here, once per call, for `clientAssertionAlg` (default: the JWK's `alg`, else the usual one
 * for its type); its `kid` is sent in the assertion's header.
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
    case 'private_key_jwt':
      return client.PrivateKeyJwt(await importClientKey(options, options.clientAssertionAlg ?? defaultKeyAlgorithm(options.clientPrivateKey!)));
    case 'tls_client_auth':
    case 'self_signed_tls_client_auth':
      // RFC 8705 §2: the TLS client certificate, presented by customFetch, authenticates the client.
      return client.TlsClientAuth();
    case 'none':
      return client.None();
  }
}
