/**
 * The set-up of the mutual-TLS client authentication tests (RFC 8705 §2;
 * test/provider/oidc/client-authentication.mtls.test.ts, client-certificate.test.ts): the
 * development provider over https (its certificate from the test CA of test/fixtures/tls),
 * requesting a client certificate on every connection, and the example app presenting the
 * test-only client certificates of test/fixtures/mtls by a `customFetch` built on node:https
 * (Node 20's global `fetch` cannot present one), or by the `clientCertificate` option (undici).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { createServer as createTlsServer, request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, expect } from '@jest/globals';
import { MemoryStore } from 'express-session';
import type { AuthCallbackConfig } from '../../lib/index.js';
import { createApp } from '../../example-app/app.js';
import { startDevProvider, type DevClient, type DevProvider } from '../../example-app/dev-provider.js';
import { closeServer, listen } from './http-server.js';
import { captureConsoleErrors, type ConsoleErrors } from './log-guard.js';
import { withSameRealmClone } from './same-realm-clone.js';
import { CLIENT_ID, SECRET, SESSION_SECRET, expectLoginCompletes as expectWholeLogin, refusedClientLogin } from './testbed.js';

const tlsDir = new URL('../fixtures/tls/', import.meta.url);
const mtlsDir = new URL('../fixtures/mtls/', import.meta.url);
const pem = (dir: URL, file: string): string => readFileSync(new URL(file, dir), 'utf8');

/** The CA that signed the provider's server certificate. */
export const SERVER_CA = pem(tlsDir, 'ca.pem');
/** The client CA the provider trusts for tls_client_auth. */
const CLIENT_CA = pem(mtlsDir, 'ca.pem');

/** A client certificate and its private key (PEM). */
export interface ClientCertificate {
  cert: string;
  key: string;
}
const certificate = (name: string): ClientCertificate => ({ cert: pem(mtlsDir, `${name}.pem`), key: pem(mtlsDir, `${name}-key.pem`) });
/** Issued by the client CA to O=express-oidc-callback tests, CN=test-app. */
export const CA_ISSUED = certificate('client');
/** Issued by the client CA to another subject (CN=another-app). */
export const CA_ISSUED_OTHER_SUBJECT = certificate('other-client');
/** Self-signed, subject O=express-oidc-callback tests, CN=test-app. */
export const SELF_SIGNED = certificate('self-signed');
/** Another self-signed certificate with the same subject and another key. */
export const OTHER_SELF_SIGNED = certificate('other-self-signed');

/** A certificate's subject as an RFC 4514 string (most specific RDN first), e.g. `CN=test-app,O=…`. */
export function subjectDn(cert: string | Buffer): string {
  return new X509Certificate(cert).subject.split('\n').reverse().join(',');
}

const json = { accept: 'application/json' };

/**
 * A WHATWG `fetch` over node:https: trusts `ca`, presents `cert`/`key` when given, follows no
 * redirect (as `redirect: 'manual'`), and opens a fresh connection for each request.
 */
export function httpsFetch(tls: { ca: string } & Partial<ClientCertificate>) {
  return async function fetchOverNodeHttps(url: string, init: RequestInit = {}): Promise<Response> {
    const request = new Request(url, init);
    const body = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(url, {
        method: request.method,
        headers: Object.fromEntries(request.headers),
        agent: false,
        ...(init.signal && { signal: init.signal }),
        ...tls,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const headers = new Headers();
          for (let i = 0; i < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
          const status = res.statusCode!;
          const nullBody = [101, 204, 205, 304].includes(status);
          resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers }));
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  };
}

/** What the example app logged during the current test (every 5xx; the refusals are expected ones). */
let consoleErrors: ConsoleErrors;

/** The client certificate of a provider request, as oidc-provider's features.mTLS.getCertificate wants it: PEM. */
function peerCertificate(req: IncomingMessage): string | undefined {
  const peer = (req.socket as TLSSocket).getPeerCertificate();
  return peer.raw === undefined ? undefined : new X509Certificate(peer.raw).toString();
}

/** oidc-provider's mTLS feature: both methods; a certificate counts as verified when it chains to CLIENT_CA. */
const mTLS = {
  enabled: true,
  tlsClientAuth: true,
  selfSignedTlsClientAuth: true,
  getCertificate: (ctx: { req: IncomingMessage }) => peerCertificate(ctx.req),
  certificateAuthorized: (ctx: { req: IncomingMessage }) => (ctx.req.socket as TLSSocket).authorized,
  certificateSubjectMatches(ctx: { req: IncomingMessage }, property: string, expected: string): boolean {
    const cert = peerCertificate(ctx.req);
    return property === 'tls_client_auth_subject_dn' && cert !== undefined && subjectDn(cert) === expected;
  },
};

/** What reached the provider's token endpoint. */
interface TokenRequest {
  authorization: string | undefined;
  params: Record<string, unknown>;
  /** SHA-256 fingerprint of the client certificate presented on the connection, if any. */
  certificate: string | undefined;
  accepted: boolean;
  /** Why the provider refused the client, when it did (oidc-provider's error_detail, not sent to the client). */
  refusal?: string;
}

interface Bed {
  provider: DevProvider;
  baseURL: string;
  tokenRequests: TokenRequest[];
  close(): Promise<void>;
}

const open: Bed[] = [];

/**
 * For the tests of the file: the test browser uses the global fetch, which for the https
 * provider must trust the test CA (NODE_EXTRA_CA_CERTS cannot do it once the process runs; it
 * presents no client certificate); what the example app logs is muted and recorded; the beds a
 * test started are closed after it.
 */
export function useMtlsBeds(): void {
  const globalFetch = globalThis.fetch;
  beforeAll(() => {
    const overTls = httpsFetch({ ca: SERVER_CA });
    globalThis.fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = input instanceof Request ? input.url : String(input);
      return url.startsWith('https:') ? overTls(url, init) : globalFetch(input, init);
    };
  });
  afterAll(() => {
    globalThis.fetch = globalFetch;
  });
  consoleErrors = captureConsoleErrors();
  afterEach(async () => {
    await Promise.all(open.splice(0).map((bed) => bed.close()));
  });
}

/**
 * The development provider over https, asking every connection for a client certificate
 * (`requestCert`, verified against CLIENT_CA but never refused at the TLS layer), with `client`
 * registered; and the example app, authenticating with `method` and presenting `presented` by a
 * customFetch, or with `by: 'option'` by the clientCertificate option.
 */
export async function start(
  method: 'tls_client_auth' | 'self_signed_tls_client_auth', client: Record<string, unknown>, presented: ClientCertificate | undefined,
  by: 'customFetch' | 'option' = 'customFetch',
): Promise<Bed> {
  const appServer = createServer();
  const baseURL = `http://localhost:${await listen(appServer)}`;
  const serverTls = { key: pem(tlsDir, 'localhost-key.pem'), cert: pem(tlsDir, 'localhost.pem') };
  const provider = await withSameRealmClone(() => startDevProvider({
    tls: serverTls,
    clients: [{ client_id: CLIENT_ID, redirect_uris: [`${baseURL}/callback`], token_endpoint_auth_method: method, ...client } as DevClient],
    configuration: {
      features: { devInteractions: { enabled: true }, mTLS },
      clientAuthMethods: ['client_secret_basic', 'tls_client_auth', 'self_signed_tls_client_auth'],
    },
  }));
  // startDevProvider's https server requests no client certificate: serve the provider on the same
  // port from one that does.
  const port = new URL(provider.issuer).port;
  await closeServer(provider.server);
  const providerServer = createTlsServer({ ...serverTls, ca: CLIENT_CA, requestCert: true, rejectUnauthorized: false }, provider.provider.callback());
  await listen(providerServer, Number(port));

  const tokenRequests: TokenRequest[] = [];
  const record = (accepted: boolean) => (
    ctx: { get(name: string): string; req: IncomingMessage; oidc?: { body?: Record<string, unknown> } },
    err?: { error_detail?: string },
  ) => {
    const cert = peerCertificate(ctx.req);
    tokenRequests.push({
      authorization: ctx.get('authorization') || undefined,
      params: { ...ctx.oidc?.body },
      certificate: cert === undefined ? undefined : new X509Certificate(cert).fingerprint256,
      accepted,
      ...(err && { refusal: err.error_detail }),
    });
  };
  provider.provider.on('grant.success', record(true));
  provider.provider.on('grant.error', record(false));

  const auth: AuthCallbackConfig = {
    issuer: provider.issuer,
    clientId: CLIENT_ID,
    baseURL,
    secret: SECRET,
    clientAuthMethod: method,
    ...(by === 'option' && presented !== undefined
      ? { clientCertificate: { ...presented, ca: SERVER_CA } }
      : { customFetch: httpsFetch({ ca: SERVER_CA, ...presented }) }),
  };
  appServer.on('request', createApp({ auth, sessionSecret: SESSION_SECRET, store: new MemoryStore() }));
  const bed: Bed = {
    provider,
    baseURL,
    tokenRequests,
    close: async () => {
      await Promise.all([closeServer(appServer), closeServer(providerServer)]);
    },
  };
  open.push(bed);
  return bed;
}

/**
 * RFC 8705 §2: a whole login completes (/api/me 200), and its one token request, accepted, was
 * made on a connection presenting `presented` and carried client_id and no other credential.
 */
export async function expectLoginCompletes(bed: Bed, presented: ClientCertificate): Promise<void> {
  await expectWholeLogin(bed);

  expect(bed.tokenRequests.map((r) => r.accepted)).toEqual([true]);
  const request = bed.tokenRequests[0]!;
  expect(request.certificate).toBe(new X509Certificate(presented.cert).fingerprint256);
  expect(request.params.client_id).toBe(CLIENT_ID);
  expect(Object.keys(request.params).filter((name) => name.startsWith('client_'))).toEqual(['client_id']);
  expect(request.authorization).toBeUndefined();
}

/**
 * The provider refuses the client for `reason` (its error_detail): the callback answers 502
 * invalid_client, and no session begins.
 */
export async function expectRefused(bed: Bed, reason: string): Promise<void> {
  const { browser } = await refusedClientLogin(bed);
  expect(bed.tokenRequests.map((r) => r.accepted)).toEqual([false]);
  expect(bed.tokenRequests[0]!.refusal).toBe(reason);
  expect(Object.keys(bed.tokenRequests[0]!.params).filter((name) => name.startsWith('client_'))).toEqual(['client_id']);
  const logged = consoleErrors.calls.map((args: unknown[]) => inspect(args, { depth: Infinity })).join('\n');
  expect(logged).not.toContain('PRIVATE KEY');
  const me = await browser.request(`${bed.baseURL}/api/me`, { headers: json });
  expect(me.status).toBe(401);
}
