/**
 * `req.oidc` (lib/guard/request-auth.ts) against a real OpenID Provider (`oidc-provider`,
 * configured to issue and rotate refresh tokens) over real HTTP: the session's tokens as a
 * handler sees them, explicit `req.oidc.refresh()` and `fetchUserInfo()`.
 * test/support/session-life-bed.ts says how the tests share one provider and one port.
 */
import { describe, expect, test } from '@jest/globals';
import { decodeJwt } from 'jose';
import { sessionCookiesSet } from '../support/leaks.js';
import { newSessionCookie } from '../support/session-cookies.js';
import { baseAuth, bed, login, op, open, seen, send, useSessionLifeBed } from '../support/session-life-bed.js';

useSessionLifeBed();

describe('req.oidc', () => {
  test('on a signed-in request: isAuthenticated, claims (every claim, iss and aud included; not the req.user object, the request\'s own copy), the tokens, expiresAt in seconds ≈ now + the access token lifetime, isExpired()', async () => {
    const { cookie } = await login();
    const before = Date.now() / 1000;
    const oidc = seen(await send('/oidc', cookie));
    expect(oidc.isAuthenticated).toBe(true);
    // The session's claims are shared (frozen) by its requests; req.user is a copy made for this one.
    expect(oidc.claimsAreUser).toBe(false);
    expect(oidc.claims).toMatchObject({ sub: 'alice', iss: bed.provider.issuer, aud: baseAuth.clientId, email: 'alice@example.com' });
    expect(decodeJwt(oidc.idToken!)).toEqual(oidc.claims);
    const sealed = open(cookie)!;
    expect(oidc.accessToken).toBe(sealed.accessToken);
    expect(oidc.accessToken).toMatch(/^[\w-]{20,}$/);
    expect(oidc.refreshToken).toBe(sealed.refreshToken);
    expect(oidc.refreshToken).toMatch(/^[\w-]{20,}$/);
    expect(oidc.tokenType).toBe('Bearer'); // RFC 6750's spelling, whatever case the provider sent (RFC 6749 §7.1: case-insensitive)
    expect(oidc.scope!.split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'email']));
    expect(Number.isInteger(oidc.expiresAt)).toBe(true);
    expect(oidc.expiresAt).toBeGreaterThanOrEqual(Math.floor(before) + 3600 - 10);
    expect(oidc.expiresAt).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 3600);
    expect(oidc.isExpired).toBe(false);
    expect(oidc.isExpiredWithin7200).toBe(true);
    expect(op.refreshGrants).toBe(0);
  });

  test('on an anonymous request: isAuthenticated false, no claims, every token getter undefined, isExpired() false', async () => {
    const oidc = seen(await send('/oidc', undefined));
    // claimsAreUser: req.oidc.claims and req.user are both undefined.
    expect(oidc).toEqual({
      isAuthenticated: false, claimsAreUser: true, claims: null, idToken: null, accessToken: null, refreshToken: null,
      tokenType: null, scope: null, expiresAt: null, isExpired: false, isExpiredWithin7200: false,
    });
  });

  test('on an anonymous request: refresh() and fetchUserInfo() reject with 401 unauthorized, and the provider is not called', async () => {
    const refresh = await send('/refresh', undefined, { method: 'POST' });
    expect(refresh.status).toBe(401);
    expect(JSON.parse(refresh.body)).toMatchObject({ code: 'unauthorized' });
    const userinfo = await send('/userinfo', undefined);
    expect(userinfo.status).toBe(401);
    expect(JSON.parse(userinfo.body)).toMatchObject({ code: 'unauthorized' });
    expect(op.refreshGrants).toBe(0);
  });

  test('a tampered cookie is an anonymous request: isAuthenticated false, no refresh attempted', async () => {
    op.accessTokenTtl = 30;
    const { cookie } = await login();
    const tampered = `${cookie.slice(0, -2)}${cookie.endsWith('AA') ? 'AQ' : 'AA'}`;
    const oidc = seen(await send('/oidc', tampered));
    expect(oidc.isAuthenticated).toBe(false);
    expect(op.refreshGrants).toBe(0);
  });
});

describe('req.oidc.refresh() and req.oidc.fetchUserInfo()', () => {
  test('RFC 6749 §6: req.oidc.refresh() gets new tokens whatever their expiry, the handler sees them, the cookie is resealed with them', async () => {
    const { cookie } = await login();
    const loginTokens = open(cookie)!;
    const page = await send('/refresh', cookie, { method: 'POST' });
    const oidc = seen(page);
    expect(op.refreshGrants).toBe(1);
    expect(oidc.accessToken).not.toBe(loginTokens.accessToken);
    expect(oidc.refreshToken).not.toBe(loginTokens.refreshToken);
    // The refreshed ID token (Core §12.2) may be byte-identical to the login's when issued within the same second.
    expect(decodeJwt(oidc.idToken!)).toMatchObject({ sub: 'alice', iss: bed.provider.issuer, aud: baseAuth.clientId });
    expect(oidc.claims).toEqual(decodeJwt(oidc.idToken!));
    expect(oidc.claimsAreUser).toBe(false); // req.user is the request's own copy, not the session's claims
    const renewed = newSessionCookie(page);
    expect(open(renewed)).toMatchObject({ accessToken: oidc.accessToken, refreshToken: oidc.refreshToken, idToken: oidc.idToken });

    const after = await send('/oidc', renewed);
    expect(seen(after).accessToken).toBe(oidc.accessToken);
    expect(sessionCookiesSet(after)).toEqual([]);
    expect(op.refreshGrants).toBe(1);
  });

  test('OpenID Connect Core 1.0 §5.3: req.oidc.fetchUserInfo() returns the user\'s claims, with the session\'s sub', async () => {
    const { cookie } = await login();
    const page = await send('/userinfo', cookie);
    expect(page.status).toBe(200);
    expect(JSON.parse(page.body)).toMatchObject({ sub: 'alice', email: 'alice@example.com', name: 'alice' });
  });
});
