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
export { authCallback } from './auth-callback.js';
export type { Middleware } from './http.js';
export { requireAuth, type RequireAuthOptions } from './guard/require-auth.js';
export type { ClaimValue, ClaimsRequirement } from './guard/claims-requirement.js';
export {
  AuthError, AuthErrorCodes, ConfigurationError, ERR_INVALID_OPTION, type AuthErrorCode, type AuthErrorOptions, type ProviderErrorCode,
} from './errors.js';
export type { AuthCallbackConfig } from './config/options.js';
export type { ClientOptions, ClientAuthMethod, ClientCertificate } from './config/client-options.js';
export type { LoginOptions, RoutesConfig } from './config/login-options.js';
export type { SessionOptions, CookieConfig } from './config/session-options.js';
export type { LogoutOptions } from './config/logout-options.js';
export type { HookOptions, AfterCallbackSession, AfterCallbackResult, JsonValue } from './config/hook-options.js';
export type {
  EventOptions, AuthCallbackEvents, AuthEvent, AuthEventListener, SessionIdentity, LoginEvent, LoginFailedEvent, RefreshEvent, RefreshFailedEvent,
  RefreshTrigger, LogoutEvent, BackchannelLogoutEvent, SessionExpiredEvent, SessionEndReason,
} from './config/event-options.js';
export type { TenantsConfig, TenantClient } from './config/tenants.js';
export {
  readProviderJson, checkProviderUrl, authorizationRequestUrl,
  type ProviderAdapter, type AdapterAuthorizationRequest, type AdapterCodeRequest, type AdapterRefreshRequest, type AdapterTokens, type AdapterFetch, type AdapterClaims,
} from './provider/adapters/adapter.js';
export { workos, type WorkOSOptions } from './provider/adapters/workos.js';
export { oauth2, type OAuth2Options } from './provider/adapters/oauth2.js';
export { github, type GitHubOptions } from './provider/adapters/github.js';
export type { IdTokenClaims, User, UserClaims, UserInfoClaims } from './provider/provider.js';
export type { RequestAuth } from './guard/request-auth.js';
export type {} from './guard/express-request.js';

