/**
 * Cookie tossing: a sibling subdomain (`evil.example.com`) sets a cookie for the parent domain
 * (`Domain=example.com`), or for a longer path, under the name of the app's session cookie; the
 * browser then sends it with the app's own (RFC 6265 §5.4 puts the longer path first, and says
 * nothing of which of two same-named cookies a server should pick). A session of the attacker's
 * own, so planted, must never be read as the victim's request: a `Cookie` header that is not one
 * this module's cookies make (a name twice, a single cookie beside chunks, chunks not contiguous)
 * reads as no session (OWASP Session Management Cheat Sheet, "Cookies"; RFC 6265bis §8.6).
 *
 * On an https `baseURL` without a cookie domain, the default names are `__Host-` prefixed
 * (RFC 6265bis §4.1.3.2): a sibling cannot set such a cookie at all, so the planted one is
 * ignored and the victim keeps its session.
 *
 * Unit tests of `SessionCookie.read()`, then end to end with the real oidc-provider testbed.
 */
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseSetCookie, type SetCookie } from 'cookie';
import request from 'supertest';
import { SessionCookie, type SessionCookieAttributes } from '../../lib/session/session-cookie.js';
import { Browser, type Page } from '../support/browser.js';
import { authorizationResponse, signIn, startTestbed, type Testbed } from '../support/testbed.js';

const NAME = 'oidc_session';
const ATTRIBUTES: SessionCookieAttributes = { name: NAME, domain: undefined, sameSite: 'lax', secure: false };
const JSON_ACCEPT = { accept: 'application/json' };
/** The users whose ID token carries a claim large enough to chunk the session cookie. */
const BIG = /^big-/;
/** A login name that gets the large claim: its session cookie is chunked. */
const CHUNKED_VICTIM = 'big-victim';

/** A real `IncomingMessage` carrying `cookieHeader` (none when undefined). */
function requestWith(cookieHeader?: string): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  if (cookieHeader !== undefined) req.headers.cookie = cookieHeader;
  return req;
}

/** `SessionCookie.read()` of a request whose whole `Cookie` header is `header`. */
function read(header: string, attributes: SessionCookieAttributes = ATTRIBUTES): string | undefined {
  return new SessionCookie(attributes).read(requestWith(header));
}

/**
 * oidc-provider's account lookup, as the development provider's, with a 2,400-character `name`
 * for login names starting `big-`: their ID token, and so their sealed session, is larger than
 * one cookie holds.
 */
async function findAccount(_ctx: unknown, id: string): Promise<{ accountId: string; claims(): Promise<Record<string, unknown>> }> {
  return {
    accountId: id,
    async claims() {
      return { sub: id, name: BIG.test(id) ? `${id} ${'n'.repeat(2400)}` : id, email: `${id}@example.com`, email_verified: true };
    },
  };
}

function isCleared(cookie: SetCookie): boolean {
  return cookie.value === '' && (cookie.maxAge === 0 || cookie.expires?.getTime() === 0);
}

/** The cookies an answer sets (cleared ones included), parsed. */
function setCookies(page: Page): SetCookie[] {
  return page.headers.getSetCookie().map((c) => parseSetCookie(c));
}

/** Names of the session cookie and its chunks that `browser` holds for `url`, sorted. */
async function sessionCookieNames(browser: Browser, url: string, name = NAME): Promise<string[]> {
  const chunk = new RegExp(`^${name}(\\.\\d+)?$`);
  return (await browser.jar.getCookies(url)).map((c) => c.key).filter((key) => chunk.test(key)).sort();
}

/** `GET /api/me` as JSON: its status and, when 200, the user's `sub`. */
async function me(browser: Browser, baseURL: string): Promise<{ status: number; sub: unknown }> {
  const res = await browser.request(`${baseURL}/api/me`, { headers: JSON_ACCEPT });
  return { status: res.status, sub: res.status === 200 ? (JSON.parse(res.body) as { sub?: unknown }).sub : undefined };
}

describe('SessionCookie.read(): a Cookie header this module\'s cookies never make reads as no session (cookie tossing, RFC 6265bis §8.6)', () => {
  test.each([
    ['the name twice', `${NAME}=A; ${NAME}=B`],
    ['the name twice, the same value both times', `${NAME}=A; ${NAME}=A`],
    ['the name twice, without spaces', `${NAME}=A;${NAME}=B`],
    ['the name twice, among other cookies', `other=1; ${NAME}=A; x=2; ${NAME}=B; y=3`],
    ['a single cookie beside chunks', `${NAME}=A; ${NAME}.0=x; ${NAME}.1=y`],
    ['a single cookie after chunks', `${NAME}.0=x; ${NAME}.1=y; ${NAME}=A`],
    ['a single cookie beside one chunk', `${NAME}=A; ${NAME}.0=x`],
    ['chunks with a gap (.0 and .2)', `${NAME}.0=x; ${NAME}.2=z`],
    ['an extra chunk beyond the contiguous run (.0, .1 and .3)', `${NAME}.0=x; ${NAME}.1=y; ${NAME}.3=w`],
    ['a chunk name sent twice', `${NAME}.0=x; ${NAME}.0=X; ${NAME}.1=y`],
    ['a chunk name sent twice, no other chunk', `${NAME}.0=x; ${NAME}.0=X`],
  ])('%s: undefined', (_case, header) => {
    expect(read(header)).toBeUndefined();
  });

  test('a well-formed single cookie reads as its value (the control for the cases above)', () => {
    expect(read(`${NAME}=A`)).toBe('A');
    expect(read(`other=1; ${NAME}=abc.def; x=y`)).toBe('abc.def');
  });

  test('well-formed contiguous chunks read as their value joined, in index order', () => {
    expect(read(`${NAME}.0=x; ${NAME}.1=y`)).toBe('xy');
    expect(read(`${NAME}.2=z; other=1; ${NAME}.0=x; ${NAME}.1=y`)).toBe('xyz');
  });

  test.each([
    ['xoidc_session', 'xoidc_session=T'],
    ['oidc_session_tx_abc (a pending login)', 'oidc_session_tx_abc=T'],
    ['oidc_sessionx', 'oidc_sessionx=T'],
    ['xoidc_session.0 and xoidc_session.1', 'xoidc_session.0=T; xoidc_session.1=U'],
    ['oidc_session.x', 'oidc_session.x=T'],
    ['oidc_session.0.1', 'oidc_session.0.1=T'],
  ])('a cookie named %s does not count: beside the single cookie, or beside chunks, the value reads as before', (_name, others) => {
    expect(read(`${others}; ${NAME}=A`)).toBe('A');
    expect(read(`${NAME}=A; ${others}`)).toBe('A');
    expect(read(`${others}; ${NAME}.0=x; ${NAME}.1=y`)).toBe('xy');
    expect(read(others)).toBeUndefined();
  });

  test('with the name __Host-oidc_session, a planted oidc_session (which a sibling can set) does not count', () => {
    const host: SessionCookieAttributes = { ...ATTRIBUTES, name: '__Host-oidc_session', secure: true };
    expect(read('oidc_session=ATTACKER; __Host-oidc_session=V', host)).toBe('V');
    expect(read('__Host-oidc_session.0=x; oidc_session=ATTACKER; __Host-oidc_session.1=y', host)).toBe('xy');
    expect(read('oidc_session=ATTACKER', host)).toBeUndefined();
    // Its own name twice is still refused.
    expect(read('__Host-oidc_session=ATTACKER; __Host-oidc_session=V', host)).toBeUndefined();
  });
});

describe('end to end: the attacker\'s own valid session cookie planted beside the victim\'s reads as no session', () => {
  let bed: Testbed;
  /** The attacker's own session cookie, from the attacker's own login to the same app: a single cookie. */
  let attackerCookie: string;

  beforeAll(async () => {
    bed = await startTestbed({ providerConfiguration: { findAccount } });
    const attacker = new Browser();
    await signIn(attacker, `${bed.baseURL}/login`, 'mallory');
    expect(await sessionCookieNames(attacker, bed.baseURL)).toEqual([NAME]);
    attackerCookie = (await attacker.cookie(bed.baseURL, NAME))!;
    // The attacker's cookie is a valid session of the same app (the control for the cases below).
    expect(await me(attacker, bed.baseURL)).toEqual({ status: 200, sub: 'mallory' });
  });
  afterAll(async () => {
    await bed.close();
  });

  /**
   * `cookie` set into `browser` from a sibling subdomain (`evil.localhost`) for the parent domain,
   * as cookie tossing does; `path` `/api` makes the browser send it before the victim's own.
   */
  async function plant(browser: Browser, cookie: string, path = '/'): Promise<void> {
    const port = new URL(bed.baseURL).port;
    await browser.jar.setCookie(`${NAME}=${cookie}; Domain=localhost; Path=${path}; HttpOnly`, `http://evil.localhost:${port}/`);
  }

  /** A victim signed in with a chunked session cookie: `oidc_session.0`, `oidc_session.1`, … and no single cookie. */
  async function chunkedVictim(): Promise<Browser> {
    const victim = new Browser();
    await signIn(victim, `${bed.baseURL}/login`, CHUNKED_VICTIM);
    const names = await sessionCookieNames(victim, bed.baseURL);
    expect(names.length).toBeGreaterThanOrEqual(2);
    expect(names).toEqual(names.map((_, i) => `${NAME}.${i}`));
    expect(await me(victim, bed.baseURL)).toEqual({ status: 200, sub: CHUNKED_VICTIM });
    return victim;
  }

  test.each([
    ['Path=/', '/'],
    ['Path=/api (sent before the victim\'s chunks)', '/api'],
  ])('a victim with a CHUNKED session and the attacker\'s single cookie planted (Domain=localhost, %s): 401 on /api/me, not the attacker', async (_path, path) => {
    const victim = await chunkedVictim();
    await plant(victim, attackerCookie, path);
    const header = await victim.jar.getCookieString(`${bed.baseURL}/api/me`);
    expect(header).toContain(`${NAME}=${attackerCookie}`);
    expect(header).toMatch(new RegExp(`${NAME}\\.0=`));
    // On 0.1.0 the single cookie won: the victim's requests were the attacker's.
    expect(await me(victim, bed.baseURL)).toEqual({ status: 401, sub: undefined });
    // The home page gets the planted cookie only when its Path is /; without it, the victim is itself there.
    const home = await victim.request(`${bed.baseURL}/`);
    expect(home.status).toBe(200);
    expect(home.body).not.toContain('mallory');
    if (path === '/') expect(home.body).toContain('You are not signed in');
    else expect(home.body).toContain(`Signed in as <strong>${CHUNKED_VICTIM} `);
  });

  test('a victim with a single session cookie and the attacker\'s planted under the same name (Domain=localhost, Path=/api): 401 on /api/me, not the attacker', async () => {
    const victim = new Browser();
    await signIn(victim, `${bed.baseURL}/login`, 'victim');
    expect(await sessionCookieNames(victim, bed.baseURL)).toEqual([NAME]);
    expect(await me(victim, bed.baseURL)).toEqual({ status: 200, sub: 'victim' });
    await plant(victim, attackerCookie, '/api');
    const header = await victim.jar.getCookieString(`${bed.baseURL}/api/me`);
    expect(header.match(new RegExp(`(^|; )${NAME}=`, 'g'))).toHaveLength(2);
    expect(header.startsWith(`${NAME}=${attackerCookie}`)).toBe(true); // the longer path first (RFC 6265 §5.4)
    // On 0.1.0 the first of the two won: the attacker's.
    expect(await me(victim, bed.baseURL)).toEqual({ status: 401, sub: undefined });
  });

  test('the same, sent to a real app by a raw Cookie header in either order: 401, never the attacker nor the victim', async () => {
    const victim = new Browser();
    await signIn(victim, `${bed.baseURL}/login`, 'victim');
    const own = (await victim.cookie(bed.baseURL, NAME))!;
    for (const header of [`${NAME}=${attackerCookie}; ${NAME}=${own}`, `${NAME}=${own}; ${NAME}=${attackerCookie}`]) {
      const res = await request(bed.app).get('/api/me').set('Cookie', header).set('Accept', 'application/json');
      expect(res.status).toBe(401);
    }
    // Each alone is its own user (the control).
    const alone = await request(bed.app).get('/api/me').set('Cookie', `${NAME}=${own}`).set('Accept', 'application/json');
    expect(alone.body).toMatchObject({ sub: 'victim' });
  });

  test('logout clears the single cookie and every chunk the request carries', async () => {
    const victim = await chunkedVictim();
    const chunks = await sessionCookieNames(victim, bed.baseURL);
    // Planted host-only for Path=/, so that the app's clearing cookies (Path=/, no Domain) delete it too.
    await victim.jar.setCookie(`${NAME}=${attackerCookie}; Path=/; HttpOnly`, bed.baseURL);
    const res = await victim.request(`${bed.baseURL}/logout`);
    expect(res.status).toBe(302);
    const cleared = setCookies(res).filter((c) => c.name === NAME || c.name.startsWith(`${NAME}.`));
    expect(cleared.map((c) => c.name).sort()).toEqual([NAME, ...chunks].sort());
    for (const c of cleared) {
      expect(isCleared(c)).toBe(true);
      expect(c).toMatchObject({ path: '/', httpOnly: true });
    }
    expect(await sessionCookieNames(victim, bed.baseURL)).toEqual([]);
  });

  test('logout clears a chunk beyond the contiguous run too (name.7 beside name.0 and name.1)', async () => {
    const res = await request(bed.app).get('/logout').set('Cookie', `${NAME}=A; ${NAME}.0=x; ${NAME}.1=y; ${NAME}.7=z; xoidc_session=1; ${NAME}_tx_abc=2`);
    expect(res.status).toBe(302);
    const cleared = (res.headers['set-cookie'] as unknown as string[]).map((c) => parseSetCookie(c)).filter(isCleared);
    expect(cleared.map((c) => c.name).sort()).toEqual([NAME, `${NAME}.0`, `${NAME}.1`, `${NAME}.7`]);
  });
});

describe('default cookie names: __Host- on an https baseURL without cookie.domain (RFC 6265bis §4.1.3.2)', () => {
  /** The answer of the callback for a login started at `baseURL`/login, the app behind a TLS-terminating proxy. */
  async function proxiedLogin(browser: Browser, bed: Testbed, user: string): Promise<{ login: Page; callback: Page }> {
    const login = await browser.request(`${bed.baseURL}/login`);
    expect(login.status).toBe(302);
    const response = await authorizationResponse(browser, login.headers.get('location')!, user);
    expect(response.protocol).toBe('https:');
    response.protocol = 'http:'; // the TLS-terminating proxy's job
    const callback = await browser.request(response.href);
    expect(callback.status).toBe(302);
    return { login, callback };
  }

  describe('an https baseURL, no cookie.domain', () => {
    let bed: Testbed;
    beforeAll(async () => {
      bed = await startTestbed({ behindTlsProxy: true, providerConfiguration: { findAccount } });
      expect(bed.auth.baseURL).toMatch(/^https:/);
      expect(bed.auth.cookie).toBeUndefined();
    });
    afterAll(async () => {
      await bed.close();
    });

    test('the pending-login cookie is __Host-oidc_session_tx_… (Secure, Path=/, no Domain); the session cookie is __Host-oidc_session (Secure, Path=/, no Domain)', async () => {
      const browser = new Browser();
      const { login, callback } = await proxiedLogin(browser, bed, 'alice');
      const tx = setCookies(login).filter((c) => c.name.includes('_tx_'));
      expect(tx).toHaveLength(1);
      expect(tx[0]!.name).toMatch(/^__Host-oidc_session_tx_[\w-]{16}$/);
      expect(tx[0]).toMatchObject({ secure: true, httpOnly: true, path: '/' });
      expect(tx[0]!.domain).toBeUndefined();

      const set = setCookies(callback);
      const session = set.find((c) => c.name === '__Host-oidc_session');
      expect(session).toMatchObject({ secure: true, httpOnly: true, path: '/' });
      expect(session!.domain).toBeUndefined();
      expect(set.filter((c) => /^oidc_session/.test(c.name))).toEqual([]); // no unprefixed cookie at all
      // The pending login is cleared under the same name and Path, so the browser does delete it.
      const clearedTx = set.find((c) => c.name === tx[0]!.name);
      expect(clearedTx).toMatchObject({ path: '/', secure: true });
      expect(isCleared(clearedTx!)).toBe(true);

      expect(await me(browser, bed.baseURL)).toEqual({ status: 200, sub: 'alice' });
    });

    test('a chunked session is __Host-oidc_session.0, .1, … each Secure with Path=/ and no Domain', async () => {
      const browser = new Browser();
      const { callback } = await proxiedLogin(browser, bed, CHUNKED_VICTIM);
      const chunks = setCookies(callback).filter((c) => c.name.startsWith('__Host-oidc_session.'));
      expect(chunks.length).toBeGreaterThanOrEqual(2);
      expect(chunks.map((c) => c.name)).toEqual(chunks.map((_, i) => `__Host-oidc_session.${i}`));
      for (const c of chunks) {
        expect(c).toMatchObject({ secure: true, httpOnly: true, path: '/' });
        expect(c.domain).toBeUndefined();
      }
      expect(await me(browser, bed.baseURL)).toEqual({ status: 200, sub: CHUNKED_VICTIM });
    });

    test('an attacker\'s valid session planted as oidc_session from a sibling subdomain is ignored: the victim stays itself', async () => {
      const attacker = new Browser();
      await proxiedLogin(attacker, bed, 'mallory');
      const attackerValue = (await attacker.cookie(bed.baseURL, '__Host-oidc_session'))!;
      expect(attackerValue).toBeDefined();
      const victim = new Browser();
      await proxiedLogin(victim, bed, 'victim');
      const port = new URL(bed.baseURL).port;
      for (const path of ['/', '/api']) {
        await victim.jar.setCookie(`oidc_session=${attackerValue}; Domain=localhost; Path=${path}`, `http://evil.localhost:${port}/`);
      }
      expect(await victim.jar.getCookieString(`${bed.baseURL}/api/me`)).toContain(`oidc_session=${attackerValue}`);
      expect(await me(victim, bed.baseURL)).toEqual({ status: 200, sub: 'victim' });
    });

    test('logout clears __Host-oidc_session and every chunk with Secure, Path=/ and no Domain, so the browser deletes them; its pending-logout cookie is __Host- too', async () => {
      const browser = new Browser();
      await proxiedLogin(browser, bed, CHUNKED_VICTIM);
      const held = await sessionCookieNames(browser, bed.baseURL, '__Host-oidc_session');
      expect(held.length).toBeGreaterThanOrEqual(2);
      const res = await browser.request(`${bed.baseURL}/logout`);
      expect(res.status).toBe(302);
      const all = setCookies(res).filter((c) => c.name.startsWith('__Host-oidc_session'));
      // Besides the cleared chunks, only the sealed pending logout (its state and returnTo) is set.
      expect(all.map((c) => c.name).sort()).toEqual([...held, '__Host-oidc_session_logout'].sort());
      const pending = all.filter((c) => c.name === '__Host-oidc_session_logout');
      expect(pending).toHaveLength(1);
      expect(pending[0]).toMatchObject({ secure: true, httpOnly: true, path: '/', sameSite: 'lax', maxAge: 600 });
      expect(pending[0]!.domain).toBeUndefined();
      expect(pending[0]!.value).not.toBe('');
      const cleared = all.filter((c) => c.name !== '__Host-oidc_session_logout');
      expect(cleared.map((c) => c.name).sort()).toEqual(held);
      for (const c of cleared) {
        expect(isCleared(c)).toBe(true);
        expect(c).toMatchObject({ secure: true, path: '/' });
        expect(c.domain).toBeUndefined();
      }
      expect(await sessionCookieNames(browser, bed.baseURL, '__Host-oidc_session')).toEqual([]);
      expect(await me(browser, bed.baseURL)).toEqual({ status: 401, sub: undefined });
    });
  });

  describe('an https baseURL with cookie.domain', () => {
    let bed: Testbed;
    beforeAll(async () => {
      bed = await startTestbed({ behindTlsProxy: true, auth: { cookie: { domain: 'localhost' } } });
    });
    afterAll(async () => {
      await bed.close();
    });

    test('no __Host- prefix: oidc_session_tx_… (Path=/, the Domain) and oidc_session (Secure, Path=/, the Domain)', async () => {
      const browser = new Browser();
      const { login, callback } = await proxiedLogin(browser, bed, 'alice');
      const tx = setCookies(login).filter((c) => c.name.includes('_tx_'));
      expect(tx).toHaveLength(1);
      expect(tx[0]!.name).toMatch(/^oidc_session_tx_[\w-]{16}$/);
      expect(tx[0]).toMatchObject({ path: '/', domain: 'localhost', secure: true });

      const set = setCookies(callback);
      expect(set.filter((c) => c.name.startsWith('__Host-'))).toEqual([]);
      const session = set.find((c) => c.name === NAME);
      expect(session).toMatchObject({ secure: true, httpOnly: true, path: '/', domain: 'localhost' });
      expect(await me(browser, bed.baseURL)).toEqual({ status: 200, sub: 'alice' });
    });
  });
});
