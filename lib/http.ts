/**
 * The little of HTTP the middleware needs, on Node's own `IncomingMessage` and `ServerResponse`,
 * so that it runs the same in Express 4 and 5, Connect, and a plain `http.createServer()`: the
 * request's path and query relative to where the middleware is mounted, redirects, JSON and
 * `Set-Cookie` headers. Content negotiation is the `accepts` package's, as in Express.
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import accepts from 'accepts';
import typeis from 'type-is';

/**
 * A request as the middleware sees it: Node's, with what Express and Connect add when they are
 * there (`originalUrl`, a parsed `body`) and what express-session adds (`session`, `sessionStore`).
 */
export type HttpRequest = IncomingMessage & {
  /** The URL as the client sent it, before a mount path was stripped (Express, Connect). */
  originalUrl?: string;
  body?: unknown;
};

/** A response: Node's. */
export type HttpResponse = ServerResponse;

/**
 * A middleware as Express 4 and 5, Connect and Node's `http` call it: `authCallback()` and
 * `requireAuth()` are of this type, which each of them accepts in `app.use()` and routes. Errors
 * are passed to `next(err)`, never thrown.
 */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** The request's path relative to where the middleware is mounted (Express's `req.path`), without the query. */
export function requestPath(req: HttpRequest): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** The request's whole URL as the client sent it (path and query), whatever the mount. */
export function originalUrl(req: HttpRequest): string {
  return req.originalUrl ?? req.url ?? '/';
}

/** `true` when the request prefers HTML over JSON (a browser's page load), as Express's `req.accepts(['html', 'json'])`. */
export function prefersHtml(req: HttpRequest): boolean {
  return accepts(req).type(['html', 'json']) === 'html';
}

/** `true` when the request's body is `application/x-www-form-urlencoded`. */
export function isFormBody(req: HttpRequest): boolean {
  return typeis(req, ['application/x-www-form-urlencoded']) === 'application/x-www-form-urlencoded';
}

/** Sets `headers` on the response. */
export function setHeaders(res: HttpResponse, headers: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
}

/** Answers `status` (302 by default) with `Location: location` and no body. */
export function redirect(res: HttpResponse, location: string, status = 302): void {
  res.statusCode = status;
  res.setHeader('Location', location);
  res.setHeader('Content-Length', '0');
  res.end();
}

/**
 * Answers `status` with `body` as JSON, `<`, `>` and `&` written as `\u003c`, `\u003e`, `\u0026`
 * (Express's `json escape`), so that the answer is never read as markup.
 */
export function sendJson(res: HttpResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body).replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(json));
  res.end(json);
}

/** Answers `status` with no body. */
export function sendStatus(res: HttpResponse, status: number): void {
  res.statusCode = status;
  res.end();
}

/** Adds `headers` to the response's `Set-Cookie`, after those already there. */
export function appendSetCookie(res: HttpResponse, headers: readonly string[]): void {
  if (headers.length === 0) return;
  const previous = res.getHeader('Set-Cookie');
  const list = previous === undefined ? [] : Array.isArray(previous) ? previous : [String(previous)];
  res.setHeader('Set-Cookie', [...list, ...headers]);
}
