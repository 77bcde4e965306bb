/**
 * Mutual TLS without a hand-written `fetch`: a client certificate and key in the configuration,
 * presented on every connection to the provider (RFC 8705 §2, for `tls_client_auth` and
 * `self_signed_tls_client_auth`, and §3's certificate-bound tokens). Node's global `fetch` cannot
 * present one, so these requests go through undici's `fetch` with its own connection pool.
 *
 * @packageDocumentation
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import type { Agent, fetch as undiciFetch } from 'undici';

/** A client certificate for mutual TLS, PEM-encoded (RFC 8705 §2). */
export interface ClientCertificate {
  /** The client certificate, and any intermediates after it (PEM). */
  cert: string | Buffer;
  /** Its private key (PEM; encrypted with `passphrase` if set). */
  key: string | Buffer;
  /** The private key's passphrase, when it is encrypted. */
  passphrase?: string;
  /**
   * CA certificates (PEM) to trust for the provider's own certificate instead of Node's bundled
   * ones: a provider on a private PKI. Default: Node's trusted CAs (and `NODE_EXTRA_CA_CERTS`).
   */
  ca?: string | Buffer | Array<string | Buffer>;
}

/**
 * Checks that `certificate` holds a certificate and the private key that goes with it.
 *
 * @throws TypeError naming `clientCertificate.cert` or `clientCertificate.key`
 */
export function checkClientCertificate(certificate: ClientCertificate): void {
  if (certificate === null || typeof certificate !== 'object') throw new TypeError('authCallback(): option "clientCertificate" must be { cert, key } (PEM)');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certificate.cert);
  } catch {
    throw new TypeError('authCallback(): option "clientCertificate.cert" is not a PEM certificate');
  }
  let key;
  try {
    key = createPrivateKey({ key: certificate.key, ...(certificate.passphrase !== undefined && { passphrase: certificate.passphrase }) });
  } catch {
    throw new TypeError('authCallback(): option "clientCertificate.key" is not a PEM private key (or its passphrase is wrong)');
  }
  if (!x509.checkPrivateKey(key)) throw new TypeError('authCallback(): option "clientCertificate.key" is not the private key of clientCertificate.cert');
}

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
