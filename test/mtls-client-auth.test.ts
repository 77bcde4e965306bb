/**
 * Mutual-TLS client authentication (RFC 8705 §2): `clientAuthMethod: 'tls_client_auth'` (§2.1,
 * a certificate from a CA the provider trusts, matched by its subject DN) and
 * `'self_signed_tls_client_auth'` (§2.2, a self-signed certificate registered in the client's
 * `jwks`), with the certificate presented by a `customFetch` built on node:https (Node 20's
 * global `fetch` cannot present one), or by the `clientCertificate` option (undici). The provider is oidc-provider over https (its certificate
 * from the test CA of test/fixtures/tls), requesting a client certificate on every connection;
 * the client certificates are the test-only ones of test/fixtures/mtls.
 */
import { X509Certificate, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTlsServer, request as httpsRequest, type Server as TlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { MemoryStore } from 'express-session';
import { authCallback, type AuthCallbackConfig } from '../lib/index.js';
import { createApp } from '../example-app/app.js';
import { startDevProvider, type DevClient, type DevProvider } from '../example-app/dev-provider.js';
import { Browser } from './support/browser.js';
import { CLIENT_ID, SECRET, SESSION_SECRET, authorizationResponse, signIn } from './support/testbed.js';
import { withSameRealmClone } from './support/same-realm-clone.js';

const tlsDir = new URL('./fixtures/tls/', import.meta.url);
const mtlsDir = new URL('./fixtures/mtls/', import.meta.url);
const pem = (dir: URL, file: string): string => readFileSync(new URL(file, dir), 'utf8');

/** The CA that signed the provider's server certificate. */
const SERVER_CA = pem(tlsDir, 'ca.pem');
/** The client CA the provider trusts for tls_client_auth. */
const CLIENT_CA = pem(mtlsDir, 'ca.pem');

/** A client certificate and its private key (PEM). */
interface ClientCertificate {
  cert: string;
  key: string;
}
const certificate = (name: string): ClientCertificate => ({ cert: pem(mtlsDir, `${name}.pem`), key: pem(mtlsDir, `${name}-key.pem`) });
/** Issued by the client CA to O=express-oidc-callback tests, CN=test-app. */
const CA_ISSUED = certificate('client');
/** Issued by the client CA to another subject (CN=another-app). */
const CA_ISSUED_OTHER_SUBJECT = certificate('other-client');
/** Self-signed, subject O=express-oidc-callback tests, CN=test-app. */
const SELF_SIGNED = certificate('self-signed');
/** Another self-signed certificate with the same subject and another key. */
const OTHER_SELF_SIGNED = certificate('other-self-signed');

/** A certificate's subject as an RFC 4514 string (most specific RDN first), e.g. `CN=test-app,O=…`. */
function subjectDn(cert: string | Buffer): string {
  return new X509Certificate(cert).subject.split('\n').reverse().join(',');
}

const json = { accept: 'application/json' };

/**
 * A WHATWG `fetch` over node:https: trusts `ca`, presents `cert`/`key` when given, follows no
 * redirect (as `redirect: 'manual'`), and opens a fresh connection for each request.
 */
function httpsFetch(tls: { ca: string } & Partial<ClientCertificate>) {
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

// The test browser uses the global fetch: for the https provider it must trust the test CA, which
// NODE_EXTRA_CA_CERTS cannot do once the process runs. It presents no client certificate.
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

let consoleError: ReturnType<typeof jest.spyOn>;
beforeEach(() => {
  // The example app logs every 5xx; the refusals below are expected ones.
  consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterEach(() => {
  consoleError.mockRestore();
});

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
afterEach(async () => {
  await Promise.all(open.splice(0).map((bed) => bed.close()));
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

/**
 * The development provider over https, asking every connection for a client certificate
 * (`requestCert`, verified against CLIENT_CA but never refused at the TLS layer), with `client`
 * registered; and the example app, authenticating with `method` and presenting `presented` by a
 * customFetch, or with `by: 'option'` by the clientCertificate option.
 */
async function start(
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
async function expectLoginCompletes(bed: Bed, presented: ClientCertificate): Promise<void> {
  const browser = new Browser();
  const landed = await signIn(browser, `${bed.baseURL}/login`, 'alice');
  expect(landed.url).toBe(`${bed.baseURL}/`);
  expect(landed.status).toBe(200);
  const me = await browser.request(`${bed.baseURL}/api/me`, { headers: json });
  expect(me.status).toBe(200);
  expect(JSON.parse(me.body)).toMatchObject({ sub: 'alice', iss: bed.provider.issuer, aud: CLIENT_ID });

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
async function expectRefused(bed: Bed, reason: string): Promise<void> {
  const browser = new Browser();
  const response = await authorizationResponse(browser, `${bed.baseURL}/login`);
  const res = await browser.request(response.href, { headers: json });
  expect(res.status).toBe(502);
  expect(JSON.parse(res.body)).toMatchObject({ error: 'invalid_client' });
  expect(res.headers.getSetCookie().some((c) => c.startsWith('oidc_session='))).toBe(false);
  expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeUndefined();
  expect(bed.tokenRequests.map((r) => r.accepted)).toEqual([false]);
  expect(bed.tokenRequests[0]!.refusal).toBe(reason);
  expect(Object.keys(bed.tokenRequests[0]!.params).filter((name) => name.startsWith('client_'))).toEqual(['client_id']);
  const logged = consoleError.mock.calls.map((args: unknown[]) => inspect(args, { depth: Infinity })).join('\n');
  expect(logged).not.toContain('PRIVATE KEY');
  const me = await browser.request(`${bed.baseURL}/api/me`, { headers: json });
  expect(me.status).toBe(401);
}

describe('RFC 8705 §2.1 PKI mutual-TLS method (tls_client_auth)', () => {
  // §2.1.2: the client is registered with the subject DN of its certificate.
  const client = { tls_client_auth_subject_dn: subjectDn(CA_ISSUED.cert) };

  test('RFC 8705 §2.1: a certificate from the trusted CA with the registered subject DN: the login completes, only client_id sent', async () => {
    expect(client.tls_client_auth_subject_dn).toBe('CN=test-app,O=express-oidc-callback tests');
    const bed = await start('tls_client_auth', client, CA_ISSUED);
    await expectLoginCompletes(bed, CA_ISSUED);
  });

  test.each([
    ['a certificate from the trusted CA with another subject DN', CA_ISSUED_OTHER_SUBJECT, 'certificate subject value does not match the registered one'],
    ['a self-signed certificate with the registered subject DN', SELF_SIGNED, 'client certificate was not verified'],
    ['no client certificate', undefined, 'client certificate was not provided'],
  ])('RFC 8705 §2.1: %s is 502 invalid_client, no session', async (_, presented, reason) => {
    const bed = await start('tls_client_auth', client, presented);
    await expectRefused(bed, reason);
  });
});

describe('RFC 8705 §2.2 self-signed certificate mutual-TLS method (self_signed_tls_client_auth)', () => {
  // §2.2.2: the client registers its certificate in `jwks`, as an `x5c` (oidc-provider matches its SHA-256 thumbprint).
  const x5c = [new X509Certificate(SELF_SIGNED.cert).raw.toString('base64')];
  const client = { jwks: { keys: [{ ...createPublicKey(SELF_SIGNED.cert).export({ format: 'jwk' }), x5c }] } };

  test('RFC 8705 §2.2: the registered self-signed certificate: the login completes, only client_id sent', async () => {
    const bed = await start('self_signed_tls_client_auth', client, SELF_SIGNED);
    await expectLoginCompletes(bed, SELF_SIGNED);
  });

  test.each([
    ['another self-signed certificate with the same subject', OTHER_SELF_SIGNED, 'unregistered client certificate provided'],
    ['an unregistered certificate from the trusted CA', CA_ISSUED, 'unregistered client certificate provided'],
    ['no client certificate', undefined, 'client certificate was not provided'],
  ])('RFC 8705 §2.2: %s is 502 invalid_client, no session', async (_, presented, reason) => {
    const bed = await start('self_signed_tls_client_auth', client, presented);
    await expectRefused(bed, reason);
  });
});

describe('the clientCertificate option: the certificate and key in config, presented through undici', () => {
  const dn = { tls_client_auth_subject_dn: subjectDn(CA_ISSUED.cert) };
  const x5c = [new X509Certificate(SELF_SIGNED.cert).raw.toString('base64')];
  const registered = { jwks: { keys: [{ ...createPublicKey(SELF_SIGNED.cert).export({ format: 'jwk' }), x5c }] } };

  test('RFC 8705 §2.1 tls_client_auth with clientCertificate: the login completes, the certificate presented, only client_id sent', async () => {
    const bed = await start('tls_client_auth', dn, CA_ISSUED, 'option');
    await expectLoginCompletes(bed, CA_ISSUED);
  });

  test('RFC 8705 §2.2 self_signed_tls_client_auth with clientCertificate: the login completes', async () => {
    const bed = await start('self_signed_tls_client_auth', registered, SELF_SIGNED, 'option');
    await expectLoginCompletes(bed, SELF_SIGNED);
  });

  test('RFC 8705 §2.1: a clientCertificate with another subject DN is 502 invalid_client, no session', async () => {
    const bed = await start('tls_client_auth', dn, CA_ISSUED_OTHER_SUBJECT, 'option');
    await expectRefused(bed, 'certificate subject value does not match the registered one');
  });

  test('start-up checks: not PEM, a key that is not the certificate\'s, and with customFetch are TypeErrors naming the key', () => {
    const config: AuthCallbackConfig = { issuer: 'https://op.example', clientId: CLIENT_ID, baseURL: 'https://app.example', secret: SECRET, clientAuthMethod: 'tls_client_auth' };
    expect(() => authCallback({ ...config, clientCertificate: { cert: 'not a certificate', key: CA_ISSUED.key } })).toThrow(/clientCertificate\.cert/);
    expect(() => authCallback({ ...config, clientCertificate: { cert: CA_ISSUED.cert, key: 'not a key' } })).toThrow(/clientCertificate\.key/);
    expect(() => authCallback({ ...config, clientCertificate: { cert: CA_ISSUED.cert, key: SELF_SIGNED.key } })).toThrow(/not the private key of clientCertificate\.cert/);
    expect(() => authCallback({ ...config, clientCertificate: CA_ISSUED, customFetch: httpsFetch({ ca: SERVER_CA, ...CA_ISSUED }) })).toThrow(/cannot be combined with customFetch/);
    expect(() => authCallback({ ...config, clientCertificate: CA_ISSUED })).not.toThrow();
  });
});

describe('options (RFC 8705 §2: the certificate is presented by clientCertificate or customFetch)', () => {
  test.each(['tls_client_auth', 'self_signed_tls_client_auth'] as const)('clientAuthMethod %s without clientCertificate or customFetch is a TypeError naming both', (method) => {
    const config: AuthCallbackConfig = { issuer: 'https://op.example', clientId: CLIENT_ID, baseURL: 'https://app.example', secret: SECRET, clientAuthMethod: method };
    expect(() => authCallback(config)).toThrow(TypeError);
    expect(() => authCallback(config)).toThrow(/clientCertificate.*customFetch/);
    expect(() => authCallback({ ...config, customFetch: httpsFetch({ ca: SERVER_CA, ...CA_ISSUED }) })).not.toThrow();
  });
});
