/**
 * The one normaliser of token endpoint answers (RFC 6749 §5.1): the OpenID Provider's (after
 * openid-client validated it) and every adapter's become the same {@link TokenSet} fields, with
 * times in seconds since the epoch.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { AuthError } from '../errors.js';
import type { TokenSet } from './provider.js';

/** A token endpoint answer's members, as a provider read them (names in camelCase). */
export interface TokenResponse {
  /** `access_token`: a non-empty string, else the answer is refused. */
  accessToken: unknown;
  /** `token_type` (RFC 6749 §7.1); `bearer` when absent. */
  tokenType?: unknown;
  refreshToken?: unknown;
  /** `expires_in`, in seconds. */
  expiresIn?: unknown;
  scope?: unknown;
  /** Keycloak's `refresh_expires_in`, in seconds: when the provider's own session ends (`0`: no limit). */
  refreshExpiresIn?: unknown;
  /** Members an adapter keeps beside the tokens (`req.oidc.extra`). */
  extra?: Record<string, unknown>;
}

/** A finite number of seconds, at least 0. */
function isSeconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/**
 * The token set fields of `response`: the token type lowercased, expiry times from `now`.
 *
 * @param now - the current time, in seconds since the epoch
 * @throws AuthError `invalid_provider_response` (502) without an access token
 */
export function tokenSetOf(response: TokenResponse, now: number): Omit<TokenSet, 'claims' | 'idToken'> {
  const { accessToken, tokenType, refreshToken, expiresIn, scope, refreshExpiresIn, extra } = response;
  if (typeof accessToken !== 'string' || accessToken.length === 0) {
    throw new AuthError('invalid_provider_response', 502, 'The token endpoint answered without an access token');
  }
  return {
    accessToken,
    tokenType: typeof tokenType === 'string' ? tokenType.toLowerCase() : 'bearer',
    ...(typeof refreshToken === 'string' && { refreshToken }),
    ...(isSeconds(expiresIn) && { expiresAt: now + Math.floor(expiresIn) }), // 0: expired as issued
    ...(typeof scope === 'string' && { scope }),
    ...(isSeconds(refreshExpiresIn) && refreshExpiresIn > 0 && { providerSessionExpiresAt: now + refreshExpiresIn }),
    ...(extra !== undefined && { extra }),
  };
}

/**
 * The `at_hash` of `token` for an ID token signed with `alg` (OpenID Connect Core 1.0 §3.1.3.6):
 * the left half of its hash, base64url, the hash being the one `alg` uses (SHA-256 for `*256`,
 * SHA-384, SHA-512; SHA-512 for EdDSA/Ed25519).
 */
export function tokenHash(token: string, alg: string): string {
  const hash = alg.endsWith('384') ? 'sha384' : alg.endsWith('512') || alg === 'EdDSA' || alg === 'Ed25519' ? 'sha512' : 'sha256';
  const digest = createHash(hash).update(token, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/** Token types as their RFCs spell them, by their lowercase name (the scheme is case-insensitive, RFC 9110 §11.1). */
const TOKEN_TYPES: Readonly<Record<string, string>> = { bearer: 'Bearer', dpop: 'DPoP' };

/**
 * A token type (kept lowercase) spelt as an `Authorization` header writes it: `Bearer`
 * (RFC 6750 §2.1), `DPoP` (RFC 9449 §7.1); another type as given.
 */
export function tokenTypeName(type: string): string {
  return TOKEN_TYPES[type.toLowerCase()] ?? type;
}
