/**
 * The random values of one login, and the PKCE `code_challenge` of its `code_verifier`
 * (RFC 7636 §4.1–§4.2), from openid-client.
 *
 * @packageDocumentation
 */
import * as client from 'openid-client';
import type { CodeExchangeChecks } from '../provider.js';

/**
 * Fresh `state`, `nonce` and PKCE `code_verifier` for one login: 32 random bytes each, base64url
 * (RFC 7636 §4.1, RFC 6749 §10.10).
 */
export function randomChecks(): CodeExchangeChecks {
  return { state: client.randomState(), nonce: client.randomNonce(), codeVerifier: client.randomPKCECodeVerifier() };
}

/** The S256 `code_challenge` of `codeVerifier` (RFC 7636 §4.2). */
export function codeChallenge(codeVerifier: string): Promise<string> {
  return client.calculatePKCECodeChallenge(codeVerifier);
}
