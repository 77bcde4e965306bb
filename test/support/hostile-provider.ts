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
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { base64url, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/** How `/.well-known/openid-configuration` answers. */
export type DiscoveryMode =
  | 'ok'
  /** 500 with a plain-text body. */
  | 'error-500'
  /** 200 with an HTML page instead of JSON. */
  | 'html'
  /** A valid document whose `issuer` is not this provider's issuer identifier. */
  | 'wrong-issuer'
  /** Never answers. */
  | 'hang';

/** How `/jwks` answers. */
export type JwksMode = 'ok' | 'error-500' | 'hang';

/** How `/authorize` answers (always a 302 back to `redirect_uri`). */
export type AuthorizeMode =
  | 'ok'
  /** `error=access_denied` instead of a code. */
  | 'access_denied'
  /** A code, with an `iss` that is not the issuer. */
  | 'wrong-iss'
  /** A code, without `iss`. */
  | 'no-iss';

/** How `/token` answers. */
export type TokenMode =
  /** Checks the grant; a valid token response (its ID token shaped by {@link IdTokenMode}), or the RFC 6749 §5.2 error a correct provider would give. */
  | 'ok'
  /** 400 `{"error":"invalid_grant"}`. */
  | 'invalid_grant'
  /** 401 `{"error":"invalid_client"}` with `WWW-Authenticate: Basic` (RFC 6749 §5.2). */
  | 'invalid_client'
  /** 200 with an HTML page (which contains a token-like string, to catch it being echoed). */
  | 'not-json'
  /** Never answers. */
  | 'hang';

/** What is wrong with the ID token of a successful token response. */
export type IdTokenMode =
  | 'ok'
  /** Valid claims, `kid` of the provider's key, signed with another key. */
  | 'bad-signature'
  /** Unsecured JWS: `alg: none`, empty signature. */
  | 'alg-none'
  | 'wrong-iss'
  | 'wrong-aud'
  | 'wrong-nonce'
  /** `exp` an hour ago (far beyond any clock tolerance). */
  | 'expired';

/** The provider's endpoints, as counted in {@link RequestCounts}. */
export type Endpoint = 'discovery' | 'jwks' | 'authorize' | 'token' | 'endSession';

/** A hand-written answer for one endpoint; it replaces the endpoint's mode (the request is still counted and recorded). */
export type Override = (req: Request, res: Response) => void | Promise<void>;

export interface Behaviour {
  discovery: DiscoveryMode;
  jwks: JwksMode;
  authorize: AuthorizeMode;
  token: TokenMode;
  idToken: IdTokenMode;
  /** `error_description` sent with `authorize: 'access_denied'`. */
  errorDescription: string;
  /** Claims merged over the ID token's own, after {@link IdTokenMode} has shaped them. */
  claims: Record<string, unknown>;
  /** Advertise `end_session_endpoint` in discovery. */
  endSession: boolean;
  /** Per-endpoint answers that take precedence over the modes above. */
  overrides: Partial<Record<Endpoint, Override>>;
}

/** Requests received, per endpoint. */
export interface RequestCounts {
  discovery: number;
  jwks: number;
  authorize: number;
  token: number;
  endSession: number;
}

/** One request to `/authorize`. */
export interface AuthorizeRecord {
  params: URLSearchParams;
  /** The code it issued, when it issued one. */
  code: string | undefined;
}

/** One request to `/token`, as received. */
export interface TokenRequestRecord {
  headers: IncomingHttpHeaders;
  /** The raw request body. */
  body: string;
  /** The body parsed as `application/x-www-form-urlencoded`. */
  params: URLSearchParams;
}

/** Everything secret the provider handed out, so a test can check none of it leaks. */
export interface Issued {
  codes: string[];
  accessTokens: string[];
  refreshTokens: string[];
  idTokens: string[];
}

export interface HostileProviderOptions {
  /** The client allowed at the token endpoint; any client_id when omitted. */
  clientId?: string;
  /** When given, the token endpoint (mode `ok`) requires `client_secret_basic` with it. */
  clientSecret?: string;
  /** The signed-in user's claims. Default `sub` `mallory`, `name` `Mallory Hostile`, `email` `mallory@example.test`. */
  user?: { sub: string; name: string; email: string };
}

export interface HostileProvider {
  /** `http://localhost:<port>` */
  readonly issuer: string;
  readonly server: Server;
  /** Mutable: what the next requests get. */
  behaviour: Behaviour;
  readonly requests: RequestCounts;
  readonly authorizeRequests: AuthorizeRecord[];
  readonly tokenRequests: TokenRequestRecord[];
  readonly issued: Issued;
  /** Every code and token issued so far, for leak checks. */
  secrets(): string[];
  /** Default behaviour, zero counts, no request records, no pending codes. `issued` is kept, so leak checks cover every earlier test. */
  reset(): void;
  close(): Promise<void>;
}

interface PendingCode {
  clientId: string | null;
  redirectUri: string;
  nonce: string | null;
  codeChallenge: string | null;
  codeChallengeMethod: string | null;
}

const KID = 'hostile-rs256';

export function defaultBehaviour(): Behaviour {
  return {
    discovery: 'ok',
    jwks: 'ok',
    authorize: 'ok',
    token: 'ok',
    idToken: 'ok',
    errorDescription: 'The user denied the request',
    claims: {},
    endSession: true,
    overrides: {},
  };
}

function random(): string {
  return randomBytes(24).toString('base64url');
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/**
 * An issuer identifier on which nothing listens: a port that was free a moment ago on
 * 127.0.0.1, now closed.
 */
export async function closedPortIssuer(): Promise<string> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://localhost:${port}`;
}

/** `application/x-www-form-urlencoded` decoding of one value (RFC 6749 Appendix B). */
export function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}

/** The credentials of an `Authorization: Basic` header, each form-decoded (RFC 6749 §2.3.1); `undefined` when malformed. */
export function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

/** RFC 7636 §4.2: `BASE64URL(SHA256(ASCII(code_verifier)))`. */
export function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

export async function startHostileProvider(options: HostileProviderOptions = {}): Promise<HostileProvider> {
  const user = options.user ?? { sub: 'mallory', name: 'Mallory Hostile', email: 'mallory@example.test' };
  const server = createServer();
  const port = await listen(server);
  const issuer = `http://localhost:${port}`;

  const signing = await generateKeyPair('RS256', { extractable: true });
  const impostor = await generateKeyPair('RS256');
  const publicJwk: JWK = { ...(await exportJWK(signing.publicKey)), kid: KID, use: 'sig', alg: 'RS256' };

  const requests: RequestCounts = { discovery: 0, jwks: 0, authorize: 0, token: 0, endSession: 0 };
  const authorizeRequests: AuthorizeRecord[] = [];
  const tokenRequests: TokenRequestRecord[] = [];
  const issued: Issued = { codes: [], accessTokens: [], refreshTokens: [], idTokens: [] };
  const pending = new Map<string, PendingCode>();

  const provider: HostileProvider = {
    issuer,
    server,
    behaviour: defaultBehaviour(),
    requests,
    authorizeRequests,
    tokenRequests,
    issued,
    secrets: () => [...issued.codes, ...issued.accessTokens, ...issued.refreshTokens, ...issued.idTokens],
    reset() {
      provider.behaviour = defaultBehaviour();
      for (const key of Object.keys(requests) as (keyof RequestCounts)[]) requests[key] = 0;
      authorizeRequests.length = 0;
      tokenRequests.length = 0;
      pending.clear();
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };

  function discoveryDocument(iss: string): Record<string, unknown> {
    return {
      issuer: iss,
      authorization_endpoint: `${issuer}/authorize`,
      token_endpoint: `${issuer}/token`,
      jwks_uri: `${issuer}/jwks`,
      ...(provider.behaviour.endSession && { end_session_endpoint: `${issuer}/session/end` }),
      response_types_supported: ['code'],
      response_modes_supported: ['query'],
      grant_types_supported: ['authorization_code'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: options.clientSecret === undefined ? ['none'] : ['client_secret_basic'],
      scopes_supported: ['openid', 'profile', 'email'],
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'name', 'email'],
      authorization_response_iss_parameter_supported: true,
    };
  }

  async function idToken(record: PendingCode, aud: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const mode = provider.behaviour.idToken;
    const claims: Record<string, unknown> = {
      iss: mode === 'wrong-iss' ? `${issuer}/impostor` : issuer,
      sub: user.sub,
      aud: mode === 'wrong-aud' ? 'some-other-client' : aud,
      iat: mode === 'expired' ? now - 7200 : now,
      exp: mode === 'expired' ? now - 3600 : now + 3600,
      ...(mode === 'wrong-nonce' ? { nonce: random() } : record.nonce !== null && { nonce: record.nonce }),
      name: user.name,
      email: user.email,
      email_verified: true,
      ...provider.behaviour.claims,
    };
    if (mode === 'alg-none') {
      const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
      return `${header}.${base64url.encode(JSON.stringify(claims))}.`;
    }
    const key: CryptoKey = mode === 'bad-signature' ? impostor.privateKey : signing.privateKey;
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: KID, typ: 'JWT' }).sign(key);
  }

  function oauthError(res: Response, status: number, error: string, description: string): void {
    res.status(status).set('Cache-Control', 'no-store').json({ error, error_description: description });
  }

  /** The checks of a correct provider (RFC 6749 §4.1.3, §2.3.1; RFC 7636 §4.6); the error it sends, or the code's record. */
  function checkGrant(req: Request, res: Response, params: URLSearchParams): PendingCode | undefined {
    const credentials = basicCredentials(req.headers.authorization);
    if (options.clientSecret !== undefined) {
      if (credentials === undefined || credentials.id !== options.clientId || credentials.secret !== options.clientSecret) {
        res.set('WWW-Authenticate', 'Basic realm="hostile-provider"');
        oauthError(res, 401, 'invalid_client', 'client authentication failed');
        return undefined;
      }
    } else if (options.clientId !== undefined && params.get('client_id') !== options.clientId) {
      oauthError(res, 401, 'invalid_client', 'unknown client');
      return undefined;
    }
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

  const app = express();
  app.disable('x-powered-by');

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
      case 'ok':
        res.json(discoveryDocument(issuer));
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
        res.type('application/jwk-set+json').send(JSON.stringify({ keys: [publicJwk] }));
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
    else if (mode !== 'no-iss') target.searchParams.set('iss', issuer);
    res.redirect(302, target.href);
  });

  app.post('/token', express.text({ type: () => true }), async (req, res) => {
    requests.token++;
    const body = typeof req.body === 'string' ? req.body : '';
    const params = new URLSearchParams(body);
    tokenRequests.push({ headers: { ...req.headers }, body, params });
    if (await overridden('token', req, res)) return;
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
        const refreshToken = random();
        const token = await idToken(record, aud);
        issued.accessTokens.push(accessToken);
        issued.refreshTokens.push(refreshToken);
        issued.idTokens.push(token);
        res.set('Cache-Control', 'no-store').json({
          access_token: accessToken,
          token_type: 'Bearer',
          expires_in: 3600,
          refresh_token: refreshToken,
          id_token: token,
          scope: 'openid profile email',
        });
      }
    }
  });

  app.get('/session/end', async (req, res) => {
    requests.endSession++;
    if (await overridden('endSession', req, res)) return;
    const target = new URLSearchParams(req.originalUrl.split('?')[1] ?? '').get('post_logout_redirect_uri');
    if (target) res.redirect(302, target);
    else res.type('text').send('signed out');
  });

  server.on('request', app);
  return provider;
}
