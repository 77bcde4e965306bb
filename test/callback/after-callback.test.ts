/**
 * The app's hooks into a login, end to end against oidc-provider: `loginState` carried through
 * the login sealed, `afterCallback` enriching `req.user` (kept across a refresh), refusing the
 * login, answering it itself, or failing; `req.user` without the protocol claims
 * (`identityClaimFilter`), `req.oidc.claims` with them, `req.oidc.tokenType` spelt as RFC 6750.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express, { type ErrorRequestHandler, type Request, type Response } from 'express';
import { AuthError, authCallback, requireAuth, type AuthCallbackConfig } from '../../lib/index.js';
import type { AfterCallbackResult, AfterCallbackSession } from '../../lib/config/hook-options.js';
import { Browser } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { STACK_TRACE } from '../support/leaks.js';
import { authorizationResponse, pendingLoginCookies, signIn, startTestbed, type Testbed } from '../support/testbed.js';

const JSON_ACCEPT = { accept: 'application/json' };

let bed: Testbed;
/** What the hooks do in the current test. */
let loginState: (req: Request) => unknown = () => undefined;
let onCallback: (req: Request, res: Response, session: AfterCallbackSession) => unknown = () => undefined;
/** Every session afterCallback was given, in order. */
const seen: AfterCallbackSession[] = [];
/** The last error the app's error handler got. */
let lastError: unknown;

function buildApp(auth: AuthCallbackConfig): express.Express {
  const app = express();
  app.use(authCallback({
    ...auth,
    loginState: (req) => loginState(req) as never,
    afterCallback: (req, res, session) => {
      seen.push(session);
      return onCallback(req, res, session) as AfterCallbackResult;
    },
  }));
  app.get('/me', requireAuth(), (req, res) => {
    res.json({ user: req.user, claims: req.oidc.claims, tokenType: req.oidc.tokenType });
  });
  app.get('/admin', requireAuth({ claims: { roles: 'admin', iss: auth.issuer! } }), (req, res) => { res.json({ admin: req.user?.sub }); });
  app.get('/by-function', requireAuth({ claims: (user) => user.accountId === 'acct-1' && user.iss === undefined }), (_req, res) => { res.json({ ok: true }); });
  app.post('/refresh', async (req, res, next) => {
    try {
      await req.oidc.refresh();
      res.json({ user: req.user });
    } catch (err) {
      next(err);
    }
  });
  app.get('/signup', (_req, res) => { res.send('sign up first'); });
  const record: ErrorRequestHandler = (err, _req, _res, next) => { lastError = err; next(err); };
  app.use(record, errorAsJson);
  return app;
}

beforeAll(async () => {
  bed = await startTestbed({
    providerConfiguration: { issueRefreshToken: async () => true },
    build: buildApp,
  });
});
afterAll(async () => {
  await bed.close();
});
beforeEach(() => {
  loginState = () => undefined;
  onCallback = () => undefined;
  seen.length = 0;
  lastError = undefined;
});

async function me(browser: Browser): Promise<{ status: number; body: { user?: Record<string, unknown>; claims?: Record<string, unknown>; tokenType?: string } }> {
  const res = await browser.request(`${bed.baseURL}/me`, { headers: JSON_ACCEPT });
  return { status: res.status, body: JSON.parse(res.body) as never };
}

describe('req.user and req.oidc.claims', () => {
  test('req.user has the user\'s claims without the protocol ones; req.oidc.claims keeps them; tokenType is Bearer', async () => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`, 'alice');
    const { status, body } = await me(browser);
    expect(status).toBe(200);
    expect(body.user).toMatchObject({ sub: 'alice' });
    for (const name of ['iss', 'aud', 'exp', 'iat', 'nonce', 'at_hash', 'azp', 'auth_time', 'sid']) expect(body.user).not.toHaveProperty(name);
    expect(body.claims).toMatchObject({ sub: 'alice', iss: bed.provider.issuer, aud: bed.auth.clientId });
    expect(body.claims).toHaveProperty('exp');
    expect(body.tokenType).toBe('Bearer');
  });
});

describe('loginState and afterCallback', () => {
  test('loginState is sealed through the login and given back to afterCallback, with the validated session', async () => {
    loginState = (req) => ({ invite: req.query.invite, plan: { tier: 'pro', seats: 3 } });
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login?invite=inv-42`, 'alice');
    expect(seen).toHaveLength(1);
    const [session] = seen;
    expect(session!.loginState).toEqual({ invite: 'inv-42', plan: { tier: 'pro', seats: 3 } });
    expect(session!).toMatchObject({ issuer: bed.provider.issuer, tokenType: 'Bearer' });
    expect(session!.claims).toMatchObject({ sub: 'alice', iss: bed.provider.issuer });
    expect(session!.idToken).toMatch(/^eyJ/);
    expect(typeof session!.accessToken).toBe('string');
    expect(typeof session!.refreshToken).toBe('string');
    expect(session!.expiresAt).toBeGreaterThan(Date.now() / 1000);
    expect(Object.isFrozen(session!.claims)).toBe(true);
  });

  test('loginState is not read from the query: a callback cannot change it', async () => {
    loginState = () => ({ role: 'user' });
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login?loginState=%7B%22role%22%3A%22admin%22%7D`, 'alice');
    expect(seen[0]!.loginState).toEqual({ role: 'user' });
  });

  test('without loginState, afterCallback gets undefined', async () => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`, 'alice');
    expect(seen[0]!.loginState).toBeUndefined();
  });

  test('claims afterCallback returns are in req.user (not in req.oidc.claims), meet requireAuth({ claims }), and survive a refresh', async () => {
    onCallback = () => ({ claims: { accountId: 'acct-1', roles: ['admin', 'billing'] } });
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`, 'alice');
    const { body } = await me(browser);
    expect(body.user).toMatchObject({ sub: 'alice', accountId: 'acct-1', roles: ['admin', 'billing'] });
    expect(body.claims).not.toHaveProperty('accountId');
    expect((await browser.request(`${bed.baseURL}/admin`, { headers: JSON_ACCEPT })).status).toBe(200);
    expect((await browser.request(`${bed.baseURL}/by-function`, { headers: JSON_ACCEPT })).status).toBe(200);

    const refreshed = await browser.request(`${bed.baseURL}/refresh`, { method: 'POST', headers: JSON_ACCEPT });
    expect(refreshed.status).toBe(200);
    expect(JSON.parse(refreshed.body).user).toMatchObject({ sub: 'alice', accountId: 'acct-1' });
    expect((await me(browser)).body.user).toMatchObject({ accountId: 'acct-1', roles: ['admin', 'billing'] });
  });

  test('a user without the app\'s claims does not meet requireAuth({ claims: { roles } })', async () => {
    onCallback = () => ({ claims: { roles: ['billing'] } });
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`, 'alice');
    const res = await browser.request(`${bed.baseURL}/admin`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(403);
  });

  test('afterCallback returning false refuses the login: 403 login_refused, no new session, the browser\'s previous session kept', async () => {
    onCallback = () => ({ claims: { login: 'first' } });
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`, 'alice');
    onCallback = () => false;
    // A new login in the same browser (signed in at the provider: no form), refused.
    const again = await authorizationResponse(browser, `${bed.baseURL}/login`, 'alice');
    const refused = await browser.request(again.href, { headers: JSON_ACCEPT });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'login_refused' });
    expect(seen).toHaveLength(2);
    expect((await me(browser)).body.user).toMatchObject({ sub: 'alice', login: 'first' });

    const fresh = new Browser();
    const page = await signIn(fresh, `${bed.baseURL}/login`, 'bob');
    expect(page.status).toBe(403);
    expect((await me(fresh)).status).toBe(401);
    expect(await pendingLoginCookies(fresh, bed.baseURL)).toEqual([]);
  });

  test('afterCallback may answer the request itself and refuse: its answer stands, no session', async () => {
    onCallback = (_req, res) => {
      res.redirect(302, '/signup');
      return false;
    };
    const browser = new Browser();
    const page = await signIn(browser, `${bed.baseURL}/login`, 'carol');
    expect(page.url).toBe(`${bed.baseURL}/signup`);
    expect(page.body).toBe('sign up first');
    expect((await me(browser)).status).toBe(401);
  });

  test('an AuthError afterCallback throws is passed on as is; any other error is 500 hook_failed with it as cause, no stack shown', async () => {
    onCallback = () => {
      throw new AuthError('forbidden', 403, 'Not invited');
    };
    const browser = new Browser();
    const forbidden = await signIn(browser, `${bed.baseURL}/login`, 'dave');
    expect(forbidden.status).toBe(403);
    expect(JSON.parse(forbidden.body)).toEqual({ code: 'forbidden', message: 'Not invited' });

    const boom = new Error('database down');
    onCallback = async () => Promise.reject(boom);
    const failed = await signIn(new Browser(), `${bed.baseURL}/login`, 'dave');
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body)).toMatchObject({ code: 'hook_failed' });
    expect(failed.body).not.toMatch(STACK_TRACE);
    expect(lastError).toBeInstanceOf(AuthError);
    expect((lastError as AuthError).cause).toBe(boom);
    expect((await me(browser)).status).toBe(401);
  });

  test.each<[string, unknown]>([
    ['sub', { claims: { sub: 'someone-else' } }],
    ['iss', { claims: { iss: 'https://evil.example' } }],
    ['a protocol claim (sid)', { claims: { sid: 'forged' } }],
    ['not an object of claims', { claims: ['admin'] }],
    ['another shape', { user: { roles: ['admin'] } }],
    ['a string', 'yes'],
  ])('afterCallback returning %s → 500 hook_failed, no session', async (_name, result) => {
    onCallback = () => result;
    const browser = new Browser();
    const page = await signIn(browser, `${bed.baseURL}/login`, 'erin');
    expect(page.status).toBe(500);
    expect(JSON.parse(page.body)).toMatchObject({ code: 'hook_failed' });
    expect((await me(browser)).status).toBe(401);
  });

  test('the app\'s claims are a copy: changing its object afterwards changes nothing', async () => {
    const claims = { roles: ['admin'] };
    onCallback = () => ({ claims });
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`, 'alice');
    claims.roles.push('root');
    expect((await me(browser)).body.user).toMatchObject({ roles: ['admin'] });
  });
});

describe('loginState failures stop the login before it starts', () => {
  test.each<[string, () => unknown]>([
    ['throws', () => {
      throw new Error('no');
    }],
    ['rejects', () => Promise.reject(new Error('no'))],
    ['returns more than 512 bytes of JSON', () => ({ blob: 'x'.repeat(600) })],
    ['returns a function', () => () => 1],
    ['returns a BigInt', () => ({ n: 1n })],
  ])('loginState %s → 500 hook_failed, no pending login, no redirect', async (_name, hook) => {
    loginState = hook;
    const browser = new Browser();
    const res = await browser.request(`${bed.baseURL}/login`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toMatchObject({ code: 'hook_failed' });
    expect(await pendingLoginCookies(browser, bed.baseURL)).toEqual([]);
  });
});
