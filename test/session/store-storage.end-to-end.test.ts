/**
 * Server-side sessions (`sessionStorage: 'store'`) against a real OpenID Provider, over real HTTP,
 * with each of two express-session stores: express-session's MemoryStore, and connect-redis on a
 * real `redis-server`. The token set is sealed into a store record; the cookie carries only a
 * sealed reference to it, so logout revokes it server-side and a large token set fits.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { RedisStore } from 'connect-redis';
import express, { type Express } from 'express';
import session, { MemoryStore, Store, type SessionData } from 'express-session';
import { authCallback, requireAuth, type AuthCallbackConfig } from 'express-oidc-callback';
import { createClient } from 'redis';
import { recordKey } from '../../lib/session/record-store.js';
import { Sealer } from '../../lib/session/seal.js';
import { Browser } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { SECRET, SESSION_SECRET, authorizationResponse, signIn, startTestbed, type Testbed, type TestbedOptions } from '../support/testbed.js';

const COOKIE = 'oidc_session';
const SESSION_PREFIX = 'oidc:session:';
const JSON_ACCEPT = { accept: 'application/json' };

type Operation = 'get' | 'set' | 'destroy' | 'touch';

/**
 * An express-session store that passes every call to `inner`, except those `fail` picks, which
 * call back with an Error, as a store whose backend is down does.
 */
class SwitchableStore extends Store {
  fail: (operation: Operation, key: string) => boolean = () => false;

  constructor(readonly inner: Store) {
    super();
  }

  #refuse(operation: Operation, key: string, callback: ((err?: unknown) => void) | undefined): boolean {
    if (!this.fail(operation, key)) return false;
    const err = new Error(`store ${operation} failed: connection refused`);
    setImmediate(() => callback?.(err));
    return true;
  }

  get(key: string, callback: (err: unknown, session?: SessionData | null) => void): void {
    if (!this.#refuse('get', key, callback)) this.inner.get(key, callback);
  }

  set(key: string, data: SessionData, callback?: (err?: unknown) => void): void {
    if (!this.#refuse('set', key, callback)) this.inner.set(key, data, callback);
  }

  destroy(key: string, callback?: (err?: unknown) => void): void {
    if (!this.#refuse('destroy', key, callback)) this.inner.destroy(key, callback);
  }

  touch(key: string, data: SessionData, callback?: () => void): void {
    if (this.#refuse('touch', key, callback)) return;
    if (this.inner.touch) this.inner.touch(key, data, callback);
    else callback?.();
  }
}

/** A store and a way to look at what it holds, in its own key space. */
interface StoreKit {
  store: Store;
  /** The keys of this package's session records, as the backend names them. */
  sessionKeys(): Promise<string[]>;
  /** The backend's key for a record this package names `key`. */
  backendKey(key: string): string;
  /** The record under a backend key, as the backend holds it (text), or `undefined`. */
  raw(backendKey: string): Promise<string | undefined>;
  /** Seconds the backend keeps the record (Redis TTL); `undefined` when the backend has no TTL. */
  ttl(backendKey: string): Promise<number | undefined>;
  close(): Promise<void>;
}

function memoryKit(): StoreKit {
  const store = new MemoryStore();
  return {
    store,
    sessionKeys: () => new Promise((resolve, reject) => {
      store.all((err, all) => (err ? reject(err) : resolve(Object.keys(all ?? {}).filter((k) => k.startsWith(SESSION_PREFIX)))));
    }),
    backendKey: (key) => key,
    raw: (key) => new Promise((resolve, reject) => {
      store.get(key, (err, data) => (err ? reject(err) : resolve(data ? JSON.stringify(data) : undefined)));
    }),
    ttl: () => Promise.resolve(undefined),
    close: () => Promise.resolve(),
  };
}

async function redisKit(redis: RedisServer): Promise<StoreKit> {
  const client = createClient({ url: redis.url });
  await client.connect();
  const store = new RedisStore({ client });
  return {
    store,
    // connect-redis keeps each record under its prefix, `sess:` by default.
    sessionKeys: () => client.keys(`sess:${SESSION_PREFIX}*`),
    backendKey: (key) => `sess:${key}`,
    raw: async (key) => (await client.get(key)) ?? undefined,
    ttl: (key) => client.ttl(key),
    close: () => client.close(),
  };
}

/** The app under test: express-session on `store`, authCallback(), guarded pages, JSON errors. */
function buildApp(auth: AuthCallbackConfig, store: Store): Express {
  const app = express();
  app.use(session({ store, secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
  app.use(authCallback(auth));
  app.get('/', (req, res) => {
    res.type('html').send(req.user ? `signed in as ${req.user.sub}` : 'not signed in');
  });
  app.get('/profile', requireAuth(), (req, res) => {
    res.type('html').send(`profile of ${req.user!.sub}`);
  });
  // Every claim (iss included), as the example app's /api/me answers them; req.user leaves out the protocol claims.
  app.get('/api/me', requireAuth(), (req, res) => {
    res.json(req.oidc.claims);
  });
  app.get('/api/tokens', requireAuth(), (req, res) => {
    res.json({ idToken: req.oidc.idToken, accessToken: req.oidc.accessToken });
  });
  app.use(errorAsJson);
  return app;
}

/** A testbed whose app runs on `store`, with `auth` options over the defaults. */
function bedOn(store: Store, auth: Partial<AuthCallbackConfig>, options: Omit<TestbedOptions, 'auth' | 'build'> = {}): Promise<Testbed> {
  return startTestbed({ ...options, auth, build: (config) => buildApp(config, store) });
}

/** 20,000 random base64url characters: a profile claim that makes the ID token too large for any cookie. */
const LARGE_CLAIM = randomBytes(15_000).toString('base64url');

/** The development provider, with a `bio` claim of {@link LARGE_CLAIM} released with the `profile` scope. */
const largeClaimsProvider: Record<string, unknown> = {
  claims: { openid: ['sub'], profile: ['name', 'bio'], email: ['email', 'email_verified'] },
  async findAccount(_ctx: unknown, id: string) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: id, email: `${id}@example.com`, email_verified: true, bio: LARGE_CLAIM };
      },
    };
  },
};

/** A request carrying only `cookie` (no express-session cookie), as a copied cookie replayed by hand. */
function replay(url: string, cookie: string, accept = 'application/json'): Promise<Response> {
  return fetch(url, { headers: { cookie, accept }, redirect: 'manual' });
}

/** The session cookie the browser holds for `baseURL`, as a `Cookie` header. */
async function sessionCookie(browser: Browser, baseURL: string): Promise<string> {
  const value = await browser.cookie(baseURL, COOKIE);
  if (value === undefined) throw new Error(`no ${COOKIE} cookie for ${baseURL}`);
  return `${COOKIE}=${value}`;
}

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

describe.each([
  ['MemoryStore', (): Promise<StoreKit> => Promise.resolve(memoryKit())],
  ['connect-redis on a real Redis', (): Promise<StoreKit> => redisKit(redis)],
])('sessionStorage: \'store\' with %s', (_name, makeKit) => {
  let kit: StoreKit;
  let store: SwitchableStore;
  /** Store mode, on the switchable store. */
  let bed: Testbed;
  /** Cookie mode (the default), same secret: for cookies of the other mode. */
  let cookieBed: Testbed;
  /** Store mode, against a provider whose ID tokens are far larger than a cookie can carry. */
  let largeBed: Testbed;

  beforeAll(async () => {
    kit = await makeKit();
    store = new SwitchableStore(kit.store);
    [bed, cookieBed, largeBed] = await Promise.all([
      bedOn(store, { sessionStorage: 'store' }),
      bedOn(kit.store, {}),
      bedOn(kit.store, { sessionStorage: 'store' }, { providerConfiguration: largeClaimsProvider }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([bed, cookieBed, largeBed].map((b) => b?.close()));
    await kit?.close();
  });

  test('after login the cookie is a small sealed reference with no token, and the store holds the sealed token set under oidc:session:', async () => {
    const before = new Set(await kit.sessionKeys());
    const browser = new Browser();
    const landed = await signIn(browser, `${bed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landed.url).toBe(`${bed.baseURL}/profile`);
    expect(landed.body).toBe('profile of alice');

    const me = await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'alice', email: 'alice@example.com', iss: bed.provider.issuer });
    const tokens = JSON.parse((await browser.request(`${bed.baseURL}/api/tokens`, { headers: JSON_ACCEPT })).body) as { idToken: string; accessToken: string };
    expect(tokens.idToken).toMatch(/^ey/);
    expect(tokens.accessToken.length).toBeGreaterThan(20);

    // The cookie: one small value (no chunks), the token set nowhere in it.
    const cookies = await browser.jar.getCookies(bed.baseURL);
    expect(cookies.filter((c) => c.key.startsWith(`${COOKIE}.`))).toEqual([]);
    const value = (await browser.cookie(bed.baseURL, COOKIE))!;
    expect(value.length).toBeLessThan(500);
    expect(value).not.toContain(tokens.accessToken);
    expect(value).not.toContain(tokens.idToken.split('.')[1]);
    // Opened with the secret, it is a reference and nothing else.
    const reference = new Sealer([SECRET]).unseal<Record<string, unknown>>(value)!.payload;
    expect(Object.keys(reference).sort()).toEqual(['createdAt', 'exp', 'iat', 'ref', 'v']);
    expect(reference.ref).toMatch(/^[\w-]{43}$/);

    // The store: one new record, under the reference's key.
    const added = (await kit.sessionKeys()).filter((k) => !before.has(k));
    expect(added).toEqual([kit.backendKey(recordKey('session', reference.ref as string))]);
    expect(added[0]!.startsWith(kit.backendKey(SESSION_PREFIX))).toBe(true);
    const raw = (await kit.raw(added[0]!))!;
    for (const secret of [tokens.accessToken, tokens.idToken, tokens.idToken.split('.')[1]!, 'alice@example.com']) {
      expect(raw).not.toContain(secret);
    }
    // The record is the token set, sealed with the record key (its own HKDF label, not the cookie's).
    const record = JSON.parse(raw) as { sealed: string };
    expect(new Sealer([SECRET], 'session-cookie').unseal(record.sealed)).toBeUndefined();
    const opened = new Sealer([SECRET], 'session-record').unseal<Record<string, unknown>>(record.sealed)!.payload;
    expect(opened).toMatchObject({ accessToken: tokens.accessToken, idToken: tokens.idToken });
    // It expires with the session: Redis keeps it no longer than the idle lifetime (1 day by default).
    const ttl = await kit.ttl(added[0]!);
    if (ttl !== undefined) {
      expect(ttl).toBeGreaterThan(86_400 - 60);
      expect(ttl).toBeLessThanOrEqual(86_400);
    }
  });

  test('logout deletes the store record: a copy of the cookie replayed afterwards is anonymous (401 for the API, login redirect for pages)', async () => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`);
    const copied = await sessionCookie(browser, bed.baseURL);
    const reference = new Sealer([SECRET]).unseal<{ ref: string }>(copied.slice(COOKIE.length + 1))!.payload.ref;
    const key = kit.backendKey(recordKey('session', reference));
    expect(await kit.raw(key)).toBeDefined();
    expect((await replay(`${bed.baseURL}/api/me`, copied)).status).toBe(200);

    const logout = await browser.request(`${bed.baseURL}/logout`);
    expect(logout.status).toBe(302);
    expect(await kit.raw(key)).toBeUndefined();

    const replayer = new Browser();
    await replayer.jar.setCookie(`${copied}; Path=/`, bed.baseURL);
    const api = await replayer.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(api.status).toBe(401);
    expect(JSON.parse(api.body)).toMatchObject({ code: 'unauthorized' });
    const page = await replayer.request(`${bed.baseURL}/profile`);
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
    // The dead reference is cleared from the browser that sent it.
    expect(await replayer.cookie(bed.baseURL, COOKIE)).toBeUndefined();
  });

  test('a token set too large for a cookie (a 20 KB claim) signs in with sessionStorage \'store\', the cookie staying small', async () => {
    const browser = new Browser();
    const landed = await signIn(browser, `${largeBed.baseURL}/login?returnTo=%2Fapi%2Fme`);
    expect(landed.status).toBe(200);
    const me = JSON.parse(landed.body) as { sub: string; bio: string };
    expect(me.sub).toBe('alice');
    expect(me.bio).toBe(LARGE_CLAIM);
    const tokens = JSON.parse((await browser.request(`${largeBed.baseURL}/api/tokens`, { headers: JSON_ACCEPT })).body) as { idToken: string };
    expect(tokens.idToken.length).toBeGreaterThan(20_000);
    const cookies = await browser.jar.getCookies(largeBed.baseURL);
    expect(cookies.map((c) => c.key).filter((k) => k.startsWith(COOKIE))).toEqual([COOKIE]);
    expect((await browser.cookie(largeBed.baseURL, COOKIE))!.length).toBeLessThan(500);
    // And it keeps working on the next request.
    expect((await browser.request(`${largeBed.baseURL}/api/me`, { headers: JSON_ACCEPT })).status).toBe(200);
  });

  test('a cookie of sessionStorage \'cookie\' presented to an app in \'store\' mode, and the other way round, is anonymous, not a 500', async () => {
    const cookieUser = new Browser();
    await signIn(cookieUser, `${cookieBed.baseURL}/login`);
    const cookieModeCookie = await sessionCookie(cookieUser, cookieBed.baseURL);
    expect((await replay(`${cookieBed.baseURL}/api/me`, cookieModeCookie)).status).toBe(200);

    const storeUser = new Browser();
    await signIn(storeUser, `${bed.baseURL}/login`);
    const storeModeCookie = await sessionCookie(storeUser, bed.baseURL);
    expect((await replay(`${bed.baseURL}/api/me`, storeModeCookie)).status).toBe(200);

    for (const [target, cookie] of [[bed, cookieModeCookie], [cookieBed, storeModeCookie]] as const) {
      const api = await replay(`${target.baseURL}/api/me`, cookie);
      expect(api.status).toBe(401);
      expect(await api.json()).toMatchObject({ code: 'unauthorized' });
      const page = await replay(`${target.baseURL}/profile`, cookie, 'text/html');
      expect(page.status).toBe(302);
      expect(page.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
    }
  });

  describe('a store that fails', () => {
    afterAll(() => {
      store.fail = () => false;
    });

    test('reading a session while the store fails answers 503 store_unavailable, and the session works again once the store is back', async () => {
      const browser = new Browser();
      await signIn(browser, `${bed.baseURL}/login`);
      const cookie = await sessionCookie(browser, bed.baseURL);

      store.fail = () => true;
      try {
        const api = await replay(`${bed.baseURL}/api/me`, cookie);
        expect(api.status).toBe(503);
        expect(await api.json()).toMatchObject({ code: 'store_unavailable' });
        const page = await replay(`${bed.baseURL}/profile`, cookie, 'text/html');
        expect(page.status).toBe(503);
      } finally {
        store.fail = () => false;
      }
      const back = await replay(`${bed.baseURL}/api/me`, cookie);
      expect(back.status).toBe(200);
      expect(await back.json()).toMatchObject({ sub: 'alice' });
    });

    test('a login whose session record cannot be written answers 503 store_unavailable and sets no session cookie', async () => {
      const browser = new Browser();
      const response = await authorizationResponse(browser, `${bed.baseURL}/login`);
      store.fail = (operation, key) => operation === 'set' && key.startsWith('oidc:');
      let callback;
      try {
        callback = await browser.request(response.href, { headers: JSON_ACCEPT });
      } finally {
        store.fail = () => false;
      }
      expect(callback.status).toBe(503);
      expect(JSON.parse(callback.body)).toMatchObject({ code: 'store_unavailable' });
      expect(await browser.cookie(bed.baseURL, COOKIE)).toBeUndefined();
      // The server is still up, and a new login works (the provider still knows the user: no login form).
      const again = await browser.visit(`${bed.baseURL}/login?returnTo=%2Fapi%2Fme`);
      expect(again.url).toBe(`${bed.baseURL}/api/me`);
      expect(again.status).toBe(200);
    });

    test('a logout whose store record cannot be deleted answers 503 store_unavailable and keeps the cookie, so that the logout can be retried', async () => {
      const browser = new Browser();
      await signIn(browser, `${bed.baseURL}/login`);
      const cookie = await sessionCookie(browser, bed.baseURL);

      store.fail = (operation, key) => operation === 'destroy' && key.startsWith('oidc:');
      let logout;
      try {
        logout = await browser.request(`${bed.baseURL}/logout`, { headers: JSON_ACCEPT });
      } finally {
        store.fail = () => false;
      }
      expect(logout.status).toBe(503);
      expect(JSON.parse(logout.body)).toMatchObject({ code: 'store_unavailable' });
      // The record could not be deleted, so the session is not over: the browser keeps its cookie.
      expect(await browser.cookie(bed.baseURL, COOKIE)).toBe(cookie.slice(COOKIE.length + 1));

      const retry = await browser.request(`${bed.baseURL}/logout`);
      expect(retry.status).toBe(302);
      expect((await replay(`${bed.baseURL}/api/me`, cookie)).status).toBe(401);
    });
  });
});

describe('the same 20 KB claim with sessionStorage \'cookie\' (control)', () => {
  test('does not fit in a cookie: the callback answers 500 session_too_large', async () => {
    const bed = await bedOn(new MemoryStore(), {}, { providerConfiguration: largeClaimsProvider });
    try {
      const browser = new Browser();
      const response = await authorizationResponse(browser, `${bed.baseURL}/login`);
      const callback = await browser.request(response.href, { headers: JSON_ACCEPT });
      expect(callback.status).toBe(500);
      expect(JSON.parse(callback.body)).toMatchObject({ code: 'session_too_large' });
    } finally {
      await bed.close();
    }
  });
});
