/**
 * RFC 8705 §5 `mtls_endpoint_aliases`: a provider may serve mutual TLS on other endpoints than
 * its ordinary ones, and publish them in its metadata; a client that authenticates with its
 * certificate (`tls_client_auth`, §2.1) then sends its token, UserInfo and PAR requests there.
 * The provider is oidc-provider over https (its certificate from the test CA of
 * test/fixtures/tls) on two ports: its ordinary one asks for no client certificate, the alias one
 * asks every connection for one (as a provider with a separate mTLS host does). The aliases are
 * published through oidc-provider's `discovery` extension. A client that does not use mutual TLS
 * keeps to the ordinary endpoints.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer, request as httpsRequest, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import express from 'express';
import { authCallback, type AuthCallbackConfig } from 'express-oidc-callback';
import { startDevProvider, type DevClient } from '../../../example-app/dev-provider.js';
import { Browser } from '../../support/browser.js';
import { errorAsJson } from '../../support/error-handler.js';
import { CLIENT_ID, CLIENT_SECRET, SECRET, signIn } from '../../support/testbed.js';

const tlsDir = new URL('../../fixtures/tls/', import.meta.url);
const mtlsDir = new URL('../../fixtures/mtls/', import.meta.url);
const pem = (dir: URL, file: string): string => readFileSync(new URL(file, dir), 'utf8');
const SERVER_CA = pem(tlsDir, 'ca.pem');
const CLIENT_CA = pem(mtlsDir, 'ca.pem');
const SERVER_TLS = { key: pem(tlsDir, 'localhost-key.pem'), cert: pem(tlsDir, 'localhost.pem') };
/** Issued by the client CA to CN=test-app, O=express-oidc-callback tests. */
const CLIENT_CERTIFICATE = { cert: pem(mtlsDir, 'client.pem'), key: pem(mtlsDir, 'client-key.pem') };
const SECRET_CLIENT_ID = 'secret-app';
const JSON_ACCEPT = { accept: 'application/json' };

/** The test browser's fetch: https URLs trusting the test CA (NODE_EXTRA_CA_CERTS cannot be set once running). */
const globalFetch = globalThis.fetch;
beforeAll(() => {
  globalThis.fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith('https:')) return globalFetch(input, init);
    return (async () => {
      const req = new Request(url, init);
      const body = req.body === null ? undefined : Buffer.from(await req.arrayBuffer());
      return new Promise<Response>((resolve, reject) => {
        const outgoing = httpsRequest(url, { method: req.method, headers: Object.fromEntries(req.headers), ca: SERVER_CA, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const headers = new Headers();
            for (let i = 0; i < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
            const status = res.statusCode!;
            resolve(new Response([204, 304].includes(status) ? null : Buffer.concat(chunks), { status, headers }));
          });
        });
        outgoing.on('error', reject);
        outgoing.end(body);
      });
    })();
  };
});
afterAll(() => {
  globalThis.fetch = globalFetch;
});

function listen(server: Server | TlsServer, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server | TlsServer): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The client certificate of a provider request (PEM), as oidc-provider's features.mTLS.getCertificate wants it. */
function peerCertificate(req: IncomingMessage): string | undefined {
  const peer = (req.socket as TLSSocket).getPeerCertificate();
  return peer.raw === undefined ? undefined : new X509Certificate(peer.raw).toString();
}

/** One request the provider received: on which of its two servers, and with a client certificate or not. */
interface Seen {
  server: 'ordinary' | 'alias';
  method: string;
  path: string;
  certificate: boolean;
}

interface Bed {
  issuer: string;
  aliasOrigin: string;
  seen: Seen[];
  /** oidc-provider's refusals at the token endpoint (error_detail). */
  refusals: string[];
  /** The base URL of the app of each client. */
  baseURL: Record<string, string>;
  /** Serves `clientId`'s app with `auth` over the defaults. */
  app(auth: Partial<AuthCallbackConfig>, clientId: string): void;
  close(): Promise<void>;
}

/**
 * oidc-provider over https: the ordinary server (no client certificate asked for) and the alias
 * server (a certificate asked of every connection, verified against CLIENT_CA), the aliases
 * published when `publishAliases`. Two clients: `test-app` (tls_client_auth) and `secret-app`
 * (client_secret_basic).
 */
async function start(publishAliases: boolean): Promise<Bed> {
  const appServers = [createServer(), createServer()];
  const [mtlsPort, secretPort] = await Promise.all(appServers.map((server) => listen(server)));
  const aliasServer = createTlsServer({ ...SERVER_TLS, ca: CLIENT_CA, requestCert: true, rejectUnauthorized: false });
  const aliasOrigin = `https://localhost:${await listen(aliasServer)}`;
  const provider = await startDevProvider({
    tls: SERVER_TLS,
    clients: [
      {
        client_id: CLIENT_ID, redirect_uris: [`http://localhost:${mtlsPort}/callback`], token_endpoint_auth_method: 'tls_client_auth',
        tls_client_auth_subject_dn: 'CN=test-app,O=express-oidc-callback tests',
      } as DevClient,
      { client_id: SECRET_CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [`http://localhost:${secretPort}/callback`] },
    ],
    configuration: {
      issueRefreshToken: async () => true,
      features: {
        devInteractions: { enabled: true },
        mTLS: {
          enabled: true,
          tlsClientAuth: true,
          getCertificate: (ctx: { req: IncomingMessage }) => peerCertificate(ctx.req),
          certificateAuthorized: (ctx: { req: IncomingMessage }) => (ctx.req.socket as TLSSocket).authorized,
          certificateSubjectMatches: (ctx: { req: IncomingMessage }, property: string, expected: string) => {
            const cert = peerCertificate(ctx.req);
            return property === 'tls_client_auth_subject_dn' && cert !== undefined
              && new X509Certificate(cert).subject.split('\n').reverse().join(',') === expected;
          },
        },
      },
      clientAuthMethods: ['client_secret_basic', 'tls_client_auth'],
      ...(publishAliases && {
        discovery: {
          mtls_endpoint_aliases: {
            token_endpoint: `${aliasOrigin}/token`,
            userinfo_endpoint: `${aliasOrigin}/me`,
            pushed_authorization_request_endpoint: `${aliasOrigin}/request`,
          },
        },
      }),
    },
  });
  aliasServer.on('request', provider.provider.callback());

  const seen: Seen[] = [];
  const record = (server: Seen['server']) => (req: IncomingMessage) => {
    seen.push({ server, method: req.method ?? '', path: new URL(req.url ?? '/', 'https://x').pathname, certificate: peerCertificate(req) !== undefined });
  };
  provider.server.prependListener('request', record('ordinary'));
  aliasServer.prependListener('request', record('alias'));
  const refusals: string[] = [];
  provider.provider.on('grant.error', (_ctx: unknown, err: { error_detail?: string }) => refusals.push(err.error_detail ?? ''));

  const baseURL: Record<string, string> = { [CLIENT_ID]: `http://localhost:${mtlsPort}`, [SECRET_CLIENT_ID]: `http://localhost:${secretPort}` };
  return {
    issuer: provider.issuer,
    aliasOrigin,
    seen,
    refusals,
    baseURL,
    app(auth, clientId) {
      const app = express();
      app.use(authCallback({ issuer: provider.issuer, clientId, baseURL: baseURL[clientId]!, secret: SECRET, ...auth }));
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
      appServers[clientId === CLIENT_ID ? 0 : 1]!.on('request', app);
    },
    async close() {
      await Promise.all([...appServers, aliasServer, provider.server].map(closeServer));
    },
  };
}

/** Where the provider received `method path`: the servers, with or without a client certificate. */
function where(seen: readonly Seen[], method: string, path: string): string[] {
  return seen.filter((r) => r.method === method && r.path === path).map((r) => `${r.server}${r.certificate ? '+certificate' : ''}`);
}

const mtlsAuth: Partial<AuthCallbackConfig> = {
  clientAuthMethod: 'tls_client_auth',
  clientCertificate: { ...CLIENT_CERTIFICATE, ca: SERVER_CA },
  fetchUserInfo: true,
  pushedAuthorizationRequests: 'required',
  scope: 'openid profile email',
};

describe('a provider that publishes mtls_endpoint_aliases', () => {
  let bed: Bed;
  beforeAll(async () => {
    bed = await start(true);
  });
  afterAll(async () => {
    await bed.close();
  });
  afterEach(() => {
    bed.seen.length = 0;
  });

  test('tls_client_auth: PAR, the code exchange, UserInfo and a refresh go to the aliases, with the certificate; discovery and JWKS stay on the ordinary endpoints', async () => {
    bed.app(mtlsAuth, CLIENT_ID);
    const baseURL = bed.baseURL[CLIENT_ID]!;
    const browser = new Browser();
    const landed = await signIn(browser, `${baseURL}/login`);
    expect(JSON.parse(landed.body)).toEqual({ sub: 'alice' });
    const refreshed = await browser.request(`${baseURL}/refresh`, { method: 'POST', headers: JSON_ACCEPT });
    expect(refreshed.status).toBe(200);

    expect(where(bed.seen, 'POST', '/request')).toEqual(['alias+certificate']);
    expect(where(bed.seen, 'POST', '/token')).toEqual(['alias+certificate', 'alias+certificate']);
    expect(where(bed.seen, 'GET', '/me')).toEqual(['alias+certificate']);
    expect(where(bed.seen, 'GET', '/.well-known/openid-configuration')).toEqual(['ordinary']);
    expect(where(bed.seen, 'GET', '/jwks')).toEqual(['ordinary']);
    expect(bed.refusals).toEqual([]);
  });

  test('client_secret_basic (no mutual TLS): the ordinary endpoints, not the aliases', async () => {
    bed.app({ clientSecret: CLIENT_SECRET, fetchUserInfo: true, pushedAuthorizationRequests: 'required' }, SECRET_CLIENT_ID);
    const baseURL = bed.baseURL[SECRET_CLIENT_ID]!;
    const landed = await signIn(new Browser(), `${baseURL}/login`);
    expect(JSON.parse(landed.body)).toEqual({ sub: 'alice' });
    expect(where(bed.seen, 'POST', '/request')).toEqual(['ordinary']);
    expect(where(bed.seen, 'POST', '/token')).toEqual(['ordinary']);
    expect(where(bed.seen, 'GET', '/me')).toEqual(['ordinary']);
    expect(bed.seen.filter((r) => r.server === 'alias')).toEqual([]);
  });
});

describe('the same provider without the aliases published', () => {
  test('tls_client_auth goes to the ordinary endpoints, which ask for no certificate: the provider refuses the client (what the aliases are for)', async () => {
    const bed = await start(false);
    try {
      bed.app({ ...mtlsAuth, pushedAuthorizationRequests: false, fetchUserInfo: false }, CLIENT_ID);
      const page = await signIn(new Browser(), `${bed.baseURL[CLIENT_ID]}/login`); // up to the callback's answer
      expect(page.status).toBe(502);
      expect(JSON.parse(page.body)).toMatchObject({ code: 'invalid_client' });
      expect(where(bed.seen, 'POST', '/token')).toEqual(['ordinary']);
      expect(bed.refusals).toEqual(['client certificate was not provided']);
    } finally {
      await bed.close();
    }
  });
});
