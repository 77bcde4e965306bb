/**
 * An OpenID Provider's signing keys (its `jwks_uri`, OpenID Connect Discovery 1.0 §3) as a jose
 * key set, for the JWTs it sends the app outside a token response: back-channel logout tokens,
 * Scalekit's IdP-initiated login token. ID tokens are checked by openid-client, with its own
 * cache of the same keys.
 *
 * @packageDocumentation
 */
import { createRemoteJWKSet, customFetch } from 'jose';
import type { Provider } from './provider.js';
import { withUserAgent, type Fetch } from './user-agent.js';

/** A provider's JWKS as jose fetches and caches it. */
export type ProviderKeys = ReturnType<typeof createRemoteJWKSet>;

/** One key set per provider, rebuilt only when its `jwks_uri` changes. */
const keySets = new WeakMap<Provider, { jwksUri: string; keys: ProviderKeys }>();

/**
 * The provider's JWKS, built once per provider and `jwks_uri`: jose fetches it on first use,
 * keeps it, and fetches it again for a `kid` it lacks (key rotation, OpenID Connect Core 1.0
 * §10.1.1), at most once every 30 seconds.
 *
 * The keys are fetched through the app's `customFetch` (a proxy, a private CA), as every request
 * to a provider is, with this package's `User-Agent`.
 *
 * @param options - `httpTimeout`: the longest a JWKS fetch may take, in seconds; `customFetch`
 * @throws AuthError when discovery fails (502/504), or the provider publishes no `jwks_uri` (502)
 */
export async function providerKeys(provider: Provider, options: { httpTimeout: number; customFetch: Fetch | undefined }): Promise<ProviderKeys> {
  const jwksUri = await provider.jwksUri();
  const known = keySets.get(provider);
  if (known?.jwksUri === jwksUri) return known.keys;
  const keys = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: options.httpTimeout * 1000, [customFetch]: withUserAgent(options.customFetch) });
  keySets.set(provider, { jwksUri, keys });
  return keys;
}
