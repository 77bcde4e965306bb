/**
 * A local fake of GitHub's OAuth web application flow and REST `/user`, for the `github()` and
 * `oauth2()` adapters' tests: real HTTP on 127.0.0.1, laid out as GitHub Enterprise Server is
 * (`http://localhost:<port>` for sign-in, `http://localhost:<port>/api/v3` for the API).
 *
 * - `GET /login/oauth/authorize` (`client_id`, `redirect_uri`, `scope`, `state`, `code_challenge`
 *   with `code_challenge_method=S256`): signs the user in at once, 302 to the redirect URI with
 *   `code` and `state`; an unknown client or an unregistered redirect URI gets a 404/400 page.
 * - `POST /login/oauth/access_token`, form-encoded (or JSON): the credentials in the body
 *   (`client_id`, `client_secret`) or in HTTP Basic, `code` (single use, 10 minutes),
 *   `redirect_uri` (when the authorization request had one), `code_verifier` (S256, when a
 *   challenge was sent); `grant_type=refresh_token` for expiring user tokens (GitHub Apps).
 *   Answers JSON when asked by `Accept: application/json`, else form-encoded, as GitHub does;
 *   and refuses with HTTP **200** and `{ error, error_description, error_uri }`
 *   (`bad_verification_code`, `incorrect_client_credentials`, `redirect_uri_mismatch`,
 *   `bad_refresh_token`).
 * - `GET /api/v3/user` with `Authorization: Bearer` (or `token`): the user; 401
 *   `{ message: 'Bad credentials' }` otherwise.
 *
 * Every request is recorded, and each endpoint misbehaves on demand ({@link GitHubBehaviour}).
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { Request, Response } from 'express';
import { basicCredentials, recordRequests, s256, startFakeServer, type RecordedRequest as Recorded } from './fake-server.js';

export interface GitHubClient {
  clientId: string;
  clientSecret: string;
  /** The registered callback URL. */
  redirectUri: string;
}

/** How the token endpoint answers: as GitHub does (`ok`), or a fault. */
export type GitHubTokenMode = 'ok' | 'error-500' | 'hang';

/** How `/user` answers. */
export type GitHubUserMode =
  | 'ok'
  /** 401 `{ message: 'Bad credentials' }`, as for a revoked token. */
  | 'unauthorized'
  /** 500 with an HTML page. */
  | 'error-500'
  /** 200, the user without its `id`. */
  | 'no-id'
  /** Never answers. */
  | 'hang';

export interface GitHubBehaviour {
  token: GitHubTokenMode;
  /** How a refresh token grant is answered: checked (`ok`), or a fault. */
  refresh: GitHubTokenMode;
  user: GitHubUserMode;
  /**
   * Expiring user access tokens (a GitHub App's): `expires_in`, `refresh_token` and
   * `refresh_token_expires_in` in each answer. Default `false` (an OAuth App: a token that does
   * not expire, and no refresh token).
   */
  expiring: boolean;
  /** `expires_in` of expiring tokens, in seconds. Default 28800 (8 hours, GitHub's). */
  expiresIn: number;
  /** Fields over the `/user` answer's. */
  userFields: Record<string, unknown>;
}

export interface RecordedRequest extends Recorded {
  /** The body as parameters (form-encoded, or a JSON object's members). */
  params: URLSearchParams;
}

export interface GitHubProvider {
  /** `http://localhost:<port>`: `github({ baseURL })`. */
  readonly baseURL: string;
  /** `http://localhost:<port>/api/v3`: `github({ apiBaseURL })`. */
  readonly apiBaseURL: string;
  readonly server: Server;
  behaviour: GitHubBehaviour;
  readonly requests: RecordedRequest[];
  requestsTo(path: string): RecordedRequest[];
  /** The token endpoint's answers, in order, as sent (JSON or form-encoded text) with their status. */
  readonly tokenAnswers: { status: number; contentType: string; body: string }[];
  register(client: GitHubClient): void;
  /** Every code and token issued, and the registered secrets. */
  secrets(): string[];
  readonly issued: { codes: string[]; accessTokens: string[]; refreshTokens: string[] };
  reset(): void;
  close(): Promise<void>;
}

export const OCTOCAT = {
  login: 'octocat',
  id: 583231,
  node_id: 'MDQ6VXNlcjU4MzIzMQ==',
  avatar_url: 'https://avatars.example/u/583231?v=4',
  html_url: 'https://github.example/octocat',
  type: 'User',
  site_admin: false,
  name: 'The Octocat',
  company: '@github',
  email: 'octocat@github.example',
  created_at: '2011-01-25T18:44:36Z',
} as const;

export function defaultGitHubBehaviour(): GitHubBehaviour {
  return { token: 'ok', refresh: 'ok', user: 'ok', expiring: false, expiresIn: 28800, userFields: {} };
}

interface PendingCode {
  clientId: string;
  redirectUri: string | null;
  codeChallenge: string | null;
  scope: string;
  expiresAt: number;
}

function paramsOf(contentType: string | undefined, body: string): URLSearchParams {
  if (/^application\/json/.test(contentType ?? '')) {
    try {
      const json = JSON.parse(body) as Record<string, unknown>;
      return new URLSearchParams(Object.entries(json).map(([k, v]): [string, string] => [k, String(v)]));
    } catch {
      return new URLSearchParams();
    }
  }
  return new URLSearchParams(body);
}

export async function startGitHubProvider(): Promise<GitHubProvider> {
  const fake = await startFakeServer();
  const { baseURL, server, app, hanging } = fake;
  const clients = new Map<string, GitHubClient>();
  const secretsSeen = new Set<string>();
  let behaviour = defaultGitHubBehaviour();
  const requests: RecordedRequest[] = [];
  const tokenAnswers: GitHubProvider['tokenAnswers'] = [];
  const issued = { codes: [] as string[], accessTokens: [] as string[], refreshTokens: [] as string[] };
  let codes = new Map<string, PendingCode>();
  let accessTokens = new Set<string>();
  let refreshTokens = new Map<string, { clientId: string; scope: string }>();

  /** Answers the token endpoint as GitHub does: JSON when asked for it, else form-encoded; errors with 200. */
  function tokenAnswer(req: Request, res: Response, members: Record<string, string | number>): void {
    const json = (req.headers.accept ?? '').includes('application/json');
    const body = json ? JSON.stringify(members) : new URLSearchParams(Object.entries(members).map(([k, v]): [string, string] => [k, String(v)])).toString();
    const contentType = json ? 'application/json; charset=utf-8' : 'application/x-www-form-urlencoded; charset=utf-8';
    tokenAnswers.push({ status: 200, contentType, body });
    res.status(200).type(contentType).send(body);
  }

  function tokenError(req: Request, res: Response, error: string, description: string): void {
    tokenAnswer(req, res, { error, error_description: description, error_uri: `https://docs.github.example/apps/troubleshooting#${error}` });
  }

  function issue(req: Request, res: Response, clientId: string, scope: string): void {
    const accessToken = `gho_${randomBytes(18).toString('base64url')}`;
    accessTokens.add(accessToken);
    issued.accessTokens.push(accessToken);
    const members: Record<string, string | number> = { access_token: accessToken, token_type: 'bearer', scope };
    if (behaviour.expiring) {
      const refreshToken = `ghr_${randomBytes(30).toString('base64url')}`;
      refreshTokens.set(refreshToken, { clientId, scope });
      issued.refreshTokens.push(refreshToken);
      Object.assign(members, { expires_in: behaviour.expiresIn, refresh_token: refreshToken, refresh_token_expires_in: 15897600 });
    }
    tokenAnswer(req, res, members);
  }

  /** The client's credentials, from HTTP Basic (RFC 6749 §2.3.1 encoding) or the body. */
  function credentials(req: Request, params: URLSearchParams): { clientId: string | null; clientSecret: string | null } {
    if (/^Basic /i.test(req.headers.authorization ?? '')) {
      const basic = basicCredentials(req.headers.authorization);
      return { clientId: basic?.id ?? null, clientSecret: basic?.secret ?? null };
    }
    return { clientId: params.get('client_id'), clientSecret: params.get('client_secret') };
  }

  recordRequests(fake, requests, (record) => ({ ...record, params: paramsOf(record.headers['content-type'], record.body) }));

  app.get('/login/oauth/authorize', (req, res) => {
    const q = new URL(req.originalUrl, baseURL).searchParams;
    const client = clients.get(q.get('client_id') ?? '');
    if (client === undefined) {
      res.status(404).type('html').send('<!doctype html><title>Not Found</title>');
      return;
    }
    const redirectUri = q.get('redirect_uri');
    if (redirectUri !== null && redirectUri !== client.redirectUri) {
      res.status(400).type('html').send('<!doctype html><title>Redirect URI mismatch</title>');
      return;
    }
    const challenge = q.get('code_challenge');
    const back = new URL(redirectUri ?? client.redirectUri);
    if (challenge !== null && q.get('code_challenge_method') !== 'S256') {
      back.searchParams.set('error', 'invalid_request');
    } else {
      const code = randomBytes(10).toString('hex');
      codes.set(code, { clientId: client.clientId, redirectUri, codeChallenge: challenge, scope: q.get('scope') ?? '', expiresAt: Date.now() / 1000 + 600 });
      issued.codes.push(code);
      back.searchParams.set('code', code);
    }
    const state = q.get('state');
    if (state !== null) back.searchParams.set('state', state);
    res.redirect(302, back.href);
  });

  app.post('/login/oauth/access_token', (req, res) => {
    const { params } = res.locals.record as RecordedRequest;
    const refreshing = params.get('grant_type') === 'refresh_token';
    const mode = refreshing ? behaviour.refresh : behaviour.token;
    if (mode === 'hang') {
      hanging.add(res);
      return;
    }
    if (mode === 'error-500') {
      res.status(500).type('html').send('<!doctype html><title>Unicorn!</title><p>gho_not-a-real-token</p>');
      return;
    }
    const { clientId, clientSecret } = credentials(req, params);
    const client = clients.get(clientId ?? '');
    if (client === undefined || clientSecret !== client.clientSecret) {
      tokenError(req, res, 'incorrect_client_credentials', 'The client_id and/or client_secret passed are incorrect.');
      return;
    }
    if (refreshing) {
      const token = params.get('refresh_token') ?? '';
      const grant = refreshTokens.get(token);
      refreshTokens.delete(token); // GitHub rotates refresh tokens: each is good for one refresh
      if (grant === undefined || grant.clientId !== client.clientId) {
        tokenError(req, res, 'bad_refresh_token', 'The refresh token passed is incorrect or expired.');
        return;
      }
      issue(req, res, client.clientId, grant.scope);
      return;
    }
    const code = params.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code);
    if (pending === undefined || pending.clientId !== client.clientId || pending.expiresAt < Date.now() / 1000) {
      tokenError(req, res, 'bad_verification_code', 'The code passed is incorrect or expired.');
      return;
    }
    if (pending.redirectUri !== null && params.get('redirect_uri') !== pending.redirectUri) {
      tokenError(req, res, 'redirect_uri_mismatch', 'The redirect_uri MUST match the registered callback URL for this application.');
      return;
    }
    if (pending.codeChallenge !== null) {
      const verifier = params.get('code_verifier') ?? '';
      if (s256(verifier) !== pending.codeChallenge) {
        tokenError(req, res, 'bad_verification_code', 'The code_verifier does not match the code_challenge.');
        return;
      }
    }
    issue(req, res, client.clientId, pending.scope);
  });

  app.get('/api/v3/user', (req, res) => {
    if (behaviour.user === 'hang') {
      hanging.add(res);
      return;
    }
    const token = /^(?:Bearer|token) (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (behaviour.user === 'unauthorized' || token === undefined || !accessTokens.has(token)) {
      res.status(401).json({ message: 'Bad credentials', documentation_url: 'https://docs.github.example/rest', status: '401' });
      return;
    }
    if (behaviour.user === 'error-500') {
      res.status(500).type('html').send('<!doctype html><title>Unicorn!</title>');
      return;
    }
    const user: Record<string, unknown> = { ...OCTOCAT, ...behaviour.userFields };
    if (behaviour.user === 'no-id') delete user.id;
    res.json(user);
  });

  return {
    baseURL,
    apiBaseURL: `${baseURL}/api/v3`,
    server,
    get behaviour() {
      return behaviour;
    },
    set behaviour(value) {
      behaviour = value;
    },
    requests,
    requestsTo: (path) => requests.filter((r) => r.path === path),
    tokenAnswers,
    register(client) {
      clients.set(client.clientId, client);
      secretsSeen.add(client.clientSecret);
    },
    secrets: () => [...issued.codes, ...issued.accessTokens, ...issued.refreshTokens, ...secretsSeen],
    issued,
    reset() {
      behaviour = defaultGitHubBehaviour();
      requests.length = 0;
      tokenAnswers.length = 0;
      codes = new Map();
      accessTokens = new Set();
      refreshTokens = new Map();
      fake.dropHanging();
    },
    close: () => fake.close(),
  };
}
