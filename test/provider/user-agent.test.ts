/**
 * The `User-Agent` of every request the middleware makes (RFC 9110 §10.1.5): this package's name
 * and version from package.json, first, before the product token of the library below it
 * (`openid-client/…`, `jose/…`). Seen by the servers themselves: the real OpenID Provider
 * (`oidc-provider`) for discovery, JWKS, PAR, the code exchange, UserInfo and a refresh, and for
 * the JWKS a back-channel logout token is checked with; the GitHub fake for an adapter's token
 * and user requests. A `customFetch` still sees (and may replace) the header.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import express, { type Express } from 'express';
import session, { MemoryStore } from 'express-session';
import { SignJWT, generateKeyPair } from 'jose';
import { authCallback, github, type AuthCallbackConfig } from 'express-oidc-callback';
import { Browser } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { startGitHubProvider, type GitHubProvider } from '../support/github-provider.js';
import { CLIENT_ID, SESSION_SECRET, signIn, startTestbed, type Testbed } from '../support/testbed.js';

const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };
/** This package's product token, as package.json names it. */
const PRODUCT = `${manifest.name}/${manifest.version}`;
const JSON_ACCEPT = { accept: 'application/json' };

/** One request a server received: its method, path and User-Agent. */
interface Seen {
  method: string;
  path: string;
  userAgent: string | undefined;
}

/** Records every request `server` receives, before its own handler runs. */
function recordRequests(server: { prependListener(event: 'request', listener: (req: IncomingMessage) => void): unknown }): Seen[] {
  const seen: Seen[] = [];
  server.prependListener('request', (req: IncomingMessage) => {
    seen.push({ method: req.method ?? '', path: new URL(req.url ?? '/', 'http://x').pathname, userAgent: req.headers['user-agent'] });
  });
  return seen;
}

/** The User-Agents seen on `path`, in order. */
function agentsOn(seen: readonly Seen[], path: string, method?: string): (string | undefined)[] {
  return seen.filter((r) => r.path === path && (method === undefined || r.method === method)).map((r) => r.userAgent);
}

/** An app with authCallback(auth), `POST /refresh` (req.oidc.refresh()) and express-session for back-channel logout. */
function buildApp(auth: AuthCallbackConfig): Express {
  const app = express();
  const expressSession = session({ store: new MemoryStore(), secret: SESSION_SECRET, resave: false, saveUninitialized: false });
  app.use(authCallback({ ...auth, session: expressSession }));
  app.get('/', (req, res) => {
    res.json({ sub: req.user?.sub ?? null });
  });
  app.post('/refresh', async (req, res, next) => {
    try {
      await req.oidc.refresh();
      res.json({ refreshed: true });
    } catch (err) {
      next(err);
    }
  });
  app.use(errorAsJson);
  return app;
}

describe('requests to an OpenID Provider (oidc-provider)', () => {
  let bed: Testbed;
  let seen: Seen[];
  /** What the app's customFetch was handed, per request. */
  const handedToCustomFetch: (string | null)[] = [];

  beforeAll(async () => {
    bed = await startTestbed({
      auth: {
        fetchUserInfo: true,
        pushedAuthorizationRequests: true,
        scope: 'openid profile email',
        routes: { backchannelLogout: '/backchannel-logout' },
        customFetch: (url, init) => {
          handedToCustomFetch.push(new Headers(init.headers).get('user-agent'));
          return fetch(url, init);
        },
      },
      providerConfiguration: {
        issueRefreshToken: async () => true,
        features: { devInteractions: { enabled: true }, backchannelLogout: { enabled: true } },
      },
      build: buildApp,
    });
    seen = recordRequests(bed.provider.server);
  });
  afterAll(async () => {
    await bed.close();
  });
  afterEach(() => {
    seen.length = 0;
    handedToCustomFetch.length = 0;
  });

  test('the version is package.json\'s', () => {
    expect(PRODUCT).toMatch(/^express-oidc-callback\/\d+\.\d+\.\d+/);
  });

  test('discovery, PAR, JWKS, the code exchange, UserInfo and a refresh each carry the package\'s User-Agent before openid-client\'s', async () => {
    const browser = new Browser();
    const landed = await signIn(browser, `${bed.baseURL}/login`);
    expect(JSON.parse(landed.body)).toEqual({ sub: 'alice' });
    const refreshed = await browser.request(`${bed.baseURL}/refresh`, { method: 'POST', headers: JSON_ACCEPT });
    expect(refreshed.status).toBe(200);

    const expected = expect.stringMatching(new RegExp(`^${PRODUCT.replace(/[.]/g, '\\.')} openid-client/v\\d`));
    expect(agentsOn(seen, '/.well-known/openid-configuration')).toEqual([expected]);
    expect(agentsOn(seen, '/request', 'POST')).toEqual([expected]); // PAR (RFC 9126)
    expect(agentsOn(seen, '/jwks')).toEqual([expected]); // the ID token's keys
    expect(agentsOn(seen, '/token', 'POST')).toEqual([expected, expected]); // code, then refresh
    expect(agentsOn(seen, '/me')).toEqual([expected]); // UserInfo
    // The app's customFetch is handed the header (and could replace it): one call per request above.
    expect(handedToCustomFetch).toHaveLength(6);
    expect(handedToCustomFetch.every((ua) => ua?.startsWith(`${PRODUCT} `))).toBe(true);
  });

  test('the JWKS a back-channel logout token is checked with is fetched with it too (before jose\'s own token)', async () => {
    // A fresh app: discovery, then jose's JWKS fetch for the logout token (signed with a key the provider does not have).
    const app = buildApp({ ...bed.auth });
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT({ events: { 'http://schemas.openid.net/event/backchannel-logout': {} }, sid: 'x' })
      .setProtectedHeader({ alg: 'RS256', kid: 'not-the-providers', typ: 'logout+jwt' })
      .setIssuer(bed.provider.issuer).setAudience(CLIENT_ID).setIssuedAt().setExpirationTime('2m').setJti('jti-1')
      .sign(privateKey);
    bed.server.removeAllListeners('request');
    bed.server.on('request', app);
    try {
      const res = await fetch(`${bed.baseURL}/backchannel-logout`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ logout_token: token }),
      });
      expect(res.status).toBe(400);
    } finally {
      bed.server.removeAllListeners('request');
      bed.server.on('request', bed.app);
    }
    expect(agentsOn(seen, '/jwks')).toEqual([expect.stringMatching(new RegExp(`^${PRODUCT.replace(/[.]/g, '\\.')} jose/v\\d`))]);
  });
});

describe('requests to a provider adapter\'s endpoints (github())', () => {
  let gh: GitHubProvider;
  beforeAll(async () => {
    gh = await startGitHubProvider();
  });
  afterAll(async () => {
    await gh.close();
  });

  test('the token and user requests carry the package\'s User-Agent', async () => {
    const server = (await import('node:http')).createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const baseURL = `http://localhost:${(server.address() as { port: number }).port}`;
    gh.register({ clientId: 'gh-client', clientSecret: 'gh-client-secret-0123456789abcdef', redirectUri: `${baseURL}/callback` });
    server.on('request', buildApp({
      adapter: github({ baseURL: gh.baseURL, apiBaseURL: gh.apiBaseURL }),
      clientId: 'gh-client', clientSecret: 'gh-client-secret-0123456789abcdef', baseURL, secret: 'a-user-agent-test-secret-of-at-least-32-chars',
    }));
    try {
      const browser = new Browser();
      const landed = await browser.visit(`${baseURL}/login`);
      expect(landed.status).toBe(200);
      const [token] = gh.requestsTo('/login/oauth/access_token');
      const [user] = gh.requestsTo('/api/v3/user');
      expect(token?.headers['user-agent']).toMatch(new RegExp(`^${PRODUCT.replace(/[.]/g, '\\.')}( |$)`));
      expect(user?.headers['user-agent']).toMatch(new RegExp(`^${PRODUCT.replace(/[.]/g, '\\.')}( |$)`));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
