/**
 * The `oauth2()` adapter (a token endpoint and a user endpoint) with a custom profile of its own
 * `userClaims` and `client_secret_basic`, end to end against the local fake of
 * test/support/github-provider.ts (the app of test/support/github-app.ts); and its endpoint checks.
 */
import { describe, expect, test } from '@jest/globals';
import { github, oauth2 } from 'express-oidc-callback';
import { Browser } from '../../support/browser.js';
import { CLIENT_ID, expectRefused, failedCallback, gh, me, signIn, startApp, TOKEN_PATH, useGitHubApps, USER_PATH } from '../../support/github-app.js';

useGitHubApps();

describe('oauth2(): a custom profile', () => {
  test('client_secret_basic (RFC 6749 §2.3.1 encoding), its own userClaims, no scope sent by default', async () => {
    const secret = 'custom secret:with+plus&amp=equals/%25';
    const adapter = oauth2({
      issuer: `${gh.baseURL}/acme`,
      authorizationEndpoint: `${gh.baseURL}/login/oauth/authorize`,
      tokenEndpoint: `${gh.baseURL}${TOKEN_PATH}`,
      userEndpoint: `${gh.baseURL}${USER_PATH}`,
      // An `iss` from the user endpoint must not rebind the session to another issuer.
      userClaims: (u) => ({ sub: `acme|${String(u.node_id)}`, nickname: String(u.login), company: u.company, iss: 'https://evil.example' }),
    });
    const app = await startApp(adapter, { clientSecret: secret });
    gh.register({ clientId: CLIENT_ID, clientSecret: secret, redirectUri: `${app.baseURL}/callback` });
    const browser = new Browser();
    const authorizationUrl = await signIn(app, browser);
    expect(authorizationUrl.searchParams.has('scope')).toBe(false);

    const exchange = gh.requestsTo(TOKEN_PATH)[0]!;
    // RFC 6749 §2.3.1: each of client_id and secret form-urlencoded, then joined by ':' (the secret's own ':' encoded).
    const basic = /^Basic ([A-Za-z0-9+/]+=*)$/.exec(exchange.headers.authorization ?? '');
    expect(basic).not.toBeNull();
    const [id, encodedSecret, ...rest] = Buffer.from(basic![1]!, 'base64').toString('utf8').split(':');
    expect(rest).toEqual([]);
    const unform = (value: string): string => decodeURIComponent(value.replace(/\+/g, ' '));
    expect([unform(id!), unform(encodedSecret!)]).toEqual([CLIENT_ID, secret]);
    expect(exchange.params.has('client_secret')).toBe(false);
    expect(exchange.params.get('code_verifier')).toMatch(/^[\w-]{43,128}$/);
    expect(gh.requestsTo(USER_PATH)[0]!.headers.accept).toBe('application/json');

    // req.oidc.claims keeps the adapter's issuer as iss (not the user endpoint's); req.user leaves iss out.
    const seen = await me(app, browser);
    const user = { sub: 'acme|MDQ6VXNlcjU4MzIzMQ==', nickname: 'octocat', company: '@github' };
    expect(seen.claims).toEqual({ iss: `${gh.baseURL}/acme`, ...user });
    expect(seen.user).toEqual(user);
  });

  test('a userClaims that throws, or gives no sub: 502 invalid_provider_response, no session', async () => {
    for (const userClaims of [
      (): { sub: string } => { throw new Error('no such field'); },
      (): { sub: string } => ({ sub: '' }),
    ]) {
      gh.reset();
      const app = await startApp(oauth2({
        issuer: gh.baseURL,
        authorizationEndpoint: `${gh.baseURL}/login/oauth/authorize`,
        tokenEndpoint: `${gh.baseURL}${TOKEN_PATH}`,
        userEndpoint: `${gh.baseURL}${USER_PATH}`,
        userClaims,
      }));
      const browser = new Browser();
      await expectRefused(app, browser, await failedCallback(app, browser), 502, 'invalid_provider_response');
    }
  });

  test('endpoints that are not https (but on loopback) or not URLs are TypeErrors when the adapter is built', () => {
    const endpoints = {
      issuer: 'https://sso.example.com',
      authorizationEndpoint: 'https://sso.example.com/authorize',
      tokenEndpoint: 'https://sso.example.com/token',
      userEndpoint: 'https://api.example.com/me',
      userClaims: (u: Record<string, unknown>) => ({ sub: String(u.id) }),
    };
    expect(() => oauth2(endpoints)).not.toThrow();
    expect(() => oauth2({ ...endpoints, tokenEndpoint: 'http://sso.example.com/token' })).toThrow(TypeError);
    expect(() => oauth2({ ...endpoints, tokenEndpoint: 'http://sso.example.com/token' })).toThrow(/tokenEndpoint/);
    expect(() => oauth2({ ...endpoints, userEndpoint: '/me' })).toThrow(/userEndpoint/);
    expect(() => github({ apiBaseURL: 'http://github.internal.example/api/v3' })).toThrow(TypeError);
  });
});
