/**
 * A callback that finds no pending login (lib/callback/callback-route.ts): 400
 * `missing_transaction`, whose message says which case it is. A browser that sent none of this
 * app's cookies did not keep or send the pending-login cookie, and the message lists why that
 * happens (another host than baseURL's, https served over http, blocked cookies, a proxy, the
 * lifetime); a browser that sent some of them has cookies reaching the app, and its login is
 * gone (used, another browser, too slow). End to end: a login started at 127.0.0.1 while
 * `baseURL` says localhost fails so at the callback, unless the browser's page load was first
 * sent to localhost (lib/login/login-origin.ts), and then it completes. Its neighbours say what
 * they are too: `state_mismatch` (an older login's or another browser's callback) and
 * `transaction_expired` (naming transactionDuration).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { authCallback } from '../../lib/index.js';
import { Browser } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { startHostileProvider, type HostileProvider } from '../support/hostile-provider.js';
import { serveApp, type RunningServer } from '../support/http-server.js';

const JSON_ACCEPT = { accept: 'application/json' };
/** Every timer API but `Date`: with these left real, `jest.useFakeTimers` only moves the clock. */
const ALL_BUT_DATE = [
  'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame',
  'requestIdleCallback', 'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval',
  'setTimeout', 'clearTimeout',
] as const;
const NAVIGATION = { 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'upgrade-insecure-requests': '1' };

let provider: HostileProvider;
let app: RunningServer;
beforeAll(async () => {
  provider = await startHostileProvider();
  app = await serveApp((baseURL) => {
    const built = express();
    built.use(authCallback({ issuer: provider.issuer, clientId: 'rp-missing-tx', baseURL, secret: 'a-test-secret-of-at-least-32-characters-0123456789', transactionDuration: 300 }));
    built.get('/', (_req, res) => { res.send('home'); });
    built.use(errorAsJson);
    return built;
  });
});
afterAll(async () => {
  await app.close();
  await provider.close();
});
beforeEach(() => {
  provider.reset();
});

/** The callback's answer to `headers` (a made-up code and state: nothing of it is pending). */
async function callback(headers: Record<string, string> = {}): Promise<{ status: number; code: string; message: string }> {
  const res = await fetch(`${app.baseURL}/callback?code=some-code&state=some-state`, { headers: { ...JSON_ACCEPT, ...headers }, redirect: 'manual' });
  return { status: res.status, ...(await res.json() as { code: string; message: string }) };
}

/** The causes a message for a browser whose cookies do not reach the app lists. */
function expectCookieCauses(message: string): void {
  expect(message).toContain(`Usual causes: the login started at another host than baseURL's ${app.baseURL} (cookies set at 127.0.0.1 are not sent to localhost`);
  expect(message).toContain('an https: baseURL served over plain http: (browsers drop Secure cookies set over http:)');
  expect(message).toContain('the browser blocks cookies for this site');
  expect(message).toContain('a proxy that drops or rewrites Set-Cookie');
  expect(message).toContain('the login took longer than transactionDuration (300 seconds), or this page was reloaded after it finished');
  expect(message).toContain(`Start again from the login page at ${app.baseURL}`);
}

describe('400 missing_transaction says which case it is', () => {
  test('no cookie at all: the browser kept or sent none, and why that happens', async () => {
    const answer = await callback();
    expect({ status: answer.status, code: answer.code }).toEqual({ status: 400, code: 'missing_transaction' });
    expect(answer.message).toContain('No login is pending in this browser: the callback came with no cookies at all, so the browser did not keep or did not send the pending-login cookie');
    expectCookieCauses(answer.message);
  });

  test('only other apps\' cookies: the same, said so', async () => {
    const answer = await callback({ cookie: 'connect.sid=s%3Aabc; theme=dark' });
    expect({ status: answer.status, code: answer.code }).toEqual({ status: 400, code: 'missing_transaction' });
    expect(answer.message).toContain('the callback came with cookies, but none of this app\'s');
    expectCookieCauses(answer.message);
  });

  test('some of this app\'s cookies (a session that no longer opens, the silent-login mark): the login is gone, not the cookies', async () => {
    for (const cookie of ['oidc_session=not-a-sealed-session', 'oidc_session_silent=1; theme=dark']) {
      const answer = await callback({ cookie });
      expect({ status: answer.status, code: answer.code }).toEqual({ status: 400, code: 'missing_transaction' });
      expect(answer.message).toBe('No login is pending in this browser: this callback was already used (a reload, or the back button), the login was started in another browser, '
        + 'or it took longer than transactionDuration (300 seconds): start again from the login page');
    }
  });
});

describe('a login started at 127.0.0.1 while baseURL says localhost', () => {
  const at127 = (): string => app.baseURL.replace('localhost', '127.0.0.1');

  test('a client that is not a browser\'s page load starts it there: the cookie stays at 127.0.0.1, and the callback at localhost names the cause', async () => {
    const browser = new Browser();
    const login = await browser.request(`${at127()}/login`);
    expect(login.status).toBe(302);
    expect((await browser.jar.getCookies(at127())).some((c) => c.key.includes('_tx_'))).toBe(true);
    const back = await browser.request(login.headers.get('location')!);
    const callbackUrl = new URL(back.headers.get('location')!);
    expect(callbackUrl.origin).toBe(app.baseURL);
    const res = await browser.request(callbackUrl, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    const { code, message } = JSON.parse(res.body) as { code: string; message: string };
    expect(code).toBe('missing_transaction');
    expect(message).toContain(`the login started at another host than baseURL's ${app.baseURL}`);
  });

  test('a browser\'s page load is sent to localhost first, and the login completes', async () => {
    // Node's fetch (the test Browser's) always sends Sec-Fetch-Mode: cors: the page load itself goes through supertest.
    const moved = await request(at127()).get('/login?returnTo=%2F').set(NAVIGATION);
    expect(moved.status).toBe(302);
    expect(moved.headers.location).toBe(`${app.baseURL}/login?returnTo=%2F`);
    const browser = new Browser();
    const login = await browser.request(moved.headers.location as string);
    expect(login.headers.get('location')).toMatch(new RegExp(`^${provider.issuer}/authorize\\?`));
    const back = await browser.request(login.headers.get('location')!);
    const landed = await browser.request(back.headers.get('location')!);
    expect({ status: landed.status, location: landed.headers.get('location') }).toEqual({ status: 302, location: '/' });
    expect(await browser.cookie(app.baseURL, 'oidc_session')).toBeDefined();
  });
});

describe('the other answers of a callback without its pending login say why', () => {
  /** Starts a login as a plain client: the pending-login cookie (`name=value`) and the authorization request's state. */
  async function pendingLogin(): Promise<{ cookie: string; state: string }> {
    const res = await fetch(`${app.baseURL}/login`, { redirect: 'manual' });
    const cookie = res.headers.getSetCookie().map((c) => c.split(';', 1)[0]!).find((c) => c.includes('_tx_'))!;
    return { cookie, state: new URL(res.headers.get('location')!).searchParams.get('state')! };
  }

  test('a state that matches none of the pending logins: 400 state_mismatch naming an older login\'s or another browser\'s callback', async () => {
    const { cookie } = await pendingLogin();
    const answer = await callback({ cookie });
    expect({ status: answer.status, code: answer.code }).toEqual({ status: 400, code: 'state_mismatch' });
    expect(answer.message).toContain('The callback\'s state matches none of the logins pending in this browser: it belongs to an older login');
    expect(answer.message).toContain('or to a login started elsewhere (another browser, or someone else\'s link): start again from the login page');
  });

  test('a pending login older than transactionDuration whose cookie is still sent: 400 transaction_expired naming transactionDuration', async () => {
    const { cookie, state } = await pendingLogin();
    jest.useFakeTimers({ doNotFake: [...ALL_BUT_DATE], now: Date.now() + 301_000 });
    try {
      const res = await fetch(`${app.baseURL}/callback?code=some-code&state=${state}`, { headers: { ...JSON_ACCEPT, cookie }, redirect: 'manual' });
      const answer = await res.json() as { code: string; message: string };
      expect({ status: res.status, code: answer.code }).toEqual({ status: 400, code: 'transaction_expired' });
      expect(answer.message).toBe('The login took longer than transactionDuration (300 seconds) between the login page and the callback: start again from the login page');
      expect(provider.requests.token).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
