/**
 * The `github()` profile of the `oauth2()` adapter end to end: a small app (express-session,
 * authCallback({ adapter }), requireAuth(), `/me`: test/support/github-app.ts) over real HTTP
 * with a cookie jar, against a local fake of GitHub's OAuth web flow and REST `/user` laid out as
 * GitHub Enterprise Server (test/support/github-provider.ts).
 *
 * Proved here: the authorization request (PKCE S256, `state`, `scope=read:user`); the code
 * exchange with `client_secret_post`, the `code_verifier` GitHub checks, and JSON asked for by
 * `Accept`; `/user` read with the access token and GitHub's API headers; `req.user` (`sub` the
 * numeric id as a string, `preferred_username` the login, …; no `iss`, which `req.oidc.claims`
 * keeps); GitHub's errors answered with HTTP
 * 200 mapped to RFC 6749's (a refused code or PKCE → 400 `invalid_grant`, refused credentials →
 * 502 `invalid_client`); a failing or incomplete `/user`, a failing or silent token endpoint →
 * 502/504 with no session; a session without refresh token or expiry that keeps working; a GitHub
 * App's expiring tokens refreshed (and a refused refresh token ending the session).
 */
import { describe, expect, test } from '@jest/globals';
import { github } from 'express-oidc-callback';
import { Browser } from '../../support/browser.js';
import { s256 } from '../../support/fake-server.js';
import {
  authorize, CLIENT_ID, CLIENT_SECRET, codeOf, expectRefused, failedCallback, gh, githubAdapter, JSON_ACCEPT, me, signIn,
  startApp, TIMEOUT_BOUND_MS, TOKEN_PATH, useGitHubApps, USER_PATH,
} from '../../support/github-app.js';
import { OCTOCAT } from '../../support/github-provider.js';
import { closedPortURL } from '../../support/http-server.js';
import { leaksInLogs, sessionCookiesSet } from '../../support/leaks.js';

const consoleErrors = useGitHubApps();

describe('github()', () => {
  test('signs in: PKCE S256 and scope read:user, client_secret_post with the code_verifier, /user with GitHub\'s headers, req.user mapped', async () => {
    const app = await startApp();
    const browser = new Browser();
    const authorizationUrl = await signIn(app, browser);

    expect(authorizationUrl.origin + authorizationUrl.pathname).toBe(`${gh.baseURL}/login/oauth/authorize`);
    const params = Object.fromEntries(authorizationUrl.searchParams);
    expect(Object.keys(params).sort()).toEqual(['client_id', 'code_challenge', 'code_challenge_method', 'redirect_uri', 'response_type', 'scope', 'state']);
    expect(params).toMatchObject({ client_id: CLIENT_ID, redirect_uri: `${app.baseURL}/callback`, response_type: 'code', scope: 'read:user', code_challenge_method: 'S256' });

    // The code exchange: credentials in the form body (client_secret_post), JSON asked for, the verifier of the challenge.
    const [exchange, ...more] = gh.requestsTo(TOKEN_PATH);
    expect(more).toEqual([]);
    expect(exchange!.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(exchange!.headers.accept).toMatch(/application\/json/);
    expect(exchange!.headers.authorization).toBeUndefined();
    expect(Object.fromEntries(exchange!.params)).toEqual({
      grant_type: 'authorization_code', code: gh.issued.codes.at(-1), redirect_uri: `${app.baseURL}/callback`,
      code_verifier: expect.any(String), client_id: CLIENT_ID, client_secret: CLIENT_SECRET,
    });
    expect(s256(exchange!.params.get('code_verifier')!)).toBe(params.code_challenge);
    expect(gh.tokenAnswers.map((a) => a.contentType)).toEqual([expect.stringMatching(/^application\/json/)]);

    // /user with the access token and GitHub's API headers.
    const [userRequest, ...moreUser] = gh.requestsTo(USER_PATH);
    expect(moreUser).toEqual([]);
    const accessToken = gh.issued.accessTokens.at(-1)!;
    expect(userRequest!.headers.authorization).toBe(`Bearer ${accessToken}`);
    expect(userRequest!.headers.accept).toBe('application/vnd.github+json');
    expect(userRequest!.headers['x-github-api-version']).toBe('2022-11-28');

    // req.user: the mapped claims without iss; req.oidc.claims: the sealed claims, iss (GitHub's baseURL) included.
    const user = {
      sub: '583231',
      preferred_username: 'octocat',
      name: 'The Octocat',
      email: 'octocat@github.example',
      picture: OCTOCAT.avatar_url,
      profile: OCTOCAT.html_url,
    };
    expect(await me(app, browser)).toEqual({
      user,
      claims: { iss: gh.baseURL, ...user },
      idToken: null,
      accessToken,
      refreshToken: null,
      expiresAt: null,
      scope: 'read:user',
      extra: null,
    });
  });

  test('an OAuth App\'s token (no expiry, no refresh token): the session keeps working, nothing is refreshed', async () => {
    const app = await startApp();
    const browser = new Browser();
    await signIn(app, browser);
    for (let i = 0; i < 3; i++) expect((await me(app, browser)).user.sub).toBe('583231');
    expect(gh.requestsTo(TOKEN_PATH)).toHaveLength(1);
    expect(gh.requestsTo(USER_PATH)).toHaveLength(1); // the user is read once, at login
  });

  test('a user without a public email or name: only the claims GitHub gave', async () => {
    gh.behaviour.userFields = { email: null, name: null };
    const app = await startApp();
    const browser = new Browser();
    await signIn(app, browser);
    const seen = await me(app, browser);
    const user = { sub: '583231', preferred_username: 'octocat', picture: OCTOCAT.avatar_url, profile: OCTOCAT.html_url };
    expect(seen.user).toEqual(user);
    expect(seen.claims).toEqual({ iss: gh.baseURL, ...user });
  });

  test('a code GitHub refuses (bad_verification_code, with HTTP 200): 400 invalid_grant, no session', async () => {
    const app = await startApp();
    const browser = new Browser();
    const { callbackUrl } = await authorize(app, browser);
    callbackUrl.searchParams.set('code', 'not-a-code-github-issued');
    const page = await browser.request(callbackUrl.href);
    await expectRefused(app, browser, page, 400, 'invalid_grant');
    expect(gh.tokenAnswers.map((a) => [a.status, (JSON.parse(a.body) as { error: string }).error])).toEqual([[200, 'bad_verification_code']]);
    expect(gh.requestsTo(USER_PATH)).toHaveLength(0);
  });

  test('PKCE is what GitHub checks: another login\'s code, brought to this login\'s callback, is refused (400 invalid_grant)', async () => {
    const app = await startApp();
    const browser = new Browser();
    // Two logins pending in one browser: the code of the first, with the state (and so the verifier) of the second.
    const first = await authorize(app, browser);
    const second = await authorize(app, browser);
    const crossed = new URL(second.callbackUrl);
    crossed.searchParams.set('code', first.callbackUrl.searchParams.get('code')!);
    const page = await browser.request(crossed.href);
    await expectRefused(app, browser, page, 400, 'invalid_grant');
    const sent = gh.requestsTo(TOKEN_PATH)[0]!.params.get('code_verifier')!;
    expect(s256(sent)).toBe(second.authorizationUrl.searchParams.get('code_challenge'));
    expect(s256(sent)).not.toBe(first.authorizationUrl.searchParams.get('code_challenge'));
  });

  test('wrong client credentials (incorrect_client_credentials, with HTTP 200): 502 invalid_client, no session, no secret logged', async () => {
    const app = await startApp(githubAdapter(), { clientSecret: 'the-wrong-client-secret-0000000000000000' });
    const browser = new Browser();
    await expectRefused(app, browser, await failedCallback(app, browser), 502, 'invalid_client');
    expect(leaksInLogs(consoleErrors.calls, ['the-wrong-client-secret-0000000000000000'])).toEqual([]);
    expect(consoleErrors.calls).toHaveLength(1);
  });

  test.each([
    ['401 Bad credentials', 'unauthorized'],
    ['a 500 HTML page', 'error-500'],
    ['a user without an id', 'no-id'],
  ] as const)('/user answering %s: 502 invalid_provider_response, no session', async (_name, mode) => {
    gh.behaviour.user = mode;
    const app = await startApp();
    const browser = new Browser();
    await expectRefused(app, browser, await failedCallback(app, browser), 502, 'invalid_provider_response');
    expect(gh.requestsTo(USER_PATH)).toHaveLength(1);
  });

  test('the token endpoint answering 500 with HTML: 502, no session, nothing of the page echoed', async () => {
    gh.behaviour.token = 'error-500';
    const app = await startApp();
    const browser = new Browser();
    const page = await failedCallback(app, browser);
    expect(page.status).toBe(502);
    await expectRefused(app, browser, page, 502, codeOf(page));
    expect(page.body).not.toContain('gho_not-a-real-token');
  });

  test.each([
    ['the token endpoint', 'token'],
    ['/user', 'user'],
  ] as const)('%s not answering: 504 provider_timeout within httpTimeout (not openid-client\'s 30 s)', async (_name, endpoint) => {
    gh.behaviour[endpoint] = 'hang';
    const app = await startApp();
    const browser = new Browser();
    const { callbackUrl } = await authorize(app, browser);
    const started = Date.now();
    const page = await browser.request(callbackUrl.href);
    expect(Date.now() - started).toBeLessThan(TIMEOUT_BOUND_MS);
    await expectRefused(app, browser, page, 504, 'provider_timeout');
  });

  test('GitHub unreachable: 502 provider_unreachable', async () => {
    const closed = await closedPortURL();
    const app = await startApp(github({ baseURL: closed, apiBaseURL: `${closed}/api/v3` }));
    const browser = new Browser();
    const start = await browser.request(`${app.baseURL}/login`);
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const page = await browser.request(`${app.baseURL}/callback?code=0123456789abcdef0123&state=${state}`);
    await expectRefused(app, browser, page, 502, 'provider_unreachable');
  });

  test('a GitHub App\'s expiring token is refreshed (client_secret_post, rotated refresh token) and the user kept', async () => {
    gh.behaviour.expiring = true;
    gh.behaviour.expiresIn = 30; // within the default refreshMargin (60 s): due at once
    const app = await startApp();
    const browser = new Browser();
    await signIn(app, browser);
    const firstRefresh = gh.issued.refreshTokens.at(-1)!;
    gh.behaviour.expiresIn = 28800;

    const seen = await me(app, browser);
    const refreshes = gh.requestsTo(TOKEN_PATH).filter((r) => r.params.get('grant_type') === 'refresh_token');
    expect(refreshes.map((r) => Object.fromEntries(r.params))).toEqual([
      { grant_type: 'refresh_token', refresh_token: firstRefresh, client_id: CLIENT_ID, client_secret: CLIENT_SECRET },
    ]);
    expect(seen.accessToken).toBe(gh.issued.accessTokens.at(-1));
    expect(seen.refreshToken).toBe(gh.issued.refreshTokens.at(-1));
    expect(seen.refreshToken).not.toBe(firstRefresh);
    expect(seen.expiresAt).toBeGreaterThan(Date.now() / 1000 + 28000);
    expect(seen.user).toMatchObject({ sub: '583231', preferred_username: 'octocat' });
    expect(seen.user).not.toHaveProperty('iss');
    expect(seen.claims).toMatchObject({ sub: '583231', preferred_username: 'octocat', iss: gh.baseURL });
    expect(gh.requestsTo(USER_PATH)).toHaveLength(1); // a refresh keeps the login's claims
  });

  test('a refresh token GitHub refuses (bad_refresh_token, with HTTP 200) ends the session: 401, cookie cleared', async () => {
    gh.behaviour.expiring = true;
    gh.behaviour.expiresIn = 30;
    const app = await startApp();
    const browser = new Browser();
    await signIn(app, browser);
    gh.reset(); // GitHub forgets every refresh token (revoked)
    gh.register({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUri: `${app.baseURL}/callback` });

    const page = await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT });
    expect({ status: page.status, code: codeOf(page) }).toEqual({ status: 401, code: 'unauthorized' });
    expect(sessionCookiesSet(page)).toEqual([expect.stringMatching(/^oidc_session=;/)]);
    expect(gh.tokenAnswers.map((a) => (JSON.parse(a.body) as { error?: string }).error)).toEqual(['bad_refresh_token']);
    expect((await browser.request(`${app.baseURL}/me`, { headers: JSON_ACCEPT })).status).toBe(401);
    expect(gh.requestsTo(TOKEN_PATH)).toHaveLength(1);
  });
});
