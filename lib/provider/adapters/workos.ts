/**
 * WorkOS AuthKit's own code exchange (`POST /user_management/authenticate`), which answers with a
 * `user`, an `access_token` JWT and a `refresh_token` but no ID token, so openid-client cannot
 * drive it. (WorkOS's standard OpenID endpoints, `/oauth2/authorize` and `/oauth2/token`, need no
 * adapter: give their issuer as `issuer`.)
 *
 * @packageDocumentation
 */
import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { AuthError } from '../../errors.js';
import { redacted } from '../../errors.js';
import { authorizationRequestUrl, checkProviderUrl, readProviderJson, type AdapterFetch, type AdapterTokens, type ProviderAdapter } from './adapter.js';

/** Options of {@link workos}. */
export interface WorkOSOptions {
  /** The WorkOS API's base URL (or your custom authentication domain). Default `'https://api.workos.com'`. */
  apiBaseURL?: string;
  /**
   * The authorization request's `provider`: `'authkit'` (the hosted sign-in page, the default) or
   * an OAuth provider WorkOS names (`'GoogleOAuth'`, …). Not sent when a login names a
   * `connection_id` or `organization_id`.
   */
  provider?: string;
}

/** A WorkOS `user` object (the fields this adapter maps; others are ignored). */
interface WorkOSUser {
  id: string;
  email?: string;
  email_verified?: boolean;
  first_name?: string | null;
  last_name?: string | null;
  profile_picture_url?: string | null;
}

/** Members of the authenticate response kept as `req.oidc.extra`. */
const EXTRA_MEMBERS = ['organization_id', 'authentication_method', 'impersonator'] as const;

/** Login parameters sent under WorkOS's names. */
const PARAM_NAMES: Readonly<Record<string, string>> = { organization: 'organization_id', connection: 'connection_id' };

/** A WorkOS `user` as OpenID Connect Core 1.0 §5.1 claims. */
function userClaims(user: WorkOSUser): { sub: string; [claim: string]: unknown } {
  const name = [user.first_name, user.last_name].filter((part) => typeof part === 'string' && part.length > 0).join(' ');
  return {
    sub: user.id,
    ...(typeof user.email === 'string' && { email: user.email }),
    ...(typeof user.email_verified === 'boolean' && { email_verified: user.email_verified }),
    ...(typeof user.first_name === 'string' && { given_name: user.first_name }),
    ...(typeof user.last_name === 'string' && { family_name: user.last_name }),
    ...(name.length > 0 && { name }),
    ...(typeof user.profile_picture_url === 'string' && { picture: user.profile_picture_url }),
  };
}

/**
 * An adapter for WorkOS AuthKit (`adapter: workos()`): the hosted sign-in at
 * `/user_management/authorize` with PKCE, the code exchanged at `/user_management/authenticate`
 * (`client_secret` when configured, and the `code_verifier`, which WorkOS requires without a
 * secret), refresh by the same endpoint (`grant_type=refresh_token`), and logout at
 * `/user_management/sessions/logout` with the session's `sid`.
 *
 * The `access_token` is a JWT: its RS256 signature is checked against the client's JWKS
 * (`/sso/jwks/{clientId}`), it must not be expired (within `clockTolerance`), and its `sub`
 * must be the `user`'s `id`.
 * `req.user` is the `user` with OpenID Connect names (`sub` = `id`, `email`, `email_verified`,
 * `given_name`, `family_name`, `name`, `picture`), plus the access token's `sid`, `org_id`,
 * `role` and `permissions` when present; `req.oidc.extra` keeps `organization_id`,
 * `authentication_method` and `impersonator`. The upstream `oauth_tokens` are not kept.
 *
 * @example
 * ```ts
 * app.use(authCallback({ adapter: workos(), clientId: 'client_01…', clientSecret: 'sk_…', baseURL, secret }));
 * ```
 */
export function workos(options: WorkOSOptions = {}): ProviderAdapter {
  const base = (options.apiBaseURL ?? 'https://api.workos.com').replace(/\/+$/, '');
  checkProviderUrl(base, 'workos(): option "apiBaseURL"');
  const provider = options.provider ?? 'authkit';
  const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

  /** The client's JWKS, built once per client (jose caches the keys and re-fetches on an unknown `kid`). */
  function keysOf(clientId: string, fetch: AdapterFetch): ReturnType<typeof createRemoteJWKSet> {
    let keys = keySets.get(clientId);
    if (keys === undefined) {
      keys = createRemoteJWKSet(new URL(`${base}/sso/jwks/${encodeURIComponent(clientId)}`), { [customFetch]: fetch });
      keySets.set(clientId, keys);
    }
    return keys;
  }

  /** Posts to `/user_management/authenticate` and checks the answer. */
  async function authenticate(
    body: Record<string, string | undefined>, request: { clientId: string; fetch: AdapterFetch; clockTolerance: number }, refreshing = false,
  ): Promise<AdapterTokens> {
    const { clientId, fetch } = request;
    const response = await fetch(`${base}/user_management/authenticate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    const json = await readProviderJson(response);
    const user = json.user as WorkOSUser | undefined;
    if (user === null || typeof user !== 'object' || typeof user.id !== 'string' || user.id.length === 0) {
      throw new AuthError('invalid_provider_response', 502, 'WorkOS answered without a user');
    }
    if (typeof json.access_token !== 'string') throw new AuthError('invalid_provider_response', 502, 'WorkOS answered without an access token');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(json.access_token, keysOf(clientId, fetch), { algorithms: ['RS256'], requiredClaims: ['exp', 'sub'], clockTolerance: request.clockTolerance }));
    } catch (err) {
      // jose's claim errors carry the token's payload: the cause is kept redacted.
      if (err instanceof joseErrors.JWKSTimeout) throw new AuthError('provider_timeout', 504, 'WorkOS\'s keys could not be fetched in time', { cause: redacted(err) });
      if (err instanceof joseErrors.JOSEError) throw new AuthError('invalid_provider_response', 502, `WorkOS's access token failed validation (${err.code})`, { cause: redacted(err) });
      throw err;
    }
    if (payload.sub !== user.id) throw new AuthError('invalid_provider_response', 502, 'WorkOS\'s access token names another user than its user object');
    const extra: Record<string, unknown> = Object.fromEntries(EXTRA_MEMBERS.filter((name) => json[name] !== undefined && json[name] !== null).map((name) => [name, json[name]]));
    // A refresh answer speaks for the organization and the impersonator: one it leaves out is no
    // longer there (an explicit `undefined`, so that it replaces the login's); how the user signed
    // in (`authentication_method`) stays the login's unless it is given.
    if (refreshing) for (const name of ['organization_id', 'impersonator']) if (!(name in extra)) extra[name] = undefined;
    const fromToken = Object.fromEntries(['sid', 'org_id', 'role', 'permissions'].filter((name) => payload[name] !== undefined).map((name) => [name, payload[name]]));
    return {
      accessToken: json.access_token,
      tokenType: 'bearer',
      ...(typeof json.refresh_token === 'string' && { refreshToken: json.refresh_token }),
      expiresIn: payload.exp! - Math.floor(Date.now() / 1000),
      claims: { ...userClaims(user), ...fromToken },
      extra,
    };
  }

  return {
    issuer: base,
    defaultScope: 'openid profile email',
    authorizationUrl(request) {
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.params)) params[PARAM_NAMES[name] ?? name] = value;
      if (params.connection_id === undefined && params.organization_id === undefined) params.provider ??= provider;
      return authorizationRequestUrl(`${base}/user_management/authorize`, request, params);
    },
    exchangeCode(request) {
      return authenticate({
        client_id: request.clientId,
        client_secret: request.clientSecret,
        grant_type: 'authorization_code',
        code: request.code,
        code_verifier: request.codeVerifier,
      }, request);
    },
    refresh(request) {
      return authenticate({
        client_id: request.clientId,
        client_secret: request.clientSecret,
        grant_type: 'refresh_token',
        refresh_token: request.refreshToken,
      }, request, true);
    },
    endSessionUrl({ claims, postLogoutRedirectUri }) {
      if (typeof claims.sid !== 'string') return undefined;
      const url = new URL(`${base}/user_management/sessions/logout`);
      url.searchParams.set('session_id', claims.sid);
      url.searchParams.set('return_to', postLogoutRedirectUri);
      return url;
    },
  };
}
