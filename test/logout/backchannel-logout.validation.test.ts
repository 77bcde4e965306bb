/**
 * `routes.backchannelLogout` (OpenID Connect Back-Channel Logout 1.0): validation of the logout
 * token (§2.4, §2.6, §4.1) and the answer (§2.8), with logout tokens made by hand
 * (test/support/logout-tokens.ts) against the hostile provider of test/support/hostile-provider.ts,
 * which publishes their key. Every refused request names a signed-in session of its own, which
 * must survive it (no mark, no jti kept); the same token without its defect then ends that session.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { SignJWT } from 'jose';
import type { Browser } from '../support/browser.js';
import { edited } from '../support/fake-server.js';
import {
  answer, apiMe, EVENT, expectAccepted, expectRefused, form, hostile, logoutClaims, mint, postLogout, ROUTE, type RunningApp,
  signInWith, startHostileApp, storeSize, strayKey, type Target, unsigned, useLogoutTokenProvider,
} from '../support/logout-tokens.js';
import { CLIENT_SECRET } from '../support/testbed.js';

useLogoutTokenProvider();

describe('validation of the logout token (§2.4, §2.6) and the answer (§2.8)', () => {
  let app: RunningApp;
  let victims = 0;

  /** A new signed-in session with its own sub and sid, for a test to aim logout tokens at. */
  async function newVictim(): Promise<{ target: Target; browser: Browser }> {
    victims++;
    const target = { sub: `victim-${victims}`, sid: `victim-sid-${victims}` };
    return { target, browser: await signInWith(app, target) };
  }

  /** A refused request made no mark and kept no jti, and the session it named still works; the same token without the defect then ends it. */
  async function expectSurvivedThenEnded(victim: { target: Target; browser: Browser }, sizeBefore: number): Promise<void> {
    expect(await storeSize(app.store)).toBe(sizeBefore);
    expect((await apiMe(victim.browser, app.baseURL)).status).toBe(200);
    expectAccepted(await postLogout(app.baseURL, form(await mint(logoutClaims(victim.target)))));
    expect((await apiMe(victim.browser, app.baseURL)).status).toBe(401);
  }

  beforeAll(async () => {
    app = await startHostileApp();
  });
  afterAll(async () => {
    await app.close();
  });

  test('a valid logout token (RS256, typ logout+jwt, sub, sid, events, jti, iat, exp) is answered 200 with Cache-Control: no-store (§2.8)', async () => {
    const bystander = await newVictim();
    const victim = await newVictim();
    expectAccepted(await postLogout(app.baseURL, form(await mint(logoutClaims(victim.target)))));
    expect((await apiMe(victim.browser, app.baseURL)).status).toBe(401);
    expect((await apiMe(bystander.browser, app.baseURL)).status).toBe(200);
  });

  test.each([['JWT', 'JWT'], ['absent', undefined]])('typ %s is accepted as well as logout+jwt (§4.1: explicit typing is recommended, not required)', async (_label, typ) => {
    const victim = await newVictim();
    expectAccepted(await postLogout(app.baseURL, form(await mint(logoutClaims(victim.target), { typ }))));
    expect((await apiMe(victim.browser, app.baseURL)).status).toBe(401);
  });

  test('an iat 100 s old is still accepted (§2.6: iat checked as for ID tokens, within 120 s here)', async () => {
    const victim = await newVictim();
    const token = await mint(edited(logoutClaims(victim.target), { iat: Math.floor(Date.now() / 1000) - 100 }));
    expectAccepted(await postLogout(app.baseURL, form(token)));
    expect((await apiMe(victim.browser, app.baseURL)).status).toBe(401);
  });

  /** Each case: how a logout token for `target` is made wrong. */
  const refusedTokens: [string, (target: Target) => Promise<string>][] = [
    ['§2.6: a signature by a key the provider does not publish (under the published kid)', (target) => mint(logoutClaims(target), {}, strayKey)],
    ['§2.6: a kid the provider does not publish', (target) => mint(logoutClaims(target), { kid: 'unknown-kid' }, strayKey)],
    ['§2.6: alg none', async (target) => unsigned(logoutClaims(target))],
    ['§2.6: HS256 with the client secret as key (not the pinned RS256)', (target) => new SignJWT(logoutClaims(target))
      .setProtectedHeader({ alg: 'HS256', typ: 'logout+jwt' }).sign(new TextEncoder().encode(CLIENT_SECRET))],
    ['§2.6: an iss that is not the issuer', (target) => mint(edited(logoutClaims(target), { iss: `${hostile.issuer}/impostor` }))],
    ['§2.6: an aud that is not this client', (target) => mint(edited(logoutClaims(target), { aud: 'another-client' }))],
    ['§2.6: an iat older than 120 s + clockTolerance 30 s (160 s)', (target) => {
      const now = Math.floor(Date.now() / 1000);
      return mint(edited(logoutClaims(target), { iat: now - 160, exp: now + 120 }));
    }],
    ['§2.6: an iat 10 minutes old', (target) => {
      const now = Math.floor(Date.now() / 1000);
      return mint(edited(logoutClaims(target), { iat: now - 600, exp: now + 120 }));
    }],
    ['§2.6: an iat 2 minutes in the future (beyond clockTolerance)', (target) => {
      const now = Math.floor(Date.now() / 1000);
      return mint(edited(logoutClaims(target), { iat: now + 120, exp: now + 300 }));
    }],
    ['§2.6: an exp in the past (beyond clockTolerance)', (target) => {
      const now = Math.floor(Date.now() / 1000);
      return mint(edited(logoutClaims(target), { iat: now - 100, exp: now - 60 }));
    }],
    ['§2.4: no exp', (target) => mint(edited(logoutClaims(target), { exp: undefined }))],
    ['§2.4: no iat', (target) => mint(edited(logoutClaims(target), { iat: undefined }))],
    ['§2.4: no jti', (target) => mint(edited(logoutClaims(target), { jti: undefined }))],
    ['§2.4: no events claim', (target) => mint(edited(logoutClaims(target), { events: undefined }))],
    ['§2.6: events without the back-channel logout member', (target) => mint(edited(logoutClaims(target), { events: { 'http://schemas.openid.net/event/other': {} } }))],
    ['§2.4: the back-channel logout member is a string, not an object', (target) => mint(edited(logoutClaims(target), { events: { [EVENT]: 'logout' } }))],
    ['§2.4: the back-channel logout member is an array, not an object', (target) => mint(edited(logoutClaims(target), { events: { [EVENT]: [] } }))],
    ['§2.6: neither sub nor sid', (target) => mint(edited(logoutClaims(target), { sub: undefined, sid: undefined }))],
    ['§2.6: a nonce claim', (target) => mint(edited(logoutClaims(target), { nonce: 'n-0S6_WzA2Mj' }))],
    ['§4.1: typ at+jwt (an access token is not a logout token)', (target) => mint(logoutClaims(target), { typ: 'at+jwt' })],
  ];

  test.each(refusedTokens)('%s → 400 invalid_request, no session ended', async (_name, make) => {
    const victim = await newVictim();
    const token = await make(victim.target);
    const before = await storeSize(app.store);
    expectRefused(await postLogout(app.baseURL, form(token)), token);
    await expectSurvivedThenEnded(victim, before);
  });

  test('§2.6: a replayed jti → 400, whether the same token or a new one reusing it', async () => {
    const first = await newVictim();
    const claims = logoutClaims(first.target);
    const token = await mint(claims);
    expectAccepted(await postLogout(app.baseURL, form(token)));
    expect((await apiMe(first.browser, app.baseURL)).status).toBe(401);
    const victim = await newVictim();
    const before = await storeSize(app.store);
    expectRefused(await postLogout(app.baseURL, form(token)), token);
    const reused = await mint({ ...claims, ...victim.target });
    expectRefused(await postLogout(app.baseURL, form(reused)), reused);
    await expectSurvivedThenEnded(victim, before);
  });

  /** Each case: a request body that is not one form-encoded logout_token, made from a valid token for the victim. */
  const refusedRequests: [string, (token: string) => [body: string, contentType?: string]][] = [
    ['§2.5: no logout_token parameter', () => ['token=x']],
    ['§2.5: an empty body', () => ['']],
    ['§2.5: an empty logout_token', () => ['logout_token=']],
    ['§2.5: logout_token twice', (token) => [`${form(token)}&${form(token)}`]],
    ['§2.5: a JSON body instead of a form', (token) => [JSON.stringify({ logout_token: token }), 'application/json']],
  ];

  test.each(refusedRequests)('%s → 400 invalid_request, no session ended', async (_name, make) => {
    const victim = await newVictim();
    const token = await mint(logoutClaims(victim.target));
    const [body, contentType] = make(token);
    const before = await storeSize(app.store);
    expectRefused(await postLogout(app.baseURL, body, contentType), token);
    await expectSurvivedThenEnded(victim, before);
  });

  test('§2.5: a GET to the route, even with a valid logout_token in its query, is not a logout', async () => {
    const victim = await newVictim();
    const token = await mint(logoutClaims(victim.target));
    const before = await storeSize(app.store);
    const res = await answer(await fetch(`${app.baseURL}${ROUTE}?${form(token)}`, { redirect: 'manual' }));
    expect(res.status).toBe(404);
    await expectSurvivedThenEnded(victim, before);
  });
});
