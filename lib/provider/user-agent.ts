/**
 * The `User-Agent` of every request this package makes to a provider (discovery, JWKS, token,
 * UserInfo, PAR, an adapter's endpoints, the back-channel logout JWKS): this package's name and
 * version, so that a provider's operator can tell its requests apart (RFC 9110 §10.1.5).
 *
 * @packageDocumentation
 */
import { createRequire } from 'node:module';

/** A WHATWG `fetch` as the options take it: `customFetch`, or the global one. */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

// package.json is two folders up from both lib/provider/ (ts-jest) and dist/provider/ (the build).
const manifest = createRequire(import.meta.url)('../../package.json') as { name: string; version: string };

/** This package's product token, e.g. `express-oidc-callback/0.4.0` (RFC 9110 §10.1.5). */
export const USER_AGENT = `${manifest.name}/${manifest.version}`;

/**
 * The product tokens the libraries below this package set themselves (`openid-client/v6.8.9`,
 * `oauth4webapi/…`, `jose/…`): kept after this package's, the most significant first.
 */
const LIBRARY_AGENT = /^(?:openid-client|oauth4webapi|jose)\//;

/**
 * `base` (the `customFetch` option; the global `fetch`, looked up at each call, when `undefined`)
 * with this package's `User-Agent` on every request: alone when the request has none, before a
 * library's own product token (`express-oidc-callback/0.4.0 openid-client/v6.8.9`). A
 * `User-Agent` the app set itself (e.g. in `req.oidc.fetchResource()`'s headers) is kept as it is.
 * `base` is called after this, so a `customFetch` may still replace the header.
 */
export function withUserAgent(base: Fetch | undefined): Fetch {
  return function fetchWithUserAgent(url: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    const given = headers.get('user-agent');
    if (given === null) headers.set('user-agent', USER_AGENT);
    else if (LIBRARY_AGENT.test(given)) headers.set('user-agent', `${USER_AGENT} ${given}`);
    return (base ?? globalThis.fetch)(url, { ...init, headers });
  };
}
