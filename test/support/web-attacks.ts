/**
 * What the web-attack suites (test/app/web-attacks*.test.ts) check, over real HTTP against the
 * example app and a real OpenID Provider: every rejection answers 4xx (never 5xx), sets no
 * session cookie, shows no stack trace; and the raw requests they need where `fetch` would
 * normalise what is sent, or hide how the answer's headers came.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { expect } from '@jest/globals';
import { parseSetCookie } from 'cookie';
import type { Page } from './browser.js';

/** A V8 stack frame: "\n    at fn (/path/file.js:12:34)". */
export const STACK_TRACE = /\n\s+at .+:\d+:\d+/;
/** The session cookie and its chunks. */
export const SESSION_COOKIE = /^oidc_session(\.\d+)?$/;

/** Names of the session cookies (or chunks) that an answer sets to a value. */
export function sessionCookieNamesSet(setCookies: readonly string[]): string[] {
  return setCookies.map((c) => parseSetCookie(c)).filter((c) => SESSION_COOKIE.test(c.name) && c.value !== '').map((c) => c.name);
}

/** A rejection as the brief defines it: the expected 4xx, no session cookie set, no stack trace. */
export function expectRejected(page: Page, status = 400): void {
  expect(page.status).toBe(status);
  expect(sessionCookieNamesSet(page.headers.getSetCookie())).toEqual([]);
  expect(page.body).not.toMatch(STACK_TRACE);
}

/** The server still serves: the home page answers 200. */
export async function expectServing(baseURL: string): Promise<void> {
  const home = await fetch(`${baseURL}/`);
  expect(home.status).toBe(200);
  await home.text();
}

export interface RawAnswer {
  status: number;
  /** Header names and values exactly as received, alternating (IncomingMessage.rawHeaders). */
  rawHeaders: string[];
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * One request through `node:http`, for what `fetch` would normalise, and to see the answer's
 * headers exactly as they came.
 */
export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const req = httpRequest({
      host: target.hostname,
      port: target.port,
      method: options.method ?? 'GET',
      path: url.slice(target.origin.length),
      headers: { ...options.headers, ...(body && { 'content-length': String(body.length) }) },
      agent: false,
    }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, rawHeaders: res.rawHeaders, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** No header carries CR/LF-injected content: no `x` cookie, no line break, no injected header. */
export function expectNoHeaderInjection(rawHeaders: readonly string[]): void {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    expect(name).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
    expect(value).not.toMatch(/[\r\n]/);
    if (name.toLowerCase() === 'set-cookie') expect(parseSetCookie(value).name).not.toBe('x');
    expect(value).not.toMatch(/Set-Cookie:\s*x/i);
  }
}
