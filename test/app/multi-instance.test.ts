/**
 * Two instances of one app, as behind a load balancer: two Express apps, each with its own
 * authCallback(), on two ports, sharing one Redis (connect-redis, a client each) and one `secret`,
 * both configured with the same `baseURL` (instance A's). The browser reaches B by rewriting the
 * port of a URL; cookies on localhost ignore the port, so both instances see the same cookies.
 *
 * Against a real OpenID Provider (`oidc-provider` with Back-Channel Logout 1.0 on, its client
 * registered with B's `backchannel_logout_uri` and `backchannel_logout_session_required`) and a
 * real `redis-server`.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { createApp } from '../../example-app/app.js';
import type { DevClient } from '../../example-app/dev-provider.js';
import { Browser } from '../support/browser.js';
import { closeServer, listen } from '../support/http-server.js';
import { withoutProviderNotices } from '../support/log-guard.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { SESSION_SECRET, authorizationResponse, signIn, startTestbed, type Testbed } from '../support/testbed.js';

const BACKCHANNEL_PATH = '/backchannel-logout';

/** oidc-provider's features: the development provider's, plus Back-Channel Logout. */
const providerConfiguration = {
  features: {
    devInteractions: { enabled: true },
    backchannelLogout: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx: { body: unknown }, form: string) {
        ctx.body = `<!doctype html><title>Sign out</title>${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes</button>`;
      },
      async postLogoutSuccessSource(ctx: { body: unknown }) {
        ctx.body = '<!doctype html><title>Signed out</title><h1>Signed out</h1>';
      },
    },
  },
};


/** `url` with its port replaced by `port`: the same request, sent to the other instance. */
function onPort(url: string | URL, port: number): string {
  const moved = new URL(url);
  moved.port = String(port);
  return moved.href;
}

/** GET /api/me with exactly the `cookie` header given (a copied cookie replayed by hand): the status and body. */
async function me(base: string, cookie: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}/api/me`, { headers: { cookie, accept: 'application/json' }, redirect: 'manual' });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The browser's cookies for `base`, as a `Cookie` header. */
async function copyCookies(browser: Browser, base: string): Promise<string> {
  const cookie = await browser.jar.getCookieString(base);
  expect(cookie).toMatch(/(^|; )oidc_session=/);
  return cookie;
}

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

/** Waits until the start of the next whole second, so that what follows happens within one second. */
async function startOfNextSecond(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
}

interface Setup {
  label: string;
  sessionStorage: 'cookie' | 'store';
  /** The client's backchannel_logout_session_required: logout tokens name the provider session (sid), else the user (sub) only. */
  sessionRequired: boolean;
}

const setups: Setup[] = [
  { label: 'sessionStorage \'cookie\', logout tokens with sid', sessionStorage: 'cookie', sessionRequired: true },
  { label: 'sessionStorage \'store\', logout tokens with sid', sessionStorage: 'store', sessionRequired: true },
  { label: 'sessionStorage \'cookie\', logout tokens naming the user (sub) only', sessionStorage: 'cookie', sessionRequired: false },
];

describe.each(setups)('two instances sharing one Redis, $label', ({ sessionStorage, sessionRequired }) => {
  let bed: Testbed;
  let a: string;
  let b: string;
  let portB: number;
  let serverB: Server;
  const clients: ReturnType<typeof createClient>[] = [];
  const backchannel = { success: 0, errors: [] as unknown[] };

  beforeAll(async () => {
    const connect = async (): Promise<RedisStore> => {
      const client = createClient({ url: redis.url });
      clients.push(client);
      await client.connect();
      return new RedisStore({ client });
    };
    const [storeA, storeB] = await Promise.all([connect(), connect()]);
    serverB = createServer();
    portB = await listen(serverB);
    const client: Partial<DevClient> & Record<string, unknown> = {
      backchannel_logout_uri: `http://localhost:${portB}${BACKCHANNEL_PATH}`,
      backchannel_logout_session_required: sessionRequired,
    };
    bed = await startTestbed({
      auth: { sessionStorage, routes: { backchannelLogout: BACKCHANNEL_PATH } },
      client,
      providerConfiguration,
      build: (auth) => createApp({ auth, sessionSecret: SESSION_SECRET, store: storeA }),
    });
    // Instance B: its own app and authCallback(), the same options (baseURL is A's), its own Redis client.
    serverB.on('request', createApp({ auth: bed.auth, sessionSecret: SESSION_SECRET, store: storeB }));
    a = bed.baseURL;
    b = onPort(a, portB).replace(/\/$/, '');
    bed.provider.provider.on('backchannel.success', () => { backchannel.success += 1; });
    bed.provider.provider.on('backchannel.error', (_ctx: unknown, err: unknown) => { backchannel.errors.push(err); });
  });
  afterAll(async () => {
    if (serverB) await closeServer(serverB);
    await bed?.close();
    await Promise.all(clients.map((c) => c.close()));
  });

  test('a login started on A and finished on B (the callback sent to B) signs the browser in on both', async () => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${a}/login?returnTo=%2Fprofile`);
    expect(response.origin).toBe(a); // the provider sends the browser to the one redirect_uri, A's
    const landed = await browser.visit(onPort(response, portB));
    expect(landed.url).toBe(`${b}/profile`);
    expect(landed.status).toBe(200);
    expect(landed.body).toContain('alice@example.com');

    for (const instance of [a, b]) {
      const api = await browser.request(`${instance}/api/me`, { headers: { accept: 'application/json' } });
      expect(api.status).toBe(200);
      expect(JSON.parse(api.body)).toMatchObject({ sub: 'alice', iss: bed.provider.issuer });
    }
  });

  if (sessionStorage === 'store') {
    test('logout on A deletes the session for every instance: the copied cookie is refused on B', async () => {
      const browser = new Browser();
      await signIn(browser, `${a}/login`);
      const copied = await copyCookies(browser, a);
      expect((await me(b, copied)).status).toBe(200);

      const logout = await browser.request(`${a}/logout`);
      expect(logout.status).toBe(302);

      expect((await me(b, copied)).status).toBe(401);
      expect((await me(a, copied)).status).toBe(401);
      const page = await fetch(`${b}/profile`, { headers: { cookie: copied, accept: 'text/html' }, redirect: 'manual' });
      expect(page.status).toBe(302);
      expect(page.headers.get('location')).toBe('/login?returnTo=%2Fprofile');
    });
  }

  test('a back-channel logout received by B ends the session on A within a second; a new login right after it (the same second) works on A and B', async () => {
    const browser = new Browser();
    await signIn(browser, `${a}/login`);
    const copied = await copyCookies(browser, a);
    const before = await me(a, copied);
    expect(before.status).toBe(200);
    expect((await me(b, copied)).status).toBe(200);
    const sid = before.body.sid;
    // With backchannel_logout_session_required the ID token names the provider session (OpenID Connect Back-Channel Logout 1.0 §2.1).
    expect(typeof sid).toBe(sessionRequired ? 'string' : 'undefined');

    // The user signs out at the provider (not through the app): it confirms, and the provider
    // POSTs a logout_token to B's backchannel_logout_uri.
    const successBefore = backchannel.success;
    await startOfNextSecond(); // the logout and the new login below then fall within one second
    const confirm = await browser.visit(`${bed.provider.issuer}/session/end`);
    expect(confirm.body).toContain('op.logoutForm');
    const done = await withoutProviderNotices(() => browser.submit(confirm, { logout: 'yes' }));
    expect(done.body).toContain('Signed out');
    expect(backchannel.errors).toEqual([]);
    expect(backchannel.success).toBe(successBefore + 1);

    const deadline = Date.now() + 1000;
    let onA = await me(a, copied);
    while (onA.status !== 401 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      onA = await me(a, copied);
    }
    expect(onA.status).toBe(401);
    expect((await me(b, copied)).status).toBe(401);

    // A new login (a new provider session, a new sid) is not affected by the mark, even in the
    // same second: the mark ends the sessions that started before it.
    const landed = await signIn(browser, `${a}/login?returnTo=%2Fapi%2Fme`);
    expect(landed.status).toBe(200);
    const fresh = await copyCookies(browser, a);
    const afterA = await me(a, fresh);
    expect(afterA.status).toBe(200);
    expect(afterA.body.sub).toBe('alice');
    if (sessionRequired) expect(afterA.body.sid).not.toBe(sid);
    expect((await me(b, fresh)).status).toBe(200);
  });
});
