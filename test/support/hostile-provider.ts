/**
 * A controllable, hostile OpenID Provider for negative tests: real HTTP on 127.0.0.1, issuer
 * `http://localhost:<port>`, RS256 ID tokens signed with its own `jose` key.
 *
 * By default it behaves like a small, strict, correct provider: discovery, JWKS, an
 * authorization endpoint that signs the user in at once (302 back to `redirect_uri` with `code`,
 * `state` and `iss`, RFC 9207), and a token endpoint that checks the grant (client
 * authentication, single-use code, `redirect_uri`, PKCE S256) and returns a valid ID token.
 * Every piece misbehaves on demand: a test mutates {@link HostileProvider.behaviour} before the
 * request it wants to break, and reads {@link HostileProvider.requests} and the recorded
 * requests afterwards. `reset()` restores the defaults between tests.
 *
 * For ID token tests, the token is built from parts a test can each change: its claims
 * ({@link Behaviour.claims}, {@link Behaviour.transformClaims}), its JWS protected header
 * ({@link Behaviour.header}), the algorithm and key it is signed with ({@link Behaviour.alg},
 * {@link Behaviour.signingKey}, HS256 with the client secret as key), and the keys the JWKS
 * publishes ({@link HostileProvider.createKey}, {@link HostileProvider.rotateKey}, also right
 * before one ID token is signed: {@link Behaviour.rotateBeforeSigning}). The discovery document
 * can be edited field by field ({@link Behaviour.metadata}), and a userinfo endpoint
 * (OpenID Connect Core 1.0 §5.3) answers with claims a test can change ({@link Behaviour.userinfoClaims}).
 *
 * The token endpoint also serves the refresh token grant (RFC 6749 §6): each successful code
 * exchange issues a refresh token it then accepts, and how a refresh is answered is a test's to
 * choose ({@link Behaviour.refresh}): rotate the refresh token or keep it
 * ({@link Behaviour.rotateRefreshToken}), send a new ID token or none ({@link Behaviour.refreshIdToken};
 * a new one is shaped by the same {@link Behaviour.claims} and {@link IdTokenMode} as the login's,
 * so a test can change its `sub` or `iss`), refuse it, fail, or hang. The refresh requests are
 * recorded with the others ({@link HostileProvider.refreshRequests}).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import express, { type Request, type Response } from 'express';
import type { CryptoKey, JWK } from 'jose';
import { basicCredentials, edited, s256, startFakeServer } from './fake-server.js';
import {
  defaultBehaviour,
  type AuthorizeRecord, type Behaviour, type Endpoint, type Issued, type RequestCounts, type TokenRequestRecord, type UserinfoRequestRecord,
} from './hostile-behaviour.js';
import { KeyPairs, newKey, signCompact, type ProviderKey, type SigningAlg } from './hostile-keys.js';

export type * from './hostile-behaviour.js';
export type { ProviderKey, SigningAlg } from './hostile-keys.js';

/** What the provider knows about a refresh token it issued and still accepts. */
interface RefreshGrant {
  /** When the user signed in, in seconds since the epoch: the `auth_time` of refreshed ID tokens (OpenID Connect Core 1.0 §12.2). */
  authTime: number;
  /** The `aud` of refreshed ID tokens: the client the login was for. */
  aud: string;
}

export interface HostileProviderOptions {
  /** The client allowed at the token endpoint; any client_id when omitted. */
  clientId?: string;
  /** When given, the token endpoint (mode `ok`) requires `client_secret_basic` with it. */
  clientSecret?: string;
  /** The signed-in user's claims. Default `sub` `mallory`, `name` `Mallory Hostile`, `email` `mallory@example.test`. */
  user?: { sub: string; name: string; email: string };
  /** `picture` in the userinfo response (not in the ID token). Default `https://pictures.example.test/mallory.png`. */
  picture?: string;
}

export interface HostileProvider {
  /** `http://localhost:<port>` */
  readonly issuer: string;
  readonly server: Server;
  /** Mutable: what the next requests get. */
  behaviour: Behaviour;
  readonly requests: RequestCounts;
  readonly authorizeRequests: AuthorizeRecord[];
  /** Every request to `/token`, code exchanges and refreshes, in order. */
  readonly tokenRequests: TokenRequestRecord[];
  /** The requests to `/token` with `grant_type=refresh_token`, in order (a subset of {@link HostileProvider.tokenRequests}). */
  refreshRequests(): TokenRequestRecord[];
  readonly userinfoRequests: UserinfoRequestRecord[];
  readonly issued: Issued;
  /** Every code and token issued so far, for leak checks. */
  secrets(): string[];
  /** The keys `/jwks` publishes now, in order. */
  jwks(): JWK[];
  /** The key ID tokens of `alg` are signed with now (`undefined`: no ES256 key yet). */
  signingKey(alg?: ProviderKey['alg']): ProviderKey | undefined;
  /**
   * A new key with a new `kid`. Published (added to the JWKS) unless `publish: false`; never
   * made the signing key: sign with it through {@link Behaviour.signingKey}.
   */
  createKey(alg?: ProviderKey['alg'], options?: { publish?: boolean }): Promise<ProviderKey>;
  /**
   * Key rotation: a new key of `alg` (default `RS256`) with a new `kid` becomes the signing key
   * and is published; every other key of `alg` is removed from the JWKS.
   */
  rotateKey(alg?: ProviderKey['alg']): Promise<ProviderKey>;
  /**
   * Default behaviour, zero counts, no request records, no pending codes, no valid refresh tokens, and the start-up key set
   * (the first RS256 key, signing and alone in the JWKS). `issued` is kept, so leak checks cover
   * every earlier test. An app that cached a rotated JWKS still holds it: start a new app after a rotation.
   */
  reset(): void;
  close(): Promise<void>;
}

interface PendingCode {
  /** When `/authorize` signed the user in, in seconds since the epoch (the ID token's `auth_time`). */
  authTime: number;
  clientId: string | null;
  redirectUri: string;
  nonce: string | null;
  codeChallenge: string | null;
  codeChallengeMethod: string | null;
}

const KID = 'hostile-rs256';

function random(): string {
  return randomBytes(24).toString('base64url');
}

export async function startHostileProvider(options: HostileProviderOptions = {}): Promise<HostileProvider> {
  const user = options.user ?? { sub: 'mallory', name: 'Mallory Hostile', email: 'mallory@example.test' };
  const fake = await startFakeServer();
  const { server, app } = fake;
  const issuer = fake.baseURL;

  const picture = options.picture ?? 'https://pictures.example.test/mallory.png';

  const pairs = new KeyPairs();
  const initialKey = await newKey(pairs, 'RS256', KID);
  const impostor = await pairs.next('RS256');
  /** The current signing key per algorithm, and the published keys (the JWKS), in order. */
  const signingKeys: Partial<Record<ProviderKey['alg'], ProviderKey>> = { RS256: initialKey };
  let published: ProviderKey[] = [initialKey];
  let keyCount = 0;
  function nextKid(alg: ProviderKey['alg']): string {
    keyCount++;
    return `hostile-${alg.toLowerCase()}-${keyCount}`;
  }

  const requests: RequestCounts = { discovery: 0, jwks: 0, authorize: 0, token: 0, userinfo: 0, endSession: 0 };
  const authorizeRequests: AuthorizeRecord[] = [];
  const tokenRequests: TokenRequestRecord[] = [];
  const userinfoRequests: UserinfoRequestRecord[] = [];
  const issued: Issued = { codes: [], accessTokens: [], refreshTokens: [], idTokens: [] };
  const pending = new Map<string, PendingCode>();
  /** Refresh tokens the token endpoint accepts: issued since the last reset, and not rotated away. */
  const refreshGrants = new Map<string, RefreshGrant>();
  /** Access tokens the userinfo endpoint accepts: those of successful token responses since the last reset. */
  const activeAccessTokens = new Set<string>();

  const provider: HostileProvider = {
    issuer,
    server,
    behaviour: defaultBehaviour(),
    requests,
    authorizeRequests,
    tokenRequests,
    refreshRequests: () => tokenRequests.filter((r) => r.params.get('grant_type') === 'refresh_token'),
    userinfoRequests,
    issued,
    secrets: () => [...issued.codes, ...issued.accessTokens, ...issued.refreshTokens, ...issued.idTokens],
    jwks: () => published.map((key) => key.publicJwk),
    signingKey: (alg = 'RS256') => signingKeys[alg],
    async createKey(alg = 'RS256', { publish = true } = {}) {
      const key = await newKey(pairs, alg, nextKid(alg));
      if (publish) published.push(key);
      return key;
    },
    async rotateKey(alg = 'RS256') {
      const key = await newKey(pairs, alg, nextKid(alg));
      signingKeys[alg] = key;
      published = [...published.filter((k) => k.alg !== alg), key];
      return key;
    },
    reset() {
      provider.behaviour = defaultBehaviour();
      for (const key of Object.keys(requests) as (keyof RequestCounts)[]) requests[key] = 0;
      authorizeRequests.length = 0;
      tokenRequests.length = 0;
      userinfoRequests.length = 0;
      pending.clear();
      refreshGrants.clear();
      activeAccessTokens.clear();
      for (const alg of Object.keys(signingKeys) as ProviderKey['alg'][]) delete signingKeys[alg];
      signingKeys.RS256 = initialKey;
      published = [initialKey];
    },
    close: () => fake.close(),
  };

  function discoveryDocument(iss: string): Record<string, unknown> {
    return edited({
      issuer: iss,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      userinfo_endpoint: `${issuer}/userinfo`,
      jwks_uri: `${issuer}/jwks`,
      ...(provider.behaviour.endSession && { end_session_endpoint: `${issuer}/session/end` }),
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: options.clientSecret === undefined ? ['none'] : ['client_secret_basic'],
      scopes_supported: ['openid', 'profile', 'email'],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'name', 'email', 'email_verified', 'picture'],
      authorization_response_iss_parameter_supported: true,
    }, provider.behaviour.metadata);
  }

  /** An ID token for the login `record` describes (`nonce` `null`: none, as in a refreshed ID token). */
  async function idToken(record: Pick<PendingCode, 'authTime' | 'nonce'>, aud: string, accessToken: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const b = provider.behaviour;
    const mode = b.idToken;
    let claims: Record<string, unknown> = edited({
      iss: mode === 'wrong-iss' ? `${issuer}/impostor` : b.issuerIdentifier ?? issuer,
      sub: user.sub,
      aud: mode === 'wrong-aud' ? 'some-other-client' : aud,
      iat: mode === 'expired' ? now - 7200 : now,
      exp: mode === 'expired' ? now - 3600 : now + 3600,
      auth_time: record.authTime,
      ...(mode === 'wrong-nonce' ? { nonce: random() } : record.nonce !== null && { nonce: record.nonce }),
      name: user.name,
      email: user.email,
      email_verified: true,
      ...(b.atHash !== 'none' && { at_hash: createHash('sha256').update(b.atHash === 'correct' ? accessToken : random()).digest().subarray(0, 16).toString('base64url') }),
    }, b.claims);
    if (b.transformClaims !== undefined) claims = b.transformClaims(claims);

    if (b.rotateBeforeSigning) {
      b.rotateBeforeSigning = false;
      await provider.rotateKey('RS256');
    }
    const alg: SigningAlg = mode === 'alg-none' ? 'none' : b.signingKey?.alg ?? b.alg;
    let key: CryptoKey | string | undefined;
    let kid: string | undefined;
    if (alg === 'HS256') {
      if (options.clientSecret === undefined) throw new Error('hostile provider: HS256 needs the clientSecret option (its HMAC key)');
      key = options.clientSecret;
    } else if (alg === 'RS256' || alg === 'ES256') {
      const own = b.signingKey ?? signingKeys[alg] ?? (await provider.rotateKey(alg));
      kid = own.kid;
      key = mode === 'bad-signature' ? impostor.privateKey : own.privateKey;
    }
    const header = edited({ alg, ...(kid !== undefined && { kid }), typ: 'JWT' }, b.header);
    return signCompact(header, claims, alg, key);
  }

  function oauthError(res: Response, status: number, error: string, description: string): void {
    res.status(status).set('Cache-Control', 'no-store').json({ error, error_description: description });
  }

  /** Client authentication as a correct provider checks it (RFC 6749 §2.3.1); `false` when it sent the error. */
  function checkClient(req: Request, res: Response, params: URLSearchParams): boolean {
    const credentials = basicCredentials(req.headers.authorization);
    if (options.clientSecret !== undefined) {
      if (credentials === undefined || credentials.id !== options.clientId || credentials.secret !== options.clientSecret) {
        res.set('WWW-Authenticate', 'Basic realm="hostile-provider"');
        oauthError(res, 401, 'invalid_client', 'client authentication failed');
        return false;
      }
    } else if (options.clientId !== undefined && params.get('client_id') !== options.clientId) {
      oauthError(res, 401, 'invalid_client', 'unknown client');
      return false;
    }
    return true;
  }

  /** The checks of a correct provider (RFC 6749 §4.1.3, §2.3.1; RFC 7636 §4.6); the error it sends, or the code's record. */
  function checkGrant(req: Request, res: Response, params: URLSearchParams): PendingCode | undefined {
    if (!checkClient(req, res, params)) return undefined;
    if (params.get('grant_type') !== 'authorization_code') {
      oauthError(res, 400, 'unsupported_grant_type', 'only authorization_code');
      return undefined;
    }
    const code = params.get('code') ?? '';
    const record = pending.get(code);
    pending.delete(code);
    if (record === undefined) {
      oauthError(res, 400, 'invalid_grant', 'unknown or used code');
      return undefined;
    }
    if (params.get('redirect_uri') !== record.redirectUri) {
      oauthError(res, 400, 'invalid_grant', 'redirect_uri mismatch');
      return undefined;
    }
    const verifier = params.get('code_verifier');
    if (record.codeChallenge !== null && (record.codeChallengeMethod !== 'S256' || verifier === null || s256(verifier) !== record.codeChallenge)) {
      oauthError(res, 400, 'invalid_grant', 'PKCE verification failed');
      return undefined;
    }
    return record;
  }

  /** Runs the endpoint's override, when the test set one; `true` when it did. */
  async function overridden(endpoint: Endpoint, req: Request, res: Response): Promise<boolean> {
    const override = provider.behaviour.overrides[endpoint];
    if (override === undefined) return false;
    await override(req, res);
    return true;
  }

  app.get('/.well-known/openid-configuration', async (req, res) => {
    requests.discovery++;
    if (await overridden('discovery', req, res)) return;
    switch (provider.behaviour.discovery) {
      case 'hang':
        return;
      case 'error-500':
        res.status(500).type('text').send('Internal Server Error');
        return;
      case 'html':
        res.type('html').send('<!doctype html><html><body><h1>Welcome to our portal</h1></body></html>');
        return;
      case 'wrong-issuer':
        res.json(discoveryDocument(`${issuer}/other-tenant`));
        return;
      case 'issuer-trailing-slash':
        res.json(discoveryDocument(`${issuer}/`));
        return;
      case 'ok':
        res.json(discoveryDocument(provider.behaviour.issuerIdentifier ?? issuer));
    }
  });

  app.get('/jwks', async (req, res) => {
    requests.jwks++;
    if (await overridden('jwks', req, res)) return;
    switch (provider.behaviour.jwks) {
      case 'hang':
        return;
      case 'error-500':
        res.status(500).type('text').send('Internal Server Error');
        return;
      case 'ok':
        res.type('application/jwk-set+json').send(JSON.stringify({ keys: provider.jwks() }));
    }
  });

  app.get('/authorize', async (req, res) => {
    requests.authorize++;
    const params = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
    if (await overridden('authorize', req, res)) {
      authorizeRequests.push({ params, code: undefined });
      return;
    }
    const redirectUri = params.get('redirect_uri');
    let target: URL;
    try {
      target = new URL(redirectUri ?? '');
    } catch {
      authorizeRequests.push({ params, code: undefined });
      res.status(400).type('text').send('invalid redirect_uri');
      return;
    }
    const mode = provider.behaviour.authorize;
    let code: string | undefined;
    if (mode === 'access_denied') {
      target.searchParams.set('error', 'access_denied');
      target.searchParams.set('error_description', provider.behaviour.errorDescription);
    } else {
      code = random();
      issued.codes.push(code);
      pending.set(code, {
        authTime: Math.floor(Date.now() / 1000),
        clientId: params.get('client_id'),
        redirectUri: redirectUri!,
        nonce: params.get('nonce'),
        codeChallenge: params.get('code_challenge'),
        codeChallengeMethod: params.get('code_challenge_method'),
      });
      target.searchParams.set('code', code);
    }
    authorizeRequests.push({ params, code });
    const state = params.get('state');
    if (state !== null) target.searchParams.set('state', state);
    if (mode === 'wrong-iss') target.searchParams.set('iss', `${issuer}/impostor`);
    else if (mode !== 'no-iss') target.searchParams.set('iss', provider.behaviour.issuerIdentifier ?? issuer);
    res.redirect(302, target.href);
  });

  /** A new refresh token for `grant`, which the token endpoint accepts from now on. */
  function issueRefreshToken(grant: RefreshGrant): string {
    const refreshToken = random();
    issued.refreshTokens.push(refreshToken);
    refreshGrants.set(refreshToken, grant);
    return refreshToken;
  }

  /** A refresh token grant (RFC 6749 §6), answered as {@link Behaviour.refresh} says. */
  async function refresh(req: Request, res: Response, params: URLSearchParams): Promise<void> {
    const b = provider.behaviour;
    switch (b.refresh) {
      case 'hang':
        return;
      case 'invalid_grant':
        oauthError(res, 400, 'invalid_grant', 'The refresh token is invalid, expired or revoked');
        return;
      case 'error-500':
        res.status(500).type('text').send('Internal Server Error');
        return;
      case 'html': {
        const leaked = random();
        issued.accessTokens.push(leaked);
        res.type('html').send(`<!doctype html><html><body><p>Upstream said: access_token=${leaked}</p></body></html>`);
        return;
      }
      case 'ok': {
        if (!checkClient(req, res, params)) return;
        const presented = params.get('refresh_token') ?? '';
        const grant = refreshGrants.get(presented);
        if (grant === undefined) {
          oauthError(res, 400, 'invalid_grant', 'unknown, rotated or revoked refresh token');
          return;
        }
        let refreshToken: string | undefined;
        if (b.rotateRefreshToken) {
          refreshGrants.delete(presented);
          refreshToken = issueRefreshToken(grant);
        }
        const accessToken = random();
        issued.accessTokens.push(accessToken);
        activeAccessTokens.add(accessToken);
        let token: string | undefined;
        if (b.refreshIdToken) {
          token = await idToken({ authTime: grant.authTime, nonce: null }, grant.aud, accessToken);
          issued.idTokens.push(token);
        }
        res.set('Cache-Control', 'no-store').json({
          access_token: accessToken,
          token_type: 'Bearer',
          ...(b.expiresIn !== undefined && { expires_in: b.expiresIn }),
          ...(refreshToken !== undefined && { refresh_token: refreshToken }),
          ...(token !== undefined && { id_token: token }),
          scope: 'openid profile email',
          ...b.tokenResponseExtras,
        });
      }
    }
  }

  app.post('/token', express.text({ type: () => true }), async (req, res) => {
    requests.token++;
    const body = typeof req.body === 'string' ? req.body : '';
    const params = new URLSearchParams(body);
    tokenRequests.push({ headers: { ...req.headers }, body, params });
    if (await overridden('token', req, res)) return;
    if (params.get('grant_type') === 'refresh_token') {
      await refresh(req, res, params);
      return;
    }
    switch (provider.behaviour.token) {
      case 'hang':
        return;
      case 'invalid_grant':
        oauthError(res, 400, 'invalid_grant', 'The authorization code is invalid or expired');
        return;
      case 'invalid_client':
        res.set('WWW-Authenticate', 'Basic realm="hostile-provider"');
        oauthError(res, 401, 'invalid_client', 'client authentication failed');
        return;
      case 'not-json': {
        const leaked = random();
        issued.accessTokens.push(leaked);
        res.type('html').send(`<!doctype html><html><body><p>Upstream said: access_token=${leaked}</p></body></html>`);
        return;
      }
      case 'ok': {
        const record = checkGrant(req, res, params);
        if (record === undefined) return;
        const aud = options.clientId ?? record.clientId ?? params.get('client_id') ?? '';
        const accessToken = random();
        const refreshToken = issueRefreshToken({ authTime: record.authTime, aud });
        const token = await idToken(record, aud, accessToken);
        issued.accessTokens.push(accessToken);
        issued.idTokens.push(token);
        activeAccessTokens.add(accessToken);
        const { expiresIn } = provider.behaviour;
        res.set('Cache-Control', 'no-store').json({
          access_token: accessToken,
          token_type: 'Bearer',
          ...(expiresIn !== undefined && { expires_in: expiresIn }),
          refresh_token: refreshToken,
          id_token: token,
          scope: 'openid profile email',
          ...provider.behaviour.tokenResponseExtras,
        });
      }
    }
  });

  /**
   * OpenID Connect Core 1.0 §5.3: the access token as a Bearer token (RFC 6750 §2.1), by GET or
   * POST; 401 `invalid_token` (RFC 6750 §3.1) for a missing or unknown one.
   */
  async function userinfo(req: Request, res: Response): Promise<void> {
    requests.userinfo++;
    const body = typeof req.body === 'string' ? req.body : '';
    userinfoRequests.push({ method: req.method, headers: { ...req.headers }, body });
    if (await overridden('userinfo', req, res)) return;
    const token = /^Bearer ([\w\-.~+/]+=*)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined || !activeAccessTokens.has(token)) {
      res.status(401).set('WWW-Authenticate', 'Bearer error="invalid_token"').end();
      return;
    }
    const claims = { sub: user.sub, name: user.name, email: user.email, email_verified: true, picture };
    res.set('Cache-Control', 'no-store').json(edited(claims, provider.behaviour.userinfoClaims));
  }
  app.get('/userinfo', userinfo);
  app.post('/userinfo', express.text({ type: () => true }), userinfo);

  app.get('/session/end', async (req, res) => {
    requests.endSession++;
    if (await overridden('endSession', req, res)) return;
    const target = new URLSearchParams(req.originalUrl.split('?')[1] ?? '').get('post_logout_redirect_uri');
    if (target) res.redirect(302, target);
    else res.type('text').send('signed out');
  });

  return provider;
}
