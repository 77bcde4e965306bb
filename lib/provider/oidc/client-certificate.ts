/**
 * Mutual TLS without a hand-written `fetch`: a client certificate and key in the configuration,
 * presented on every connection to the provider (RFC 8705 §2, for `tls_client_auth` and
 * `self_signed_tls_client_auth`, and §3's certificate-bound tokens). Node's global `fetch` cannot
 * present one, so these requests go through undici's `fetch` with its own connection pool.
 *
 * @packageDocumentation
 */
import type { Agent, fetch as undiciFetch } from 'undici';
import type { ClientCertificate } from '../../config/client-options.js';

/**
 * A `fetch` that presents `certificate` on every TLS connection (undici's `fetch` and `Agent`,
 * loaded on first use). Its connections are kept alive and reused.
 */
export function certificateFetch(certificate: ClientCertificate): (url: string, init: RequestInit) => Promise<Response> {
  let loading: Promise<{ fetch: typeof undiciFetch; dispatcher: Agent }> | undefined;
  return async (url, init) => {
    loading ??= import('undici').then((undici) => ({
      fetch: undici.fetch,
      dispatcher: new undici.Agent({
        connect: {
          cert: certificate.cert,
          key: certificate.key,
          ...(certificate.passphrase !== undefined && { passphrase: certificate.passphrase }),
          ...(certificate.ca !== undefined && { ca: certificate.ca }),
        },
      }),
    }));
    const { fetch, dispatcher } = await loading;
    // undici's Response is the WHATWG Response Node's own fetch returns, from the package's copy.
    return fetch(url, { ...(init as object), dispatcher }) as unknown as Promise<Response>;
  };
}
