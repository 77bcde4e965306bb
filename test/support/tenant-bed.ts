/**
 * Several tenants of an Asgardeo-like service for the `tenants` tests: one `oidc-provider` per
 * organization, each with its issuer identifier at `http://localhost:<port>/t/{org}/oauth2/token`
 * and its endpoints under `/t/{org}` (test/support/vendor-provider.ts), its own storage and its
 * own cookie names (as separate hosts would have), and two clients registered for the app: the
 * tenant's own (`{org}-app`, its secret and authentication method, back-channel logout to
 * `/backchannel-logout`) and the shared test client (`CLIENT_ID`, back-channel logout to
 * `/backchannel-logout?org={org}`). The app listens on one port whose handler each test swaps.
 */
import { createServer, type RequestListener } from 'node:http';
import type { ClientMetadata } from 'oidc-provider';
import { closeServer, listen } from './http-server.js';
import { CLIENT_ID, CLIENT_SECRET } from './testbed.js';
import { startVendorProvider, type VendorProvider } from './vendor-provider.js';

/** How one tenant registers the app. */
export interface TenantSpec {
  org: string;
  /** The tenant's own client for the app. */
  clientId: string;
  clientSecret: string;
  authMethod: 'client_secret_basic' | 'client_secret_post';
}

export interface Tenant extends TenantSpec {
  op: VendorProvider;
  /** The issuer identifier, `http://localhost:<port>/t/{org}/oauth2/token`. */
  issuer: string;
  /** Where its endpoints are, `http://localhost:<port>/t/{org}`: `/oauth2/authorize`, `/oauth2/token`, `/oidc/logout`, … */
  base: string;
}

export interface TenantBed {
  /** The app's base URL, `http://localhost:<port>`. */
  baseURL: string;
  tenants: Tenant[];
  /** Serves the app's port with `handler` from now on. */
  serve(handler: RequestListener): void;
  /** Forgets what every tenant's provider recorded (requests, token requests). */
  resetRecords(): void;
  close(): Promise<void>;
}

/** Back-channel logout route of the app. */
export const BACKCHANNEL_ROUTE = '/backchannel-logout';
/** Access token lifetime at every tenant, in seconds: under the default `refreshMargin`, so `autoRefresh` refreshes on each request. */
export const ACCESS_TOKEN_TTL = 30;

export async function startTenantBed(specs: TenantSpec[]): Promise<TenantBed> {
  const server = createServer();
  const baseURL = `http://localhost:${await listen(server)}`;
  let current: RequestListener = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  server.on('request', (req, res) => current(req, res));
  const common: Partial<ClientMetadata> = {
    redirect_uris: [`${baseURL}/callback`],
    post_logout_redirect_uris: [baseURL],
    grant_types: ['authorization_code', 'refresh_token'],
    backchannel_logout_session_required: true,
  };
  const tenants = await Promise.all(specs.map(async (spec): Promise<Tenant> => {
    const op = await startVendorProvider({
      issuerPath: `/t/${spec.org}/oauth2/token`,
      mountPath: `/t/${spec.org}`,
      routes: { authorization: '/oauth2/authorize', token: '/oauth2/token', jwks: '/oauth2/jwks', userinfo: '/oauth2/userinfo', end_session: '/oidc/logout' },
      clients: [
        {
          ...common,
          client_id: spec.clientId,
          client_secret: spec.clientSecret,
          token_endpoint_auth_method: spec.authMethod,
          backchannel_logout_uri: `${baseURL}${BACKCHANNEL_ROUTE}`,
        },
        {
          ...common,
          client_id: CLIENT_ID,
          client_secret: CLIENT_SECRET,
          backchannel_logout_uri: `${baseURL}${BACKCHANNEL_ROUTE}?org=${spec.org}`,
        },
      ],
      configuration: {
        // Separate hosts would not share cookies; these providers share "localhost".
        cookies: {
          keys: [`tenant-${spec.org}-cookie-key-not-a-secret`],
          names: { session: `_session_${spec.org}`, interaction: `_interaction_${spec.org}`, resume: `_interaction_resume_${spec.org}` },
        },
        // A refresh token on every login, without offline_access and its consent prompt.
        issueRefreshToken: async () => true,
        ttl: { AccessToken: ACCESS_TOKEN_TTL, RefreshToken: 3600 },
        features: { backchannelLogout: { enabled: true } },
      },
    });
    return { ...spec, op, issuer: op.issuer, base: `${op.origin}/t/${spec.org}` };
  }));
  return {
    baseURL,
    tenants,
    serve(handler) {
      current = handler;
    },
    resetRecords() {
      for (const { op } of tenants) {
        op.requests.splice(0);
        op.tokenRequests.splice(0);
        op.authorizations.splice(0);
      }
    },
    async close() {
      await closeServer(server);
      await Promise.all(tenants.map(({ op }) => op.close()));
    },
  };
}
