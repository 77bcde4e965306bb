/**
 * What the callback route exchanges, end to end against the hostile provider: only a code it
 * can bind to this browser's login (injected codes refused, RFC 9700 §4.5, §4.8), with a fresh
 * PKCE verifier, state and nonce per login (RFC 7636), and the redirect_uri of the configuration,
 * never of the request (RFC 6749 §4.1.3, §10.6). test/support/callback-attack-bed.ts says what
 * every rejection must do.
 */
import { describe, expect, test } from '@jest/globals';
import type { Express } from 'express';
import { decodeJwt } from 'jose';
import { Browser } from '../support/browser.js';
import {
  app, authorize, callbackUrl, CLIENT_ID, expectNormalLogin, expectRefused, expectUsedUp, expectUsedUpWhileSignedIn, expectVictimUnchanged,
  HOSTILE_HOST_HEADERS, JSON_ACCEPT, mintIdTokens, pkceIgnoringTokenEndpoint, provider, rawRequest, startApp, useCallbackAttackBed,
  victim, VICTIMS,
} from '../support/callback-attack-bed.js';
import { s256 } from '../support/fake-server.js';

const consoleErrors = useCallbackAttackBed();


describe('authorization code injection (RFC 9700 §4.5, §4.8)', () => {
  test.each(VICTIMS)('RFC 9700 §4.5 (%s victim): the attacker\'s code with the victim\'s state → the provider\'s PKCE check (RFC 7636 §4.6) refuses it → 400 invalid_grant, the victim\'s login used up (again: 400 signed out, the stale callback\'s 302 to / signed in)', async (_kind, signedIn) => {
    const v = await victim(signedIn);
    const attacker = new Browser();
    const stolen = await callbackUrl(attacker); // code A, bound to the attacker's code_challenge and nonce
    const attackerAuthorize = provider.authorizeRequests.at(-1)!;
    const genuine = await callbackUrl(v.browser); // the victim's pending login, state S_v
    const victimAuthorize = provider.authorizeRequests.at(-1)!;
    const tokens = provider.requests.token;

    const injected = new URL(`${app.baseURL}/callback`);
    injected.search = new URLSearchParams({
      code: stolen.searchParams.get('code')!,
      state: genuine.searchParams.get('state')!,
      iss: provider.issuer,
    }).toString();
    const page = await v.browser.request(injected.href, { headers: JSON_ACCEPT });
    expectRefused(page, 400, 'invalid_grant');
    expect(provider.requests.token).toBe(tokens + 1);
    // What the provider refused: the attacker's code with the victim's verifier.
    const sent = provider.tokenRequests.at(-1)!.params;
    expect(sent.get('code')).toBe(attackerAuthorize.code);
    expect(sent.get('redirect_uri')).toBe(`${app.baseURL}/callback`);
    expect(s256(sent.get('code_verifier')!)).toBe(victimAuthorize.params.get('code_challenge'));
    expect(s256(sent.get('code_verifier')!)).not.toBe(attackerAuthorize.params.get('code_challenge'));

    await (signedIn ? expectUsedUpWhileSignedIn(v.browser, genuine.href) : expectUsedUp(v.browser, genuine.href));
    await expectVictimUnchanged(v);
  });

  test.each(VICTIMS)('RFC 9700 §4.5.3 (%s victim): the attacker\'s code at a provider that skips PKCE → its ID token carries the attacker\'s nonce → 502 invalid_id_token, no session', async (_kind, signedIn) => {
    const mint = await mintIdTokens();
    provider.behaviour.overrides.token = pkceIgnoringTokenEndpoint(mint);
    const v = await victim(signedIn); // signs in through the PKCE-ignoring endpoint: its tokens are otherwise valid
    const stolen = await callbackUrl(new Browser());
    const attackerNonce = provider.authorizeRequests.at(-1)!.params.get('nonce');
    const genuine = await callbackUrl(v.browser);
    const victimNonce = provider.authorizeRequests.at(-1)!.params.get('nonce');
    const issuedBefore = provider.issued.idTokens.length;

    const injected = new URL(genuine);
    injected.searchParams.set('code', stolen.searchParams.get('code')!);
    const page = await v.browser.request(injected.href, { headers: JSON_ACCEPT });
    expectRefused(page, 502, 'invalid_id_token');
    // The provider did answer with a well-signed ID token: the nonce is what refused it.
    expect(provider.issued.idTokens).toHaveLength(issuedBefore + 1);
    const nonce = decodeJwt(provider.issued.idTokens.at(-1)!).nonce;
    expect(nonce).toBe(attackerNonce);
    expect(nonce).not.toBe(victimNonce);
    expect(consoleErrors.calls.length).toBeGreaterThan(0);

    await (signedIn ? expectUsedUpWhileSignedIn(v.browser, genuine.href) : expectUsedUp(v.browser, genuine.href));
    await expectVictimUnchanged(v);
    await expectNormalLogin(); // control: the same endpoint, the right nonce
  });

  test.each([
    ['its own nonce', 'attacker-nonce'],
    ['no nonce', undefined],
  ] as const)('RFC 9700 §4.8 PKCE downgrade: the attacker\'s code requested without code_challenge and with %s, injected with the victim\'s state → 502 invalid_id_token, no session', async (_what, attackerNonce) => {
    const v = await victim(false);
    // The attacker asks the provider himself, for this client, without PKCE.
    const attacker = new Browser();
    const request = new URL(`${provider.issuer}/authorize`);
    request.search = new URLSearchParams({
      response_type: 'code', client_id: CLIENT_ID, redirect_uri: `${app.baseURL}/callback`, scope: 'openid', state: 'attacker-state',
      ...(attackerNonce !== undefined && { nonce: attackerNonce }),
    }).toString();
    const stolen = await authorize(attacker, request);
    expect(provider.authorizeRequests.at(-1)!.params.has('code_challenge')).toBe(false);
    const genuine = await callbackUrl(v.browser);
    const issuedBefore = provider.issued.idTokens.length;

    const injected = new URL(genuine);
    injected.searchParams.set('code', stolen.searchParams.get('code')!);
    const page = await v.browser.request(injected.href, { headers: JSON_ACCEPT });
    expectRefused(page, 502, 'invalid_id_token');
    // The provider took the downgraded code (it checks PKCE only for codes issued with a challenge).
    expect(provider.issued.idTokens).toHaveLength(issuedBefore + 1);
    expect(decodeJwt(provider.issued.idTokens.at(-1)!).nonce).toBe(attackerNonce);

    await expectUsedUp(v.browser, genuine.href);
    await expectVictimUnchanged(v);
  });
});

describe('PKCE, state and nonce (RFC 7636, RFC 6749 §10.12)', () => {
  test('RFC 7636 §4.1, §4.2, §7.2: 100 logins → 100 distinct code_verifiers of 43–128 [A-Za-z0-9-._~], S256 only (never plain), code_challenge = BASE64URL(SHA256(verifier)); 100 distinct states and nonces', async () => {
    for (let i = 0; i < 100; i++) {
      const browser = new Browser();
      const landed = await browser.request((await callbackUrl(browser)).href);
      expect(landed.status).toBe(302);
    }
    expect(provider.authorizeRequests).toHaveLength(100);
    expect(provider.tokenRequests).toHaveLength(100);

    for (const authorizeRequest of provider.authorizeRequests) {
      expect(authorizeRequest.params.getAll('code_challenge_method')).toEqual(['S256']);
      expect(authorizeRequest.params.getAll('code_challenge')).toHaveLength(1);
      expect(authorizeRequest.params.getAll('state')).toHaveLength(1);
      expect(authorizeRequest.params.getAll('nonce')).toHaveLength(1);
    }
    const verifiers = provider.tokenRequests.map((tokenRequest) => {
      const verifier = tokenRequest.params.get('code_verifier')!;
      expect(verifier).toMatch(/^[A-Za-z0-9\-._~]{43,128}$/);
      const record = provider.authorizeRequests.find((r) => r.code === tokenRequest.params.get('code'));
      expect(record).toBeDefined();
      expect(record!.params.get('code_challenge')).toBe(s256(verifier));
      expect(record!.params.get('code_challenge')).not.toBe(verifier);
      return verifier;
    });
    const states = provider.authorizeRequests.map((r) => r.params.get('state')!);
    const nonces = provider.authorizeRequests.map((r) => r.params.get('nonce')!);
    expect(new Set(verifiers).size).toBe(100);
    expect(new Set(states).size).toBe(100);
    expect(new Set(nonces).size).toBe(100);
    expect(new Set([...verifiers, ...states, ...nonces]).size).toBe(300);
  }, 60000);
});

describe('redirect_uri from configuration, never from the request (RFC 6749 §4.1.3, §10.6)', () => {
  test.each([
    ['the example app', undefined],
    ['the example app with trust proxy', (built: Express) => { built.set('trust proxy', true); }],
  ] as const)('%s: Host, X-Forwarded-Host and X-Forwarded-Proto of evil.example change neither the authorization request\'s nor the token request\'s redirect_uri', async (_what, configure) => {
    const target = configure === undefined ? app : await startApp({ configure });
    try {
      const browser = new Browser();
      const html = { ...HOSTILE_HOST_HEADERS, accept: 'text/html' };
      const login = await rawRequest(browser, target, '/login', { headers: html });
      expect(login.status).toBe(302);
      const authorizationUrl = new URL(login.headers.get('location')!);
      expect(authorizationUrl.searchParams.get('redirect_uri')).toBe(`${target.baseURL}/callback`);

      const callback = await authorize(browser, authorizationUrl);
      const landed = await rawRequest(browser, target, callback.pathname + callback.search, { headers: html });
      expect(landed.status).toBe(302);
      expect(landed.headers.get('location')).toBe('/');
      expect(provider.tokenRequests).toHaveLength(1);
      expect(provider.tokenRequests[0]!.params.get('redirect_uri')).toBe(`${target.baseURL}/callback`);
      expect(landed.headers.getSetCookie().join('\n')).not.toContain('evil.example');
      // The session works on the configured origin.
      const me = await browser.request(`${target.baseURL}/api/me`, { headers: JSON_ACCEPT });
      expect(me.status).toBe(200);
    } finally {
      if (target !== app) await target.close();
    }
  });
});
