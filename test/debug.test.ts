/**
 * The debug lines (lib/debug.ts): with every namespace on (`DEBUG=express-oidc-callback:*`), a
 * whole login, refresh and logout against a real OpenID Provider (`oidc-provider`) writes one
 * line per decision, under its stage's namespace, and not one of the flow's secrets: no client
 * secret or cookie secret, no `state`, `nonce`, `code_verifier` or authorization code, no token,
 * no cookie value (nor anything shaped like a JWT). Then the two ways to turn them on in a real
 * process: `DEBUG` (one stage or all) and `NODE_DEBUG` (util.debuglog, what 0.3 offered).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import createDebug from 'debug';
import { format } from 'node:util';
import { Browser, type Page, type RequestOptions } from './support/browser.js';
import { startExampleProcess, type ExampleProcess } from './support/example-process.js';
import { freePort } from './support/http-server.js';
import { leaksIn } from './support/leaks.js';
import { bed, HTML_ACCEPT, JSON_ACCEPT, op, open, useApp, useSessionLifeBed } from './support/session-life-bed.js';
import { authorizationResponse, CLIENT_SECRET, pendingLogin, SECRET, SESSION_SECRET } from './support/testbed.js';

/** A browser that also keeps every cookie value it was ever sent, cleared and replaced ones included. */
class RecordingBrowser extends Browser {
  readonly cookieValues = new Set<string>();

  override async request(target: string | URL, options: RequestOptions = {}): Promise<Page> {
    const page = await super.request(target, options);
    for (const setCookie of page.headers.getSetCookie()) {
      const value = /^[^=]+=([^;]*)/.exec(setCookie)?.[1];
      if (value !== undefined && value.length > 1) this.cookieValues.add(value);
    }
    return page;
  }
}

/** Every debug line written while the tests of this file run, as `debug` formats it (time, namespace, text). */
const lines: string[] = [];
let log: typeof createDebug.log;

useSessionLifeBed();
beforeAll(() => {
  log = createDebug.log;
  createDebug.enable('express-oidc-callback:*');
  createDebug.log = (...args: unknown[]) => { lines.push(format(...args)); };
});
afterAll(() => {
  createDebug.disable();
  createDebug.log = log;
});

/** The lines since `from`, without `debug`'s time stamp: `namespace text`. */
function linesSince(from: number): string[] {
  return lines.slice(from).map((line) => line.replace(/^\S+Z /, ''));
}

describe('DEBUG=express-oidc-callback:*, a whole login, refresh and logout', () => {
  test('one line per decision, under its stage, and none of the flow\'s secrets, tokens, codes or cookie values', async () => {
    op.accessTokenTtl = 30; // within refreshMargin: the first request after the login refreshes
    useApp(); // a new authCallback(): its provider is discovered on the first login
    const from = lines.length;
    const browser = new RecordingBrowser();
    const secrets: string[] = [CLIENT_SECRET, SECRET, SESSION_SECRET];

    // The login: the authorization request's state and nonce, the pending login's code_verifier, the code.
    const start = await browser.request(`${bed.baseURL}/login?prompt=login&ui_locales=fr&returnTo=%2Faccount%3Freset%3Dtok`);
    const authorizationUrl = new URL(start.headers.get('location')!);
    const state = authorizationUrl.searchParams.get('state')!;
    secrets.push(state, authorizationUrl.searchParams.get('nonce')!, authorizationUrl.searchParams.get('code_challenge')!);
    secrets.push((await pendingLogin(browser, bed.baseURL, state))!.codeVerifier);
    const callbackUrl = await authorizationResponse(browser, authorizationUrl.href);
    secrets.push(callbackUrl.searchParams.get('code')!);
    expect((await browser.request(callbackUrl.href)).status).toBe(302);
    const loginCookie = (await browser.cookie(bed.baseURL, 'oidc_session'))!;
    const loginTokens = open(loginCookie)!;
    secrets.push(loginTokens.accessToken, loginTokens.refreshToken!, loginTokens.idToken);

    // The refresh, before the app's handler.
    op.accessTokenTtl = 3600;
    expect((await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT })).status).toBe(200);
    const refreshed = open((await browser.cookie(bed.baseURL, 'oidc_session'))!)!;
    expect(refreshed.accessToken).not.toBe(loginTokens.accessToken);
    secrets.push(refreshed.accessToken, refreshed.refreshToken!, refreshed.idToken);

    // The logout, and the provider's redirect back with its state.
    const logout = await browser.request(`${bed.baseURL}/logout`, { headers: HTML_ACCEPT });
    const endSession = new URL(logout.headers.get('location')!);
    const logoutState = endSession.searchParams.get('state')!;
    secrets.push(logoutState);
    const back = await browser.request(`${bed.baseURL}/?state=${encodeURIComponent(logoutState)}`);
    expect(back.status).toBe(302);

    // A callback without a pending login (a new browser).
    expect((await new RecordingBrowser().request(`${bed.baseURL}/callback?code=a-code&state=a-state`, { headers: JSON_ACCEPT })).status).toBe(400);

    secrets.push(...browser.cookieValues);
    const written = linesSince(from);
    const issuer = bed.provider.issuer;
    const expected: RegExp[] = [
      new RegExp(`^express-oidc-callback:provider discovered ${issuer} in \\d+ ms`),
      new RegExp(`^express-oidc-callback:login login started at ${issuer}: by redirect; parameters from the request: prompt, ui_locales$`),
      new RegExp(`^express-oidc-callback:callback pending login found: started at ${issuer} \\d+ s ago$`),
      new RegExp(`^express-oidc-callback:callback code exchanged at ${issuer}: ID token valid, Bearer access token expiring in \\d+ s, a refresh token$`),
      /^express-oidc-callback:session session sealed in the cookie: \d+ bytes of cookie, ends in \d+ s$/,
      new RegExp(`^express-oidc-callback:callback signed in at ${issuer}: the callback took \\d+ ms$`),
      new RegExp(`^express-oidc-callback:refresh tokens refreshed at ${issuer} in \\d+ ms \\(autoRefresh\\), refresh token rotated$`),
      /^express-oidc-callback:session session sealed in the cookie: \d+ bytes of cookie, ends in \d+ s$/,
      new RegExp(`^express-oidc-callback:logout logged out of ${issuer}; on to the provider's end_session_endpoint$`),
      /^express-oidc-callback:logout back from the provider's logout: its state matched, on to its returnTo$/,
      /^express-oidc-callback:callback no pending login in this browser: refused$/,
    ];
    expect(written).toEqual(expected.map((pattern) => expect.stringMatching(pattern)));
    expect(written.flatMap((line) => leaksIn(line, secrets))).toEqual([]);
    expect(written.join('\n')).not.toMatch(/alice|reset|tok\b/); // no sub, no returnTo
  });

  test('a session cookie sent back after its end, and a callback whose state matches no pending login, each say what was decided', async () => {
    useApp({ sessionDuration: 1, sessionIdleDuration: false });
    const browser = new RecordingBrowser();
    const callbackUrl = await authorizationResponse(browser, `${bed.baseURL}/login`);
    await browser.request(callbackUrl.href);
    const cookie = (await browser.cookie(bed.baseURL, 'oidc_session'))!;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const from = lines.length;
    const page = await fetch(`${bed.baseURL}/api/me`, { headers: { ...JSON_ACCEPT, cookie: `oidc_session=${cookie}` } });
    expect(page.status).toBe(401);
    const other = new RecordingBrowser();
    await other.request(`${bed.baseURL}/login`);
    await other.request(`${bed.baseURL}/callback?code=a-code&state=another-state`, { headers: JSON_ACCEPT });
    expect(linesSince(from)).toEqual([
      expect.stringMatching(/^express-oidc-callback:session session ended by time \(absolute\) \d+ s ago: its cookie is ignored$/),
      expect.stringMatching(/^express-oidc-callback:login login started at /),
      'express-oidc-callback:callback the callback\'s state matches none of the pending logins: refused',
    ]);
  });
});

describe('turning the lines on in a real process (the example app, from dist/)', () => {
  let app: ExampleProcess | undefined;

  afterAll(async () => {
    await app?.stop();
  });

  test('DEBUG=express-oidc-callback:login shows that stage only', async () => {
    app = await startExampleProcess({ DEV_PROVIDER_PORT: String(await freePort()), DEBUG: 'express-oidc-callback:login', DEBUG_COLORS: 'no' });
    expect((await fetch(`${app.baseURL}/login`, { redirect: 'manual' })).status).toBe(302);
    await until(() => app!.output().includes('express-oidc-callback:login login started at http://localhost:'));
    expect(app.output()).not.toContain('express-oidc-callback:provider');
    await app.stop();
    app = undefined;
  });

  test('NODE_DEBUG=express-oidc-callback (util.debuglog) shows every stage, each line naming its stage', async () => {
    // DEBUG unset: createDebug.enable() above wrote it into this process's environment, and it would win.
    app = await startExampleProcess({ DEV_PROVIDER_PORT: String(await freePort()), NODE_DEBUG: 'express-oidc-callback', DEBUG: undefined });
    expect((await fetch(`${app.baseURL}/login`, { redirect: 'manual' })).status).toBe(302);
    await until(() => /EXPRESS-OIDC-CALLBACK \d+: login: login started at http:\/\/localhost:/.test(app!.output()));
    expect(app.output()).toMatch(/EXPRESS-OIDC-CALLBACK \d+: provider: discovered http:\/\/localhost:\d+ in \d+ ms/);
  });
});

/** Resolves once `condition()` holds, polling; fails after 5 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the debug line');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
