/**
 * The `workos()` provider adapter end to end: a small app (express-session, authCallback() with
 * `adapter: workos({ apiBaseURL })`, requireAuth(), `/me`) over real HTTP with a cookie jar,
 * against a faithful local fake of WorkOS AuthKit's User Management API
 * (test/support/workos-provider.ts: `/user_management/authorize`, JSON
 * `/user_management/authenticate`, `/sso/jwks/{clientId}`, `/user_management/sessions/logout`).
 *
 * Proved here: the authorization request WorkOS expects (PKCE S256, `provider=authkit` unless
 * an organization or connection is named); the code exchange as JSON with `client_secret` and
 * `code_verifier` (a confidential client) or `code_verifier` alone (a public one); `req.user` as
 * the WorkOS user under OpenID Connect claim names with the access token's
 * `org_id`/`role`/`permissions`, and `req.oidc.claims` with `iss` = `apiBaseURL` and the
 * access token's `sid` too (left out of `req.user`); `req.oidc.extra`; no ID token; refresh (rotating
 * refresh tokens) and a refused refresh ending the session; logout through WorkOS's session
 * logout; client authentication; the options. Sessions are proved in both storages. Every way
 * WorkOS (or the network) can fail is workos.refusals.test.ts's.
 */
import { describe, expect, test } from '@jest/globals';
import { authCallback, type AuthCallbackConfig, workos } from 'express-oidc-callback';
import { decodeJwt } from 'jose';
import { Browser } from '../../support/browser.js';
import { s256 } from '../../support/fake-server.js';
import { leaksInLogs, leaksInPage, sessionCookiesSet } from '../../support/leaks.js';
import {
  AUTHENTICATE, authorize, CLIENT_ID, CLIENT_SECRET, codeOf, expectedClaims, expectedUser, expectRefused, failedCallback, JSON_ACCEPT, me, type Me,
  onlyCodeGrant, provider, PUBLIC_CLIENT_ID, SECRET, signIn, startApp, useWorkOSApps,
} from '../../support/workos-app.js';
import { DEFAULT_USER } from '../../support/workos-provider.js';

const consoleErrors = useWorkOSApps();

describe.each(['cookie', 'store'] as const)('sessionStorage %s', (sessionStorage) => {
  test('a confidential client signs in: the authorization request, the JSON code exchange with client_secret and code_verifier, req.user mapped, no ID token', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    const browser = new Browser();
    const { authorizationUrl } = await signIn(app, browser);

    // The authorization request: WorkOS's path and parameters, PKCE S256, AuthKit as the provider; no scope, no nonce.
    expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(`${provider.baseURL}/user_management/authorize`);
    const params = Object.fromEntries(authorizationUrl.searchParams);
    expect(Object.keys(params).sort()).toEqual(['client_id', 'code_challenge', 'code_challenge_method', 'provider', 'redirect_uri', 'response_type', 'state']);
    expect(params).toMatchObject({ client_id: CLIENT_ID, redirect_uri: `${app.baseURL}/callback`, response_type: 'code', code_challenge_method: 'S256', provider: 'authkit' });
    expect(params.state).toMatch(/^[\w-]{20,}$/);

    // The code exchange: JSON, with the secret and the verifier of the challenge.
    const grant = onlyCodeGrant();
    expect(grant.method).toBe('POST');
    expect(grant.headers['content-type']).toMatch(/^application\/json/);
    expect(grant.headers.authorization).toBeUndefined();
    const code = provider.issued.codes.at(-1)!;
    expect(grant.json).toEqual({
      client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_type: 'authorization_code', code, code_verifier: expect.any(String),
    });
    expect(s256(grant.json!.code_verifier as string)).toBe(params.code_challenge);
    // The access token was checked against the client's JWKS.
    expect(provider.requestsTo(`/sso/jwks/${CLIENT_ID}`)).toHaveLength(1);

    const seen = await me(app, browser);
    const accessToken = provider.issued.accessTokens.at(-1)!;
    const sid = decodeJwt(accessToken).sid as string;
    expect(sid).toMatch(/^session_/);
    expect(seen).toEqual({
      user: expectedUser(),
      claims: expectedClaims(sid),
      extra: { authentication_method: 'GoogleOAuth' },
      idToken: null,
      accessToken,
      refreshToken: provider.issued.refreshTokens.at(-1),
      expiresAt: decodeJwt(accessToken).exp,
      tokenType: 'Bearer',
    });
    // Nothing of the exchange left in the express-session but the login (the transaction is used up).
    const landed = await browser.request(`${app.baseURL}/`);
    expect(landed.body).toBe(`signed in as ${DEFAULT_USER.id}`);
  });

  test('an organization login with an impersonator: organization_id sent without provider, extra and req.user carry the organization', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    provider.behaviour.impersonator = { email: 'admin@foocorp.example', reason: 'Investigating an issue with the customer\'s account.' };
    provider.behaviour.authenticationMethod = 'Impersonation';
    provider.behaviour.accessTokenClaims = { role: 'admin', permissions: ['posts:read', 'posts:write'] };
    const browser = new Browser();
    const { authorizationUrl } = await signIn(app, browser, '?organization_id=org_01EHZNVPK3SFK441A1RGBFSHRT');
    expect(authorizationUrl.searchParams.get('organization_id')).toBe('org_01EHZNVPK3SFK441A1RGBFSHRT');
    expect(authorizationUrl.searchParams.has('provider')).toBe(false);

    const seen = await me(app, browser);
    const sid = decodeJwt(provider.issued.accessTokens.at(-1)!).sid as string;
    const organization = { org_id: 'org_01EHZNVPK3SFK441A1RGBFSHRT', role: 'admin', permissions: ['posts:read', 'posts:write'] };
    expect(seen.user).toEqual(expectedUser(organization));
    expect(seen.claims).toEqual(expectedClaims(sid, organization));
    expect(seen.extra).toEqual({
      organization_id: 'org_01EHZNVPK3SFK441A1RGBFSHRT',
      authentication_method: 'Impersonation',
      impersonator: { email: 'admin@foocorp.example', reason: 'Investigating an issue with the customer\'s account.' },
    });
    expect(seen.idToken).toBeNull();
  });

  test('autoRefresh: an access token within refreshMargin of its exp is refreshed by grant_type=refresh_token (rotated), the user kept', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    provider.behaviour.accessTokenTtl = 30; // within the default refreshMargin (60 s): due at once
    const browser = new Browser();
    await signIn(app, browser, '?organization=org_01REFRESH');
    const [firstAccess, firstRefresh] = [provider.issued.accessTokens.at(-1)!, provider.issued.refreshTokens.at(-1)!];
    provider.behaviour.accessTokenTtl = 3600; // the refreshed token is not due

    const seen = await me(app, browser);
    const refreshes = provider.refreshRequests();
    expect(refreshes).toHaveLength(1);
    expect(refreshes[0]!.headers['content-type']).toMatch(/^application\/json/);
    expect(refreshes[0]!.json).toEqual({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_type: 'refresh_token', refresh_token: firstRefresh });
    const newAccess = provider.issued.accessTokens.at(-1)!;
    expect(newAccess).not.toBe(firstAccess);
    expect(seen.accessToken).toBe(newAccess);
    expect(seen.refreshToken).toBe(provider.issued.refreshTokens.at(-1));
    expect(seen.refreshToken).not.toBe(firstRefresh);
    expect(seen.expiresAt).toBe(decodeJwt(newAccess).exp);
    expect(seen.user.sub).toBe(DEFAULT_USER.id);
    expect(seen.user.org_id).toBe('org_01REFRESH');
    // The refresh answer has no authentication_method: the login's is kept.
    expect(seen.extra).toEqual({ organization_id: 'org_01REFRESH', authentication_method: 'GoogleOAuth' });

    // Not due any more: the next request does not refresh, and the rotated token is the one kept.
    expect((await me(app, browser)).accessToken).toBe(newAccess);
    expect(provider.refreshRequests()).toHaveLength(1);
  });

  test('a refresh answered without the organization and the impersonator drops them from req.user and req.oidc.extra', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    provider.behaviour.accessTokenTtl = 30;
    provider.behaviour.impersonator = { email: 'admin@foocorp.example' };
    const browser = new Browser();
    await signIn(app, browser, '?organization_id=org_01LEFT');
    provider.behaviour.accessTokenTtl = 3600;
    provider.behaviour.responseExtras = { organization_id: undefined, impersonator: undefined };
    provider.behaviour.accessTokenClaims = { org_id: undefined, role: undefined, permissions: undefined };

    const seen = await me(app, browser);
    expect(provider.refreshRequests()).toHaveLength(1);
    expect(seen.accessToken).toBe(provider.issued.accessTokens.at(-1));
    for (const name of ['org_id', 'role', 'permissions']) {
      expect(seen.user).not.toHaveProperty(name);
      expect(seen.claims).not.toHaveProperty(name);
    }
    expect(seen.extra).not.toHaveProperty('organization_id');
    expect(seen.extra).not.toHaveProperty('impersonator');
    // The next request reads the same from the resealed session.
    expect((await me(app, browser)).extra).toEqual(seen.extra);
  });

  test('concurrent requests with a due access token share one refresh (WorkOS rotates the refresh token: a second would be refused)', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    provider.behaviour.accessTokenTtl = 30;
    const browser = new Browser();
    await signIn(app, browser);
    provider.behaviour.accessTokenTtl = 3600;
    const cookie = await browser.cookie(app.baseURL, 'oidc_session');
    const pages = await Promise.all(Array.from({ length: 5 }, () => fetch(`${app.baseURL}/me`, { headers: { ...JSON_ACCEPT, cookie: `oidc_session=${cookie}` } })));
    expect(pages.map((p) => p.status)).toEqual([200, 200, 200, 200, 200]);
    const seen = await Promise.all(pages.map(async (p) => (await p.json() as Me).accessToken));
    expect(new Set(seen)).toEqual(new Set([provider.issued.accessTokens.at(-1)]));
    expect(provider.refreshRequests()).toHaveLength(1);
  });

  test('a refresh answering for another user ends the session (OpenID Connect Core 1.0 §12.2, applied to WorkOS\'s user)', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    provider.behaviour.accessTokenTtl = 30;
    const browser = new Browser();
    await signIn(app, browser);
    provider.behaviour.user = { id: 'user_01SOMEBODYELSE000000000000' }; // the user object and the token's sub both
    const page = await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT });
    expect({ status: page.status, code: codeOf(page) }).toEqual({ status: 401, code: 'unauthorized' });
    expect(sessionCookiesSet(page)).toEqual([expect.stringMatching(/^oidc_session=;/)]);
    expect(provider.refreshRequests()).toHaveLength(1);
  });

  test('a refused refresh (invalid_grant) ends the session: the API gets 401, the cookie is cleared, WorkOS is not asked again', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    provider.behaviour.accessTokenTtl = 30;
    const browser = new Browser();
    await signIn(app, browser);
    const cookie = await browser.cookie(app.baseURL, 'oidc_session');
    provider.behaviour.refresh = 'invalid_grant';

    const page = await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT });
    expect(page.status).toBe(401);
    expect(codeOf(page)).toBe('unauthorized');
    expect(sessionCookiesSet(page)).toEqual([expect.stringMatching(/^oidc_session=;/)]);
    expect(await browser.cookie(app.baseURL, 'oidc_session')).toBeUndefined();
    expect(provider.refreshRequests()).toHaveLength(1);

    // A copy of the old cookie: refused again (store: its record is gone; cookie: WorkOS refuses again).
    const replay = await fetch(`${app.baseURL}/me`, { headers: { ...JSON_ACCEPT, cookie: `oidc_session=${cookie}` } });
    expect(replay.status).toBe(401);
    expect(provider.refreshRequests()).toHaveLength(sessionStorage === 'store' ? 1 : 2);
  });

  test('logout ends the local session and sends the browser to WorkOS\'s sessions/logout with session_id = sid and return_to = baseURL', async () => {
    const app = await startApp({ auth: { sessionStorage } });
    const browser = new Browser();
    await signIn(app, browser);
    const sid = decodeJwt(provider.issued.accessTokens.at(-1)!).sid as string;
    const refreshToken = provider.issued.refreshTokens.at(-1)!;
    const cookie = await browser.cookie(app.baseURL, 'oidc_session');

    const out = await browser.request(`${app.baseURL}/logout`);
    expect(out.status).toBe(302);
    const location = new URL(out.headers.get('location')!);
    expect(location.origin + location.pathname).toBe(`${provider.baseURL}/user_management/sessions/logout`);
    expect(Object.fromEntries(location.searchParams)).toEqual({ session_id: sid, return_to: app.baseURL });
    expect(await browser.cookie(app.baseURL, 'oidc_session')).toBeUndefined();

    const back = await browser.visit(location.href);
    expect({ url: back.url, body: back.body }).toEqual({ url: `${app.baseURL}/`, body: 'signed out' });
    expect(provider.endedSessions).toEqual([sid]);
    // WorkOS ended its session: the refresh token no longer works there.
    const refused = await fetch(`${provider.baseURL}${AUTHENTICATE}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_type: 'refresh_token', refresh_token: refreshToken }),
    });
    expect(refused.status).toBe(400);
    // With a store, a copy of the cookie is dead too.
    const replay = await fetch(`${app.baseURL}/me`, { headers: { ...JSON_ACCEPT, cookie: `oidc_session=${cookie}` } });
    expect(replay.status).toBe(sessionStorage === 'store' ? 401 : 200);
  });
});

describe('client authentication', () => {
  test('a public client (no clientSecret) sends the code_verifier and no client_secret, and still signs in', async () => {
    const app = await startApp({ public: true });
    const browser = new Browser();
    const { authorizationUrl } = await signIn(app, browser);
    const grant = onlyCodeGrant();
    expect(grant.json).toEqual({ client_id: PUBLIC_CLIENT_ID, grant_type: 'authorization_code', code: provider.issued.codes.at(-1), code_verifier: expect.any(String) });
    expect(s256(grant.json!.code_verifier as string)).toBe(authorizationUrl.searchParams.get('code_challenge'));
    expect(provider.requestsTo(`/sso/jwks/${PUBLIC_CLIENT_ID}`)).toHaveLength(1);
    expect((await me(app, browser)).user.sub).toBe(DEFAULT_USER.id);
  });

  test('a public client refreshes without a secret', async () => {
    const app = await startApp({ public: true });
    provider.behaviour.accessTokenTtl = 30;
    const browser = new Browser();
    await signIn(app, browser);
    provider.behaviour.accessTokenTtl = 3600;
    const seen = await me(app, browser);
    expect(provider.refreshRequests().map((r) => r.json)).toEqual([
      { client_id: PUBLIC_CLIENT_ID, grant_type: 'refresh_token', refresh_token: provider.issued.refreshTokens.at(-2) },
    ]);
    expect(seen.accessToken).toBe(provider.issued.accessTokens.at(-1));
  });

  test('a wrong client secret: 502 invalid_client, no session, nothing secret in the answer or the logs', async () => {
    const app = await startApp({ auth: { clientSecret: 'sk_test_the-wrong-one-0123456789' } });
    const browser = new Browser();
    const page = await failedCallback(app, browser);
    await expectRefused(app, browser, page, 502, 'invalid_client');
    expect(leaksInPage(page, ['sk_test_the-wrong-one-0123456789'])).toEqual([]);
    expect(leaksInLogs(consoleErrors.calls, ['sk_test_the-wrong-one-0123456789'])).toEqual([]);
    expect(consoleErrors.calls).toHaveLength(1); // the 5xx was logged, without its secret
  });
});

describe('authorization request parameters', () => {
  test('organization= is sent as organization_id, connection= as connection_id, and neither with provider', async () => {
    const app = await startApp();
    const browser = new Browser();
    const org = await authorize(app, browser, '?organization=org_01ACME');
    expect(org.authorizationUrl.searchParams.get('organization_id')).toBe('org_01ACME');
    expect(org.authorizationUrl.searchParams.has('organization')).toBe(false);
    expect(org.authorizationUrl.searchParams.has('provider')).toBe(false);
    const connection = await authorize(app, browser, '?connection=conn_01OKTA');
    expect(connection.authorizationUrl.searchParams.get('connection_id')).toBe('conn_01OKTA');
    expect(connection.authorizationUrl.searchParams.has('provider')).toBe(false);
    const hinted = await authorize(app, browser, '?login_hint=ann%40example.com');
    expect(hinted.authorizationUrl.searchParams.get('login_hint')).toBe('ann@example.com');
    expect(hinted.authorizationUrl.searchParams.get('provider')).toBe('authkit');
    // The organization login completes, and WorkOS answers with that organization.
    const landed = await browser.request(org.callbackUrl.href);
    expect(landed.status).toBe(302);
    expect((await me(app, browser)).extra).toEqual({ organization_id: 'org_01ACME', authentication_method: 'GoogleOAuth' });
  });

  test('max_age cannot be checked without an ID token\'s auth_time: a login asking for it is a 400, the option a TypeError; WorkOS never asked', async () => {
    const app = await startApp();
    const browser = new Browser();
    const page = await browser.request(`${app.baseURL}/login?max_age=0`);
    expect({ status: page.status, code: codeOf(page) }).toEqual({ status: 400, code: 'invalid_request' });
    expect(() => authCallback({ adapter: workos({ apiBaseURL: provider.baseURL }), clientId: CLIENT_ID, baseURL: app.baseURL, secret: 'x'.repeat(32), authorizationParams: { max_age: '300' } }))
      .toThrow(/authorizationParams.max_age/);
    expect(provider.requests).toEqual([]);
  });

  test('scope need not contain openid with an adapter, and WorkOS gets none', async () => {
    const app = await startApp({ auth: { scope: 'profile' } });
    const browser = new Browser();
    const { authorizationUrl } = await signIn(app, browser);
    expect(authorizationUrl.searchParams.has('scope')).toBe(false);
  });
});

describe('options', () => {
  const base = { adapter: workos(), clientId: CLIENT_ID, baseURL: 'http://localhost:3000', secret: SECRET };

  test.each([
    ['issuer', { issuer: 'https://api.workos.com' }, /option "issuer"/],
    ['fetchUserInfo', { fetchUserInfo: true }, /option "fetchUserInfo"/],
    ['dpop', { dpop: true }, /option "dpop"/],
    ['routes.backchannelLogout', { routes: { backchannelLogout: '/backchannel-logout' } }, /option "routes.backchannelLogout"/],
    ['clientAuthMethod', { clientAuthMethod: 'client_secret_basic' }, /option "clientAuthMethod"/],
    ['pushedAuthorizationRequests', { pushedAuthorizationRequests: true }, /option "pushedAuthorizationRequests"/],
  ] as const)('an adapter with %s is a TypeError naming it', (_name, extra, message) => {
    expect(() => authCallback({ ...base, ...extra } as AuthCallbackConfig)).toThrow(TypeError);
    expect(() => authCallback({ ...base, ...extra } as AuthCallbackConfig)).toThrow(message);
  });

  test('an adapter that is not one, and a missing clientId, are TypeErrors', () => {
    expect(() => authCallback({ ...base, adapter: { issuer: 'https://x.example' } } as unknown as AuthCallbackConfig)).toThrow(/option "adapter"/);
    expect(() => authCallback({ ...base, clientId: undefined } as unknown as AuthCallbackConfig)).toThrow(/option "clientId"/);
  });

  test('a scope without openid is accepted with an adapter (not without one)', () => {
    expect(() => authCallback({ ...base, scope: 'profile email' })).not.toThrow();
    expect(() => authCallback({ issuer: 'https://op.example', clientId: CLIENT_ID, baseURL: base.baseURL, secret: SECRET, scope: 'profile email' })).toThrow(/option "scope"/);
  });

  test('workos() refuses a plain-http apiBaseURL off loopback: the client secret would cross the network in clear text', () => {
    expect(() => workos({ apiBaseURL: 'http://api.workos.example' })).toThrow(TypeError);
    expect(() => workos({ apiBaseURL: 'not a url' })).toThrow(TypeError);
    expect(() => workos({ apiBaseURL: 'http://127.0.0.1:8080' })).not.toThrow();
    expect(() => workos({ apiBaseURL: 'https://auth.example.com/' })).not.toThrow();
  });
});
