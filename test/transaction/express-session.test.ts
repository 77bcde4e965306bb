/**
 * The `session` option: express-session handed to `authCallback()`, which runs it only where it
 * is needed (its own routes; every signed-in request with `sessionStorage: 'store'` or
 * back-channel logout), against a real OpenID Provider over real HTTP.
 */
import { get as httpGet } from 'node:http';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, test } from '@jest/globals';
import express, { type Express, type RequestHandler } from 'express';
import session, { MemoryStore } from 'express-session';
import { authCallback, requireAuth, type AuthCallbackConfig } from 'express-oidc-callback';
import { Browser } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { SESSION_SECRET, signIn, startTestbed, type Testbed } from '../support/testbed.js';

/**
 * express-session, wrapped to record the path of each request it really ran on (one that had no
 * `req.session` yet: express-session passes over a request it already ran on).
 */
function countingSession(store: MemoryStore): { middleware: RequestHandler; ranOn: string[] } {
  const inner = session({ store, secret: SESSION_SECRET, resave: false, saveUninitialized: false });
  const ranOn: string[] = [];
  const middleware: RequestHandler = (req, res, next) => {
    if ((req as { session?: unknown }).session === undefined) ranOn.push(`${req.method} ${req.path}`);
    inner(req, res, next);
  };
  return { middleware, ranOn };
}

interface Bed {
  bed: Testbed;
  ranOn: string[];
  store: MemoryStore;
}

/** An app that gives express-session to authCallback() (and, with `alsoMounted`, mounts it too). */
async function start(auth: Partial<AuthCallbackConfig>, alsoMounted = false): Promise<Bed> {
  const store = new MemoryStore();
  const { middleware, ranOn } = countingSession(store);
  const build = (config: AuthCallbackConfig): Express => {
    const app = express();
    if (alsoMounted) app.use(middleware);
    app.use(authCallback({ ...config, session: middleware }));
    app.get('/', (req, res) => {
      res.type('text').send(req.user ? `signed in as ${req.user.sub}` : 'not signed in');
    });
    app.get('/profile', requireAuth(), (req, res) => {
      res.json({ sub: req.user!.sub, hasExpressSession: (req as { session?: unknown }).session !== undefined });
    });
    app.use(errorAsJson);
    return app;
  };
  return { bed: await startTestbed({ auth, build }), ranOn, store };
}

function storeSize(store: MemoryStore): Promise<number> {
  return new Promise((resolve, reject) => {
    store.length((err, length) => (err ? reject(err) : resolve(length ?? 0)));
  });
}

let running: Testbed | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

describe('session option, cookie sessions', () => {
  test('express-session never runs: not on /login, /callback, the app\'s pages or /logout; the store stays empty', async () => {
    const { bed, ranOn, store } = await start({});
    running = bed;
    const browser = new Browser();
    const landed = await signIn(browser, `${bed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landed.status).toBe(200);
    expect(JSON.parse(landed.body)).toEqual({ sub: 'alice', hasExpressSession: false });
    const home = await browser.request(`${bed.baseURL}/`);
    expect(home.body).toBe('signed in as alice');
    const logout = await browser.request(`${bed.baseURL}/logout`, { method: 'POST', headers: { origin: bed.baseURL } });
    expect(logout.status).toBe(302);
    expect((await browser.request(`${bed.baseURL}/`)).body).toBe('not signed in');
    expect(ranOn).toEqual([]);
    expect(await storeSize(store)).toBe(0);
  });

  test('an anonymous request to the app skips express-session and sets no cookie', async () => {
    const { bed, ranOn } = await start({});
    running = bed;
    const res = await new Browser().request(`${bed.baseURL}/`);
    expect(res.body).toBe('not signed in');
    expect(res.headers.getSetCookie()).toEqual([]);
    expect(ranOn).toEqual([]);
  });

  test('mounted with app.use() as well, express-session runs once per request and the login works', async () => {
    const { bed, ranOn } = await start({}, true);
    running = bed;
    const browser = new Browser();
    const landed = await signIn(browser, `${bed.baseURL}/login?returnTo=%2Fprofile`);
    expect(JSON.parse(landed.body)).toEqual({ sub: 'alice', hasExpressSession: true });
    expect(ranOn).toEqual(['GET /login', 'GET /callback', 'GET /profile']);
  });
});

describe('session option, where the app\'s requests need the store', () => {
  test('sessionStorage "store": each signed-in request runs express-session, and logout deletes the record', async () => {
    const { bed, ranOn, store } = await start({ sessionStorage: 'store' });
    running = bed;
    const browser = new Browser();
    const landed = await signIn(browser, `${bed.baseURL}/login?returnTo=%2Fprofile`);
    expect(JSON.parse(landed.body)).toEqual({ sub: 'alice', hasExpressSession: true });
    expect(ranOn).toEqual(['GET /callback', 'GET /profile']); // not /login: the pending login is a cookie
    expect(await storeSize(store)).toBe(1);
    await browser.request(`${bed.baseURL}/logout`, { method: 'POST', headers: { origin: bed.baseURL } });
    expect(await storeSize(store)).toBe(0);
    expect((await browser.request(`${bed.baseURL}/`)).body).toBe('not signed in');
  });

  test('back-channel logout on: each signed-in request runs express-session (its marks live in the store)', async () => {
    const { bed, ranOn } = await start({ routes: { backchannelLogout: '/backchannel-logout' } });
    running = bed;
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`);
    const before = ranOn.length;
    const home = await browser.request(`${bed.baseURL}/`);
    expect(home.body).toBe('signed in as alice');
    expect(ranOn.slice(before)).toEqual(['GET /']);
  });
});

describe('session option, checks', () => {
  test.each([['a string', 'session'], ['an object', {}], ['null', null]])('%s is refused at start-up', (_name, value) => {
    expect(() => authCallback({
      issuer: 'https://op.example', clientId: 'app', clientSecret: 'secret', baseURL: 'https://app.example',
      secret: 'a-test-secret-of-at-least-32-characters-0123456789', session: value as unknown as RequestHandler,
    })).toThrow(/option "session" must be the express-session middleware/);
  });

  /** Signs in with sessionStorage 'store' through the session option; the store and browser afterwards. */
  async function signedInWithStore(auth: Partial<AuthCallbackConfig> = {}): Promise<{ bed: Testbed; store: MemoryStore; browser: Browser }> {
    const { bed, store } = await start({ sessionStorage: 'store', ...auth });
    running = bed;
    const browser = new Browser();
    const landed = await signIn(browser, `${bed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landed.status).toBe(200);
    return { bed, store, browser };
  }

  test('an express-session store that fails is a 503 store_unavailable (an AuthError), not the raw error; the session works again when the store is back', async () => {
    const { bed, store, browser } = await signedInWithStore();
    const get = store.get.bind(store);
    store.get = (_sid, callback) => callback(new Error('store get failed: connection refused'));
    const res = await browser.request(`${bed.baseURL}/profile`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toEqual({ code: 'store_unavailable', message: 'The session store failed: try again shortly' });
    store.get = get;
    const again = await browser.request(`${bed.baseURL}/profile`, { headers: { accept: 'application/json' } });
    expect(again.status).toBe(200);
    expect(JSON.parse(again.body)).toMatchObject({ sub: 'alice' });
  });

  test('with saveUninitialized: true, a hung store\'s 503 still completes within storeTimeout: express-session is not left to save the session meanwhile', async () => {
    const store = new MemoryStore();
    const middleware = session({ store, secret: SESSION_SECRET, resave: false, saveUninitialized: true });
    const build = (config: AuthCallbackConfig): Express => {
      const app = express();
      app.use(authCallback({ ...config, sessionStorage: 'store', storeTimeout: 0.3, session: middleware }));
      app.get('/profile', requireAuth(), (req, res) => { res.json({ sub: req.user!.sub }); });
      app.use(errorAsJson);
      return app;
    };
    const bed = await startTestbed({ build });
    running = bed;
    const browser = new Browser();
    expect((await signIn(browser, `${bed.baseURL}/login?returnTo=%2Fprofile`)).status).toBe(200);
    await browser.jar.setCookie('connect.sid=; Max-Age=0; Path=/', bed.baseURL); // a new, uninitialized express-session
    store.get = () => undefined;
    store.set = () => undefined;
    const started = Date.now();
    const res = await browser.request(`${bed.baseURL}/profile`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'store_unavailable' });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('a store that does not answer is a 503 store_unavailable within storeTimeout, never a hung request', async () => {
    const { bed, store, browser } = await signedInWithStore({ storeTimeout: 0.3 });
    const get = store.get.bind(store);
    store.get = () => undefined; // never calls back, as node-redis queueing while disconnected
    const started = Date.now();
    const res = await browser.request(`${bed.baseURL}/profile`, { headers: { accept: 'application/json' } });
    const took = Date.now() - started;
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'store_unavailable' });
    expect(JSON.parse(res.body).message).toContain('storeTimeout');
    expect(took).toBeGreaterThanOrEqual(250);
    store.get = get;
    expect((await browser.request(`${bed.baseURL}/profile`, { headers: { accept: 'application/json' } })).status).toBe(200);
  });

  test('a store that fails to write the session record at the callback is a 503 store_unavailable, and no session cookie is set', async () => {
    const { bed, store } = await start({ sessionStorage: 'store' });
    running = bed;
    store.set = (_sid, _data, callback) => callback?.(new Error('READONLY You can\'t write against a read only replica.'));
    const browser = new Browser();
    const landed = await signIn(browser, `${bed.baseURL}/login?returnTo=%2Fprofile`);
    expect(landed.status).toBe(503);
    expect(JSON.parse(landed.body)).toMatchObject({ code: 'store_unavailable' });
    expect((await browser.jar.getCookies(bed.baseURL)).map((c) => c.key).filter((k) => k.startsWith('oidc_session') && !k.includes('_tx_'))).toEqual([]);
  });
});

/**
 * A middleware that ends the response only once its body went out at the client's pace, as
 * `compression()` does through zlib (not installed here): `res.write()` and `res.end()` feed a
 * stream whose output goes to the real ones, paused while the client does not read.
 */
const endOnceDrained: RequestHandler = (_req, res, next) => {
  const write = res.write.bind(res) as (chunk: Buffer) => boolean;
  const end = res.end.bind(res) as () => void;
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    if (!write(chunk)) stream.pause();
  });
  res.on('drain', () => stream.resume());
  stream.on('end', () => end());
  res.write = ((chunk: Buffer | string, encoding?: unknown) => stream.write(chunk, typeof encoding === 'string' ? encoding as BufferEncoding : 'utf8')) as typeof res.write;
  res.end = ((chunk?: unknown, encoding?: unknown) => {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') stream.write(chunk as Buffer | string, typeof encoding === 'string' ? encoding as BufferEncoding : 'utf8');
    stream.end();
    return res;
  }) as typeof res.end;
  next();
};

/** GET `url` with `cookie`, not reading the body for `pauseMs`, then all of it: what arrived, and whether the response completed. */
function slowGet(url: string, cookie: string, pauseMs: number): Promise<{ status: number | undefined; bytes: number; complete: boolean }> {
  return new Promise((resolve, reject) => {
    httpGet(url, { headers: { cookie, accept: 'text/plain' } }, (res) => {
      let bytes = 0;
      res.pause();
      setTimeout(() => {
        res.on('data', (chunk: Buffer) => { bytes += chunk.length; });
        res.resume();
      }, pauseMs);
      res.on('error', () => undefined); // 'aborted': the close below says it
      res.on('close', () => resolve({ status: res.statusCode, bytes, complete: res.complete }));
    }).on('error', reject);
  });
}

describe('session option: express-session\'s end of the response held to storeTimeout, and only that', () => {
  const BODY_BYTES = 32 * 1024 * 1024; // more than the sockets' buffers hold: the server waits for the client

  /**
   * Signed in with sessionStorage 'store' and storeTimeout 0.3 s, behind {@link endOnceDrained};
   * `GET /big` writes to the app's express-session (saved at the end of the response) and answers BODY_BYTES.
   */
  async function signedInBehindSlowEnd(): Promise<{ bed: Testbed; store: MemoryStore; cookie: string }> {
    const store = new MemoryStore();
    const middleware = session({ store, secret: SESSION_SECRET, resave: false, saveUninitialized: false });
    const body = Buffer.alloc(BODY_BYTES, 'x');
    const build = (config: AuthCallbackConfig): Express => {
      const app = express();
      app.use(endOnceDrained);
      app.use(authCallback({ ...config, sessionStorage: 'store', storeTimeout: 0.3, session: middleware }));
      app.get('/', (_req, res) => { res.type('text').send('home'); });
      app.get('/big', requireAuth(), (req, res) => {
        (req as unknown as { session: Record<string, unknown> }).session.downloaded = true;
        res.type('text').send(body);
      });
      app.use(errorAsJson);
      return app;
    };
    const bed = await startTestbed({ build });
    running = bed;
    const browser = new Browser();
    expect((await signIn(browser, `${bed.baseURL}/login`)).body).toBe('home');
    return { bed, store, cookie: await browser.jar.getCookieString(`${bed.baseURL}/big`) };
  }

  test('a client that reads a large body for longer than storeTimeout, behind a middleware that ends the response once it drained (as compression): the whole body arrives', async () => {
    const { bed, store, cookie } = await signedInBehindSlowEnd();
    const saved = storeSize(store);
    expect(await slowGet(`${bed.baseURL}/big`, cookie, 1000)).toEqual({ status: 200, bytes: BODY_BYTES, complete: true });
    expect(await storeSize(store)).toBe(await saved + 1); // express-session saved the app's data meanwhile
  });

  test('the same request while express-session\'s store does not answer its save at the end of the response: the connection is closed after storeTimeout, the body unfinished', async () => {
    const { bed, store, cookie } = await signedInBehindSlowEnd();
    store.set = () => undefined; // never calls back
    const started = Date.now();
    const got = await slowGet(`${bed.baseURL}/big`, cookie, 0);
    expect(Date.now() - started).toBeLessThan(2000);
    expect({ status: got.status, complete: got.complete }).toEqual({ status: 200, complete: false });
    expect(got.bytes).toBeLessThan(BODY_BYTES);
  });
});
