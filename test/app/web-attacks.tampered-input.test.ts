/**
 * Tampered and oversized input, over real HTTP against the example app and a real OpenID
 * Provider (oidc-provider): a session cookie with a byte flipped, truncated, re-encoded, its
 * chunks missing or swapped, or sealed under a foreign or removed secret, reads as no session;
 * a 100 KB `state`, `code` or `returnTo` is a 4xx.
 *
 * Every rejection must answer 4xx (never 5xx), set no session cookie, leave `req.user` undefined,
 * show no stack trace, and leave the server serving.
 */
import { maxHeaderSize, type IncomingMessage, type ServerResponse } from 'node:http';
import { beforeAll, describe, expect, test } from '@jest/globals';
import { parseSetCookie } from 'cookie';
import type { Express } from 'express';
import request from 'supertest';
import { unsealCookiePayload } from '../../lib/session/session-codec.js';
import type { SealedTokens } from '../../lib/session/session.js';
import { Sealer } from '../../lib/session/seal.js';
import { SessionCookie } from '../../lib/session/session-cookie.js';
import { createApp } from '../../example-app/app.js';
import { Browser } from '../support/browser.js';
import { jsonError } from '../support/leaks.js';
import { authorizationResponse, SECRET, SESSION_SECRET, signIn, startLogin, testbedTools, useTestbed } from '../support/testbed.js';
import { expectRejected, expectServing, rawRequest, sessionCookieNamesSet, STACK_TRACE } from '../support/web-attacks.js';

const JSON_ACCEPT = { accept: 'application/json' };

const bed = useTestbed();
const { expectNotSignedIn } = testbedTools(bed);

describe('a tampered session cookie, over HTTP', () => {
  let realCookie: string;
  /** The tokens of a real login, as sealed into its cookie. */
  /** A real session's sealed payload (its tokens, and when its user logged in). */
  let tokens: SealedTokens & { createdAt: number };
  const expiresAt = (): number => Math.floor(Date.now() / 1000) + 3600;

  beforeAll(async () => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`, 'carol');
    realCookie = (await browser.cookie(bed.baseURL, 'oidc_session'))!;
    const opened = unsealCookiePayload(new Sealer([SECRET]), realCookie);
    if (opened === undefined) throw new Error('the real session cookie does not open with the test SECRET');
    const { idToken, accessToken, tokenType, createdAt } = opened.payload;
    if (idToken === undefined || accessToken === undefined || tokenType === undefined || createdAt === undefined) throw new Error('the real session cookie holds no token set');
    tokens = { idToken, accessToken, tokenType, createdAt };
  });

  /** The guarded API and the guarded page, with `cookie` as the whole Cookie header. */
  async function guarded(app: Express, cookie: string): Promise<{ api: request.Response; page: request.Response }> {
    const api = await request(app).get('/api/me').set('Cookie', cookie).set('Accept', 'application/json');
    const page = await request(app).get('/profile').set('Cookie', cookie).set('Accept', 'text/html');
    return { api, page };
  }

  /** Not signed in: 401 from the API, 302 to login from the page, no 5xx, no session cookie set, no stack trace. */
  async function expectRefused(cookie: string, app: Express = bed.app): Promise<void> {
    const { api, page } = await guarded(app, cookie);
    expect(api.status).toBe(401);
    expect(api.body).toMatchObject({ error: 'unauthorized' });
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe('/login?returnTo=%2Fprofile');
    for (const res of [api, page]) {
      expect(sessionCookieNamesSet((res.headers['set-cookie'] as unknown as string[] | undefined) ?? [])).toEqual([]);
      expect(res.text).not.toMatch(STACK_TRACE);
    }
  }

  async function expectAccepted(cookie: string, app: Express = bed.app): Promise<void> {
    const { api, page } = await guarded(app, cookie);
    expect(api.status).toBe(200);
    expect(api.body).toMatchObject({ sub: 'carol' });
    expect(page.status).toBe(200);
  }

  /** The cookie with the character at `index` changed so that the bytes it encodes change. */
  function flip(value: string, index: number): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const char = value[index]!;
    const sextet = alphabet.indexOf(char);
    // XOR with 0b100000 flips the sextet's top bit, which carries data even in a segment's last character.
    const replacement = sextet === -1 ? 'A' : alphabet[sextet ^ 0x20]!;
    return value.slice(0, index) + replacement + value.slice(index + 1);
  }

  /** The chunk cookies SessionCookie writes for `value`, as name=value pairs in order. */
  function chunksOf(value: string): [string, string][] {
    const cookie = new SessionCookie({ name: 'oidc_session', domain: undefined, sameSite: 'lax', secure: false });
    const headers = new Map<string, unknown>();
    const res = {
      getHeader: (name: string) => headers.get(name.toLowerCase()),
      setHeader: (name: string, v: unknown) => { headers.set(name.toLowerCase(), v); },
    } as unknown as ServerResponse;
    cookie.write({ headers: {} } as IncomingMessage, res, value, expiresAt());
    return (headers.get('set-cookie') as string[]).map((c) => parseSetCookie(c)).map((c) => [c.name, c.value ?? '']);
  }

  const header = (pairs: readonly (readonly [string, string])[]): string => pairs.map(([n, v]) => `${n}=${v}`).join('; ');

  test('the real cookie is accepted (the control for the cases below)', async () => {
    await expectAccepted(`oidc_session=${realCookie}`);
  });

  test.each([
    ['the protected header\'s first', () => 0],
    ['the protected header\'s middle', () => Math.floor(realCookie.indexOf('.') / 2)],
    ['the first separator', () => realCookie.indexOf('.')],
    ['the IV\'s first', () => realCookie.indexOf('..') + 2],
    ['the ciphertext\'s first', () => realCookie.split('.').slice(0, 3).join('.').length + 1],
    ['the ciphertext\'s middle', () => Math.floor(realCookie.lastIndexOf('.') - (realCookie.split('.')[3]!.length / 2))],
    ['the ciphertext\'s last', () => realCookie.lastIndexOf('.') - 1],
    ['the tag\'s first', () => realCookie.lastIndexOf('.') + 1],
    ['the tag\'s last', () => realCookie.length - 1],
  ])('%s character flipped: 401 from the API, 302 to login from a page', async (_where, index) => {
    const tampered = flip(realCookie, index());
    expect(tampered).not.toBe(realCookie);
    await expectRefused(`oidc_session=${tampered}`);
  });

  test.each([
    ['by its last character', (v: string) => v.slice(0, -1)],
    ['by ten characters', (v: string) => v.slice(0, -10)],
    ['to half', (v: string) => v.slice(0, Math.floor(v.length / 2))],
    ['to its protected header', (v: string) => v.slice(0, v.indexOf('.'))],
    ['before its tag', (v: string) => v.slice(0, v.lastIndexOf('.'))],
    ['to nothing', () => ''],
  ])('truncated %s: refused', async (_how, truncate) => {
    await expectRefused(`oidc_session=${truncate(realCookie)}`);
  });

  test('with a character appended to its tag: refused', async () => {
    await expectRefused(`oidc_session=${realCookie}A`);
  });

  /** The cookie with its character at `index` replaced by `char` (or `char` inserted, with `insert`). */
  function edit(value: string, index: number, char: string, insert = false): string {
    return value.slice(0, index) + char + value.slice(index + (insert ? 0 : 1));
  }

  test.each([
    // 16 bytes take 22 base64url characters: the last one carries 2 bits, its 4 low bits are unused.
    ['the tag\'s last character changed in bits it does not use', (v: string) => {
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      return edit(v, v.length - 1, alphabet[alphabet.indexOf(v.at(-1)!) ^ 0x01]!);
    }],
    ['a "=" appended to the tag', (v: string) => `${v}=`],
    ['a "%" at the end of the IV', (v: string) => edit(v, v.split('.').slice(0, 3).join('.').length, '%', true)],
    ['a "=" in the middle of the ciphertext', (v: string) => edit(v, v.lastIndexOf('.') - 8, '=', true)],
  ])('%s (other characters, the same bytes): refused as tampered', async (_how, recode) => {
    const recoded = recode(realCookie);
    expect(recoded).not.toBe(realCookie);
    await expectRefused(`oidc_session=${recoded}`);
  });

  describe('a chunked session', () => {
    let chunks: [string, string][];
    beforeAll(() => {
      const large = new Sealer([SECRET]).seal({ ...tokens, accessToken: tokens.accessToken + 'x'.repeat(9000) }, expiresAt());
      chunks = chunksOf(large);
    });

    test('is accepted whole, in 3 or more chunks (the control for the cases below)', async () => {
      expect(chunks.length).toBeGreaterThanOrEqual(3);
      expect(chunks.map(([n]) => n)).toEqual(chunks.map((_, i) => `oidc_session.${i}`));
      await expectAccepted(header(chunks));
    });

    test.each([
      ['its first chunk missing', (c: [string, string][]) => c.slice(1)],
      ['a middle chunk missing', (c: [string, string][]) => [c[0]!, ...c.slice(2)]],
      ['its last chunk missing', (c: [string, string][]) => c.slice(0, -1)],
      ['two chunks swapped', (c: [string, string][]) => [[c[0]![0], c[1]![1]], [c[1]![0], c[0]![1]], ...c.slice(2)] as [string, string][]],
      ['its last two chunks swapped', (c: [string, string][]) => [...c.slice(0, -2), [c.at(-2)![0], c.at(-1)![1]], [c.at(-1)![0], c.at(-2)![1]]] as [string, string][]],
      ['an extra chunk after the last', (c: [string, string][]) => [...c, [`oidc_session.${c.length}`, 'AAAA']] as [string, string][]],
      ['one chunk\'s character flipped', (c: [string, string][]) => c.map(([n, v], i) => [n, i === 1 ? flip(v, 10) : v]) as [string, string][]],
    ])('with %s: refused', async (_how, mangle) => {
      await expectRefused(header(mangle(chunks)));
    });
  });

  test('sealed under a foreign secret: refused', async () => {
    const foreign = new Sealer(['a-foreign-secret-of-at-least-32-characters-!!']).seal(tokens, expiresAt());
    await expectRefused(`oidc_session=${foreign}`);
  });

  test('sealed with a secret later removed from the rotation list: accepted while listed, refused once removed', async () => {
    const NEW = 'the-new-secret-of-at-least-32-characters-0123';
    const OLD = 'the-old-secret-of-at-least-32-characters-0123';
    const build = (secret: string[]): Express => createApp({ auth: { ...bed.auth, secret }, sessionSecret: SESSION_SECRET });
    const sealedWithOld = new Sealer([OLD]).seal(tokens, expiresAt());
    await expectAccepted(`oidc_session=${sealedWithOld}`, build([NEW, OLD]));
    await expectRefused(`oidc_session=${sealedWithOld}`, build([NEW]));
  });
});

describe('oversized input', () => {
  const HUGE = 'A'.repeat(100 * 1024);

  /**
   * A raw request that may be refused by Node itself before the app sees it: Node answers a
   * request line and headers over `maxHeaderSize` with 431, and Node 24 closes the connection
   * while the client is still sending them (ECONNRESET before the answer can be read). That reset
   * counts as the 431 only when the request was indeed over the limit.
   */
  async function oversized(url: string, options: Parameters<typeof rawRequest>[1] = {}): Promise<number> {
    let res: Awaited<ReturnType<typeof rawRequest>>;
    try {
      res = await rawRequest(url, options);
    } catch (err) {
      const headerBytes = Buffer.byteLength(url) + Object.entries(options.headers ?? {}).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
      if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' && headerBytes > maxHeaderSize) return 431;
      throw err;
    }
    expect(res.body).not.toMatch(STACK_TRACE);
    return res.status;
  }

  test.each(['state', 'code'])('a 100 KB %s in the callback query: 4xx, and the server still serves', async (name) => {
    const browser = new Browser();
    await startLogin(browser, `${bed.baseURL}/login`);
    const query = name === 'state' ? `code=abc&state=${HUGE}` : `code=${HUGE}&state=xyz`;
    const url = `${bed.baseURL}/callback?${query}`;
    const status = await oversized(url, { headers: { cookie: await browser.jar.getCookieString(url) } });
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    await expectServing(bed.baseURL);
  });

  test.each(['state', 'code'])('a 100 KB %s in a form-post callback body: 413, and the server still serves', async (name) => {
    const browser = new Browser();
    await startLogin(browser, `${bed.baseURL}/login`);
    const body = new URLSearchParams({ code: 'abc', state: 'xyz', [name]: HUGE });
    const res = await browser.request(`${bed.baseURL}/callback`, { body, headers: JSON_ACCEPT });
    expectRejected(res, 413);
    expect(jsonError(res).error).toBe('invalid_request');
    await expectNotSignedIn(browser);
    await expectServing(bed.baseURL);
  });

  test('a form-post callback body just under 64 KiB is read, and refused as a bad answer: 400', async () => {
    const browser = new Browser();
    await startLogin(browser, `${bed.baseURL}/login`);
    const body = new URLSearchParams({ code: 'abc', state: 'A'.repeat(60 * 1024) });
    const res = await browser.request(`${bed.baseURL}/callback`, { body, headers: JSON_ACCEPT });
    expectRejected(res, 400);
    expect(jsonError(res).error).toBe('state_mismatch');
  });

  test('a 100 KB returnTo on /login: not 5xx, and the server still serves', async () => {
    const status = await oversized(`${bed.baseURL}/login?returnTo=%2F${HUGE}`);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(500);
    await expectServing(bed.baseURL);
  });

  test('a 10 KB returnTo on /login (under Node\'s header limit) is dropped: the login lands on /', async () => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login?returnTo=%2F${'a'.repeat(10 * 1024)}`);
    const res = await browser.request(response.href);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/');
  });
});
