/**
 * What the OpenID Provider's token endpoint answers, made into a token set: openid-client has
 * validated it (the ID token's signature and claims); the checks it leaves to its caller are
 * made here. Also the DPoP option of a grant, and the error of an unknown signing key.
 *
 * @packageDocumentation
 */
import * as client from 'openid-client';
import type { IssuerOptions } from '../../config/resolved-options.js';
import { AuthError } from '../../errors.js';
import { importDPoPKey, type DPoPKey } from '../dpop-key.js';
import type { IdTokenClaims, RefreshedTokens } from '../provider.js';
import { tokenHash, tokenSetOf } from '../token-set.js';
import { clockFault } from './translate-error.js';

/** The token endpoint's answer, as openid-client gives it. */
export type TokenEndpointResponse = Awaited<ReturnType<typeof client.authorizationCodeGrant>>;

/** openid-client's DPoP option for `key`, or none. */
export async function dpopOptions(configuration: client.Configuration, key: DPoPKey | undefined): Promise<client.DPoPOptions | undefined> {
  return key === undefined ? undefined : { DPoP: client.getDPoPHandle(configuration, await importDPoPKey(key)) };
}

/**
 * `true` when the ID token's `kid` named no key of the cached JWKS (oauth4webapi's "no applicable
 * keys found"): the provider may have rotated its keys since the JWKS was fetched.
 */
export function isUnknownKey(err: unknown): boolean {
  if (!(err instanceof client.ClientError) || err.code !== 'OAUTH_KEY_SELECTION_FAILED') return false;
  const detail = (err.cause as { cause?: { candidates?: unknown } } | undefined)?.cause;
  return Array.isArray(detail?.candidates) && detail.candidates.length === 0;
}

/**
 * The validated response as a token set, with what openid-client leaves to its caller checked
 * too (OpenID Connect Core 1.0 §3.1.3.7, §3.1.3.8): `iat` not beyond `clockTolerance` in the
 * future (item 10), `azp`, when present, this client (item 5, whatever `aud` holds), and
 * `at_hash`, when present, the access token's hash.
 */
export function validatedTokenSet(response: TokenEndpointResponse, options: IssuerOptions): RefreshedTokens {
  const claims = response.claims() as IdTokenClaims | undefined;
  const now = Math.floor(Date.now() / 1000);
  if (claims !== undefined) {
    // openid-client checks that iat is a number only.
    if (claims.iat > now + options.clockTolerance) {
      throw clockFault('iat', claims.iat - now, options.clockTolerance);
    }
    // openid-client compares azp only when aud names several audiences.
    if (claims.azp !== undefined && claims.azp !== options.clientId) {
      throw new AuthError('invalid_id_token', 502, 'The ID token failed validation (its azp is not this client_id, OpenID Connect Core 1.0 §3.1.3.7 item 5)');
    }
    if (claims.at_hash !== undefined && claims.at_hash !== tokenHash(response.access_token, options.idTokenSigningAlg)) {
      throw new AuthError('invalid_id_token', 502, 'The ID token failed validation (its at_hash does not match the access token, OpenID Connect Core 1.0 §3.1.3.8)');
    }
  }
  return {
    ...(response.id_token !== undefined && claims !== undefined && { idToken: response.id_token, claims }),
    ...tokenSetOf({
      accessToken: response.access_token,
      tokenType: response.token_type,
      refreshToken: response.refresh_token,
      expiresIn: response.expiresIn(),
      scope: response.scope,
      refreshExpiresIn: response.refresh_expires_in,
    }, now),
  };
}

