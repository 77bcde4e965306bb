/**
 * What "nothing secret in the answer or the logs" means in the tests, in one place: a secret
 * string, a JWT, a JWS signing input or a stack trace found in a response body, or in what the
 * app logged, read as deep as it goes.
 */
import { inspect } from 'node:util';
import type { Page } from './browser.js';

/** A JWT (or any JWS) in compact form: a base64url JSON header, a dot, a payload. */
export const JWT_LIKE = /eyJ[\w-]*\.[\w-]*\./;
/** A JWS signing input (`header.payload`), as a refused token's bytes would show it. */
export const JWS_INPUT_LIKE = /eyJ[\w-]+\.eyJ[\w-]+/;
/** A line of a Node.js stack trace. */
export const STACK_TRACE = /\n\s+at [^\n]+:\d+:\d+/;

/** The secrets (shortened) and JWT-looking strings found in `text`. */
export function leaksIn(text: string, secrets: readonly string[]): string[] {
  const found = secrets.filter((s) => s.length > 0 && text.includes(s)).map((s) => `secret "${s.slice(0, 8)}…"`);
  const jws = JWT_LIKE.exec(text) ?? JWS_INPUT_LIKE.exec(text);
  if (jws !== null) found.push(`JWT-looking "${jws[0].slice(0, 16)}…"`);
  return found;
}

/** What leaks from a response body: secrets, JWTs, and a stack trace. */
export function leaksInPage(page: Page, secrets: readonly string[]): string[] {
  return [...leaksIn(page.body, secrets), ...(STACK_TRACE.test(page.body) ? ['a stack trace'] : [])];
}

/**
 * Every string reachable from `value` (own properties, symbol-keyed too, and an error's `cause`
 * chain), with byte arrays decoded as UTF-8: what a logger that serialises deeper than
 * `util.inspect()`, or a JWS's signing input held as bytes, would reveal.
 */
export function reachableText(value: unknown, seen = new Set<unknown>(), depth = 0): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object' || seen.has(value) || depth > 12) return [];
  seen.add(value);
  if (ArrayBuffer.isView(value)) return [Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8')];
  if (value instanceof ArrayBuffer) return [Buffer.from(value).toString('utf8')];
  const found: string[] = [];
  for (const key of Reflect.ownKeys(value)) {
    let child: unknown;
    try {
      child = (value as Record<PropertyKey, unknown>)[key];
    } catch {
      continue;
    }
    found.push(...reachableText(child, seen, depth + 1));
  }
  return found;
}

/**
 * What leaks from logged calls (e.g. `console.error`'s `mock.calls`): every argument as
 * `util.inspect()` prints it at full depth and as {@link reachableText} finds it.
 */
export function leaksInLogs(calls: readonly (readonly unknown[])[], secrets: readonly string[]): string[] {
  return calls.flatMap((args, call) => args.flatMap((arg, index) =>
    [inspect(arg, { depth: Infinity }), ...reachableText(arg)].flatMap((text) => leaksIn(text, secrets))
      .map((leak) => `log call ${call + 1}, argument ${index + 1}: ${leak}`)));
}

/** `{ error, error_description }` of a JSON error answer. */
export function jsonError(page: Page): { error: string; error_description: string } {
  if (!/^application\/json/.test(page.headers.get('content-type') ?? '')) throw new Error(`expected a JSON answer, got ${page.headers.get('content-type')}`);
  return JSON.parse(page.body) as { error: string; error_description: string };
}

/** The `oidc_session` cookies (or chunks) an answer sets, cleared ones included. */
export function sessionCookiesSet(page: Page): string[] {
  return page.headers.getSetCookie().filter((c) => /^oidc_session(\.\d+)?=/.test(c));
}
