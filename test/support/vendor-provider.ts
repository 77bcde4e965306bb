/**
 * `oidc-provider` (OpenID Certified) dressed as a commercial OpenID Provider, for the vendor
 * profile tests: its issuer identifier in the vendor's shape (`http://localhost:<port>/` with
 * Auth0's trailing slash, a tenant path such as PingOne's `/{envID}/as`, or Asgardeo's token
 * endpoint URL), its endpoints at the vendor's paths (oidc-provider's `routes`, under a mount
 * path), and every request, token request and token response recorded for the test to assert.
 *
 * Like the example app's development provider, any user name and password sign in through
 * oidc-provider's development login and consent pages, PKCE is required, and the profile and
 * email claims are in the ID token.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import type Provider from 'oidc-provider';
import type { ClientMetadata, Configuration, KoaContextWithOIDC } from 'oidc-provider';
import { startFakeServer } from './fake-server.js';
import { withoutProviderNotices } from './log-guard.js';
import { withSameRealmClone } from './same-realm-clone.js';

export interface VendorProviderOptions {
  /**
   * The issuer identifier's path on `http://localhost:<port>`: `'/'` (Auth0: a trailing slash),
   * `''` (none), `'/ENV/as'` (PingOne), `'/t/ORG/oauth2/token'` (Asgardeo). Discovery is served
   * at the issuer + `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).
   */
  issuerPath: string;
  /**
   * The path prefix every endpoint is served under (oidc-provider mounted there). Default: the
   * issuer's path without its trailing slash.
   */
  mountPath?: string;
  /** oidc-provider's `routes`: each endpoint's path under {@link VendorProviderOptions.mountPath}. */
  routes?: Configuration['routes'];
  /** The registered clients (`token_endpoint_auth_method` defaults to oidc-provider's `client_secret_basic`). */
  clients: ClientMetadata[];
  /** oidc-provider configuration merged over the defaults below. */
  configuration?: Configuration;
  /** Each access token's value (still an oidc-provider opaque token, looked up by it), e.g. `randomUUID`. Default: oidc-provider's random 43 characters. */
  accessTokenValue?: () => string;
}

/** One token endpoint request, as oidc-provider parsed it, and its answer. */
export interface TokenExchange {
  /** The `Authorization` header, if any. */
  authorization: string | undefined;
  /** The `DPoP` proof header (RFC 9449), if any. */
  dpop: string | undefined;
  /** The form-encoded body. */
  params: Record<string, unknown>;
  /** The JSON answer of an accepted request. */
  response: Record<string, unknown> | undefined;
  /** The OAuth `error` of a refused request. */
  error: string | undefined;
  /** oidc-provider's detail of a refused request (`error_detail`), e.g. `PKCE verification failed`. */
  detail: string | undefined;
}

export interface VendorProvider {
  /** The issuer identifier, e.g. `http://localhost:51234/t/ORG/oauth2/token`. */
  readonly issuer: string;
  /** `http://localhost:<port>` */
  readonly origin: string;
  readonly provider: Provider;
  readonly server: Server;
  /** Every HTTP request the provider received, as `METHOD /path` (no query). */
  readonly requests: string[];
  /** Every token endpoint request (code exchanges and refreshes), in order. */
  readonly tokenRequests: TokenExchange[];
  /** The bodies of the accepted pushed authorization requests (RFC 9126), in order. */
  readonly pushedRequests: Record<string, unknown>[];
  /**
   * The parameters of every authorization request the provider answered with a code, as it
   * resolved them (from the query, or from a pushed request); parameters oidc-provider does not
   * know appear only when listed in its `extraParams`.
   */
  readonly authorizations: Record<string, unknown>[];
  /**
   * A JWT with `claims`, signed as the provider signs its ID tokens (RS256, its own key, whose
   * `kid` its JWKS lists): e.g. Scalekit's IdP-initiated login token.
   */
  sign(claims: JWTPayload): Promise<string>;
  close(): Promise<void>;
}

/** The provider's RS256 signing key, generated once per test file. */
let signingKey: Promise<JWK> | undefined;
function providerKey(): Promise<JWK> {
  signingKey ??= generateKeyPair('RS256', { extractable: true })
    .then(async ({ privateKey }) => ({ ...(await exportJWK(privateKey)), kid: 'vendor-rs256', use: 'sig', alg: 'RS256' }));
  return signingKey;
}

/**
 * Builds the provider with oidc-provider's start-up notices ("Unsupported runtime" on Node 20,
 * development-only features) kept out of the console, and copies made in this realm
 * ({@link withSameRealmClone}).
 */
function construct(issuer: string, configuration: Configuration): Promise<Provider> {
  return withoutProviderNotices(async () => {
    const { default: ProviderClass } = await import('oidc-provider');
    return withSameRealmClone(async () => new ProviderClass(issuer, configuration));
  });
}

export async function startVendorProvider(options: VendorProviderOptions): Promise<VendorProvider> {
  const fake = await startFakeServer();
  const { server, app } = fake;
  const origin = fake.baseURL;
  const issuer = origin + options.issuerPath;
  const mountPath = options.mountPath ?? options.issuerPath.replace(/\/$/, '');

  const provider = await construct(issuer, {
    clients: options.clients.map((c) => ({ grant_types: ['authorization_code'], ...c })),
    jwks: { keys: [await providerKey()] },
    cookies: { keys: ['vendor-provider-cookie-key-not-a-secret'] },
    claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    ...(options.routes !== undefined && { routes: options.routes }),
    ...options.configuration,
    ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Grant: 3600, Session: 3600, ...options.configuration?.ttl },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = `<!doctype html><title>Sign out</title>${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`;
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = '<!doctype html><title>Signed out</title>';
        },
      },
      ...options.configuration?.features,
    },
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, name: id, email: `${id}@example.com`, email_verified: true };
        },
      };
    },
  });

  if (options.accessTokenValue !== undefined) {
    const value = options.accessTokenValue;
    const prototype = provider.AccessToken.prototype as unknown as { generateTokenId(): string };
    const generate = prototype.generateTokenId;
    prototype.generateTokenId = function generateTokenId(this: unknown): string {
      generate.call(this); // sets the token's format (opaque)
      return value();
    };
  }

  const requests: string[] = [];
  const tokenRequests: TokenExchange[] = [];
  const pushedRequests: Record<string, unknown>[] = [];
  const authorizations: Record<string, unknown>[] = [];
  const headers = (ctx: KoaContextWithOIDC) => ({ authorization: ctx.get('authorization') || undefined, dpop: ctx.get('dpop') || undefined });
  provider.on('grant.success', (ctx) => {
    tokenRequests.push({
      ...headers(ctx), params: { ...ctx.oidc.body }, response: { ...(ctx.body as Record<string, unknown>) }, error: undefined, detail: undefined,
    });
  });
  provider.on('grant.error', (ctx, err) => {
    const detail = (err as { error_detail?: string }).error_detail;
    tokenRequests.push({ ...headers(ctx), params: { ...ctx.oidc.body }, response: undefined, error: err.error, detail });
  });
  provider.on('pushed_authorization_request.success', (ctx) => {
    pushedRequests.push({ ...ctx.oidc.body });
  });
  provider.on('authorization.success', (ctx) => {
    authorizations.push({ ...ctx.oidc.params });
  });

  const callback = provider.callback() as (req: IncomingMessage, res: ServerResponse) => void;
  app.use((req, _res, next) => {
    requests.push(`${req.method} ${req.path}`);
    next();
  });
  const discoveryPath = `${options.issuerPath.replace(/\/$/, '')}/.well-known/openid-configuration`;
  if (discoveryPath !== `${mountPath}/.well-known/openid-configuration`) {
    // The issuer is not the mount path (Asgardeo's is its token endpoint's URL): its discovery
    // document is oidc-provider's, served as if requested under the mount, so that the endpoints
    // it lists are the mounted ones.
    app.get(discoveryPath, (req, res) => {
      req.url = '/.well-known/openid-configuration';
      req.originalUrl = `${mountPath}/.well-known/openid-configuration`;
      callback(req, res);
    });
  }
  if (mountPath === '') app.use(callback);
  else app.use(mountPath, callback);

  return {
    issuer,
    origin,
    provider,
    server,
    requests,
    tokenRequests,
    pushedRequests,
    authorizations,
    async sign(claims) {
      const jwk = await providerKey();
      return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid!, typ: 'JWT' }).sign(await importJWK(jwk, 'RS256'));
    },
    close: () => fake.close(),
  };
}
