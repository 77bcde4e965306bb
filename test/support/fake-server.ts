/**
 * What the fake OAuth servers of test/support/ (hostile-provider, github-provider,
 * workos-provider, vendor-provider) have in common: an Express app on its own port of 127.0.0.1,
 * answers held back on purpose (a "hang") and dropped when the server closes, every request
 * recorded, edits over a built answer, and the pieces of RFC 6749 / RFC 7636 a token endpoint
 * checks.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, Server } from 'node:http';
import express, { type Express, type Request, type Response } from 'express';
import { closeServer, serveApp } from './http-server.js';

export interface FakeServer {
  /** `http://localhost:<port>` */
  readonly baseURL: string;
  readonly server: Server;
  /** Serves every request (`x-powered-by` off); routes are added after start. */
  readonly app: Express;
  /** Answers a test made hang: never sent, destroyed by {@link FakeServer.dropHanging} and on close. */
  readonly hanging: Set<Response>;
  /** Destroys the hanging answers. */
  dropHanging(): void;
  close(): Promise<void>;
}

export async function startFakeServer(): Promise<FakeServer> {
  const app = express();
  app.disable('x-powered-by');
  const { baseURL, server } = await serveApp(() => app);
  const hanging = new Set<Response>();
  const dropHanging = (): void => {
    for (const res of hanging) res.destroy();
    hanging.clear();
  };
  return {
    baseURL,
    server,
    app,
    hanging,
    dropHanging,
    close: () => {
      dropHanging();
      return closeServer(server);
    },
  };
}

/** One HTTP request a fake received, as sent. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The raw body (`''` for a GET). */
  body: string;
}

function readBody(req: Request): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => { body += chunk; });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/**
 * Records every request `fake` receives into `requests` (its body read whole, then parsed by
 * `parse`), and hands the record to the routes as `res.locals.record`.
 */
export function recordRequests<R extends RecordedRequest>(fake: FakeServer, requests: R[], parse: (request: RecordedRequest) => R): void {
  fake.app.use(async (req, res, next) => {
    const body = req.method === 'GET' || req.method === 'HEAD' ? '' : await readBody(req);
    const url = new URL(req.originalUrl, fake.baseURL);
    const record = parse({ method: req.method, path: url.pathname, query: url.searchParams, headers: { ...req.headers }, body });
    requests.push(record);
    res.locals.record = record;
    next();
  });
}

/** A set of members: each value replaces the built one; `undefined` removes it. */
export type Edits = Record<string, unknown>;

/** `value` with `edits` applied: each value replaces, `undefined` removes. */
export function edited<T extends Record<string, unknown>>(value: T, edits: Edits): T {
  const result: Record<string, unknown> = { ...value };
  for (const [name, edit] of Object.entries(edits)) {
    if (edit === undefined) delete result[name];
    else result[name] = edit;
  }
  return result as T;
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
