/**
 * The `workos()` provider adapter end to end, when the login must fail: a refused code or
 * callback, and every WorkOS answer (or network fault) that must not sign anyone in, each
 * refused with the right status and no session, nothing secret in the answer or the logs. The
 * app of test/support/workos-app.ts against the fake of test/support/workos-provider.ts.
 */
import { describe, expect, test } from '@jest/globals';
import { Browser } from '../../support/browser.js';
import { closedPortURL } from '../../support/http-server.js';
import { leaksInPage, sessionCookiesSet } from '../../support/leaks.js';
import {
  AUTHENTICATE, authorize, codeOf, expectRefused, failedCallback, JSON_ACCEPT, me, provider, secrets, signIn, startApp,
  TIMEOUT_BOUND_MS, useWorkOSApps,
} from '../../support/workos-app.js';
import { DEFAULT_USER } from '../../support/workos-provider.js';

const consoleErrors = useWorkOSApps();

describe('refusals of the code or of the callback', () => {
  test('a code WorkOS does not know: 400 invalid_grant, no session', async () => {
    const app = await startApp();
    const browser = new Browser();
    const { callbackUrl } = await authorize(app, browser);
    callbackUrl.searchParams.set('code', 'NOT-A-CODE-WORKOS-ISSUED');
    const page = await browser.request(callbackUrl.href);
    await expectRefused(app, browser, page, 400, 'invalid_grant');
  });

  test('a code used once already (replayed into a new login of the same browser): 400 invalid_grant', async () => {
    const app = await startApp();
    const browser = new Browser();
    const first = await signIn(app, browser);
    expect(first.callback.status).toBe(302);
    const usedCode = provider.issued.codes.at(-1)!;
    const victim = new Browser();
    const { callbackUrl } = await authorize(app, victim);
    callbackUrl.searchParams.set('code', usedCode);
    const page = await victim.request(callbackUrl.href);
    await expectRefused(app, victim, page, 400, 'invalid_grant');
    expect(provider.requestsTo(AUTHENTICATE).map((r) => r.json?.code)).toEqual([usedCode, usedCode]);
  });

  test('an expired code: 400 invalid_grant', async () => {
    const app = await startApp();
    provider.behaviour.codeTtl = -1;
    const browser = new Browser();
    await expectRefused(app, browser, await failedCallback(app, browser), 400, 'invalid_grant');
  });

  test('the user cancelling at WorkOS (error=access_denied): 400 access_denied, WorkOS not asked for tokens', async () => {
    const app = await startApp();
    provider.behaviour.authorize = 'access_denied';
    const browser = new Browser();
    const page = await failedCallback(app, browser);
    await expectRefused(app, browser, page, 400, 'access_denied');
    expect(provider.requestsTo(AUTHENTICATE)).toHaveLength(0);
  });

  test('a callback whose state is not the pending login\'s: 400 state_mismatch, WorkOS not called', async () => {
    const app = await startApp();
    const browser = new Browser();
    const { callbackUrl } = await authorize(app, browser);
    callbackUrl.searchParams.set('state', 'an-attackers-state-value-000000');
    const page = await browser.request(callbackUrl.href);
    await expectRefused(app, browser, page, 400, 'state_mismatch');
    expect(provider.requestsTo(AUTHENTICATE)).toHaveLength(0);
  });

  test('a callback in a browser that started no login: 400 missing_transaction, WorkOS not called', async () => {
    const app = await startApp();
    const { callbackUrl } = await authorize(app, new Browser());
    const stranger = new Browser();
    const page = await stranger.request(callbackUrl.href);
    await expectRefused(app, stranger, page, 400, 'missing_transaction');
    expect(provider.requestsTo(AUTHENTICATE)).toHaveLength(0);
  });

  test('a replayed callback in the signed-in browser (the back button): 302 to /, no code exchanged, the session it made kept unchanged', async () => {
    const app = await startApp();
    const browser = new Browser();
    const { callbackUrl } = await authorize(app, browser);
    expect((await browser.request(callbackUrl.href)).status).toBe(302);
    const cookie = await browser.cookie(app.baseURL, 'oidc_session');
    const before = await me(app, browser);
    const replay = await browser.request(callbackUrl.href);
    expect({ status: replay.status, location: replay.headers.get('location') }).toEqual({ status: 302, location: '/' });
    expect(sessionCookiesSet(replay)).toEqual([]);
    expect(await browser.cookie(app.baseURL, 'oidc_session')).toBe(cookie);
    expect(provider.requestsTo(AUTHENTICATE)).toHaveLength(1);
    const after = await me(app, browser);
    expect(after.user.sub).toBe(DEFAULT_USER.id);
    expect(after).toEqual(before);
  });
});

describe('WorkOS answers that must not sign anyone in', () => {
  test.each([
    ['an access token signed by a key the JWKS does not publish', 'unknown-key'],
    ['an access token whose sub is not the user object\'s id', 'wrong-sub'],
    ['an expired access token', 'expired'],
    ['an HS256 access token keyed with the client secret (algorithm downgrade)', 'hs256'],
    ['an access token that is not a JWT', 'opaque'],
  ] as const)('%s: 502 invalid_provider_response', async (_name, mode) => {
    const app = await startApp();
    provider.behaviour.accessToken = mode;
    const browser = new Browser();
    await expectRefused(app, browser, await failedCallback(app, browser), 502, 'invalid_provider_response');
  });

  test.each([
    ['a 500', 'error-500'],
    ['an HTML page with status 200', 'html'],
    ['malformed JSON', 'malformed-json'],
    ['an answer without its user', 'no-user'],
  ] as const)('%s: 502 invalid_provider_response, nothing of the body in the answer or the logs', async (_name, mode) => {
    const app = await startApp();
    provider.behaviour.authenticate = mode;
    const browser = new Browser();
    await expectRefused(app, browser, await failedCallback(app, browser), 502, 'invalid_provider_response');
    expect(consoleErrors.calls).toHaveLength(1);
  });

  test('the JWKS failing: 502, no session', async () => {
    const app = await startApp();
    provider.behaviour.jwks = 'error-500';
    const browser = new Browser();
    await expectRefused(app, browser, await failedCallback(app, browser), 502, 'invalid_provider_response');
  });

  test('WorkOS unreachable: 502 provider_unreachable', async () => {
    const app = await startApp({ apiBaseURL: await closedPortURL() });
    const browser = new Browser();
    const start = await browser.request(`${app.baseURL}/login`);
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const page = await browser.request(`${app.baseURL}/callback?code=01HCODE000000000000&state=${state}`);
    await expectRefused(app, browser, page, 502, 'provider_unreachable');
  });

  test.each(['authenticate', 'jwks'] as const)('WorkOS not answering the %s request: 504 provider_timeout within httpTimeout', async (endpoint) => {
    const app = await startApp();
    provider.behaviour[endpoint] = 'hang';
    const browser = new Browser();
    const { callbackUrl } = await authorize(app, browser);
    const started = Date.now();
    const page = await browser.request(callbackUrl.href);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_BOUND_MS);
    await expectRefused(app, browser, page, 504, 'provider_timeout');
  });

  test('a refresh WorkOS fails (500) on an expired access token: 503 refresh_failed, the session kept for the next try', async () => {
    const app = await startApp({ auth: { refreshMargin: 0 } });
    provider.behaviour.accessTokenTtl = 1;
    const browser = new Browser();
    await signIn(app, browser);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    provider.behaviour.refresh = 'error-500';
    const failed = await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT });
    expect(failed.status).toBe(503);
    expect(codeOf(failed)).toBe('refresh_failed');
    expect(sessionCookiesSet(failed)).toEqual([]);
    expect(leaksInPage(failed, secrets())).toEqual([]);
    provider.behaviour.refresh = 'ok';
    provider.behaviour.accessTokenTtl = 3600;
    expect((await me(app, browser)).accessToken).toBe(provider.issued.accessTokens.at(-1));
  });
});
