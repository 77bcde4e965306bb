/**
 * Keeps the token endpoint's answer to one grant, so that the same answer can be validated once
 * more after the JWKS is fetched again: a grant cannot be repeated, and signing keys rotate
 * (OpenID Connect Core 1.0 §10.1.1). Used by `OpenIdProvider`'s grants only.
 *
 * @packageDocumentation
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type * as client from 'openid-client';

/**
 * The token endpoint's answer to one code exchange, held while openid-client validates it, so
 * that it can be validated once more against a re-fetched JWKS (see `OpenIdProvider.exchangeCode()`).
 */
export interface TokenResponseCapture {
  /** Makes a copy of the token endpoint's response, from its status, headers and body read once. */
  response?: () => Response;
  /** When set, the next token request is answered with this instead of going to the network. */
  replay?: Response;
}

export const tokenResponseCapture = new AsyncLocalStorage<TokenResponseCapture>();

/**
 * The `fetch` every configuration uses: `base` (the `customFetch` option, or the global `fetch`),
 * and inside a token grant it keeps a copy of the token endpoint's response (the one `POST` of
 * the grant), or answers with the copy when replaying.
 */
export function capturingFetch(base: (url: string, init: RequestInit) => Promise<Response>): client.CustomFetch {
  return async function fetchWithCapture(url: string, init: client.CustomFetchOptions): Promise<Response> {
    const capture = tokenResponseCapture.getStore();
    if (capture === undefined || init.method !== 'POST') return base(url, init as RequestInit);
    if (capture.replay !== undefined) {
      const replay = capture.replay;
      capture.replay = undefined;
      return replay;
    }
    const response = await base(url, init as RequestInit);
    // Read once (a token response is small) rather than response.clone(), whose tee keeps both
    // branches' buffers until the unread one is collected.
    const body = await response.arrayBuffer();
    const { status, statusText, headers } = response;
    const nullBody = status === 204 || status === 205 || status === 304; // a Response of these takes no body
    capture.response = () => new Response(nullBody ? null : body.slice(0), { status, statusText, headers });
    return capture.response();
  };
}

