/**
 * What the callback route's answer gives away (RFC 9700 §4.2, §4.3): no code, state or iss in
 * the redirect after a login, and `Referrer-Policy: no-referrer` on every answer, end to end
 * against the hostile provider (test/support/callback-attack-bed.ts).
 */
import { describe, expect, test } from '@jest/globals';
import { Browser } from '../support/browser.js';
import { app, callbackUrl, JSON_ACCEPT, provider, useCallbackAttackBed } from '../support/callback-attack-bed.js';

useCallbackAttackBed();

describe('what the callback answer gives away (RFC 9700 §4.2, §4.3)', () => {
  test('RFC 9700 §4.3: the 302 after a successful callback has a Location without code, state or iss', async () => {
    const browser = new Browser();
    const url = await callbackUrl(browser, app, '?returnTo=%2Fprofile');
    const landed = await browser.request(url.href);
    expect(landed.status).toBe(302);
    const location = landed.headers.get('location')!;
    expect(location).toBe('/profile');
    const parsed = new URL(location, app.baseURL);
    for (const name of ['code', 'state', 'iss']) expect(parsed.searchParams.has(name)).toBe(false);
    for (const name of ['code', 'state']) expect(location).not.toContain(url.searchParams.get(name)!);
  });

  test('RFC 9700 §4.2.4: a successful callback answers Referrer-Policy: no-referrer', async () => {
    const browser = new Browser();
    const landed = await browser.request((await callbackUrl(browser)).href);
    expect(landed.status).toBe(302);
    expect(landed.headers.get('referrer-policy')).toBe('no-referrer');
  });

  test.each([
    ['a 400 state_mismatch, as HTML', 400, async (browser: Browser) => {
      const url = await callbackUrl(browser);
      url.searchParams.set('state', 'forged');
      return browser.request(url.href);
    }],
    ['a 400 invalid_request (repeated code), as JSON', 400, async (browser: Browser) => {
      const url = await callbackUrl(browser);
      url.searchParams.append('code', 'forged');
      return browser.request(url.href, { headers: JSON_ACCEPT });
    }],
    ['a 502 (token endpoint 500), as JSON', 502, async (browser: Browser) => {
      provider.behaviour.overrides.token = (_req, res) => {
        res.status(500).type('text').send('Internal Server Error');
      };
      return browser.request((await callbackUrl(browser)).href, { headers: JSON_ACCEPT });
    }],
  ] as const)('RFC 9700 §4.2.4: an error answer to the callback (%s) carries Referrer-Policy: no-referrer', async (_what, status, run) => {
    const page = await run(new Browser());
    expect(page.status).toBe(status);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
  });
});
