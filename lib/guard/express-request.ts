/**
 * What this package adds to Express's request type: `req.user` and `req.oidc`. A module of
 * declarations only; `index.ts` re-exports it so that apps get them with the package.
 *
 * @packageDocumentation
 */
import type { User as UserOfSession } from '../provider/provider.js';
import type { RequestAuth } from './request-auth.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    /**
     * The signed-in user: `sub` and the ID token's (or a provider adapter's) claims about the user
     * (OpenID Connect Core 1.0 §2, §5.1), without the protocol claims of `identityClaimFilter`,
     * with those the app's `afterCallback` added.
     */
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface User extends UserOfSession {}
    interface Request {
      /**
       * The signed-in user when the request carries a valid session (set by `authCallback()` on
       * every request, not only behind `requireAuth()`; the app's own copy); `undefined` otherwise.
       */
      user?: User;
      /**
       * The request's authentication state and tokens (set by `authCallback()` on every request):
       * `isAuthenticated`, `claims`, `idToken`, `accessToken`, `tokenType`, `refreshToken`, `expiresAt`,
       * `isExpired()`, `refresh()`, `fetchUserInfo()`, `fetchResource()`, `logout()`. Named `oidc`, not `auth`, so that it does
       * not collide with bearer-token middleware (e.g. express-oauth2-jwt-bearer's `req.auth`).
       */
      oidc: RequestAuth;
    }
  }
}

export {};
