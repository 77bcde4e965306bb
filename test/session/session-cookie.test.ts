/**
 * Unit tests of lib/session/session-cookie.ts, through a tiny real Express app driven by supertest:
 * the `Set-Cookie` headers written, chunking above MAX_COOKIE_BYTES (RFC 6265 §6.1), the
 * clearing of stale chunks, and reading the value back from a `Cookie` header.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, test } from '@jest/globals';
import { parse, parseSetCookie, type SetCookie } from 'cookie';
import express, { type Request, type Response } from 'express';
import request from 'supertest';
import { MAX_COOKIE_BYTES, SessionCookie, type SessionCookieAttributes } from '../../lib/session/session-cookie.js';

const NAME = 'oidc_session';
/** 2033-05-18T03:33:20Z: every Expires written below is this date. */
const EXPIRES_AT = 2_000_000_000;
const DEFAULTS: SessionCookieAttributes = { name: NAME, domain: undefined, sameSite: 'lax', secure: false };

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** A deterministic cookie-safe value (base64url and dots, like a sealed value) of `length` characters. */
function valueOf(length: number, seed = 0): string {
  let out = '';
  for (let i = 0; i < length; i++) out += i % 97 === 96 ? '.' : BASE64URL[(i * 7 + seed) % 64];
  return out;
}

/** An Express app whose only route runs `handler` on the real request and response. */
function serve(handler: (req: Request, res: Response) => void): express.Express {
  const app = express();
  app.get('/', (req, res) => {
    handler(req, res);
    res.status(204).end();
  });
  return app;
}

/** The `Set-Cookie` headers of a GET `/` on `app`, sent with `cookieHeader` if given. */
async function setCookiesOf(app: express.Express, cookieHeader?: string): Promise<string[]> {
  const req = request(app).get('/');
  if (cookieHeader !== undefined) req.set('Cookie', cookieHeader);
  const res = await req;
  expect(res.status).toBe(204);
  return res.get('Set-Cookie') ?? [];
}

/** Runs `cookie.write()` in a real app and returns the `Set-Cookie` headers. */
function write(cookie: SessionCookie, value: string, cookieHeader?: string): Promise<string[]> {
  return setCookiesOf(serve((req, res) => cookie.write(req, res, value, EXPIRES_AT)), cookieHeader);
}

/** Runs `cookie.clear()` in a real app and returns the `Set-Cookie` headers. */
function clear(cookie: SessionCookie, cookieHeader?: string): Promise<string[]> {
  return setCookiesOf(serve((req, res) => cookie.clear(req, res)), cookieHeader);
}

/** A real `IncomingMessage` carrying `cookieHeader` (none when undefined). */
function requestWith(cookieHeader?: string): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  if (cookieHeader !== undefined) req.headers.cookie = cookieHeader;
  return req;
}

/**
 * Runs `cookie.write()` on a bare node:http `ServerResponse` and returns its `Set-Cookie` headers.
 * For values whose headers exceed what Node's HTTP parser accepts (16 KB in all), so that they
 * cannot be driven through supertest.
 */
function writeDirect(cookie: SessionCookie, value: string, cookieHeader?: string): string[] {
  const req = requestWith(cookieHeader);
  const res = new ServerResponse(req);
  cookie.write(req, res, value, EXPIRES_AT);
  const headers = res.getHeader('Set-Cookie');
  return headers === undefined ? [] : (headers as string[]);
}

function isExpired(cookie: SetCookie): boolean {
  return cookie.maxAge === 0 || (cookie.expires !== undefined && cookie.expires.getTime() <= Date.UTC(1970, 0, 2));
}

/** The cookies a browser would keep from `headers` (expired ones dropped), as a `Cookie` header. */
function cookieHeaderFrom(headers: string[]): string {
  return headers
    .map((h) => parseSetCookie(h))
    .filter((c) => !isExpired(c))
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}

function split(headers: string[]): { live: SetCookie[]; expired: SetCookie[] } {
  const parsed = headers.map((h) => parseSetCookie(h));
  return { live: parsed.filter((c) => !isExpired(c)), expired: parsed.filter(isExpired) };
}

/** The chunks of a chunked write, checked to be exactly `name.0` … `name.(n-1)` in order. */
function chunksOf(headers: string[], name = NAME): SetCookie[] {
  const live = split(headers).live;
  expect(live.map((c) => c.name)).toEqual(live.map((_, i) => `${name}.${i}`));
  return live;
}

describe('SessionCookie.write(): a value that fits is one cookie', () => {
  test('one Set-Cookie "name=value" with HttpOnly, Path=/, SameSite=Lax and Expires, not Secure', async () => {
    const value = valueOf(200);
    const headers = await write(new SessionCookie(DEFAULTS), value);
    expect(headers).toHaveLength(1);
    expect(headers[0]!.startsWith(`${NAME}=${value};`)).toBe(true);
    const cookie = parseSetCookie(headers[0]!);
    expect(cookie).toMatchObject({ name: NAME, value, path: '/', httpOnly: true, sameSite: 'lax' });
    expect(cookie.expires?.getTime()).toBe(EXPIRES_AT * 1000);
    expect(cookie.secure ?? false).toBe(false);
    expect(cookie.domain).toBeUndefined();
    expect(headers[0]).not.toMatch(/;\s*Secure/i);
    expect(headers[0]).not.toMatch(/;\s*Domain=/i);
  });

  test('Secure is set when configured', async () => {
    const [header] = await write(new SessionCookie({ ...DEFAULTS, secure: true }), 'abc');
    expect(header).toMatch(/;\s*Secure(;|$)/);
    expect(parseSetCookie(header!).secure).toBe(true);
  });

  test.each([
    ['strict', 'Strict'],
    ['none', 'None'],
  ] as const)('SameSite=%s is written as configured', async (sameSite, written) => {
    const [header] = await write(new SessionCookie({ ...DEFAULTS, sameSite, secure: true }), 'abc');
    expect(header).toContain(`SameSite=${written}`);
  });

  test('a Domain attribute is written when configured', async () => {
    const [header] = await write(new SessionCookie({ ...DEFAULTS, domain: 'app.example' }), 'abc');
    expect(parseSetCookie(header!).domain).toBe('app.example');
  });

  test('the cookie name is the configured one', async () => {
    const cookie = new SessionCookie({ ...DEFAULTS, name: 'my.sess' });
    expect(cookie.name).toBe('my.sess');
    const [header] = await write(cookie, 'abc');
    expect(parseSetCookie(header!)).toMatchObject({ name: 'my.sess', value: 'abc' });
  });

  test('Set-Cookie headers set earlier (e.g. by express-session) are kept', async () => {
    const cookie = new SessionCookie(DEFAULTS);
    const headers = await setCookiesOf(
      serve((req, res) => {
        res.cookie('connect.sid', 's1');
        cookie.write(req, res, 'abc', EXPIRES_AT);
      }),
    );
    expect(headers.map((h) => parseSetCookie(h).name)).toEqual(['connect.sid', NAME]);
  });

  test('rewriting the single cookie sets it once and does not also clear it', async () => {
    const headers = await write(new SessionCookie(DEFAULTS), 'new', `${NAME}=old`);
    expect(headers).toHaveLength(1);
    expect(parseSetCookie(headers[0]!)).toMatchObject({ name: NAME, value: 'new' });
  });

  test(`a Set-Cookie of exactly ${MAX_COOKIE_BYTES} bytes stays one cookie; one byte more is chunked`, async () => {
    const cookie = new SessionCookie(DEFAULTS);
    const [probe] = await write(cookie, 'x');
    const fitting = MAX_COOKIE_BYTES - (Buffer.byteLength(probe!) - 1);

    const exact = await write(cookie, valueOf(fitting));
    expect(exact).toHaveLength(1);
    expect(Buffer.byteLength(exact[0]!)).toBe(MAX_COOKIE_BYTES);
    expect(parseSetCookie(exact[0]!).name).toBe(NAME);

    const over = await write(cookie, valueOf(fitting + 1));
    expect(over.length).toBeGreaterThan(1);
    expect(chunksOf(over).map((c) => c.value).join('')).toBe(valueOf(fitting + 1));
  });
});

describe(`SessionCookie.write(): a value larger than ${MAX_COOKIE_BYTES} bytes is chunked (RFC 6265 §6.1)`, () => {
  const configs: [string, SessionCookieAttributes][] = [
    ['defaults', DEFAULTS],
    ['Secure, SameSite=None, a long Domain and name', { name: 'a_rather_long_session_cookie_name', domain: 'a-rather-long-subdomain.of.an.example.com', sameSite: 'none', secure: true }],
  ];

  // Up to ~12 KB the headers travel over HTTP (supertest); above that, Node's 16 KB header limit
  // forbids it, so the Set-Cookie headers are taken from a bare ServerResponse.
  test.each(configs.flatMap(([label, attributes]) => [4500, 10_000, 30_000, 60_000].map((length) => [label, length, attributes] as const)))(
    '%s, %i characters: chunks name.0, name.1, … each ≤ 4000 bytes, with the same attributes',
    async (_label, length, attributes) => {
      const value = valueOf(length);
      const cookie = new SessionCookie(attributes);
      const headers = length <= 10_000 ? await write(cookie, value) : writeDirect(cookie, value);
      expect(headers.length).toBeGreaterThan(1);
      for (const header of headers) expect(Buffer.byteLength(header)).toBeLessThanOrEqual(MAX_COOKIE_BYTES);
      const chunks = chunksOf(headers, attributes.name);
      expect(chunks.map((c) => c.value).join('')).toBe(value);
      for (const chunk of chunks) {
        expect(chunk).toMatchObject({ path: '/', httpOnly: true, sameSite: attributes.sameSite });
        expect(chunk.expires?.getTime()).toBe(EXPIRES_AT * 1000);
        expect(chunk.secure ?? false).toBe(attributes.secure);
        expect(chunk.domain).toBe(attributes.domain);
      }
      // No single cookie alongside the chunks.
      expect(chunks.some((c) => c.name === attributes.name)).toBe(false);
    },
  );

  test('chunks are filled close to the limit, so no more cookies are used than needed', async () => {
    const value = valueOf(30_000);
    const headers = writeDirect(new SessionCookie(DEFAULTS), value);
    const chunks = chunksOf(headers);
    const size = chunks[0]!.value!.length;
    expect(chunks).toHaveLength(Math.ceil(value.length / size));
    for (const header of headers.slice(0, -1)) expect(Buffer.byteLength(header)).toBeGreaterThan(MAX_COOKIE_BYTES - 100);
  });

  test('read() reassembles the chunks a browser sends back (through the app)', async () => {
    const cookie = new SessionCookie(DEFAULTS);
    const value = valueOf(10_000, 5);
    const headers = await write(cookie, value);
    const app = express();
    app.get('/', (req, res) => {
      res.json({ value: cookie.read(req) ?? null });
    });
    const res = await request(app).get('/').set('Cookie', cookieHeaderFrom(headers));
    expect(res.status).toBe(200);
    expect((res.body as { value: unknown }).value).toBe(value);
  });

  test('read() reassembles a large value written in many chunks', () => {
    const cookie = new SessionCookie(DEFAULTS);
    const value = valueOf(50_000, 3);
    const headers = writeDirect(cookie, value);
    expect(headers.length).toBeGreaterThan(10);
    expect(cookie.read(requestWith(cookieHeaderFrom(headers)))).toBe(value);
  });
});

describe('SessionCookie.write(): stale cookies the request carried are cleared', () => {
  test('a chunk the new value does not need (name.2 when 2 chunks suffice) is cleared', async () => {
    const cookie = new SessionCookie(DEFAULTS);
    const value = valueOf(6000);
    const headers = await write(cookie, value, `${NAME}.0=a; ${NAME}.1=b; ${NAME}.2=c; other=1`);
    const { live, expired } = split(headers);
    expect(live.map((c) => c.name)).toEqual([`${NAME}.0`, `${NAME}.1`]);
    expect(live.map((c) => c.value).join('')).toBe(value);
    expect(expired.map((c) => c.name)).toEqual([`${NAME}.2`]);
  });

  test('the single cookie is cleared when switching to chunks', async () => {
    const headers = await write(new SessionCookie(DEFAULTS), valueOf(6000), `${NAME}=old`);
    const { live, expired } = split(headers);
    expect(live.map((c) => c.name)).toEqual([`${NAME}.0`, `${NAME}.1`]);
    expect(expired.map((c) => c.name)).toEqual([NAME]);
  });

  test('every chunk is cleared when switching back to a single cookie', async () => {
    const headers = await write(new SessionCookie(DEFAULTS), 'small', `${NAME}.0=a; ${NAME}.1=b; ${NAME}.2=c`);
    const { live, expired } = split(headers);
    expect(live.map((c) => [c.name, c.value])).toEqual([[NAME, 'small']]);
    expect(expired.map((c) => c.name).sort()).toEqual([`${NAME}.0`, `${NAME}.1`, `${NAME}.2`]);
  });

  test('a clearing cookie is empty, expired (Max-Age=0, Expires in 1970) and carries the same Path, Domain and Secure', async () => {
    const attributes: SessionCookieAttributes = { name: NAME, domain: 'app.example', sameSite: 'lax', secure: true };
    const headers = await write(new SessionCookie(attributes), 'small', `${NAME}.0=a`);
    const { expired } = split(headers);
    expect(expired).toHaveLength(1);
    expect(expired[0]).toMatchObject({ name: `${NAME}.0`, value: '', maxAge: 0, path: '/', domain: 'app.example', secure: true, httpOnly: true });
    expect(expired[0]!.expires?.getTime()).toBe(0);
  });

  test('cookies of other names are never touched', async () => {
    const header = `other=1; ${NAME}_x=1; ${NAME}.x=1; x${NAME}.0=1; ${NAME}2=1; ${NAME}.0.1=1`;
    const headers = await write(new SessionCookie(DEFAULTS), 'small', header);
    expect(headers.map((h) => parseSetCookie(h).name)).toEqual([NAME]);
  });

  test('a browser applying the Set-Cookie headers ends with exactly the new value', async () => {
    const cookie = new SessionCookie(DEFAULTS);
    const jar = new Map<string, string>([[`${NAME}.0`, 'a'], [`${NAME}.1`, 'b'], [`${NAME}.2`, 'c'], [`${NAME}.3`, 'd']]);
    const value = valueOf(5000, 9);
    const headers = await write(cookie, value, [...jar].map(([n, v]) => `${n}=${v}`).join('; '));
    for (const c of headers.map((h) => parseSetCookie(h))) {
      if (isExpired(c)) jar.delete(c.name);
      else jar.set(c.name, c.value ?? '');
    }
    expect([...jar.keys()].sort()).toEqual([`${NAME}.0`, `${NAME}.1`]);
    expect(cookie.read(requestWith([...jar].map(([n, v]) => `${n}=${v}`).join('; ')))).toBe(value);
  });
});

describe('SessionCookie.clear()', () => {
  test('clears the single cookie and every chunk the request carries, and nothing else', async () => {
    const headers = await clear(new SessionCookie(DEFAULTS), `${NAME}=x; ${NAME}.0=a; ${NAME}.1=b; ${NAME}.7=z; other=1; ${NAME}_x=1`);
    const { live, expired } = split(headers);
    expect(live).toEqual([]);
    expect(expired.map((c) => c.name).sort()).toEqual([NAME, `${NAME}.0`, `${NAME}.1`, `${NAME}.7`]);
    for (const c of expired) expect(c).toMatchObject({ value: '', maxAge: 0, path: '/', httpOnly: true });
  });

  test('clears with the configured Domain, so the browser deletes the right cookie', async () => {
    const headers = await clear(new SessionCookie({ ...DEFAULTS, domain: 'app.example' }), `${NAME}=x`);
    expect(headers).toHaveLength(1);
    expect(parseSetCookie(headers[0]!)).toMatchObject({ name: NAME, domain: 'app.example', maxAge: 0 });
  });

  test('writes no Set-Cookie when the request carries no session cookie', async () => {
    expect(await clear(new SessionCookie(DEFAULTS), 'other=1')).toEqual([]);
    expect(await clear(new SessionCookie(DEFAULTS))).toEqual([]);
  });

  test('a name with regular-expression characters matches only itself', async () => {
    const headers = await clear(new SessionCookie({ ...DEFAULTS, name: 'a.b' }), 'a.b.0=1; aXb.0=1; a.b=1; a.bb.0=1');
    expect(headers.map((h) => parseSetCookie(h).name).sort()).toEqual(['a.b', 'a.b.0']);
  });

  test('works on a bare node:http ServerResponse too (no Express), keeping earlier Set-Cookie headers', () => {
    const req = requestWith(`${NAME}.0=a`);
    const res = new ServerResponse(req);
    res.setHeader('Set-Cookie', 'connect.sid=s1; Path=/');
    new SessionCookie(DEFAULTS).clear(req, res);
    const list = res.getHeader('Set-Cookie') as string[];
    expect(list.map((h) => parseSetCookie(h).name)).toEqual(['connect.sid', `${NAME}.0`]);
  });
});

describe('SessionCookie.read()', () => {
  const cookie = new SessionCookie(DEFAULTS);

  test('returns undefined for a request without a Cookie header', () => {
    expect(cookie.read(requestWith())).toBeUndefined();
  });

  test('returns undefined when the session cookie is absent', () => {
    expect(cookie.read(requestWith('other=1; connect.sid=s'))).toBeUndefined();
    expect(cookie.read(requestWith(''))).toBeUndefined();
  });

  test('returns the single cookie\'s value', () => {
    expect(cookie.read(requestWith(`other=1; ${NAME}=abc.def; x=y`))).toBe('abc.def');
  });

  test('joins the chunks in index order, whatever their order in the header', () => {
    expect(cookie.read(requestWith(`${NAME}.0=aa; ${NAME}.1=bb; ${NAME}.2=cc`))).toBe('aabbcc');
    expect(cookie.read(requestWith(`${NAME}.2=cc; other=1; ${NAME}.0=aa; ${NAME}.1=bb`))).toBe('aabbcc');
  });

  test('returns undefined when chunk 0 is missing', () => {
    expect(cookie.read(requestWith(`${NAME}.1=bb; ${NAME}.2=cc`))).toBeUndefined();
  });

  test('returns undefined when the chunks are not contiguous (name.0 and name.2 without name.1)', () => {
    expect(cookie.read(requestWith(`${NAME}.0=aa; ${NAME}.2=cc`))).toBeUndefined();
  });

  test('reads back 20 chunks; more than that is not a value this module wrote', () => {
    const chunks = (n: number) => Array.from({ length: n }, (_, i) => `${NAME}.${i}=c${i}`).join('; ');
    expect(cookie.read(requestWith(chunks(20)))).toBe(Array.from({ length: 20 }, (_, i) => `c${i}`).join(''));
    expect(cookie.read(requestWith(chunks(21)))).toBeUndefined();
  });

  test('does not read a cookie with a similar name', () => {
    expect(cookie.read(requestWith(`${NAME}_x=1; x${NAME}=2; ${NAME}.x=3`))).toBeUndefined();
  });

  test('reads the single cookie as the cookie package\'s parse() does: spaces and tabs around it dropped, percent-decoded when it can be', () => {
    const headers = [
      `${NAME}=abc`, `a=1;${NAME}=abc`, `a=1; \t${NAME} \t= \tabc.def \t; b=2`, `${NAME}=a%2Eb`, `${NAME}=a%zzb`, `${NAME}=a=b`, `${NAME}=`,
      `flag; ${NAME}=abc`, `${NAME}_logout=x; ${NAME}=abc; x${NAME}=y`, `${NAME}="abc"`,
    ];
    for (const header of headers) {
      const parsed = parse(header)[NAME];
      expect({ header, value: cookie.read(requestWith(header)) }).toEqual({ header, value: parsed });
    }
    expect(parse(`${NAME}=a%2Eb`)[NAME]).toBe('a.b'); // the comparison above covers decoding
  });

  test('a name sent twice reads as no session, whether both are single cookies or one is a chunk', () => {
    expect(cookie.read(requestWith(`${NAME}=abc; ${NAME}=def`))).toBeUndefined();
    expect(cookie.read(requestWith(`${NAME}=abc; other=1; ${NAME}=abc`))).toBeUndefined();
    expect(cookie.read(requestWith(`${NAME}=abc; ${NAME}.0=def`))).toBeUndefined();
    expect(cookie.read(requestWith(`${NAME}.0=def; ${NAME}=abc`))).toBeUndefined();
  });

  test('reads the value through a real express request', async () => {
    const app = express();
    app.get('/', (req, res) => {
      res.json({ value: cookie.read(req) ?? null, parsed: parse(req.headers.cookie ?? '')[NAME] ?? null });
    });
    const res = await request(app).get('/').set('Cookie', `${NAME}=v1`);
    expect(res.body).toEqual({ value: 'v1', parsed: 'v1' });
  });
});
