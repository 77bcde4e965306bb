/**
 * Checks that a login's ID token (or a provider adapter's user) is the authentication the login
 * asked for, beyond what openid-client validates: the `acr` of the `acr_values` sent (OpenID
 * Connect Core 1.0 §3.1.2.1, §5.5.1.1) and the organization the app fixed. (`auth_time` against
 * the `max_age` sent is openid-client's check, §3.1.3.7 item 13.)
 *
 * @packageDocumentation
 */
import { AuthError, plainText } from '../errors.js';
import type { TokenSet } from '../provider/provider.js';

/**
 * The organization `authorizationParams` fixes, and how a token names it: Auth0's `organization`
 * (an `org_…` id in `org_id`, or a name in `org_name`, lowercase; WorkOS's adapter maps it to
 * `organization_id`), or `organization_id`
 * (Scalekit, WorkOS) in `organization_id` (a claim, or an adapter's `extra`) or Scalekit's `oid`.
 */
function organizationOf(params: Readonly<Record<string, string>>): { claims: readonly string[]; value: string } | undefined {
  const auth0 = params.organization;
  if (auth0 !== undefined) {
    // WorkOS's adapter sends `organization` as organization_id, and its ids start with org_ too.
    return auth0.startsWith('org_') ? { claims: ['org_id', 'organization_id'], value: auth0 } : { claims: ['org_name'], value: auth0.toLowerCase() };
  }
  const id = params.organization_id;
  return id === undefined ? undefined : { claims: ['organization_id', 'oid'], value: id };
}

/**
 * Refuses a login whose tokens are not what it asked for.
 *
 * @param tokens - the validated token set of the code exchange
 * @param acrValues - the `acr` values the login asked for (any `acr`, when empty), if any
 * @param fixed - the app's `authorizationParams`
 * @throws AuthError `acr_mismatch` (401) when the ID token's `acr` is absent or not one asked for;
 *   `organization_mismatch` (403) when the token does not name the organization the app fixed
 */
export function checkAuthentication(tokens: TokenSet, acrValues: readonly string[] | undefined, fixed: Readonly<Record<string, string>>): void {
  const { claims } = tokens;
  if (acrValues !== undefined) {
    const acr = claims.acr;
    if (typeof acr !== 'string' || (acrValues.length > 0 && !acrValues.includes(acr))) {
      throw new AuthError('acr_mismatch', 401,
        `The provider did not authenticate the user at the level this login asked for (acr ${typeof acr === 'string' ? `"${plainText(acr, 100)}"` : 'absent'}, `
        + `asked ${acrValues.length > 0 ? acrValues.map((v) => `"${plainText(v, 100)}"`).join(' or ') : 'any'}; OpenID Connect Core 1.0 §3.1.2.1): sign in again`);
    }
  }
  const organization = organizationOf(fixed);
  if (organization !== undefined) {
    const named = organization.claims.map((name) => claims[name] ?? tokens.extra?.[name]).find((v) => v !== undefined);
    if (named !== organization.value) {
      throw new AuthError('organization_mismatch', 403,
        `The user signed in to another organization than the one this app requires (the token's ${organization.claims.join(' or ')} does not match)`);
    }
  }
}

/**
 * IPSIE SL1 `session_expiry`: when the provider's session ends, in seconds since the epoch. A
 * login whose provider session is already over cannot start one here; a later value caps the
 * session (see `providerSessionEnd()`).
 *
 * @param now - seconds since the epoch
 * @param clockTolerance - seconds of clock skew allowed
 * @throws AuthError `invalid_id_token` (502) when it is not a number; `session_expired` (401) when it has passed
 */
export function checkSessionExpiry(claims: Readonly<Record<string, unknown>>, now: number, clockTolerance: number): void {
  const sessionExpiry = claims.session_expiry;
  if (sessionExpiry === undefined) return;
  if (typeof sessionExpiry !== 'number' || !Number.isFinite(sessionExpiry)) {
    throw new AuthError('invalid_id_token', 502, 'The ID token\'s session_expiry is not a number of seconds (IPSIE SL1)');
  }
  if (sessionExpiry + clockTolerance <= now) {
    throw new AuthError('session_expired', 401, 'The provider says its session for this sign-in has already ended (session_expiry): sign in again');
  }
}
