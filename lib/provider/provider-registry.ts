/**
 * Which provider a request, a transaction or a session talks to: the one configured issuer or
 * adapter, or, with `tenants`, the issuer resolved per request, each built once and kept in a
 * bounded cache (its discovery with it).
 *
 * @packageDocumentation
 */
import type { Request } from 'express';
import type { HttpRequest } from '../http.js';
import { AuthError } from '../errors.js';
import { OpenIdProvider } from './oidc/openid-provider.js';
import { tenantOptions } from '../config/tenant-options.js';
import { type IssuerOptions, type ResolvedOptions } from '../config/resolved-options.js';
import { type TenantClient } from '../config/tenants.js';
import type { Provider } from './provider.js';
import { AdapterProvider } from './adapters/adapter-provider.js';

/**
 * What a provider was built with from `tenants.client()`'s answer: equal strings for equal
 * registrations, whether or not `tenants.client()` returns the same object each time.
 */
function registrationOf(client: TenantClient | undefined): string {
  if (client === undefined) return '';
  const { clientId, clientSecret, clientAuthMethod, clientPrivateKey, clientKeyId, clientAssertionAlg, redirectUri } = client;
  return JSON.stringify([clientId, clientSecret, clientAuthMethod, clientPrivateKey, clientKeyId, clientAssertionAlg, redirectUri]);
}

/** The providers of one `authCallback()`: the one configured, or with `tenants` one per issuer. */
export class ProviderRegistry {
  readonly #options: ResolvedOptions;
  readonly #single: Provider | undefined;
  /**
   * With `tenants`: providers by issuer identifier, least recently used first, each with the
   * registration it was built with ({@link registrationOf}).
   */
  readonly #cache = new Map<string, { provider: Provider; registration: string }>();
  /**
   * With `tenants`: the issuer each own `redirect_uri` was given to. Two issuers may not share one:
   * the callback could not tell their responses apart (RFC 9700 §4.4.2).
   */
  readonly #ownRedirectUris = new Map<string, string>();

  constructor(options: ResolvedOptions) {
    this.#options = options;
    if (options.adapter !== undefined) this.#single = new AdapterProvider(options.adapter, options as ResolvedOptions & { clientId: string });
    else if (options.tenants === undefined) this.#single = new OpenIdProvider(options as IssuerOptions);
  }

  /** `true` with `tenants`: sessions must then belong to the request's issuer. */
  get perRequest(): boolean {
    return this.#single === undefined;
  }

  /**
   * The issuer `tenants.issuer(req)` names for this request; `undefined` without `tenants` or
   * when it names none.
   *
   * @throws AuthError `internal_error` (500) when `tenants.issuer()` throws
   */
  async issuerOf(req: HttpRequest): Promise<string | undefined> {
    const tenants = this.#options.tenants;
    if (tenants === undefined) return undefined;
    let issuer: string | undefined | null;
    try {
      // Under Connect or Node's http, the request is Node's, without Express's additions.
      issuer = await tenants.issuer(req as Request);
    } catch (err) {
      throw new AuthError('internal_error', 500, 'tenants.issuer() failed', { cause: err });
    }
    if (issuer === null) return undefined; // plain JavaScript's "none"
    if (issuer !== undefined && typeof issuer !== 'string') {
      throw new AuthError('internal_error', 500, 'tenants.issuer() must return an issuer identifier (a string) or undefined');
    }
    return issuer;
  }

  /**
   * The provider of this request's login: the configured one, or with `tenants` the issuer
   * `tenants.issuer(req)` names.
   *
   * @throws AuthError `unknown_issuer` (400) when the request names no issuer this app signs in
   *   with; `internal_error` (500) when the tenant configuration is wrong
   */
  async forRequest(req: HttpRequest): Promise<Provider> {
    if (this.#single !== undefined) return this.#single;
    const issuer = await this.issuerOf(req);
    const provider = issuer === undefined ? undefined : await this.forIssuer(issuer);
    if (provider === undefined) throw new AuthError('unknown_issuer', 400, 'This request names no issuer this app signs in with');
    return provider;
  }

  /**
   * The provider of an issuer the request names itself (a third-party-initiated login's `iss`, a
   * logout token's `iss`): one `tenants.client()` accepts, or without it the request's own
   * issuer; `undefined` for any other. Without `tenants`, the configured provider when `issuer`
   * is its identifier.
   */
  async forNamedIssuer(issuer: string, req: HttpRequest): Promise<Provider | undefined> {
    if (this.#single !== undefined) return issuer === await this.#single.identifier() ? this.#single : undefined;
    if (this.#options.tenants?.client === undefined && issuer !== await this.issuerOf(req)) return undefined;
    return this.forIssuer(issuer);
  }

  /**
   * The provider of `issuer`, an issuer this app bound a transaction or a session to (so one it
   * trusts): built on first use with its client, then cached. Without `tenants`, the configured
   * provider whatever `issuer` is. `undefined` when `tenants.client()` no longer knows it.
   *
   * `tenants.client()` is asked on every call, cached or not: an issuer it stops accepting is
   * refused at once (and dropped from the cache), and a client it changes (a rotated secret) is
   * used from the next call on, with the issuer discovered again.
   *
   * @throws AuthError `internal_error` (500) when `tenants.client()` throws or returns a client
   *   without what its `clientAuthMethod` needs, or the issuer is not a usable URL
   */
  async forIssuer(issuer: string | undefined): Promise<Provider | undefined> {
    if (this.#single !== undefined) return this.#single;
    if (issuer === undefined) return undefined;
    const client = await this.#clientOf(issuer);
    if (client === null) {
      this.#cache.delete(issuer);
      return undefined;
    }
    const registration = registrationOf(client);
    const cached = this.#cache.get(issuer); // a concurrent request may have built it meanwhile
    if (cached !== undefined && cached.registration === registration) {
      this.#cache.delete(issuer); // most recently used goes last
      this.#cache.set(issuer, cached);
      return cached.provider;
    }
    let options: IssuerOptions;
    try {
      options = tenantOptions(this.#options, issuer, client);
    } catch (err) {
      throw new AuthError('internal_error', 500, `The tenant configuration of ${JSON.stringify(issuer)} is not usable: ${(err as Error).message}`, { cause: err });
    }
    if (client?.redirectUri !== undefined) {
      const owner = this.#ownRedirectUris.get(options.redirectUri.href);
      if (owner !== undefined && owner !== issuer) {
        throw new AuthError('internal_error', 500,
          `tenants.client() gives ${JSON.stringify(issuer)} the redirectUri ${options.redirectUri.href}, already ${JSON.stringify(owner)}'s: each issuer needs its own (RFC 9700 §4.4.2)`);
      }
      this.#ownRedirectUris.set(options.redirectUri.href, issuer);
    }
    const provider = new OpenIdProvider(options);
    this.#cache.delete(issuer);
    this.#cache.set(issuer, { provider, registration });
    const max = this.#options.tenants!.cacheSize;
    for (const oldest of this.#cache.keys()) {
      if (this.#cache.size <= max) break;
      this.#cache.delete(oldest);
    }
    return provider;
  }

  /** `tenants.client(issuer)`; `undefined` for the top-level client; `null` when it refuses the issuer. */
  async #clientOf(issuer: string): Promise<TenantClient | undefined | null> {
    const lookup = this.#options.tenants?.client;
    if (lookup === undefined) return undefined;
    try {
      return (await lookup(issuer)) ?? null;
    } catch (err) {
      throw new AuthError('internal_error', 500, 'tenants.client() failed', { cause: err });
    }
  }

  /**
   * The provider of a session's issuer.
   *
   * @throws AuthError `session_ended` (401) when `tenants.client()` no longer knows that issuer
   */
  async forSession(claims: { iss: string }): Promise<Provider> {
    const provider = await this.forIssuer(claims.iss);
    if (provider === undefined) throw new AuthError('session_ended', 401, 'This session\'s issuer is no longer one this app signs in with: sign in again');
    return provider;
  }
}
