/**
 * IdP-initiated login at the redirect_uri (Scalekit sends `idp_initiated_login`, `connection_id`,
 * `relay_state` to it): the callback route never takes it as a login, it starts a fresh one at
 * the login route; end to end against a real OpenID Provider (oidc-provider).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Browser } from '../support/browser.js';
import { authorizationResponse, signIn, startLogin, startTestbed, type Testbed, useTestbed } from '../support/testbed.js';

const JSON_ACCEPT = { accept: 'application/json' };

/** oidc-provider and the example app, for every test of the file. */
const bed = useTestbed();

describe('IdP-initiated login at the redirect_uri (Scalekit: idp_initiated_login, connection_id, relay_state)', () => {
  /** An app that lets a login choose its connection and organization (not in the default loginParams). */
  let scalekitBed: Testbed;
  beforeAll(async () => {
    scalekitBed = await startTestbed({ auth: { loginParams: ['login_hint', 'connection_id', 'organization_id'] } });
  });
  afterAll(async () => {
    await scalekitBed.close();
  });

  test('is never a login: the callback starts a fresh one at the named connection, returning to a same-origin relay_state', async () => {
    const browser = new Browser();
    const res = await browser.request(`${scalekitBed.baseURL}/callback?idp_initiated_login=success&connection_id=conn_123&organization_id=org_9&relay_state=%2Fprofile`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(302);
    const login = new URL(res.headers.get('location')!, scalekitBed.baseURL);
    expect(login.pathname).toBe('/login');
    expect(Object.fromEntries(login.searchParams)).toEqual({ connection_id: 'conn_123', organization_id: 'org_9', returnTo: '/profile' });
    expect(await browser.cookie(scalekitBed.baseURL, 'oidc_session')).toBeUndefined();
    const { authorizationUrl } = await startLogin(browser, login.href);
    expect(authorizationUrl.searchParams.get('connection_id')).toBe('conn_123');
    expect(authorizationUrl.searchParams.get('organization_id')).toBe('org_9');
    const landed = await signIn(browser, authorizationUrl.href);
    expect(new URL(landed.url).pathname).toBe('/profile');
  });

  test('with the default loginParams the connection and organization are not carried: anyone can send a browser to the redirect_uri', async () => {
    const res = await new Browser().request(`${bed.baseURL}/callback?idp_initiated_login=t&connection_id=conn_123&organization_id=org_9&relay_state=%2Fprofile`);
    expect(res.status).toBe(302);
    expect(Object.fromEntries(new URL(res.headers.get('location')!, bed.baseURL).searchParams)).toEqual({ returnTo: '/profile' });
    expect(bed.tokenRequests).toBe(0);
  });

  test.each(['https://evil.example/x', '//evil.example', 'javascript:alert(1)'])('a relay_state off this origin (%s) returns to / (RFC 9700 §4.11)', async (relay) => {
    const res = await new Browser().request(`${bed.baseURL}/callback?idp_initiated_login=t&connection_id=c&relay_state=${encodeURIComponent(relay)}`);
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location')!, bed.baseURL).searchParams.get('returnTo')).toBe('/');
  });

  test('with a code it is an unsolicited authorization response, refused like any other (RFC 9700 §4.7): 400, no token request', async () => {
    const attacker = new Browser();
    const response = await authorizationResponse(attacker, `${bed.baseURL}/login`, 'mallory');
    response.searchParams.set('idp_initiated_login', 't');
    bed.tokenRequests = 0;
    const res = await new Browser().request(response.href, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect(bed.tokenRequests).toBe(0);
  });

  test('a pending login of this browser is not used up by it', async () => {
    const browser = new Browser();
    const pending = await authorizationResponse(browser, `${bed.baseURL}/login`);
    const restart = await browser.request(`${bed.baseURL}/callback?idp_initiated_login=t&connection_id=c`);
    expect(restart.status).toBe(302);
    const landed = await browser.request(pending.href);
    expect(landed.status).toBe(302);
    expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeDefined();
  });
});
