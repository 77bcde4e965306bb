/**
 * Reads, writes and clears the session cookie, splitting a value that is too large for one
 * cookie into numbered chunks (`name.0`, `name.1`, …) and clearing chunks left from a larger
 * earlier value. Parsing and serialising are the `cookie` package's (RFC 6265).
 *
 * @packageDocumentation
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse, serialize, type SerializeOptions } from 'cookie';
import { appendSetCookie } from '../http.js';

/**
 * Upper bound of one serialised `Set-Cookie` value (name, value and attributes), in bytes.
 * Browsers keep at least 4,096 bytes per cookie (RFC 6265 §6.1); the margin covers
 * browsers that count differently.
 */
export const MAX_COOKIE_BYTES = 4000;

/** At most this many chunks are read back: a larger value is not one this module wrote. */
const MAX_CHUNKS = 20;

/**
 * The cookie value between `start` and `end` of a `Cookie` header as the `cookie` package's
 * `parse()` reads it: without spaces and tabs around it, percent-decoded when it can be.
 */
function valueAt(header: string, start: number, end: number): string {
  let from = start;
  let to = end;
  while (from < to && (header.charCodeAt(from) === 0x20 || header.charCodeAt(from) === 0x09)) from++;
  while (to > from && (header.charCodeAt(to - 1) === 0x20 || header.charCodeAt(to - 1) === 0x09)) to--;
  const value = header.slice(from, to);
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Attributes of the session cookie. */
export interface SessionCookieAttributes {
  name: string;
  domain: string | undefined;
  sameSite: 'lax' | 'strict' | 'none';
  secure: boolean;
}

/**
 * The session cookie of one `authCallback()`: always `HttpOnly` and `Path=/`; `Secure` and
 * `SameSite` as configured.
 */
export class SessionCookie {
  readonly #name: string;
  readonly #attributes: SerializeOptions;
  readonly #chunkName: RegExp;
  /** Every occurrence of this cookie's name or a chunk's in a `Cookie` header. */
  readonly #occurrence: RegExp;
  /** Characters of value that fit in one chunk, with its name and attributes. */
  readonly #chunkSize: number;

  constructor(attributes: SessionCookieAttributes) {
    this.#name = attributes.name;
    this.#attributes = {
      httpOnly: true,
      path: '/',
      sameSite: attributes.sameSite,
      secure: attributes.secure,
      ...(attributes.domain !== undefined && { domain: attributes.domain }),
    };
    const escaped = attributes.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.#chunkName = new RegExp(`^${escaped}\\.(\\d+)$`);
    this.#occurrence = new RegExp(`(?:^|;)[ \\t]*${escaped}(\\.\\d+)?[ \\t]*=`, 'g');
    const overhead = serialize(`${attributes.name}.${MAX_CHUNKS}`, '', { ...this.#attributes, expires: new Date(8.64e15) }).length;
    this.#chunkSize = MAX_COOKIE_BYTES - overhead;
  }

  /** Name of the cookie (of its first chunk when chunked: `name.0`). */
  get name(): string {
    return this.#name;
  }

  /**
   * The session cookie's value as the browser sent it, chunks joined. `undefined` when absent, and
   * when the header is not one this module's cookies make: a name sent twice (a cookie of the same
   * name from a parent domain or a longer path), a single cookie beside chunks, or chunks that are
   * not contiguous. A cookie planted from a sibling subdomain (cookie tossing) so reads as no
   * session rather than as the planted one.
   */
  read(req: IncomingMessage): string | undefined {
    const header = req.headers.cookie;
    if (header === undefined) return undefined;
    // The usual header: the cookie once, unchunked. Its value is read in place, as parse() would
    // read it, rather than parse() making an object of every cookie the browser sends.
    const occurrence = this.#occurrence;
    occurrence.lastIndex = 0;
    const first = occurrence.exec(header);
    if (first === null) return undefined;
    const start = first.index + first[0].length;
    if (first[1] === undefined && occurrence.exec(header) === null) {
      const end = header.indexOf(';', start);
      return valueAt(header, start, end === -1 ? header.length : end);
    }
    occurrence.lastIndex = 0;
    const sent = header.match(occurrence)?.length ?? 0;
    const cookies = parse(header);
    const single = cookies[this.#name];
    if (single !== undefined) return sent === 1 ? single : undefined;
    const count = Object.keys(cookies).filter((name) => this.#chunkName.test(name)).length;
    if (count === 0 || count > MAX_CHUNKS || count !== sent) return undefined;
    let value = '';
    for (let i = 0; i < count; i++) {
      const chunk = cookies[`${this.#name}.${i}`];
      if (chunk === undefined) return undefined; // not contiguous: name.0 … name.(count-1) expected
      value += chunk;
    }
    return value;
  }

  /**
   * Sets the cookie to `value`, chunked when it does not fit in {@link MAX_COOKIE_BYTES}, and
   * clears every chunk the browser holds that this value does not overwrite.
   *
   * @param value - cookie-safe characters (base64url and `.`)
   * @param expiresAt - the cookie's expiry, in seconds since the epoch (never later than the seal's)
   * @returns how many cookies carry the value: 1, or its number of chunks
   */
  write(req: IncomingMessage, res: ServerResponse, value: string, expiresAt: number): number {
    const expires = new Date(expiresAt * 1000);
    const attributes = { ...this.#attributes, expires };
    const written = new Set<string>();
    const headers: string[] = [];
    const single = serialize(this.#name, value, attributes);
    if (single.length <= MAX_COOKIE_BYTES) {
      headers.push(single);
      written.add(this.#name);
    } else {
      for (let i = 0, offset = 0; offset < value.length; i++, offset += this.#chunkSize) {
        const name = `${this.#name}.${i}`;
        headers.push(serialize(name, value.slice(offset, offset + this.#chunkSize), attributes));
        written.add(name);
      }
    }
    for (const name of this.#present(req)) {
      if (!written.has(name)) headers.push(this.#expired(name));
    }
    appendSetCookie(res, headers);
    return written.size;
  }

  /** Clears the cookie and all its chunks that the request carries. */
  clear(req: IncomingMessage, res: ServerResponse): void {
    appendSetCookie(res, this.#present(req).map((name) => this.#expired(name)));
  }

  /** Names of this cookie and its chunks present in the request. */
  #present(req: IncomingMessage): string[] {
    const header = req.headers.cookie;
    if (header === undefined) return [];
    return Object.keys(parse(header)).filter((name) => name === this.#name || this.#chunkName.test(name));
  }

  #expired(name: string): string {
    return serialize(name, '', { ...this.#attributes, expires: new Date(0), maxAge: 0 });
  }
}

/**
 * A small cookie of this package beside the session cookie (the pending logout, the silent-login
 * mark): named after it with `suffix` (`oidc_session_logout`; `__Host-` whenever the session
 * cookie could be, RFC 6265bis §4.1.3.2), `HttpOnly`, `Path=/`, `SameSite=Lax` (a top-level
 * navigation back from the provider carries it), `Secure` and `Domain` as the session cookie's.
 */
export function companionCookie(cookie: { readonly name: string; readonly domain: string | undefined; readonly secure: boolean }, suffix: string): { name: string; attributes: SerializeOptions } {
  const hostOnly = cookie.secure && cookie.domain === undefined;
  return {
    name: `${hostOnly ? '__Host-' : ''}${cookie.name.replace(/^__(Host|Secure)-/, '')}_${suffix}`,
    attributes: { httpOnly: true, secure: cookie.secure, sameSite: 'lax', path: '/', ...(cookie.domain !== undefined && { domain: cookie.domain }) },
  };
}
