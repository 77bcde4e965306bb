/**
 * The options of one tenant: the app's options with one issuer and its client, as
 * `tenants.issuer()` and `tenants.client()` give them per request.
 *
 * @packageDocumentation
 */
import { assertString, fail, parseAbsoluteUrl, parseIssuer } from './checks.js';
import { checkClient } from './client-checks.js';
import type { IssuerOptions, ResolvedOptions } from './resolved-options.js';
import type { TenantClient } from './tenants.js';

/**
 * An issuer's own `redirect_uri` (see {@link TenantClient.redirectUri}): under `baseURL` +
 * `routes.callback` + `/`, without a query or fragment.
 *
 * @throws ConfigurationError naming `tenants.client().redirectUri`
 */
function ownRedirectUri(options: ResolvedOptions, value: unknown): URL {
  const key = 'tenants.client().redirectUri';
  assertString(value, key);
  const url = parseAbsoluteUrl(value, key);
  const shared = options.redirectUri.href;
  if (!url.href.startsWith(`${shared}/`) || url.href.length === shared.length + 1) {
    fail(key, `must be ${shared}/ followed by a path of its own (got ${JSON.stringify(value)})`);
  }
  return url;
}

/**
 * The options of one tenant: `options` with the issuer `issuer` and the client `client` (or the
 * top-level client when `client` is `undefined`).
 *
 * @throws ConfigurationError naming the bad key, when `tenants.issuer()` returned something that is not an
 *   issuer URL, or `tenants.client()` a client without its credentials
 */
export function tenantOptions(options: ResolvedOptions, issuer: string, client: TenantClient | undefined): IssuerOptions {
  const url = parseIssuer(issuer, 'tenants.issuer() result', options.allowInsecureRequests);
  if (client !== undefined) checkClient({ ...client, customFetch: options.customFetch }, 'tenants.client().', options.requestObject);
  const registration = client ?? options;
  return Object.freeze({
    ...options,
    ...(client?.redirectUri !== undefined && { redirectUri: ownRedirectUri(options, client.redirectUri) }),
    issuer: url,
    issuerIdentifier: issuer,
    insecureIssuer: url.protocol === 'http:',
    clientId: registration.clientId!,
    clientSecret: registration.clientSecret,
    clientAuthMethod: registration.clientAuthMethod,
    clientPrivateKey: registration.clientPrivateKey,
    clientKeyId: registration.clientKeyId,
    clientAssertionAlg: registration.clientAssertionAlg,
  });
}
