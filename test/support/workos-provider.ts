/**
 * A faithful local fake of WorkOS AuthKit's proprietary User Management API, for the `workos()`
 * adapter's end-to-end tests (oidc-provider cannot speak it): real HTTP on 127.0.0.1, base URL
 * `http://localhost:<port>`, the paths, parameters and response shapes of the seed document
 * (../shared/seeds/001_7c6bc3030b0d86cd.txt) and of WorkOS's API reference:
 *
 * - `GET /user_management/authorize` (`client_id`, `redirect_uri`, `response_type=code`, `state`,
 *   `code_challenge` + `code_challenge_method=S256`, and one of `provider`, `connection_id`,
 *   `organization_id`): signs the user in at once, 302 back to `redirect_uri` with `code` and
 *   `state` (a registered redirect URI only; otherwise a 400 page, never a redirect).
 * - `POST /user_management/authenticate`, a JSON body: `grant_type=authorization_code` (`client_id`,
 *   `client_secret` for a confidential client, `code`, `code_verifier`, required without a secret
 *   and checked against the challenge whenever one was sent; codes are single-use and expire) or
 *   `grant_type=refresh_token` (rotating refresh tokens: each refresh revokes the one it used).
 *   The answer is `{ user, organization_id?, access_token, refresh_token, authentication_method,
 *   impersonator?, oauth_tokens? }`, never an ID token; the `access_token` is an RS256 JWT
 *   (`iss`, `sub` = `user.id`, `sid`, `jti`, `org_id`, `role`, `permissions`, `iat`, `exp`).
 *   Refusals are `{ error, error_description }` (`invalid_client` 401, `invalid_grant` 400,
 *   `invalid_request` 400), the description quoting the code it refused, as WorkOS's does.
 * - `GET /sso/jwks/{clientId}`: the client's signing keys.
 * - `GET /user_management/sessions/logout?session_id=…&return_to=…`: ends the session (its
 *   refresh tokens stop working) and redirects to `return_to`.
 *
 * Every request is recorded ({@link WorkOSProvider.requests}: method, path, query, headers, raw
 * body, JSON body), and each piece misbehaves on demand through {@link WorkOSProvider.behaviour};
 * `reset()` restores the defaults between tests.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Response } from 'express';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { edited, recordRequests, s256, startFakeServer, type RecordedRequest as Recorded } from './fake-server.js';

/** A WorkOS `user` object (User Management API). */
export interface WorkOSUser {
  object: 'user';
  id: string;
  email: string;
  email_verified: boolean;
  first_name: string | null;
  last_name: string | null;
  profile_picture_url: string | null;
  created_at: string;
  updated_at: string;
  [field: string]: unknown;
}

/** How `/user_management/authenticate` answers a code grant. */
export type AuthenticateMode =
  /** Checks the grant: a valid answer, or the refusal WorkOS would give. */
  | 'ok'
  /** 500 with a JSON `{ message }`. */
  | 'error-500'
  /** 200 with an HTML page (holding a token-like string, to catch it being echoed). */
  | 'html'
  /** 200, `application/json`, a body that is not JSON (holding a token-like string). */
  | 'malformed-json'
  /** A valid answer without its `user` member. */
  | 'no-user'
  /** Never answers. */
  | 'hang';

/** How `/user_management/authenticate` answers a refresh token grant. */
export type RefreshMode =
  /** Checks the refresh token (issued, not rotated away, its session not ended); rotates it. */
  | 'ok'
  /** 400 `invalid_grant`, as for a revoked refresh token. */
  | 'invalid_grant'
  | 'error-500'
  | 'hang';

/** What is wrong with the access token of a successful answer (code grant or refresh). */
export type AccessTokenMode =
  | 'ok'
  /** Signed by a key the JWKS does not publish, with the published key's `kid`. */
  | 'unknown-key'
  /** Its `sub` is another user's id than the `user` object's. */
  | 'wrong-sub'
  /** `exp` ten minutes ago. */
  | 'expired'
  /** HS256 with the client secret as key (an algorithm downgrade). */
  | 'hs256'
  /** Not a JWT at all (an opaque string). */
  | 'opaque';

/** How `/sso/jwks/{clientId}` answers. */
export type JwksMode = 'ok' | 'error-500' | 'hang';

export interface WorkOSBehaviour {
  /** `ok`: a code; `access_denied`: the user cancelled (`error=access_denied` with a description). */
  authorize: 'ok' | 'access_denied';
  authenticate: AuthenticateMode;
  refresh: RefreshMode;
  accessToken: AccessTokenMode;
  jwks: JwksMode;
  /** Lifetime of each access token, in seconds (its `exp` − `iat`). Default 300, as WorkOS's. */
  accessTokenTtl: number;
  /** Lifetime of an authorization code, in seconds. Default 600, as WorkOS's (10 minutes). */
  codeTtl: number;
  /** The signed-in user's fields over the default user's; `undefined` removes one. */
  user: Record<string, unknown>;
  /**
   * `organization_id` of the answer (and `org_id` of the access token). Default: the
   * authorization request's `organization_id`, else none.
   */
  organizationId: string | undefined;
  /** `authentication_method` of a code grant's answer. Default `'GoogleOAuth'`. */
  authenticationMethod: string;
  /** `impersonator` of the answer (code grants and refreshes). Default none. */
  impersonator: { email: string; reason?: string | null } | undefined;
  /** `oauth_tokens` of a code grant's answer (the upstream provider's tokens). Default none. */
  oauthTokens: Record<string, unknown> | undefined;
  /** Claims over the access token's own, e.g. `{ role: 'admin', permissions: ['posts:read'] }`; `undefined` removes one. */
  accessTokenClaims: Record<string, unknown>;
  /** Members over the whole answer (code grants and refreshes); `undefined` removes one. */
  responseExtras: Record<string, unknown>;
}

/** A client registered at the fake. */
export interface WorkOSClient {
  clientId: string;
  /** The API key a confidential client authenticates with; none: a public client (PKCE only). */
  clientSecret?: string;
  redirectUris: string[];
  /** Where `sessions/logout` may send the browser back to (WorkOS's sign-out redirects). */
  logoutRedirectUris: string[];
}

/** One HTTP request the fake received. */
export interface RecordedRequest extends Recorded {
  /** The body parsed as JSON, when it was JSON. */
  json: Record<string, unknown> | undefined;
}

/** Everything secret the fake handed out, for leak checks. */
export interface Issued {
  codes: string[];
  accessTokens: string[];
  refreshTokens: string[];
}

export interface WorkOSProvider {
  /** `http://localhost:<port>`: the `apiBaseURL`. */
  readonly baseURL: string;
  readonly server: Server;
  /** Mutable: what the next requests get. */
  behaviour: WorkOSBehaviour;
  /** Every request, in order. */
  readonly requests: RecordedRequest[];
  /** The requests to `path` (e.g. `/user_management/authenticate`), in order. */
  requestsTo(path: string): RecordedRequest[];
  /** The authenticate requests with `grant_type=refresh_token`, in order. */
  refreshRequests(): RecordedRequest[];
  readonly issued: Issued;
  /** Every code and token issued so far, and the registered secrets. */
  secrets(): string[];
  /** Registers `client` (or replaces the one with its `clientId`). */
  register(client: WorkOSClient): void;
  /** The ids of the sessions `sessions/logout` ended. */
  readonly endedSessions: string[];
  /** The default user with {@link WorkOSBehaviour.user} over it: what the next answer's `user` is. */
  currentUser(): WorkOSUser;
  /** Defaults, no records, no pending codes, no valid refresh tokens; `issued` is kept. */
  reset(): void;
  close(): Promise<void>;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string | null;
  organizationId: string | null;
  expiresAt: number;
}

interface SessionGrant {
  sid: string;
  clientId: string;
  organizationId: string | undefined;
}

export const DEFAULT_USER: WorkOSUser = {
  object: 'user',
  id: 'user_01HXYZ7QW5Q9B8C0D1E2F3G4H5',
  email: 'marcelina.davis@example.com',
  email_verified: true,
  first_name: 'Marcelina',
  last_name: 'Davis',
  profile_picture_url: 'https://workoscdn.example/images/v1/123abc',
  created_at: '2021-06-25T19:07:33.155Z',
  updated_at: '2021-06-25T19:07:33.155Z',
};

export function defaultBehaviour(): WorkOSBehaviour {
  return {
    authorize: 'ok',
    authenticate: 'ok',
    refresh: 'ok',
    accessToken: 'ok',
    jwks: 'ok',
    accessTokenTtl: 300,
    codeTtl: 600,
    user: {},
    organizationId: undefined,
    authenticationMethod: 'GoogleOAuth',
    impersonator: undefined,
    oauthTokens: undefined,
    accessTokenClaims: {},
    responseExtras: {},
  };
}

function id(prefix: string): string {
  return `${prefix}_01${randomBytes(12).toString('hex').toUpperCase()}`;
}

/** A refusal in WorkOS's OAuth shape. */
function refuse(res: Response, status: number, error: string, description: string): void {
  res.status(status).json({ error, error_description: description });
}

/** A body that looks like a leaked token, to catch an error message or log that echoes the provider's answer. */
const TOKEN_BAIT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiYWl0In0.c2lnbmF0dXJl';

export async function startWorkOSProvider(options: { clients?: WorkOSClient[] } = {}): Promise<WorkOSProvider> {
  const fake = await startFakeServer();
  const { baseURL, server, app, hanging } = fake;
  const clients = new Map((options.clients ?? []).map((c) => [c.clientId, c]));
  const secretsSeen = new Set<string>();

  const kid = 'sso_oidc_key_pair_01FAKE';
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, use: 'sig', alg: 'RS256' };
  /** A key the JWKS never publishes (made now: an RSA key takes too long to make within a request's timeout). */
  const strangerKey: CryptoKey = (await generateKeyPair('RS256')).privateKey;

  let behaviour = defaultBehaviour();
  const requests: RecordedRequest[] = [];
  const issued: Issued = { codes: [], accessTokens: [], refreshTokens: [] };
  const endedSessions: string[] = [];
  let codes = new Map<string, PendingCode>();
  let refreshTokens = new Map<string, SessionGrant>();

  function currentUser(): WorkOSUser {
    return edited(DEFAULT_USER, behaviour.user);
  }

  async function accessToken(user: WorkOSUser, grant: SessionGrant): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const mode = behaviour.accessToken;
    if (mode === 'opaque') return randomBytes(24).toString('base64url');
    const claims = edited({
      iss: baseURL,
      sub: mode === 'wrong-sub' ? 'user_01SOMEONEELSE0000000000000' : user.id,
      sid: grant.sid,
      jti: id('jti'),
      ...(grant.organizationId !== undefined && { org_id: grant.organizationId, role: 'member', permissions: [] }),
      iat: mode === 'expired' ? now - 900 : now,
      exp: mode === 'expired' ? now - 600 : now + behaviour.accessTokenTtl,
    }, behaviour.accessTokenClaims);
    if (mode === 'hs256') {
      const secret = clients.get(grant.clientId)?.clientSecret ?? 'no-secret';
      return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode(secret));
    }
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(mode === 'unknown-key' ? strangerKey : privateKey);
  }

  /** The successful answer for `grant`; `authenticationMethod` only on a code grant. */
  async function answer(grant: SessionGrant, codeGrant: boolean): Promise<Record<string, unknown>> {
    const user = currentUser();
    const token = await accessToken(user, grant);
    const refreshToken = randomBytes(18).toString('base64url');
    refreshTokens.set(refreshToken, grant);
    issued.accessTokens.push(token);
    issued.refreshTokens.push(refreshToken);
    return edited({
      user,
      ...(grant.organizationId !== undefined && { organization_id: grant.organizationId }),
      access_token: token,
      refresh_token: refreshToken,
      ...(codeGrant && { authentication_method: behaviour.authenticationMethod }),
      ...(behaviour.impersonator !== undefined && { impersonator: behaviour.impersonator }),
      ...(codeGrant && behaviour.oauthTokens !== undefined && { oauth_tokens: behaviour.oauthTokens }),
    }, behaviour.responseExtras);
  }

  /** Client authentication of WorkOS: a confidential client's secret, or (without one) PKCE. `undefined` when refused (answered). */
  function authenticateClient(res: Response, body: Record<string, unknown>): WorkOSClient | undefined {
    const client = typeof body.client_id === 'string' ? clients.get(body.client_id) : undefined;
    if (client === undefined) {
      refuse(res, 401, 'invalid_client', 'Invalid client ID.');
      return undefined;
    }
    if (body.client_secret !== undefined) {
      if (client.clientSecret === undefined || body.client_secret !== client.clientSecret) {
        refuse(res, 401, 'invalid_client', 'Invalid client secret.');
        return undefined;
      }
    } else if (client.clientSecret !== undefined && body.grant_type === 'refresh_token') {
      // A confidential client's refresh needs its secret.
      refuse(res, 401, 'invalid_client', 'Invalid client secret.');
      return undefined;
    }
    return client;
  }

  recordRequests(fake, requests, (record) => {
    let json: Record<string, unknown> | undefined;
    if (/^application\/json/.test(record.headers['content-type'] ?? '')) {
      try {
        json = JSON.parse(record.body) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
    }
    return { ...record, json };
  });

  app.get('/user_management/authorize', (req, res) => {
    const q = new URL(req.originalUrl, baseURL).searchParams;
    const client = clients.get(q.get('client_id') ?? '');
    const redirectUri = q.get('redirect_uri') ?? '';
    // Never redirect to an unregistered URI: an open redirector would carry the code away.
    if (client === undefined) {
      res.status(400).type('html').send('<!doctype html><title>Error</title><p>Invalid client ID.</p>');
      return;
    }
    if (!client.redirectUris.includes(redirectUri)) {
      res.status(400).type('html').send('<!doctype html><title>Error</title><p>Invalid redirect URI.</p>');
      return;
    }
    const back = new URL(redirectUri);
    const state = q.get('state');
    if (state !== null) back.searchParams.set('state', state);
    const fail = (error: string, description: string): void => {
      back.searchParams.set('error', error);
      back.searchParams.set('error_description', description);
      res.redirect(302, back.href);
    };
    if (q.get('response_type') !== 'code') return fail('invalid_request', 'response_type must be code');
    if (behaviour.authorize === 'access_denied') return fail('access_denied', 'The user cancelled the sign-in <script>');
    if (!q.has('provider') && !q.has('connection_id') && !q.has('organization_id')) {
      return fail('invalid_request', 'One of provider, connection_id or organization_id is required');
    }
    const challenge = q.get('code_challenge');
    if (challenge !== null && q.get('code_challenge_method') !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
    const code = randomBytes(16).toString('base64url').toUpperCase();
    codes.set(code, {
      clientId: client.clientId,
      redirectUri,
      codeChallenge: challenge,
      organizationId: q.get('organization_id'),
      expiresAt: Date.now() / 1000 + behaviour.codeTtl,
    });
    issued.codes.push(code);
    back.searchParams.set('code', code);
    res.redirect(302, back.href);
  });

  app.post('/user_management/authenticate', async (req, res) => {
    const body = (res.locals.record as RecordedRequest).json;
    if (body === undefined || body === null || typeof body !== 'object') {
      refuse(res, 400, 'invalid_request', 'The request body must be JSON.');
      return;
    }
    const refreshing = body.grant_type === 'refresh_token';
    const mode = refreshing ? behaviour.refresh : behaviour.authenticate;
    switch (mode) {
      case 'hang':
        hanging.add(res);
        return;
      case 'error-500':
        res.status(500).json({ message: 'Internal Server Error' });
        return;
      case 'html':
        res.status(200).type('html').send(`<!doctype html><title>Maintenance</title><p>${TOKEN_BAIT}</p>`);
        return;
      case 'malformed-json':
        res.status(200).type('application/json').send(`{"access_token":"${TOKEN_BAIT}",`);
        return;
      case 'invalid_grant':
        refuse(res, 400, 'invalid_grant', 'Refresh token is invalid or has been revoked.');
        return;
      default:
        break;
    }
    const client = authenticateClient(res, body);
    if (client === undefined) return;

    if (refreshing) {
      const token = typeof body.refresh_token === 'string' ? body.refresh_token : '';
      const grant = refreshTokens.get(token);
      if (grant === undefined || grant.clientId !== client.clientId || endedSessions.includes(grant.sid)) {
        refuse(res, 400, 'invalid_grant', `Refresh token '${token}' is invalid or has been revoked.`);
        return;
      }
      refreshTokens.delete(token); // rotation: a refresh token is good for one refresh
      const organizationId = typeof body.organization_id === 'string' ? body.organization_id : behaviour.organizationId ?? grant.organizationId;
      res.json(await answer({ ...grant, organizationId }, false));
      return;
    }

    if (body.grant_type !== 'authorization_code') {
      refuse(res, 400, 'unsupported_grant_type', 'grant_type must be authorization_code or refresh_token.');
      return;
    }
    if (body.client_secret === undefined && typeof body.code_verifier !== 'string') {
      refuse(res, 400, 'invalid_request', 'code_verifier is required when client_secret is not present.');
      return;
    }
    const code = typeof body.code === 'string' ? body.code : '';
    const pending = codes.get(code);
    codes.delete(code); // single use, whatever the outcome
    if (pending === undefined || pending.clientId !== client.clientId || pending.expiresAt < Date.now() / 1000) {
      refuse(res, 400, 'invalid_grant', `The code '${code}' has expired or is invalid.`);
      return;
    }
    if (pending.codeChallenge !== null || body.code_verifier !== undefined) {
      const verifier = typeof body.code_verifier === 'string' ? body.code_verifier : '';
      const computed = s256(verifier);
      if (pending.codeChallenge === null || computed !== pending.codeChallenge) {
        refuse(res, 400, 'invalid_grant', 'The code_verifier does not match the code_challenge.');
        return;
      }
    }
    const organizationId = behaviour.organizationId ?? pending.organizationId ?? undefined;
    const full = await answer({ sid: id('session'), clientId: client.clientId, organizationId }, true);
    if (behaviour.authenticate === 'no-user') delete full.user;
    res.json(full);
  });

  app.get('/sso/jwks/:clientId', (req, res) => {
    if (behaviour.jwks === 'hang') {
      hanging.add(res);
      return;
    }
    if (behaviour.jwks === 'error-500') {
      res.status(500).type('text').send('Internal Server Error');
      return;
    }
    if (!clients.has(req.params.clientId)) {
      res.status(404).json({ message: 'Not Found' });
      return;
    }
    res.json({ keys: [publicJwk] });
  });

  app.get('/user_management/sessions/logout', (req, res) => {
    const q = new URL(req.originalUrl, baseURL).searchParams;
    const sid = q.get('session_id');
    const returnTo = q.get('return_to');
    if (sid === null) {
      res.status(400).json({ message: 'session_id is required' });
      return;
    }
    endedSessions.push(sid);
    const allowed = returnTo !== null && [...clients.values()].some((c) => c.logoutRedirectUris.includes(returnTo));
    if (allowed) res.redirect(302, returnTo);
    else res.status(200).type('html').send('<!doctype html><title>Signed out</title>');
  });

  return {
    baseURL,
    server,
    get behaviour() {
      return behaviour;
    },
    set behaviour(value) {
      behaviour = value;
    },
    requests,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    refreshRequests: () => requests.filter((r) => r.path === '/user_management/authenticate' && r.json?.grant_type === 'refresh_token'),
    issued,
    secrets: () => [
      ...issued.codes, ...issued.accessTokens, ...issued.refreshTokens,
      ...[...clients.values()].flatMap((c) => (c.clientSecret === undefined ? [] : [c.clientSecret])), ...secretsSeen,
    ],
    register(client) {
      clients.set(client.clientId, client);
      if (client.clientSecret !== undefined) secretsSeen.add(client.clientSecret);
    },
    endedSessions,
    currentUser,
    reset() {
      behaviour = defaultBehaviour();
      requests.length = 0;
      endedSessions.length = 0;
      codes = new Map();
      refreshTokens = new Map();
      fake.dropHanging();
    },
    close: () => fake.close(),
  };
}
