/**
 * express-oidc-callback: OpenID Connect login for Express.
 *
 * ```ts
 * import { authCallback, requireAuth } from 'express-oidc-callback';
 * app.use(session({ secret, resave: false, saveUninitialized: false }));
 * app.use(authCallback({ issuer, clientId, clientSecret, baseURL, secret }));
 * app.get('/profile', requireAuth(), (req, res) => res.json(req.user));
 * ```
 *
 * @packageDocumentation
 */
import type { UserClaims } from './provider/oidc/openid-provider.js';
import type { RequestAuth } from './guard/request-auth.js';

export { authCallback } from './auth-callback.js';
export { requireAuth, type RequireAuthOptions, type ClaimValue } from './guard/require-auth.js';
export { AuthError, type AuthErrorCode, type AuthErrorOptions } from './errors.js';
export type { AuthCallbackConfig, RoutesConfig, CookieConfig, TenantsConfig, TenantClient } from './config/resolve-options.js';
export {
  readProviderJson, checkProviderUrl, authorizationRequestUrl,
  type ProviderAdapter, type AdapterAuthorizationRequest, type AdapterCodeRequest, type AdapterRefreshRequest, type AdapterTokens, type AdapterFetch, type AdapterClaims,
} from './provider/adapters/adapter.js';
export { workos, type WorkOSOptions } from './provider/adapters/workos.js';
export { oauth2, type OAuth2Options } from './provider/adapters/oauth2.js';
export { github, type GitHubOptions } from './provider/adapters/github.js';
export type { IdTokenClaims, UserClaims, UserInfoClaims } from './provider/oidc/openid-provider.js';
export type { RequestAuth } from './guard/request-auth.js';
export type { ClientAuthMethod } from './provider/oidc/client-authentication.js';
export type { ClientCertificate } from './provider/oidc/client-certificate.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    /**
     * The signed-in user: the ID token's claims (OpenID Connect Core 1.0 §2, §5.1), or a provider
     * adapter's claims (`iss` and `sub` always).
     */
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends UserClaims {}
    interface Request {
      /**
       * The ID token's claims when the request carries a valid session (set by `authCallback()`
       * on every request, not only behind `requireAuth()`); `undefined` otherwise.
       */
      user?: User;
      /**
       * The request's authentication state and tokens (set by `authCallback()` on every request):
       * `isAuthenticated`, `claims`, `idToken`, `accessToken`, `refreshToken`, `expiresAt`,
       * `isExpired()`, `refresh()`, `fetchUserInfo()`, `fetchResource()`. Named `oidc`, not `auth`, so that it does
       * not collide with bearer-token middleware (e.g. express-oauth2-jwt-bearer's `req.auth`).
       */
      oidc: RequestAuth;
    }
  }
}
