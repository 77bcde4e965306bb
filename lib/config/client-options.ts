/**
 * The options of how this app is registered at the provider and talks to it: client
 * authentication, mutual TLS, the HTTP client, and what the provider's answers must be.
 *
 * @packageDocumentation
 */
import type { JWK } from 'jose';

/** The client authentication methods this package drives through openid-client. */
export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'client_secret_jwt',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
  'none',
];

/** A client authentication method (OpenID Connect Core 1.0 §9; registered in the OAuth parameters registry). */
export type ClientAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'client_secret_jwt'
  | 'private_key_jwt'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth'
  | 'none';

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
 * Options of `authCallback()`: the client's credentials at the provider, and how the
 * provider is talked to. Every duration is in **seconds**.
 */
export interface ClientOptions {
  /**
   * Client secret (RFC 6749 §2.3.1), for `client_secret_basic`, `client_secret_post` or
   * `client_secret_jwt`. Without a secret or a private key the client is public (`none`) and
   * relies on PKCE alone.
   */
  clientSecret?: string;
  /**
   * How the client authenticates at the token endpoint (OpenID Connect Core 1.0 §9):
   * `client_secret_basic`, `client_secret_post`, `client_secret_jwt` (need `clientSecret`),
   * `private_key_jwt` (needs `clientPrivateKey`), `tls_client_auth` or
   * `self_signed_tls_client_auth` (RFC 8705 mutual TLS: need `clientCertificate`, or a
   * `customFetch` that presents the client certificate; never chosen automatically) or `none`. Default: the first of those the
   * credentials allow that the provider lists in `token_endpoint_auth_methods_supported`
   * (`private_key_jwt`, then `client_secret_basic`, `client_secret_post`, `client_secret_jwt`).
   */
  clientAuthMethod?: ClientAuthMethod;
  /**
   * The client's private key for `private_key_jwt` (RFC 7523 §2.2): a private JWK (with `d`) or a
   * PKCS#8 PEM string. Its public half is registered at the provider (`jwks` or `jwks_uri`).
   */
  clientPrivateKey?: JWK | string;
  /** The `kid` sent in the client assertion's header. Default: the JWK's `kid`. */
  clientKeyId?: string;
  /**
   * The `private_key_jwt` assertion's JWS algorithm (RFC 7523 §2.2, RFC 7518 §3), and the request
   * object's unless `requestObject.alg` is set. Default: the JWK's `alg`, else RS256 (RSA),
   * ES256/ES384/ES512 (P-256/P-384/P-521), EdDSA (Ed25519). It must fit `clientPrivateKey`:
   * RS* and PS* an RSA key of at least 2048 bits, ES256/ES384/ES512 an EC key on P-256/P-384/P-521,
   * EdDSA (or Ed25519) an Ed25519 key; otherwise `authCallback()` throws a `ConfigurationError`
   * naming both. (`client_secret_jwt` always signs HS256.)
   */
  clientAssertionAlg?: string;
  /**
   * A client certificate and its key (PEM) presented on every connection to the provider, for
   * mutual TLS (RFC 8705 §2: `tls_client_auth`, `self_signed_tls_client_auth`; §3: certificate-
   * bound tokens), with `ca` to trust a provider on a private PKI. Checked at start-up (the key
   * must be the certificate's). Not with `customFetch`: one that presents a certificate itself
   * replaces it. With it, or a `tls_client_auth` method, the token, UserInfo and PAR requests go
   * to the provider's `mtls_endpoint_aliases` when it publishes them (RFC 8705 §5).
   */
  clientCertificate?: ClientCertificate;
  /**
   * A `fetch` for every request to the provider (discovery, JWKS, PAR, token, UserInfo, an
   * adapter's endpoints, the JWKS of back-channel logout tokens), e.g. one that goes through a
   * proxy or presents a client certificate. Called as `fetch(url, init)` and must return a
   * `Response`. `init.headers` already carries this package's `User-Agent`
   * (`express-oidc-callback/<version>`, then the library's own product token; RFC 9110 §10.1.5),
   * which it may replace. Default: the global `fetch`.
   */
  customFetch?: (url: string, init: RequestInit) => Promise<Response>;
  /**
   * The only JWS algorithm accepted for ID token signatures, sent as the client's
   * `id_token_signed_response_alg` (OpenID Connect Registration §2), so a provider cannot
   * advertise a downgrade. Default `'RS256'` (OpenID Connect Core 1.0 §15.1). `none` is refused.
   */
  idTokenSigningAlg?: string;
  /**
   * Allowed clock difference with the provider, in seconds: an ID token whose `exp` passed more
   * than this long ago, or whose `iat` (or `nbf`) is more than this far in the future, is refused
   * (OpenID Connect Core 1.0 §3.1.3.7 items 9–10). Default `30`.
   */
  clockTolerance?: number;
  /** Timeout of each HTTP request to the provider, in seconds. Default `10`. */
  httpTimeout?: number;
  /**
   * Allow plain-`http:` requests to a provider that is not on a loopback host. Default `false`.
   * For test networks only: tokens and the client secret then cross the network in clear text.
   */
  allowInsecureRequests?: boolean;
  /**
   * Sender-constrain the tokens with DPoP (RFC 9449): each login gets its own key pair (sealed
   * with the pending login, then with the session), its thumbprint is sent as `dpop_jkt`, and the
   * code exchange carries a DPoP proof. When the provider binds the tokens (`token_type` `DPoP`),
   * refreshes, UserInfo and `req.oidc.fetchResource()` carry proofs too (a server's `DPoP-Nonce`
   * is honoured); when it does not (`token_type` `Bearer`: a provider without DPoP), the tokens
   * are used as bearer tokens and the key is dropped.
   *
   * - `true`: DPoP when the provider binds, bearer otherwise;
   * - `'required'`: a provider that does not advertise DPoP (`dpop_signing_alg_values_supported`,
   *   RFC 9449 §5.1) or answers with a `Bearer` token refuses the login: 502 `dpop_unsupported`;
   * - `false`: no DPoP.
   *
   * Default `false`.
   */
  dpop?: boolean | 'required';
  /** The DPoP key pair's JWS algorithm: `ES256`, `ES384`, `ES512`, `Ed25519` or `EdDSA` (one is generated per login). Default `'ES256'`. */
  dpopAlg?: string;
  /**
   * Fetch the UserInfo claims at login (OpenID Connect Core 1.0 §5.3) and add them to `req.user`;
   * the ID token's own claims win over UserInfo's. A UserInfo response whose `sub` is not the ID
   * token's is not used, and the login fails with `invalid_userinfo` (502; §5.3.4). Default `false`.
   */
  fetchUserInfo?: boolean;
  /**
   * Send the authorization request's parameters by pushed authorization request (RFC 9126): they
   * travel over the back channel, authenticated, instead of through the browser, and the
   * authorization URL carries only `client_id` and `request_uri` (§4).
   *
   * - `true`: pushed when the provider publishes a `pushed_authorization_request_endpoint`
   *   (RFC 9126 §5), sent through the browser otherwise;
   * - `'required'`: always pushed; a provider that publishes no such endpoint refuses every
   *   login (checked at `/login`, once its metadata is discovered): 502 `par_unsupported`, whose
   *   message names the cause and the fix;
   * - `false`: pushed only when the provider requires it.
   *
   * Default `false`. A provider whose metadata sets `require_pushed_authorization_requests`
   * (RFC 9126 §5) gets its requests pushed whatever this says (502 `par_unsupported` when it
   * publishes no endpoint).
   */
  pushedAuthorizationRequests?: boolean | 'required';
  /**
   * Sign the authorization request's parameters into a request object (JAR, RFC 9101) with
   * `clientPrivateKey`: the provider can then tell that they come from this client, unchanged,
   * whichever way they travel. The URL carries only `client_id` and `request` (§5.1); with pushed
   * authorization requests (`pushedAuthorizationRequests`, or a provider that requires them) the
   * request object is pushed instead (RFC 9126 §3), and the URL carries `client_id` and
   * `request_uri`.
   *
   * - `true`: signed with the algorithm of `clientAssertionAlg` (default: the JWK's `alg`, else
   *   RS256 for an RSA key, ES256/ES384/ES512 for a P-256/P-384/P-521 key, EdDSA for Ed25519);
   * - `{ alg }`: with this JWS algorithm (RFC 7518 §3; RS*, PS*, ES*, EdDSA), which the key must
   *   fit.
   *
   * Register the algorithm as the client's `request_object_signing_alg` (OpenID Connect Dynamic
   * Client Registration 1.0 §2) and the key's public half in its `jwks`. The provider must accept
   * request objects: it must list the algorithm in `request_object_signing_alg_values_supported`
   * when it publishes that list, and without PAR publish `request_parameter_supported: true`
   * (OpenID Connect Discovery 1.0 §3); otherwise each login is refused with 502
   * `request_object_unsupported`, whose message names what is missing. Without
   * `clientPrivateKey`, or with an algorithm the key cannot sign with, `authCallback()` throws a
   * `ConfigurationError`. Default `false`. Only with an OpenID Provider (not with `adapter`).
   */
  requestObject?: boolean | {
    /** The request object's JWS algorithm (RFC 7518 §3). Default: as with `true`. */
    alg?: string;
  };
  /**
   * Extra parameters sent with the authorization code exchange at the token endpoint (RFC 6749
   * §4.1.3), e.g. `{ resource: 'https://api.example.com' }` (RFC 8707 §2.2) or
   * `{ audience: 'https://api.example.com' }`. Not sent with refreshes: see `refreshParams`.
   * Values are strings. The parameters the request sets itself (`grant_type`, `code`,
   * `code_verifier`, `redirect_uri`, `refresh_token`, `client_id`, `client_secret`,
   * `client_assertion*`) are a `ConfigurationError` at start-up. Default `{}` (none). Only with
   * an OpenID Provider (not with `adapter`).
   */
  tokenEndpointParams?: Record<string, string>;
}
