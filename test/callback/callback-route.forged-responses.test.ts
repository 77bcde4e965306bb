/**
 * Forged, replayed and mixed-up authorization responses at the callback route (RFC 9700 §4.4,
 * §4.7, RFC 9207, RFC 6749 §10.12), end to end: the example app over real HTTP against the
 * hostile provider (test/support/callback-attack-bed.ts says what every rejection must do).
 */
import { describe, expect, test } from '@jest/globals';
import { Browser } from '../support/browser.js';
import {
  app, callbackUrl, expectNoLeak, expectRefused, expectUsedUp, expectUsedUpWhileSignedIn, expectVictimUnchanged, JSON_ACCEPT, overrideDiscovery, provider,
  useCallbackAttackBed, victim, type Victim, VICTIMS,
} from '../support/callback-attack-bed.js';
import { sessionCookiesSet } from '../support/leaks.js';

useCallbackAttackBed();


describe('login CSRF and replay (RFC 9700 §4.7, RFC 6749 §10.12)', () => {
  test('RFC 9700 §4.7: the attacker\'s callback in a browser with no pending login → 400 missing_transaction, zero token requests', async () => {
    const attacker = new Browser();
    const forged = await callbackUrl(attacker);
    const v = await victim(false);
    const page = await v.browser.request(forged.href, { headers: JSON_ACCEPT });
    expectRefused(page, 400, 'missing_transaction');
    expect(provider.requests.token).toBe(0);
    await expectVictimUnchanged(v);
    // The code itself was good: only the victim's missing login stopped it.
    expect((await attacker.request(forged.href)).status).toBe(302);
  });

  test('RFC 9700 §4.7: the attacker\'s callback in a signed-in browser with no pending login → a stale callback: 302 to /, zero token requests, the session unchanged', async () => {
    const v = await victim(true);
    const forged = await callbackUrl(new Browser());
    const page = await v.browser.request(forged.href, { headers: JSON_ACCEPT });
    expect({ status: page.status, location: page.headers.get('location') }).toEqual({ status: 302, location: '/' });
    expect(sessionCookiesSet(page)).toEqual([]);
    expectNoLeak(page);
    expect(provider.requests.token).toBe(1); // the victim's own login only
    await expectVictimUnchanged(v);
  });

  test.each(VICTIMS)('RFC 6749 §10.12 state mismatch (%s victim): the attacker\'s callback during the victim\'s login → 400 state_mismatch (signed out) or the stale callback\'s 302 to / (signed in), zero token requests; the victim\'s own login is not cancelled by it and completes', async (_kind, signedIn) => {
    const v = await victim(signedIn);
    const tokens = provider.requests.token;
    const genuine = await callbackUrl(v.browser);
    const forged = await callbackUrl(new Browser());
    expect(forged.searchParams.get('state')).not.toBe(genuine.searchParams.get('state'));
    const page = await v.browser.request(forged.href, { headers: JSON_ACCEPT });
    if (signedIn) {
      // A signed-in browser is sent home, as for any callback that is not its pending login's.
      expect({ status: page.status, location: page.headers.get('location') }).toEqual({ status: 302, location: '/' });
      expect(sessionCookiesSet(page)).toEqual([]);
      expectNoLeak(page);
    } else {
      expectRefused(page, 400, 'state_mismatch');
    }
    expect(provider.requests.token).toBe(tokens);
    await expectVictimUnchanged(v);
    // The forged callback was refused without touching this browser's pending login.
    const own = await v.browser.request(genuine.href, { headers: JSON_ACCEPT });
    expect(own.status).toBe(302);
    expect(sessionCookiesSet(own)).not.toEqual([]);
    expect(provider.requests.token).toBe(tokens + 1);
    // Now signed in either way: the used-up callback again is a stale one.
    await expectUsedUpWhileSignedIn(v.browser, genuine.href);
  });

  test('RFC 6749 §4.1.2 replay: a successful callback replayed in its browser (signed in) → 302 to /, no extra token request, the session unchanged; in another browser → 400 missing_transaction', async () => {
    const browser = new Browser();
    const url = await callbackUrl(browser);
    const first = await browser.request(url.href);
    expect(first.status).toBe(302);
    const session = await browser.cookie(app.baseURL, 'oidc_session');
    expect(session).toBeDefined();
    expect(provider.requests.token).toBe(1);

    await expectUsedUpWhileSignedIn(browser, url.href);
    await expectVictimUnchanged({ browser, session });
    const other: Victim = { browser: new Browser(), session: undefined };
    await expectUsedUp(other.browser, url.href);
    await expectVictimUnchanged(other);
    expect(provider.requests.token).toBe(1);
  });
});

describe('mix-up (RFC 9700 §4.4, RFC 9207)', () => {
  test.each(VICTIMS)('RFC 9207 §2.4 (%s victim): an iss that is not the issuer → 400 issuer_mismatch, zero token requests, the login used up (again: 400 signed out, the stale callback\'s 302 to / signed in)', async (_kind, signedIn) => {
    const v = await victim(signedIn);
    const tokens = provider.requests.token;
    provider.behaviour.authorize = 'wrong-iss';
    const url = await callbackUrl(v.browser);
    expect(url.searchParams.get('iss')).toBe(`${provider.issuer}/impostor`);
    const page = await v.browser.request(url.href, { headers: JSON_ACCEPT });
    expectRefused(page, 400, 'issuer_mismatch');
    expect(provider.requests.token).toBe(tokens);
    // Not even with the right iss afterwards.
    url.searchParams.set('iss', provider.issuer);
    await (signedIn ? expectUsedUpWhileSignedIn(v.browser, url.href) : expectUsedUp(v.browser, url.href));
    await expectVictimUnchanged(v);
  });

  test('RFC 9207 §2.4: iss is compared exactly: the issuer with a trailing slash → 400 issuer_mismatch, zero token requests', async () => {
    const v = await victim(false);
    const url = await callbackUrl(v.browser);
    url.searchParams.set('iss', `${provider.issuer}/`);
    expectRefused(await v.browser.request(url.href, { headers: JSON_ACCEPT }), 400, 'issuer_mismatch');
    expect(provider.requests.token).toBe(0);
    await expectVictimUnchanged(v);
  });

  test('RFC 9207 §3: no iss while discovery advertises authorization_response_iss_parameter_supported → 400 issuer_mismatch, zero token requests, the login used up', async () => {
    const v = await victim(false);
    provider.behaviour.authorize = 'no-iss';
    const url = await callbackUrl(v.browser);
    expect(url.searchParams.has('iss')).toBe(false);
    expectRefused(await v.browser.request(url.href, { headers: JSON_ACCEPT }), 400, 'issuer_mismatch');
    expect(provider.requests.token).toBe(0);
    url.searchParams.set('iss', provider.issuer);
    await expectUsedUp(v.browser, url.href);
    await expectVictimUnchanged(v);
  });

  test.each([
    ['absent', {}, ['authorization_response_iss_parameter_supported']],
    ['false', { authorization_response_iss_parameter_supported: false }, []],
  ] as const)('RFC 9207 §2.4: no iss from a provider whose authorization_response_iss_parameter_supported is %s → accepted; a wrong iss is still refused', async (_what, changes, removed) => {
    await overrideDiscovery(changes, [...removed]);
    provider.behaviour.authorize = 'no-iss';
    const browser = new Browser();
    const url = await callbackUrl(browser);
    expect(url.searchParams.has('iss')).toBe(false);
    const landed = await browser.request(url.href);
    expect(landed.status).toBe(302);
    expect(sessionCookiesSet(landed)).toHaveLength(1);
    const me = await browser.request(`${app.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);

    provider.behaviour.authorize = 'wrong-iss';
    const other = new Browser();
    expectRefused(await other.request((await callbackUrl(other)).href, { headers: JSON_ACCEPT }), 400, 'issuer_mismatch');
    expect(provider.requests.token).toBe(1);
  });
});
