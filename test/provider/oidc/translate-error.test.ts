/**
 * What a faulty token endpoint becomes (lib/provider/oidc/translate-error.ts, RFC 6749 §5.1,
 * §5.2): 502 for a malformed or refused answer, 504 `provider_timeout` for none within
 * `httpTimeout`, 400 `invalid_grant` for a refused code; end to end, at the callback, against the
 * hostile provider (test/support/callback-attack-bed.ts says what every rejection must do).
 */
import { describe, expect, test } from '@jest/globals';
import { Browser } from '../../support/browser.js';
import {
  ANSWER_BOUND_MS, app, callbackUrl, expectNoLeak, expectNormalLogin, expectRefused, expectUsedUp, expectVictimUnchanged, HTTP_TIMEOUT,
  issuedAccessToken, JSON_ACCEPT, mintIdTokens, overrideDiscovery, pkceIgnoringTokenEndpoint, provider, startApp,
  useCallbackAttackBed, victim, VICTIMS, type Victim,
} from '../../support/callback-attack-bed.js';
import { type Override } from '../../support/hostile-provider.js';
import { closedPortURL } from '../../support/http-server.js';
import { jsonError, sessionCookiesSet } from '../../support/leaks.js';

const consoleErrors = useCallbackAttackBed();

/**
 * `url` again in `v`'s browser: its login is used up, and the token endpoint is not called. A
 * signed-out browser gets 400 missing_transaction; a signed-in one, whose session the callback
 * left alone, a stale callback's 302 to `/` (the back button after a failed login), no cookie.
 */
async function expectUsedUpIn(v: Victim, url: string): Promise<void> {
  if (v.session === undefined) {
    await expectUsedUp(v.browser, url);
    return;
  }
  const tokens = provider.requests.token;
  const again = await v.browser.request(url, { headers: JSON_ACCEPT });
  expect({ status: again.status, location: again.headers.get('location') }).toEqual({ status: 302, location: '/' });
  expect(sessionCookiesSet(again)).toEqual([]);
  expectNoLeak(again);
  expect(provider.requests.token).toBe(tokens);
}

describe('token endpoint faults (RFC 6749 §5.1, §5.2)', () => {
  interface Fault {
    status: number;
    code: string;
    /** Prepares the provider (before any login: it may publish a key) and returns the token endpoint's answer. */
    setup(): Promise<Override>;
    /** The answer cannot come before httpTimeout. */
    timesOut?: boolean;
  }
  const plain = (override: Override) => async () => override;
  const FAULTS: [string, Fault][] = [
    ['HTTP 500 with a plain-text body', { status: 502, code: 'invalid_provider_response', setup: plain((_req, res) => {
      res.status(500).type('text').send(`Internal Server Error: upstream token ${issuedAccessToken()} rejected`);
    }) }],
    // RFC 6749 §5.2 error responses are 400 (or 401): a 500 is no OAuth error response, whatever its body.
    ['HTTP 500 with an OAuth-looking error body (server_error)', { status: 502, code: 'invalid_provider_response', setup: plain((_req, res) => {
      res.status(500).json({ error: 'server_error', error_description: 'database down' });
    }) }],
    ['a 502 HTML error page from a proxy', { status: 502, code: 'invalid_provider_response', setup: plain((_req, res) => {
      res.status(502).type('html').send('<!doctype html><html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>');
    }) }],
    ['HTTP 200 with []', { status: 502, code: 'invalid_provider_response', setup: plain((_req, res) => {
      res.type('json').send('[]');
    }) }],
    ['HTTP 200 with {"access_token":123}', { status: 502, code: 'invalid_provider_response', setup: plain((_req, res) => {
      res.type('json').send('{"access_token":123}');
    }) }],
    ['HTTP 200 with {}', { status: 502, code: 'invalid_provider_response', setup: plain((_req, res) => {
      res.type('json').send('{}');
    }) }],
    ['HTTP 200 without token_type, otherwise valid (a well-signed ID token with the right nonce)', {
      status: 502,
      code: 'invalid_provider_response',
      setup: async () => pkceIgnoringTokenEndpoint(await mintIdTokens(), (body) => ({ ...body, token_type: undefined })),
    }],
    ['HTTP 204, no body', { status: 502, code: 'invalid_provider_response', setup: plain((_req, res) => {
      res.status(204).end();
    }) }],
    ['no answer at all (hangs)', { status: 504, code: 'provider_timeout', timesOut: true, setup: plain(() => undefined) }],
    ['headers and half a body, then nothing', { status: 504, code: 'provider_timeout', timesOut: true, setup: plain((_req, res) => {
      res.status(200).type('json');
      res.write(`{"access_token":"${issuedAccessToken()}","token_type":"Bearer","id_token":"`);
    }) }],
  ];

  test.each(FAULTS)('token endpoint answers %s → 502/504, no cookie, an existing session kept, the login used up (a replay exchanges nothing), answered within httpTimeout', async (_what, fault) => {
    const override = await fault.setup();
    const signedIn = await victim(true);
    provider.behaviour.overrides.token = override;

    for (const v of [await victim(false), signedIn]) {
      const genuine = await callbackUrl(v.browser);
      const tokens = provider.requests.token;
      const started = performance.now();
      const page = await v.browser.request(genuine.href, { headers: JSON_ACCEPT });
      const elapsed = performance.now() - started;
      expectRefused(page, fault.status, fault.code);
      expect(provider.requests.token).toBe(tokens + 1);
      expect(elapsed).toBeLessThan(ANSWER_BOUND_MS);
      if (fault.timesOut) expect(elapsed).toBeGreaterThanOrEqual(HTTP_TIMEOUT * 1000 - 50);
      await expectUsedUpIn(v, genuine.href);
      await expectVictimUnchanged(v);
    }
    expect(consoleErrors.calls.length).toBeGreaterThanOrEqual(2); // the example app logs every 5xx: the log check is not vacuous

    delete provider.behaviour.overrides.token;
    await expectNormalLogin();
  });

  test('token endpoint refuses the connection → 502 provider_unreachable, no session, the login used up; the process keeps serving', async () => {
    await overrideDiscovery({ token_endpoint: `${await closedPortURL()}/token` });
    const v = await victim(false);
    const genuine = await callbackUrl(v.browser);
    const started = performance.now();
    const page = await v.browser.request(genuine.href, { headers: JSON_ACCEPT });
    expect(performance.now() - started).toBeLessThan(ANSWER_BOUND_MS);
    expectRefused(page, 502, 'provider_unreachable');
    expect(provider.requests.token).toBe(0);
    expect(consoleErrors.calls.length).toBeGreaterThan(0);
    await expectUsedUp(v.browser, genuine.href);
    await expectVictimUnchanged(v);

    // This app keeps the discovered (broken) metadata; the process serves a fresh one normally.
    expect((await new Browser().request(`${app.baseURL}/login`)).status).toBe(302);
    delete provider.behaviour.overrides.discovery;
    const fresh = await startApp();
    try {
      await expectNormalLogin(fresh);
    } finally {
      await fresh.close();
    }
  });

  test.each(VICTIMS)('token endpoint invalid_grant (RFC 6749 §5.2, %s victim) → 400 invalid_grant, the session unchanged, the login used up; a fresh login in the same browser then succeeds', async (_kind, signedIn) => {
    const v = await victim(signedIn);
    provider.behaviour.token = 'invalid_grant';
    const genuine = await callbackUrl(v.browser);
    const page = await v.browser.request(genuine.href, { headers: JSON_ACCEPT });
    expectRefused(page, 400, 'invalid_grant');
    expect(jsonError(page).error_description).toMatch(/refused/);
    await expectUsedUpIn(v, genuine.href);
    await expectVictimUnchanged(v);

    provider.behaviour.token = 'ok';
    const fresh = await callbackUrl(v.browser);
    const landed = await v.browser.request(fresh.href);
    expect(landed.status).toBe(302);
    expect(sessionCookiesSet(landed)).toHaveLength(1);
    const session = await v.browser.cookie(app.baseURL, 'oidc_session');
    expect(session).toBeDefined();
    expect(session).not.toBe(v.session);
    const me = await v.browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);
  });
});
