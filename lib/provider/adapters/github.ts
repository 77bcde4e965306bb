/**
 * GitHub's OAuth Apps and GitHub Apps sign-in: the whole profile of a non-OpenID provider, in
 * one file, on the {@link oauth2} adapter.
 *
 * @packageDocumentation
 */
import type { ProviderAdapter } from './adapter.js';
import { oauth2 } from './oauth2.js';

/** Options of {@link github}. */
export interface GitHubOptions {
  /** Where github.com is (GitHub Enterprise Server: your host). Default `'https://github.com'`. */
  baseURL?: string;
  /** Where the REST API is (GitHub Enterprise Server: `https://HOST/api/v3`). Default `'https://api.github.com'`. */
  apiBaseURL?: string;
}

/**
 * An adapter for GitHub (`adapter: github()`): authorization at `/login/oauth/authorize` with
 * PKCE, the code exchanged at `/login/oauth/access_token` (`client_secret_post`; GitHub's
 * `bad_verification_code` and `bad_refresh_token` are `invalid_grant`, 400, and
 * `incorrect_client_credentials` is `invalid_client`, 502), and the user read from `/user`.
 * A GitHub App's expiring user tokens are refreshed; a refused refresh token ends the session.
 * `req.user`: `sub` (the numeric user id, as a string: logins can be renamed),
 * `preferred_username` (the login), `name`, `email` (when public), `picture`, `profile`.
 * Default scope `'read:user'`.
 */
export function github(options: GitHubOptions = {}): ProviderAdapter {
  const base = (options.baseURL ?? 'https://github.com').replace(/\/+$/, '');
  const api = (options.apiBaseURL ?? 'https://api.github.com').replace(/\/+$/, '');
  return oauth2({
    issuer: base,
    authorizationEndpoint: `${base}/login/oauth/authorize`,
    tokenEndpoint: `${base}/login/oauth/access_token`,
    userEndpoint: `${api}/user`,
    defaultScope: 'read:user',
    clientAuthMethod: 'client_secret_post',
    userEndpointHeaders: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
    // GitHub's own codes, answered with HTTP 200: a refused code or refresh token is RFC 6749's
    // invalid_grant (400; a refused refresh ends the session), refused credentials invalid_client.
    errorCodes: { bad_verification_code: 'invalid_grant', bad_refresh_token: 'invalid_grant', incorrect_client_credentials: 'invalid_client' },
    userClaims(user) {
      if (typeof user.id !== 'number' && typeof user.id !== 'string') throw new TypeError('GitHub user without an id');
      return {
        sub: String(user.id),
        ...(typeof user.login === 'string' && { preferred_username: user.login }),
        ...(typeof user.name === 'string' && { name: user.name }),
        ...(typeof user.email === 'string' && { email: user.email }),
        ...(typeof user.avatar_url === 'string' && { picture: user.avatar_url }),
        ...(typeof user.html_url === 'string' && { profile: user.html_url }),
      };
    },
  });
}
