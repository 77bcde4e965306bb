/**
 * One refresh per session across app instances (`sessionStorage: 'store'`, the refresh lease):
 * two Express apps, each with its own authCallback() and its own Redis client and connect-redis
 * store, one `secret`, behind a round-robin proxy without sticky sessions (the browser talks to
 * one origin, test/support/round-robin-proxy.ts), a real `redis-server`, and a real OpenID
 * Provider (`oidc-provider`) that rotates refresh tokens on every use (RFC 9700 §4.14.2): a
 * refresh token used twice is refused (`invalid_grant`), and the user would be signed out.
 *
 * Each setup runs with the lease found on connect-redis's client (the default) and with a
 * `RefreshLock` of the app's own (here over node-redis, counting its calls).
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express, { type Express } from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { authCallback, requireAuth, type AuthCallbackConfig, type RefreshFailedEvent, type RefreshLock } from 'express-oidc-callback';
import { recordKey } from '../../lib/session/record-store.js';
import { leaseMs } from '../../lib/session/refresh-lease.js';
import { Sealer } from '../../lib/session/seal.js';
import { unsealCookiePayload } from '../../lib/session/session-codec.js';
import { Browser } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { closeServer, listen } from '../support/http-server.js';
import { roundRobinProxy, type RoundRobinProxy } from '../support/round-robin-proxy.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { SECRET, SESSION_SECRET, authorizationResponse, startTestbed, type Testbed } from '../support/testbed.js';

/** authCallback()'s timeouts here, in seconds: the lease lasts 4 × 2 + 4 × 1 + 2 = 14 s. */
const HTTP_TIMEOUT = 2;
const STORE_TIMEOUT = 1;
const LEASE_MS = leaseMs({ httpTimeout: HTTP_TIMEOUT, storeTimeout: STORE_TIMEOUT });
/** connect-redis's default key prefix. */
const STORE_PREFIX = 'sess:';
const CONCURRENT = 20;

type RedisClient = ReturnType<typeof createClient>;

/** What the provider does and did in the current test. */
const op = {
  /** Lifetime, in seconds, of the access tokens the provider issues next. */
  accessTokenTtl: 3600,
  /** Successful refresh token grants since the test began. */
  refreshGrants: 0,
  /** OAuth error codes of the refused token requests since the test began. */
  grantErrors: [] as string[],
  /** The refresh grants since the test began: their `test_marker` parameter and the access token issued. */
  refreshes: [] as Array<{ marker: string | undefined; accessToken: string }>,
};

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

interface Setup {
  label: string;
  /** The `refreshLock` option of both instances, built on the instance's Redis client; unset: found on connect-redis's. */
  lock?: (client: RedisClient) => RefreshLock;
}

/** The `refreshFailed` events of both instances since the test began. */
const refreshFailures: RefreshFailedEvent[] = [];

/** Calls of the app's own RefreshLock, across both instances. */
const lockCalls = { acquired: 0, refused: 0, released: 0 };

const setups: Setup[] = [
  { label: 'the lease on connect-redis\'s client (the default)' },
  {
    label: 'a RefreshLock of the app\'s own',
    lock: (client) => ({
      async acquire(key, token, ttlMs) {
        const taken = await client.set(`own:${key}`, token, { NX: true, PX: ttlMs }) !== null;
        if (taken) lockCalls.acquired += 1;
        else lockCalls.refused += 1;
        return taken;
      },
      async release(key, token) {
        // GET then DEL: another owner could take an expired lease in between (the Lua script of the
        // built-in lock closes that race); good enough for a lease that never runs out under its holder.
        if (await client.get(`own:${key}`) === token) await client.del(`own:${key}`);
        lockCalls.released += 1;
      },
    }),
  },
];

/** The GET /api/me answer. */
interface Me {
  sub: string;
  accessToken: string;
}

describe.each(setups)('two instances behind a round-robin proxy, $label', ({ lock }) => {
  let bed: Testbed;
  let proxy: RoundRobinProxy;
  const servers: Server[] = [];
  const clients: RedisClient[] = [];
  /** A client of the test's own, to look at (and tamper with) what the instances keep in Redis. */
  let inspector: RedisClient;

  /** One instance: its own Redis client and store, its own authCallback(), on its own port. */
  async function startInstance(auth: AuthCallbackConfig): Promise<string> {
    const client = createClient({ url: redis.url, disableOfflineQueue: true });
    clients.push(client);
    await client.connect();
    const app: Express = express();
    app.use(session({ store: new RedisStore({ client }), secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
    app.use(authCallback({
      ...auth, sessionStorage: 'store', httpTimeout: HTTP_TIMEOUT, storeTimeout: STORE_TIMEOUT, refreshMargin: 0,
      events: { refreshFailed: (event) => { refreshFailures.push(event); } },
      ...(lock !== undefined && { refreshLock: lock(client) }),
    }));
    app.get('/api/me', requireAuth(), (req, res) => {
      res.json({ sub: req.user?.sub, accessToken: req.oidc.accessToken } satisfies Partial<Me>);
    });
    app.post('/refresh', async (req, res) => {
      await req.oidc.refresh();
      res.json({ sub: req.user?.sub, accessToken: req.oidc.accessToken });
    });
    app.get('/refresh-token', (req, res) => {
      res.json({ refreshToken: req.oidc.refreshToken ?? null });
    });
    app.post('/refresh-own', async (req, res) => {
      await req.oidc.refresh({ tokenEndpointParams: { test_marker: 'own' } });
      res.json({ sub: req.user?.sub, accessToken: req.oidc.accessToken });
    });
    app.use(errorAsJson);
    const server = createServer(app);
    servers.push(server);
    return `http://127.0.0.1:${await listen(server)}`;
  }

  beforeAll(async () => {
    const front = express();
    front.use((req, res) => proxy(req, res));
    let auth: AuthCallbackConfig | undefined;
    bed = await startTestbed({
      providerConfiguration: {
        // Refresh tokens without offline_access and its consent prompt, rotated on every use.
        issueRefreshToken: async () => true,
        rotateRefreshToken: true,
        ttl: {
          AccessToken: () => op.accessTokenTtl,
          AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Grant: 14 * 86400, Session: 14 * 86400, RefreshToken: 14 * 86400,
        },
      },
      build: (given) => {
        auth = given;
        return front;
      },
    });
    proxy = roundRobinProxy([await startInstance(auth!), await startInstance(auth!)]);
    bed.provider.provider.on('grant.success', (ctx) => {
      if (ctx.oidc.params?.grant_type !== 'refresh_token') return;
      op.refreshGrants += 1;
      const body = ctx.oidc.body as Record<string, string | undefined> | undefined;
      op.refreshes.push({ marker: body?.test_marker, accessToken: (ctx.body as { access_token: string }).access_token });
    });
    bed.provider.provider.on('grant.error', (_ctx, err) => {
      op.grantErrors.push(err.error);
    });
    inspector = createClient({ url: redis.url });
    await inspector.connect();
  });
  afterAll(async () => {
    await Promise.all(servers.map(closeServer));
    await bed?.close();
    await Promise.all([...clients, inspector].filter(Boolean).map((c) => c.close()));
  });
  beforeEach(() => {
    op.accessTokenTtl = 3600;
    op.refreshGrants = 0;
    op.grantErrors.length = 0;
    op.refreshes.length = 0;
    refreshFailures.length = 0;
    Object.assign(lockCalls, { acquired: 0, refused: 0, released: 0 });
  });

  /**
   * Signs alice in through the proxy with access tokens of `ttl` seconds (those issued after it
   * last an hour), and waits until hers has expired: the session cookie.
   */
  async function signedInWithExpiredToken(ttl = 1): Promise<string> {
    op.accessTokenTtl = ttl;
    const browser = new Browser();
    const callback = await browser.request((await authorizationResponse(browser, `${bed.baseURL}/login`)).href);
    expect(callback.status).toBe(302);
    const cookie = await browser.cookie(bed.baseURL, 'oidc_session');
    expect(cookie).toBeDefined();
    op.accessTokenTtl = 3600;
    await new Promise((resolve) => setTimeout(resolve, (ttl + 1.1) * 1000)); // expires_in is whole seconds
    return cookie!;
  }

  /** `GET /api/me` (or `method` `path`) through the proxy with exactly the session cookie `cookie`. */
  async function send(cookie: string, path = '/api/me', method = 'GET'): Promise<{ status: number; body: Me & { code?: string } }> {
    const res = await fetch(`${bed.baseURL}${path}`, { method, headers: { cookie: `oidc_session=${cookie}`, accept: 'application/json' }, redirect: 'manual' });
    return { status: res.status, body: await res.json() as Me & { code?: string } };
  }

  /** {@link CONCURRENT} guarded requests at once, split evenly across the instances: their answers. */
  async function concurrently(cookie: string): Promise<Array<{ status: number; body: Me & { code?: string } }>> {
    const before = [...proxy.served];
    const answers = await Promise.all(Array.from({ length: CONCURRENT }, () => send(cookie)));
    expect(proxy.served.map((n, i) => n - before[i]!)).toEqual([CONCURRENT / 2, CONCURRENT / 2]);
    return answers;
  }

  /** The store record's id the session cookie names. */
  function refOf(cookie: string): string {
    const ref = unsealCookiePayload(new Sealer([SECRET], 'session-cookie'), cookie)?.payload.ref;
    expect(typeof ref).toBe('string');
    return ref!;
  }

  /** The Redis key of the session's refresh lease, as the instances name it. */
  function leaseKey(cookie: string): string {
    return lock === undefined ? STORE_PREFIX + recordKey('refresh-lock', refOf(cookie)) : `own:${recordKey('refresh-lock', refOf(cookie))}`;
  }

  test(`${CONCURRENT} concurrent requests with an expired access token, on both instances, refresh once; the session works after, and refreshes again later`, async () => {
    const cookie = await signedInWithExpiredToken();

    const answers = await concurrently(cookie);
    expect(answers.map((a) => a.status)).toEqual(Array(CONCURRENT).fill(200));
    expect(new Set(answers.map((a) => a.body.sub))).toEqual(new Set(['alice']));
    expect(new Set(answers.map((a) => a.body.accessToken)).size).toBe(1); // every request got the one new access token
    expect(op.refreshGrants).toBe(1);
    expect(op.grantErrors).toEqual([]);
    if (lock !== undefined) expect(lockCalls.acquired).toBeGreaterThanOrEqual(1);
    expect(await inspector.exists(leaseKey(cookie))).toBe(0); // the lease was given up

    // The next requests, on either instance, use the refreshed tokens: no new grant.
    const [next, other] = [await send(cookie), await send(cookie)];
    expect([next.status, other.status]).toEqual([200, 200]);
    expect(next.body.accessToken).toBe(answers[0]!.body.accessToken);
    expect(other.body.accessToken).toBe(answers[0]!.body.accessToken);
    expect(op.refreshGrants).toBe(1);

    // Later: an explicit refresh, then another expiry and another burst: one grant each.
    op.accessTokenTtl = 1;
    const explicit = await send(cookie, '/refresh', 'POST');
    expect(explicit.status).toBe(200);
    expect(explicit.body.accessToken).not.toBe(answers[0]!.body.accessToken);
    expect(op.refreshGrants).toBe(2);
    op.accessTokenTtl = 3600;
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const again = await concurrently(cookie);
    expect(again.map((a) => a.status)).toEqual(Array(CONCURRENT).fill(200));
    expect(new Set(again.map((a) => a.body.accessToken)).size).toBe(1);
    expect(again[0]!.body.accessToken).not.toBe(explicit.body.accessToken);
    expect(op.refreshGrants).toBe(3);
    expect(op.grantErrors).toEqual([]);
  }, 30_000);

  test('a refresh with its own parameters amid a burst of automatic ones is never answered with their tokens, and never uses a refresh token twice', async () => {
    const cookie = await signedInWithExpiredToken();

    const [own, ...auto] = await Promise.all([send(cookie, '/refresh-own', 'POST'), ...Array.from({ length: 9 }, () => send(cookie))]);
    expect([own, ...auto].map((a) => a.status)).toEqual(Array(10).fill(200));
    expect(op.grantErrors).toEqual([]);
    // Its answer is the token its own grant (with its parameter) issued.
    const ownGrants = op.refreshes.filter((r) => r.marker === 'own');
    expect(ownGrants.map((r) => r.accessToken)).toEqual([own.body.accessToken]);
    // The automatic refresh ran once, unless the session already held the new tokens.
    expect(op.refreshes.filter((r) => r.marker === undefined).length).toBeLessThanOrEqual(1);
    const issued = new Set(op.refreshes.map((r) => r.accessToken));
    for (const answer of auto) expect(issued.has(answer.body.accessToken)).toBe(true);
    // The session holds the last refresh's tokens.
    expect((await send(cookie)).body.accessToken).toBe(op.refreshes.at(-1)!.accessToken);
  }, 30_000);

  test('a refresh the provider refuses (invalid_grant) ends the session for every request waiting for it, on both instances', async () => {
    op.accessTokenTtl = 3600;
    const browser = new Browser();
    expect((await browser.request((await authorizationResponse(browser, `${bed.baseURL}/login`)).href)).status).toBe(302);
    const cookie = (await browser.cookie(bed.baseURL, 'oidc_session'))!;
    const { refreshToken } = (await (await fetch(`${bed.baseURL}/refresh-token`, { headers: { cookie: `oidc_session=${cookie}` } })).json()) as { refreshToken: string };
    expect(typeof refreshToken).toBe('string');
    // The provider revokes the grant (as after a reused rotated refresh token, or an admin's action).
    const stored = await bed.provider.provider.RefreshToken.find(refreshToken);
    expect(stored).toBeDefined();
    await stored!.destroy();

    const answers = await Promise.all(Array.from({ length: 10 }, () => send(cookie, '/refresh', 'POST')));
    // session_ended for the requests that shared the refresh; unauthorized for those that came
    // after the record was deleted (their session was gone before they could refresh).
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(401));
    expect(answers.some((a) => a.body.code === 'session_ended')).toBe(true);
    expect(answers.every((a) => a.body.code === 'session_ended' || a.body.code === 'unauthorized')).toBe(true);
    expect(op.grantErrors).toEqual(['invalid_grant']); // one token request, however many requests and instances
    expect(op.refreshGrants).toBe(0);
    expect(await inspector.exists(STORE_PREFIX + recordKey('session', refOf(cookie)))).toBe(0);
    expect((await send(cookie)).status).toBe(401);
  }, 30_000);

  if (lock === undefined) {
    test('a lease whose holder crashed (taken, never given up) runs out: the requests that waited it out answer 503 refresh_failed at their deadline (taking it over then would outlast it), and the next request refreshes', async () => {
      const cookie = await signedInWithExpiredToken();
      expect(await inspector.set(leaseKey(cookie), 'a-crashed-instance', { NX: true, PX: LEASE_MS })).toBe('OK');

      const started = Date.now();
      const [first, second] = await Promise.all([send(cookie), send(cookie)]);
      const waited = Date.now() - started;
      expect([first, second].map((a) => [a.status, a.body.code])).toEqual([[503, 'refresh_failed'], [503, 'refresh_failed']]);
      expect(waited).toBeGreaterThanOrEqual(LEASE_MS + STORE_TIMEOUT * 1000 - 500);
      expect(waited).toBeLessThan(LEASE_MS + STORE_TIMEOUT * 1000 + 3000);
      expect(op.refreshGrants).toBe(0);

      const next = await send(cookie);
      expect(next.status).toBe(200);
      expect(next.body.sub).toBe('alice');
      expect(op.refreshGrants).toBe(1);
      expect(op.grantErrors).toEqual([]);
      expect((await send(cookie)).body.accessToken).toBe(next.body.accessToken);
      expect(op.refreshGrants).toBe(1);
    }, 40_000);

    test('when no new tokens appear within the lease time and storeTimeout (a lease held too long), the waiting requests are a 503 refresh_failed and the session is kept', async () => {
      const cookie = await signedInWithExpiredToken();
      expect(await inspector.set(leaseKey(cookie), 'a-stuck-instance', { NX: true, PX: 60_000 })).toBe('OK');

      const started = Date.now();
      const answers = await Promise.all([send(cookie), send(cookie)]);
      const waited = Date.now() - started;
      expect(answers.map((a) => [a.status, a.body.code])).toEqual([[503, 'refresh_failed'], [503, 'refresh_failed']]);
      expect(waited).toBeGreaterThanOrEqual(LEASE_MS + STORE_TIMEOUT * 1000 - 500);
      expect(waited).toBeLessThan(LEASE_MS + STORE_TIMEOUT * 1000 + 3000);
      expect(op.refreshGrants).toBe(0);
      // One refreshFailed per instance's refresh (the requests were split across both), though no token request was sent.
      expect(refreshFailures).toEqual([0, 1].map(() => expect.objectContaining({
        type: 'refreshFailed', code: 'refresh_failed', status: 503, trigger: 'auto', sub: 'alice', durationMs: expect.any(Number),
      })));
      expect(refreshFailures[0]!.durationMs).toBeGreaterThanOrEqual(LEASE_MS);

      await inspector.del(leaseKey(cookie));
      const after = await send(cookie);
      expect(after.status).toBe(200);
      expect(after.body.sub).toBe('alice');
      expect(op.refreshGrants).toBe(1);
    }, 40_000);

    test('requests waiting for another instance\'s refresh end too when that instance ends the session (its record deleted)', async () => {
      const cookie = await signedInWithExpiredToken();
      expect(await inspector.set(leaseKey(cookie), 'another-instance', { NX: true, PX: LEASE_MS })).toBe('OK');

      const waiting = Promise.all([send(cookie), send(cookie), send(cookie), send(cookie)]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // What the holder does when the provider refuses the refresh token (invalid_grant): delete the record.
      expect(await inspector.del(STORE_PREFIX + recordKey('session', refOf(cookie)))).toBe(1);
      const answers = await waiting;
      expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401]);
      expect(op.refreshGrants).toBe(0);
      expect((await send(cookie)).status).toBe(401);
      await inspector.del(leaseKey(cookie));
    }, 30_000);
  }
});
