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
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Request, type Response } from 'express';
import { base64url, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/** How `/.well-known/openid-configuration` answers. */
export type DiscoveryMode =
  | 'ok'
  /** 500 with a plain-text body. */
  | 'error-500'
  /** 200 with an HTML page instead of JSON. */
  | 'html'
  /** A valid document whose `issuer` is not this provider's issuer identifier. */
  | 'wrong-issuer'
  /** A valid document whose `issuer` is this provider's issuer identifier plus a trailing `/` (`http://localhost:<port>/`). */
  | 'issuer-trailing-slash'
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

/** How `/token` answers an authorization code grant (a refresh token grant follows {@link RefreshMode}). */
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

/** How `/token` answers a refresh token grant (RFC 6749 §6). */
export type RefreshMode =
  /**
   * Checks the grant (client authentication, a refresh token it issued and has not rotated away or
   * revoked) and answers as {@link Behaviour.rotateRefreshToken} and {@link Behaviour.refreshIdToken}
   * say, or with the RFC 6749 §5.2 error a correct provider would give (`invalid_grant` for an
   * unknown refresh token).
   */
  | 'ok'
  /** 400 `{"error":"invalid_grant"}`, as for an expired or revoked refresh token (RFC 6749 §5.2). The refresh token stays valid. */
  | 'invalid_grant'
  /** 500 with a plain-text body. */
  | 'error-500'
  /** 200 with an HTML page (which contains a token-like string, to catch it being echoed). */
  | 'html'
  /** Never answers. */
  | 'hang';

/** What is wrong with the ID token of a successful token response (of a code exchange, or of a refresh). */
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
export type Endpoint = 'discovery' | 'jwks' | 'authorize' | 'token' | 'userinfo' | 'endSession';

/**
 * The JWS algorithm an ID token is signed with: `RS256` and `ES256` with the provider's current
 * key of that algorithm, `HS256` with the client secret as HMAC key (OpenID Connect Core 1.0
 * §10.1, the key a symmetric-alg downgrade would use), `none` unsigned (empty signature).
 */
export type SigningAlg = 'RS256' | 'ES256' | 'HS256' | 'none';

/** One of the provider's asymmetric signing keys. */
export interface ProviderKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256';
  readonly privateKey: CryptoKey;
  /** The public key as the JWKS publishes it: with `kid`, `use: 'sig'` and `alg`. */
  readonly publicJwk: JWK;
}

/** A set of claims or fields: each value replaces the built one; `undefined` removes it. */
export type Edits = Record<string, unknown>;

/** A hand-written answer for one endpoint; it replaces the endpoint's mode (the request is still counted and recorded). */
export type Override = (req: Request, res: Response) => void | Promise<void>;

export interface Behaviour {
  discovery: DiscoveryMode;
  jwks: JwksMode;
  authorize: AuthorizeMode;
  token: TokenMode;
  /** How a refresh token grant is answered. Default `ok`. */
  refresh: RefreshMode;
  /**
   * A successful refresh issues a new refresh token and revokes the one it was given (rotation,
   * RFC 9700 §4.14.2); `false`: the response has no `refresh_token`, and the old one stays valid.
   * Default `true`.
   */
  rotateRefreshToken: boolean;
  /**
   * A successful refresh carries a new ID token (OpenID Connect Core 1.0 §12.2), built like the
   * login's (same `auth_time`, no `nonce`); `false`: no `id_token` in the response. Default `true`.
   */
  refreshIdToken: boolean;
  /**
   * `expires_in` of every successful token response (code exchange and refresh), in seconds;
   * `undefined` leaves it out. Default `3600`.
   */
  expiresIn: number | undefined;
  /** Extra members of every successful token response (code exchange and refresh), e.g. `{ refresh_expires_in: 60 }`. Default `{}`. */
  tokenResponseExtras: Record<string, unknown>;
  idToken: IdTokenMode;
  /** `error_description` sent with `authorize: 'access_denied'`. */
  errorDescription: string;
  /**
   * Claims merged over the ID token's own, after {@link IdTokenMode} has shaped them; a claim set
   * to `undefined` is removed (e.g. `{ sub: undefined }`). Read when an ID token is signed, so set
   * after a login it changes only the refreshed ID tokens (e.g. `{ sub: 'eve' }`). The built claims are `iss`, `sub`,
   * `aud`, `iat`, `exp` (an hour after `iat`), `auth_time` (when `/authorize` signed the user in),
   * `nonce` (when the authorization request had one), `name`, `email`, `email_verified`.
   */
  claims: Edits;
  /**
   * The ID token's `at_hash` (OpenID Connect Core 1.0 §3.1.3.6): none (default), the access
   * token's (the left half of its SHA-256, base64url), or one of another token.
   */
  atHash: 'none' | 'correct' | 'wrong';
  /** Applied last to the ID token's claims (after {@link Behaviour.claims}); its result is the payload. */
  transformClaims: ((claims: Record<string, unknown>) => Record<string, unknown>) | undefined;
  /**
   * Fields merged over the ID token's JWS protected header `{ alg, kid, typ: 'JWT' }`; `undefined`
   * removes one (e.g. `{ kid: undefined }`, `{ crit: ['exp'], exp: 1 }`). Only the header changes:
   * the signature is still made with {@link Behaviour.alg}'s key.
   */
  header: Edits;
  /** How the ID token is signed. Default `RS256`. `ES256` creates (and publishes) an ES256 key on first use. */
  alg: SigningAlg;
  /** Sign with this key instead of the current key of {@link Behaviour.alg}; its `kid` and `alg` go into the header (e.g. a key never published). */
  signingKey: ProviderKey | undefined;
  /** Rotate the RS256 key ({@link HostileProvider.rotateKey}) right before signing the next ID token; turns itself off once done. */
  rotateBeforeSigning: boolean;
  /** Fields merged over the discovery document (after {@link DiscoveryMode}); `undefined` removes one. */
  metadata: Edits;
  /**
   * The issuer identifier the provider declares everywhere: discovery's `issuer` (mode `ok`), the
   * authorization response's `iss` (mode `ok`) and the ID token's `iss` (mode `ok`), e.g.
   * `` `${issuer}/` `` for an Auth0-style identifier with a trailing slash. The endpoints stay under
   * {@link HostileProvider.issuer}. Default: {@link HostileProvider.issuer}.
   */
  issuerIdentifier: string | undefined;
  /** Claims merged over the userinfo response `{ sub, name, email, email_verified, picture }`; `undefined` removes one. */
  userinfoClaims: Edits;
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
  userinfo: number;
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

/** One request to `/userinfo`, as received. */
export interface UserinfoRequestRecord {
  method: string;
  headers: IncomingHttpHeaders;
  /** The raw request body (`''` for a GET). */
  body: string;
}

/** What the provider knows about a refresh token it issued and still accepts. */
interface RefreshGrant {
  /** When the user signed in, in seconds since the epoch: the `auth_time` of refreshed ID tokens (OpenID Connect Core 1.0 §12.2). */
  authTime: number;
  /** The `aud` of refreshed ID tokens: the client the login was for. */
  aud: string;
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

export function defaultBehaviour(): Behaviour {
  return {
    discovery: 'ok',
    jwks: 'ok',
    authorize: 'ok',
    token: 'ok',
    refresh: 'ok',
    rotateRefreshToken: true,
    refreshIdToken: true,
    expiresIn: 3600,
    tokenResponseExtras: {},
    idToken: 'ok',
    errorDescription: 'The user denied the request',
    claims: {},
    atHash: 'none',
    transformClaims: undefined,
    header: {},
    alg: 'RS256',
    signingKey: undefined,
    rotateBeforeSigning: false,
    metadata: {},
    issuerIdentifier: undefined,
    userinfoClaims: {},
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

/** `target` with `edits` applied: each value replaces, `undefined` removes. */
function applyEdits(target: Record<string, unknown>, edits: Edits): Record<string, unknown> {
  const result = { ...target };
  for (const [name, value] of Object.entries(edits)) {
    if (value === undefined) delete result[name];
    else result[name] = value;
  }
  return result;
}

/**
 * Key pairs shared by every provider of the test process, generated on first use: RSA key
 * generation costs tens of milliseconds, and each test starts providers of its own. Within one
 * provider every key is distinct ({@link KeyPairs.next}); across providers reuse is harmless,
 * as each has its own issuer.
 */
/** A key pair as `jose`'s `generateKeyPair` gives it. */
type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

const keyPool = new Map<string, Promise<KeyPair>[]>();

/** One provider's view of {@link keyPool}: each call of `next(alg)` gives a pair it has not had. */
class KeyPairs {
  readonly #used = new Map<string, number>();

  next(alg: string): Promise<KeyPair> {
    const index = this.#used.get(alg) ?? 0;
    this.#used.set(alg, index + 1);
    const pool = keyPool.get(alg) ?? [];
    keyPool.set(alg, pool);
    pool[index] ??= generateKeyPair(alg, { extractable: true });
    return pool[index];
  }
}

/** A key pair of `alg` this provider has not used yet, as the provider publishes it. */
async function newKey(pairs: KeyPairs, alg: ProviderKey['alg'], kid: string): Promise<ProviderKey> {
  const pair = await pairs.next(alg);
  const publicJwk: JWK = { ...(await exportJWK(pair.publicKey)), kid, use: 'sig', alg };
  return { kid, alg, privateKey: pair.privateKey, publicJwk };
}

/**
 * A JWS compact serialization (RFC 7515 §7.1) of `payload` under exactly `header`, signed
 * per `alg` with `key` (a `CryptoKey` for RS256/ES256, the shared secret for HS256, nothing
 * for `none`). Hand-made rather than with `jose`'s `SignJWT`, which refuses the broken headers
 * (`crit` with unknown extensions, an `alg` that is not the key's) these tests need to send.
 */
async function signCompact(header: Record<string, unknown>, payload: Record<string, unknown>, alg: SigningAlg, key: CryptoKey | string | undefined): Promise<string> {
  const input = `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(payload))}`;
  let signature: Uint8Array;
  switch (alg) {
    case 'none':
      signature = new Uint8Array();
      break;
    case 'HS256':
      signature = createHmac('sha256', key as string).update(input).digest();
      break;
    case 'RS256':
      signature = new Uint8Array(await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key as CryptoKey, Buffer.from(input)));
      break;
    case 'ES256':
      // WebCrypto's ECDSA signature is already JWS's R || S (RFC 7518 §3.4).
      signature = new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key as CryptoKey, Buffer.from(input)));
      break;
  }
  return `${input}.${base64url.encode(signature)}`;
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
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };

  function discoveryDocument(iss: string): Record<string, unknown> {
    return applyEdits({
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
    let claims = applyEdits({
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
    const header = applyEdits({ alg, ...(kid !== undefined && { kid }), typ: 'JWT' }, b.header);
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
    res.set('Cache-Control', 'no-store').json(applyEdits(claims, provider.behaviour.userinfoClaims));
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

  server.on('request', app);
  return provider;
}
