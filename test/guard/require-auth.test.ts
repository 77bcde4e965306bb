/**
 * The guard, and how a session cookie is read on every request: valid, chunked, tampered,
 * expired or foreign; its per-route options (`redirect`, `claims`) against real logins.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import session from 'express-session';
import request from 'supertest';
import { AuthError, authCallback, requireAuth, type AuthCallbackConfig } from '../../lib/index.js';
import { type RequireAuthOptions } from '../../lib/guard/require-auth.js';
import { Sealer } from '../../lib/session/seal.js';
import { Browser } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { expectTypeError } from '../support/expect-error.js';
import { SECRET, SESSION_SECRET, signIn, startTestbed, type Testbed } from '../support/testbed.js';

let bed: Testbed;
let signedIn: Browser;
let cookie: string;
beforeAll(async () => {
  bed = await startTestbed();
  signedIn = new Browser();
  await signIn(signedIn, `${bed.baseURL}/login`, 'carol');
  cookie = (await signedIn.cookie(bed.baseURL, 'oidc_session'))!;
});
afterAll(async () => {
  await bed.close();
});

/** A compact JWS-shaped ID token (the seal vouches for it, so its signature is not read back). */
function idToken(claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(claims)}.c2ln`;
}

function sealed(payload: object, secret = SECRET, expiresAt = Date.now() / 1000 + 3600): string {
  return new Sealer([secret]).seal({ createdAt: Math.floor(Date.now() / 1000), ...payload }, expiresAt);
}

const claims = { iss: 'https://op.example', sub: 'dave', aud: 'test-app', iat: 1, exp: 2, email: 'dave@example.com' };

describe('requireAuth() with a valid session', () => {
  test('lets the request through, with req.user = the ID token claims', async () => {
    const res = await request(bed.app).get('/api/me').set('Cookie', `oidc_session=${cookie}`).set('Accept', 'application/json');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ sub: 'carol', email: 'carol@example.com', name: 'carol' });
  });

  test('a token set over 4,000 bytes arrives in chunks and is reassembled', async () => {
    const value = sealed({ idToken: idToken(claims), accessToken: 'a'.repeat(6000), tokenType: 'Bearer' });
    const res = await request(bed.app).get('/api/me')
      .set('Cookie', `oidc_session.0=${value.slice(0, 3900)}; oidc_session.1=${value.slice(3900)}`)
      .set('Accept', 'application/json');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ sub: 'dave', email: 'dave@example.com' });
  });

  test('does not re-send the session cookie on an ordinary request', async () => {
    const res = await request(bed.app).get('/api/me').set('Cookie', `oidc_session=${cookie}`).set('Accept', 'application/json');
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe('requireAuth() without a valid session', () => {
  test('a browser (Accept: text/html) is sent to login with returnTo = the current path', async () => {
    const res = await request(bed.app).get('/profile?x=1&y=%2F').set('Accept', 'text/html');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`/login?returnTo=${encodeURIComponent('/profile?x=1&y=%2F')}`);
  });

  test('an API client (Accept: application/json) gets 401 with WWW-Authenticate', async () => {
    const res = await request(bed.app).get('/api/me').set('Accept', 'application/json');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(`OpenIDConnect realm="${bed.baseURL}", login_uri="${bed.baseURL}/login"`);
    expect(res.body).toEqual({ error: 'unauthorized', error_description: 'Authentication required: sign in first' });
  });

  test('a POST gets 401, not a redirect that would lose its body', async () => {
    const app = express();
    app.use(authCallback(bed.auth));
    app.post('/comments', requireAuth(), (_req, res) => { res.send('saved'); });
    app.use(errorAsJson);
    const res = await request(app).post('/comments').set('Accept', 'text/html').send('text=hi');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^OpenIDConnect /);
  });

  test.each([
    ['tampered', () => cookie.slice(0, -4) + (cookie.endsWith('AAAA') ? 'BBBB' : 'AAAA')],
    ['truncated', () => cookie.slice(0, cookie.length / 2)],
    ['garbage', () => 'not-a-session'],
    ['sealed with another secret', () => sealed({ idToken: idToken(claims), accessToken: 'x', tokenType: 'Bearer' }, 'another-secret-of-at-least-32-characters!!')],
    ['expired', () => sealed({ idToken: idToken(claims), accessToken: 'x', tokenType: 'Bearer' }, SECRET, Date.now() / 1000 - 1)],
    ['missing a chunk', () => cookie],
  ])('a %s cookie reads as "not signed in": 401, never a 500', async (kind, value) => {
    const name = kind === 'missing a chunk' ? 'oidc_session.1' : 'oidc_session';
    const res = await request(bed.app).get('/api/me').set('Cookie', `${name}=${value()}`).set('Accept', 'application/json');
    expect(res.status).toBe(401);
    const home = await request(bed.app).get('/').set('Cookie', `${name}=${value()}`);
    expect(home.status).toBe(200);
    expect(home.text).toContain('You are not signed in');
  });

  test('without authCallback() mounted, the error says to mount it', async () => {
    const app = express();
    app.get('/x', requireAuth(), (_req, res) => { res.send('unreachable'); });
    app.use(errorAsJson);
    const res = await request(app).get('/x');
    expect(res.status).toBe(500);
    expect(res.body.code).toBe('middleware_not_mounted');
    expect(res.body.message).toContain('app.use(authCallback(');
  });
});

describe('requireAuth() when the login route is disabled', () => {
  test('answers 401 even to a browser, and names no login URL', async () => {
    const other = await startTestbed({ auth: { routes: { login: false } } });
    try {
      const res = await request(other.app).get('/profile').set('Accept', 'text/html');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(`OpenIDConnect realm="${other.baseURL}"`);
    } finally {
      await other.close();
    }
  });
});

/**
 * The per-route options, against an app of our own (express-session, authCallback(), guarded
 * routes, errorAsJson) and a development provider that also issues a `groups` claim (an array).
 */
describe('requireAuth(options)', () => {
  /** The `groups` claim the provider issues to each user. */
  const GROUPS: Record<string, string[]> = { carol: ['staff'], erin: ['staff', 'admin'] };
  const ok: RequestHandler = (_req, res) => { res.json({ ok: true }); };
  /** The last error passed to next(), as the app's error handler saw it. */
  let lastError: unknown;
  /** The argument the last claims function was called with, and the req.user next to it. */
  let predicateArgument: unknown;

  function buildApp(auth: AuthCallbackConfig): Express {
    const app = express();
    app.use(session({ secret: SESSION_SECRET, resave: false, saveUninitialized: false }));
    app.use(authCallback(auth));
    app.get('/', (_req, res) => { res.send('home'); });
    app.get('/default', requireAuth(), ok);
    app.get('/redirect-true', requireAuth({ redirect: true }), ok);
    app.get('/no-redirect', requireAuth({ redirect: false }), ok);
    app.get('/verified', requireAuth({ claims: { email_verified: true, iss: auth.issuer! } }), ok);
    app.get('/named-someone-else', requireAuth({ claims: { email_verified: true, name: 'someone-else-entirely' } }), ok);
    app.get('/verified-is-string', requireAuth({ claims: { email_verified: 'true' } }), ok);
    app.get('/staff', requireAuth({ claims: { groups: 'staff' } }), ok);
    app.get('/staff-and-admin', requireAuth({ claims: { groups: ['staff', 'admin'] } }), ok);
    app.get('/api/admin', requireAuth({ redirect: false, claims: { groups: 'admin' } }), ok);
    app.get('/predicate-true', requireAuth({ claims: (c) => c.email === `${c.sub}@example.com` }), ok);
    app.get('/predicate-sees-user', requireAuth({ claims: (c) => { predicateArgument = c; return true; } }), (req, res) => {
      res.json({ same: predicateArgument === req.user });
    });
    app.get('/predicate-false', requireAuth({ claims: (c) => Array.isArray(c.groups) && c.groups.includes('admin') }), ok);
    app.get('/predicate-truthy', requireAuth({ claims: () => 1 as unknown as boolean }), ok);
    app.get('/predicate-throws', requireAuth({
      claims: () => { throw new Error('directory lookup failed: secret-detail'); },
    }), ok);
    app.get('/predicate-promise', requireAuth({
      claims: () => Promise.reject(new Error('rejected-detail')) as unknown as boolean,
    }), ok);
    const record: ErrorRequestHandler = (err, _req, _res, next) => { lastError = err; next(err); };
    app.use(record, errorAsJson);
    return app;
  }

  let bed: Testbed;
  /** Session cookie of carol (groups: staff) and erin (groups: staff, admin). */
  const cookies: Record<string, string> = {};
  beforeAll(async () => {
    bed = await startTestbed({
      build: buildApp,
      auth: { scope: 'openid profile email groups' },
      providerConfiguration: {
        claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'], groups: ['groups'] },
        async findAccount(_ctx: unknown, id: string) {
          return {
            accountId: id,
            async claims() {
              return { sub: id, name: id, email: `${id}@example.com`, email_verified: true, groups: GROUPS[id] ?? [] };
            },
          };
        },
      },
    });
    for (const user of ['carol', 'erin']) {
      const browser = new Browser();
      await signIn(browser, `${bed.baseURL}/login`, user);
      const value = await browser.cookie(bed.baseURL, 'oidc_session');
      if (value === undefined) throw new Error(`${user} did not get a session cookie`);
      cookies[user] = value;
    }
  });
  afterAll(async () => {
    await bed.close();
  });

  const get = (path: string, user?: string, accept = 'application/json') => {
    const req = request(bed.app).get(path).set('Accept', accept);
    return user === undefined ? req : req.set('Cookie', `oidc_session=${cookies[user]}`);
  };

  test('the provider issued the groups claim: req.user.groups is an array', async () => {
    const app = express();
    app.use(authCallback(bed.auth));
    app.get('/me', requireAuth(), (req, res) => { res.json(req.user); });
    const res = await request(app).get('/me').set('Cookie', `oidc_session=${cookies.erin}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ sub: 'erin', email_verified: true, groups: ['staff', 'admin'] });
  });

  describe('redirect', () => {
    test.each(['/default', '/redirect-true'])('%s: a browser without a session is sent to login (the default)', async (path) => {
      const res = await get(path, undefined, 'text/html');
      expect(res.status).toBe(302);
      expect(res.headers.location).toBe(`/login?returnTo=${encodeURIComponent(path)}`);
    });

    test('false: a browser (Accept: text/html GET) gets 401 with WWW-Authenticate, not a redirect', async () => {
      const res = await get('/no-redirect', undefined, 'text/html');
      expect(res.status).toBe(401);
      expect(res.headers.location).toBeUndefined();
      expect(res.headers['www-authenticate']).toBe(`OpenIDConnect realm="${bed.baseURL}", login_uri="${bed.baseURL}/login"`);
      expect(res.body).toEqual({ code: 'unauthorized', message: 'Authentication required: sign in first' });
    });

    test('false: a browser with no Accept header gets 401 too', async () => {
      const res = await request(bed.app).get('/no-redirect');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^OpenIDConnect realm=/);
    });

    test('false: a signed-in user is let through', async () => {
      const res = await get('/no-redirect', 'carol', 'text/html');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true });
    });
  });

  describe('claims, object form', () => {
    test('satisfied (email_verified: true, iss) → 200', async () => {
      const res = await get('/verified', 'carol');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: true });
    });

    test('not satisfied → 403 forbidden, with a message that reveals neither the claims nor their values', async () => {
      const res = await get('/named-someone-else', 'carol');
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
      expect(res.body.message).toBe('Access denied: the signed-in account is not allowed to use this resource');
      for (const secret of ['someone-else-entirely', 'carol', 'name', 'email_verified']) expect(res.text).not.toContain(secret);
      expect(res.headers['www-authenticate']).toBeUndefined();
      expect(lastError).toBeInstanceOf(AuthError);
      expect(lastError).toMatchObject({ code: 'forbidden', status: 403, expose: true });
    });

    test('not satisfied by a browser: 403 as well, not a login redirect (signing in again would not help)', async () => {
      const res = await get('/named-someone-else', 'carol', 'text/html');
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
    });

    test('values compare strictly: the string "true" does not match the boolean claim true', async () => {
      const res = await get('/verified-is-string', 'carol');
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
    });

    test.each([
      ['/verified', 'text/html', 302],
      ['/verified', 'application/json', 401],
      ['/named-someone-else', 'text/html', 302],
      ['/named-someone-else', 'application/json', 401],
      ['/api/admin', 'text/html', 401],
      ['/predicate-false', 'application/json', 401],
      ['/predicate-throws', 'application/json', 401],
    ])('not signed in, %s (Accept: %s) → %d as without claims, never 403', async (path, accept, status) => {
      const res = await get(path, undefined, accept);
      expect(res.status).toBe(status);
      if (status === 302) expect(res.headers.location).toBe(`/login?returnTo=${encodeURIComponent(path)}`);
      else expect(res.headers['www-authenticate']).toMatch(/^OpenIDConnect realm=/);
    });

    test('array claim, one expected value: matches when the array includes it', async () => {
      expect((await get('/staff', 'carol')).status).toBe(200);
      expect((await get('/staff', 'erin')).status).toBe(200);
    });

    test('array claim, an expected array: matches only when the claim includes every value', async () => {
      const carol = await get('/staff-and-admin', 'carol');
      expect(carol.status).toBe(403);
      expect(carol.body.code).toBe('forbidden');
      const erin = await get('/staff-and-admin', 'erin');
      expect(erin.status).toBe(200);
    });

    test('with redirect: false, an API route: 200 for an admin, 403 for a signed-in non-admin', async () => {
      expect((await get('/api/admin', 'erin')).status).toBe(200);
      const carol = await get('/api/admin', 'carol', 'text/html');
      expect(carol.status).toBe(403);
      expect(carol.body.code).toBe('forbidden');
    });
  });

  describe('claims, function form', () => {
    test('returns true → 200', async () => {
      const res = await get('/predicate-true', 'carol');
      expect(res.status).toBe(200);
    });

    test('is called with the session\'s claims, the same object as req.user', async () => {
      const res = await get('/predicate-sees-user', 'erin');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ same: true });
      expect(predicateArgument).toMatchObject({ sub: 'erin', groups: ['staff', 'admin'] });
    });

    test('returns false → 403 forbidden; the same predicate lets an admin through', async () => {
      const carol = await get('/predicate-false', 'carol');
      expect(carol.status).toBe(403);
      expect(carol.body.code).toBe('forbidden');
      expect((await get('/predicate-false', 'erin')).status).toBe(200);
    });

    test('returns a truthy value that is not true → 403', async () => {
      const res = await get('/predicate-truthy', 'carol');
      expect(res.status).toBe(403);
      expect(res.body.code).toBe('forbidden');
    });

    test('throws → 500 internal_error with the error as cause; no stack and no detail in the body', async () => {
      const res = await get('/predicate-throws', 'carol');
      expect(res.status).toBe(500);
      expect(Object.keys(res.body).sort()).toEqual(['code', 'message']);
      expect(res.body.code).toBe('internal_error');
      expect(res.text).not.toContain('secret-detail');
      expect(res.text).not.toMatch(/\bat .*\.ts:\d+/);
      expect(lastError).toBeInstanceOf(AuthError);
      expect(lastError).toMatchObject({ code: 'internal_error', status: 500, expose: false });
      expect((lastError as AuthError).cause).toBeInstanceOf(Error);
      expect(((lastError as AuthError).cause as Error).message).toBe('directory lookup failed: secret-detail');
    });

    test('returns a Promise → 500 internal_error, and its rejection is handled (no unhandledRejection)', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => { unhandled.push(reason); };
      process.on('unhandledRejection', onUnhandled);
      try {
        const res = await get('/predicate-promise', 'carol');
        expect(res.status).toBe(500);
        expect(res.body.code).toBe('internal_error');
        expect(res.text).not.toContain('rejected-detail');
        await new Promise((resolve) => setImmediate(resolve));
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });
  });
});

describe('requireAuth(options) checks its options at start-up', () => {
  /** Asserts that `requireAuth(options)` throws a TypeError whose message contains `text`. */
  const expectOptionsError = (options: unknown, text: string): void => expectTypeError(() => requireAuth(options as RequireAuthOptions), text);

  test.each<[string, unknown, string]>([
    ['an unknown key', { redirct: false }, 'requireAuth(): option "redirct" is unknown (known options: redirect, claims, acr, maxAge)'],
    ['a string redirect', { redirect: 'false' }, 'requireAuth(): option "redirect" must be a boolean'],
    ['a numeric redirect', { redirect: 0 }, 'requireAuth(): option "redirect" must be a boolean'],
    ['null redirect', { redirect: null }, 'requireAuth(): option "redirect" must be a boolean'],
    ['a string claims', { claims: 'admin' }, 'requireAuth(): option "claims" must be an object or a function'],
    ['an array claims', { claims: ['admin'] }, 'requireAuth(): option "claims" must be an object or a function'],
    ['null claims', { claims: null }, 'requireAuth(): option "claims" must be an object or a function'],
    ['a Map claims', { claims: new Map([['groups', 'admin']]) }, 'requireAuth(): option "claims" must be an object or a function'],
    ['a nested object', { claims: { address: { country: 'NL' } } }, 'requireAuth(): option "claims.address" must be a string, a finite number, a boolean, null, or a non-empty array of them'],
    ['an undefined value', { claims: { groups: undefined } }, 'option "claims.groups" must be'],
    ['NaN', { claims: { age: Number.NaN } }, 'option "claims.age" must be'],
    ['an empty list', { claims: { groups: [] } }, 'option "claims.groups" must be'],
    ['a nested list', { claims: { groups: [['admin']] } }, 'option "claims.groups" must be'],
    ['a function value', { claims: { groups: () => true } }, 'option "claims.groups" must be'],
    ['an async function', { claims: async () => true }, 'requireAuth(): option "claims" must return a boolean synchronously'],
    ['a string instead of options', 'admin', 'requireAuth(): expected an options object or nothing'],
    ['null instead of options', null, 'requireAuth(): expected an options object or nothing'],
  ])('%s is a TypeError naming the option', (_name, options, text) => {
    expectOptionsError(options, text);
  });

  test('mounted without being called (app.get(path, requireAuth, …)), the error says to call it', () => {
    const req = Object.create(express.request) as unknown;
    expectOptionsError(req, 'mount requireAuth(), not requireAuth');
  });

  test('valid options build a middleware function', () => {
    for (const options of [undefined, {}, { redirect: false }, { redirect: undefined, claims: undefined }, { claims: { groups: ['a', 'b'], age: 3, x: null } }, { claims: () => true }, { claims: Object.assign(Object.create(null) as object, { sub: 'x' }) }]) {
      expect(typeof requireAuth(options as RequireAuthOptions)).toBe('function');
    }
  });
});
