/**
 * `resolveOptions()`: `authCallback()`'s configuration checked once, at start-up, and its
 * defaults filled in. Each bad option is a {@link ConfigurationError} naming it, before the first
 * request.
 *
 * @packageDocumentation
 */
import { checkOptionNames } from './option-names.js';
import { checkLogoutParams } from './logout-options.js';
import { PROTOCOL_CLAIMS } from '../session/user-claims.js';
import { ConfigurationError } from '../errors.js';
import type { ProviderAdapter } from '../provider/adapters/adapter.js';
import { certificateFetch } from '../provider/oidc/client-certificate.js';
import { isRedisClient, isRefreshLock, redisLock, type RefreshLock } from '../session/refresh-lock.js';
import {
  ASYMMETRIC_JWS_ALGS, assertBoolean, assertRoute, assertSeconds, assertString, fail, isLoopbackHost, parseAbsoluteUrl, parseIssuer,
} from './checks.js';
import { checkClient, checkClientCertificate } from './client-checks.js';
import { authorizationParamsOf, essentialAcrOf, loginParamsOf } from './login-policy.js';
import { tokenParamsOf } from './token-params.js';
import type { AuthCallbackEvents } from './event-options.js';
import type { AuthCallbackConfig } from './options.js';
import type { ResolvedOptions } from './resolved-options.js';
import type { TenantClient } from './tenants.js';

/** Minimum secret length, in characters. */
export const MIN_SECRET_LENGTH = 32;

/** JWS algorithms of a login's DPoP key pair (RFC 9449 §5.1): quick to generate. */
const DPOP_ALGS: ReadonlySet<string> = new Set(['ES256', 'ES384', 'ES512', 'Ed25519', 'EdDSA']);

/** RFC 6265 §4.1.1 `cookie-name` = RFC 7230 `token`. */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Options only an OpenID Provider serves: refused with an `adapter`. */
const OPENID_ONLY_OPTIONS = [
  'fetchUserInfo', 'dpop', 'pushedAuthorizationRequests', 'clientAuthMethod', 'clientPrivateKey', 'idTokenSigningAlg', 'tokenEndpointParams', 'refreshParams',
  'requestObject', 'attemptSilentLogin',
] as const;

/** The `requestObject` option: `undefined` when off, else the configured algorithm (or none). */
function requestObjectOf(value: unknown): ResolvedOptions['requestObject'] {
  if (value === undefined || value === false) return undefined;
  if (value === true) return Object.freeze({ alg: undefined });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('requestObject', 'must be true, false or { alg }');
  const { alg } = value as { alg?: unknown };
  if (alg !== undefined) assertString(alg, 'requestObject.alg');
  return Object.freeze({ alg });
}

/** The provider and the client at it: issuer, tenants or adapter, credentials, how it is called. */
function resolveProvider(config: AuthCallbackConfig) {
  const { tenants, adapter } = config;
  if (tenants !== undefined && adapter !== undefined) fail('tenants', 'cannot be combined with adapter');
  if (tenants !== undefined || adapter !== undefined) {
    if (config.issuer !== undefined) fail('issuer', `must not be set with ${tenants !== undefined ? 'tenants' : 'adapter'}, which names the issuer itself`);
  } else {
    assertString(config.issuer, 'issuer');
  }
  if (tenants !== undefined) {
    if (tenants === null || typeof tenants !== 'object' || typeof tenants.issuer !== 'function') fail('tenants', 'must be an object with an issuer(req) function');
    if (tenants.client !== undefined && typeof tenants.client !== 'function') fail('tenants.client', 'must be a function (issuer) => client');
    if (tenants.cacheSize !== undefined && (!Number.isInteger(tenants.cacheSize) || tenants.cacheSize < 1)) fail('tenants.cacheSize', 'must be a whole number, at least 1');
    assertBoolean(tenants.allowSharedCallback, 'tenants.allowSharedCallback', false);
  }
  if (adapter !== undefined) checkAdapter(adapter, config);
  if (config.clientCertificate !== undefined) {
    if (config.customFetch !== undefined) fail('clientCertificate', 'cannot be combined with customFetch: present the certificate in your customFetch instead');
    checkClientCertificate(config.clientCertificate);
  }
  const customFetch = config.clientCertificate !== undefined ? certificateFetch(config.clientCertificate) : config.customFetch;
  const requestObject = requestObjectOf(config.requestObject);
  if (tenants?.client === undefined || config.clientId !== undefined) checkClient({ ...config, customFetch } as TenantClient, '', requestObject);
  const allowInsecureRequests = assertBoolean(config.allowInsecureRequests, 'allowInsecureRequests', false);
  const issuer = config.issuer === undefined ? undefined : parseIssuer(config.issuer, 'issuer', allowInsecureRequests);
  const dpop = config.dpop ?? false;
  if (typeof dpop !== 'boolean' && dpop !== 'required') fail('dpop', 'must be true, false or \'required\'');
  const dpopAlg = config.dpopAlg ?? 'ES256';
  // An RSA key pair per login costs ~100 ms of CPU: anonymous /login requests would be a cheap DoS.
  if (!DPOP_ALGS.has(dpopAlg)) fail('dpopAlg', `must be one of ${[...DPOP_ALGS].join(', ')} (an elliptic-curve or EdDSA key: one is generated per login)`);
  const pushedAuthorizationRequests = config.pushedAuthorizationRequests === undefined ? false : config.pushedAuthorizationRequests;
  if (typeof pushedAuthorizationRequests !== 'boolean' && pushedAuthorizationRequests !== 'required') {
    fail('pushedAuthorizationRequests', `must be true, false or 'required' (got ${JSON.stringify(pushedAuthorizationRequests)})`);
  }
  const idTokenSigningAlg = config.idTokenSigningAlg ?? 'RS256';
  if (!ASYMMETRIC_JWS_ALGS.has(idTokenSigningAlg)) {
    fail('idTokenSigningAlg', `must be one of ${[...ASYMMETRIC_JWS_ALGS].join(', ')} (got ${JSON.stringify(idTokenSigningAlg)})`);
  }
  return {
    issuer,
    issuerIdentifier: config.issuer,
    clientId: config.clientId,
    tenants: tenants === undefined ? undefined : Object.freeze({
      issuer: tenants.issuer.bind(tenants),
      ...(tenants.client !== undefined && { client: tenants.client.bind(tenants) }),
      cacheSize: tenants.cacheSize ?? 100,
      allowSharedCallback: tenants.allowSharedCallback ?? false,
    }),
    adapter,
    clientSecret: config.clientSecret,
    clientAuthMethod: config.clientAuthMethod,
    clientPrivateKey: config.clientPrivateKey,
    clientKeyId: config.clientKeyId,
    clientAssertionAlg: config.clientAssertionAlg,
    customFetch,
    mutualTls: config.clientCertificate !== undefined,
    fetchUserInfo: assertBoolean(config.fetchUserInfo, 'fetchUserInfo', false),
    dpop,
    dpopAlg,
    idTokenSigningAlg,
    pushedAuthorizationRequests,
    requestObject,
    tokenEndpointParams: tokenParamsOf(config.tokenEndpointParams, 'tokenEndpointParams'),
    refreshParams: tokenParamsOf(config.refreshParams, 'refreshParams'),
    clockTolerance: assertSeconds(config.clockTolerance, 'clockTolerance', 30),
    httpTimeout: assertSeconds(config.httpTimeout, 'httpTimeout', 10, 0.001),
    insecureIssuer: issuer?.protocol === 'http:',
    allowInsecureRequests,
  };
}

/** The routes and the authorization request: where logins go and what they may ask for. */
function resolveLogin(config: AuthCallbackConfig, baseURL: URL) {
  const basePath = baseURL.pathname.replace(/\/+$/, '');
  const scope = config.scope ?? config.adapter?.defaultScope ?? 'openid profile email';
  if (typeof scope !== 'string' || (config.adapter === undefined && !scope.split(' ').includes('openid'))) fail('scope', 'must be a space-separated string that contains "openid"');
  const routesIn = config.routes ?? {};
  if (typeof routesIn !== 'object') fail('routes', 'must be an object');
  const routes = {
    login: assertRoute(routesIn.login, 'routes.login', '/login', true),
    callback: assertRoute(routesIn.callback, 'routes.callback', '/callback', false) as string,
    logout: assertRoute(routesIn.logout, 'routes.logout', '/logout', true),
    backchannelLogout: routesIn.backchannelLogout === undefined ? false : assertRoute(routesIn.backchannelLogout, 'routes.backchannelLogout', '', true),
  };
  const paths = [routes.login, routes.callback, routes.logout, routes.backchannelLogout].filter((p) => p !== false);
  if (new Set(paths).size !== paths.length) fail('routes', 'must name a different path for each route');
  const authorizationParams = authorizationParamsOf(config.authorizationParams);
  const responseMode = config.responseMode ?? 'query';
  if (responseMode !== 'query' && responseMode !== 'form_post') fail('responseMode', 'must be "query" or "form_post"');
  if (responseMode === 'form_post' && baseURL.protocol !== 'https:' && !isLoopbackHost(baseURL.hostname)) {
    fail('responseMode', '"form_post" needs an https: baseURL: its pending-login cookie is SameSite=None, which browsers keep only when Secure');
  }
  return {
    baseURL,
    basePath,
    redirectUri: new URL(basePath + routes.callback, baseURL.origin),
    postLogoutRedirectUri: config.baseURL,
    scope,
    routes: Object.freeze(routes),
    authorizationParams: Object.freeze(authorizationParams),
    maxAge: authorizationParams.max_age === undefined ? undefined : Number(authorizationParams.max_age),
    essentialAcr: essentialAcrOf(authorizationParams.claims),
    loginParams: loginParamsOf(config.loginParams, authorizationParams),
    responseMode,
    transactionDuration: assertSeconds(config.transactionDuration, 'transactionDuration', 3600, 1),
    attemptSilentLogin: silentLoginOf(config.attemptSilentLogin, authorizationParams),
  } as const;
}

/** The `identityClaimFilter` option as a set. */
function identityClaimFilterOf(given: unknown): ReadonlySet<string> {
  if (given === undefined) return new Set(PROTOCOL_CLAIMS);
  if (!Array.isArray(given) || !given.every((name) => typeof name === 'string' && name.length > 0)) {
    fail('identityClaimFilter', 'must be an array of claim names, e.g. [\'iss\', \'aud\', \'exp\']');
  }
  if (given.includes('sub')) fail('identityClaimFilter', 'must not contain "sub": req.user always names its user');
  return new Set(given as string[]);
}

/** The session: its secrets, cookie, lifetimes, storage and refresh. */
function resolveSession(config: AuthCallbackConfig, baseURL: URL) {
  const secrets = Array.isArray(config.secret) ? config.secret : [config.secret];
  if (secrets.length === 0) fail('secret', 'must be a string or a non-empty array of strings');
  for (const s of secrets) {
    if (typeof s !== 'string') fail('secret', 'must be a string or a non-empty array of strings');
    if (s.length < MIN_SECRET_LENGTH) fail('secret', `must be at least ${MIN_SECRET_LENGTH} characters (a random value, e.g. openssl rand -base64 48)`);
  }
  const cookieIn = config.cookie ?? {};
  const secure = baseURL.protocol === 'https:';
  // RFC 6265bis §4.1.3.2: a __Host- cookie cannot be set, nor shadowed, from a sibling subdomain.
  const cookieName = cookieIn.name ?? (secure && cookieIn.domain === undefined ? '__Host-oidc_session' : 'oidc_session');
  if (typeof cookieName !== 'string' || !COOKIE_NAME.test(cookieName)) fail('cookie.name', 'must be a cookie token (letters, digits, !#$%&\'*+-.^_`|~)');
  if (cookieIn.domain !== undefined) assertString(cookieIn.domain, 'cookie.domain');
  const sameSite = cookieIn.sameSite ?? 'lax';
  if (sameSite !== 'lax' && sameSite !== 'strict' && sameSite !== 'none') fail('cookie.sameSite', 'must be "lax", "strict" or "none"');
  if (sameSite === 'none' && !secure) fail('cookie.sameSite', '"none" requires an https: baseURL (browsers drop SameSite=None cookies without Secure)');
  // RFC 6265bis §4.1.3: browsers drop __Secure- cookies without Secure, and __Host- ones also with a Domain.
  if ((cookieName.startsWith('__Secure-') || cookieName.startsWith('__Host-')) && !secure) {
    fail('cookie.name', 'with a __Secure- or __Host- prefix requires an https: baseURL');
  }
  if (cookieName.startsWith('__Host-') && cookieIn.domain !== undefined) fail('cookie.domain', 'must not be set with a __Host- cookie name');
  const sessionIdleDuration = config.sessionIdleDuration === false ? undefined : assertSeconds(config.sessionIdleDuration, 'sessionIdleDuration', 24 * 3600, 1);
  const defaultTouchInterval = sessionIdleDuration === undefined ? 300 : Math.min(300, sessionIdleDuration / 2);
  const sessionTouchInterval = assertSeconds(config.sessionTouchInterval, 'sessionTouchInterval', defaultTouchInterval);
  if (sessionIdleDuration !== undefined && sessionTouchInterval >= sessionIdleDuration) {
    fail('sessionTouchInterval', `must be shorter than sessionIdleDuration (${sessionIdleDuration} s), or a session in use would expire before its next touch`);
  }
  const sessionStorage = config.sessionStorage ?? 'cookie';
  if (sessionStorage !== 'cookie' && sessionStorage !== 'store') fail('sessionStorage', 'must be "cookie" or "store"');
  if (config.session !== undefined && typeof config.session !== 'function') {
    fail('session', 'must be the express-session middleware, session({ ... }); the session\'s own settings are sessionDuration, sessionIdleDuration, sessionStorage and cookie (express-openid-connect\'s session.absoluteDuration, rollingDuration and cookie)');
  }
  return {
    secrets: Object.freeze([...secrets]),
    cookie: Object.freeze({ name: cookieName, domain: cookieIn.domain, sameSite, secure }),
    sessionDuration: assertSeconds(config.sessionDuration, 'sessionDuration', 7 * 24 * 3600, 1),
    sessionIdleDuration,
    sessionTouchInterval,
    sessionStorage,
    session: config.session,
    storeTimeout: assertSeconds(config.storeTimeout, 'storeTimeout', 5, 0.001),
    autoRefresh: assertBoolean(config.autoRefresh, 'autoRefresh', true),
    refreshMargin: assertSeconds(config.refreshMargin, 'refreshMargin', 60),
    refreshLock: refreshLockOption(config.refreshLock, sessionStorage),
    identityClaimFilter: identityClaimFilterOf(config.identityClaimFilter),
  } as const;
}

/**
 * Checks `authCallback()`'s configuration and fills in the defaults.
 *
 * @param config - the options given to `authCallback()`
 * @returns the frozen, resolved options
 * @throws ConfigurationError (a `TypeError`, `code` `ERR_INVALID_OPTION`) naming the bad key,
 *   e.g. `authCallback(): option "secret" must be at least 32 characters`
 */
export function resolveOptions(config: AuthCallbackConfig): ResolvedOptions {
  if (config === null || typeof config !== 'object') {
    throw new ConfigurationError('authCallback(): expected an options object: authCallback({ issuer, clientId, baseURL, secret })', '');
  }
  checkOptionNames(config);
  const provider = resolveProvider(config);
  assertString(config.baseURL, 'baseURL');
  const baseURL = parseAbsoluteUrl(config.baseURL, 'baseURL');
  return Object.freeze({ ...provider, ...resolveLogin(config, baseURL), ...resolveSession(config, baseURL), ...resolveHooks(config) });
}

/** The `refreshLock` option: the app's lease, its Redis client's, `false`, or `'auto'` (unset). */
function refreshLockOption(given: unknown, sessionStorage: 'cookie' | 'store'): RefreshLock | 'auto' | false {
  if (given === undefined) return 'auto';
  if (given === false) return false;
  if (sessionStorage !== 'store') {
    fail('refreshLock', 'needs sessionStorage: \'store\' (cookie sessions have no shared record to hand a refresh\'s tokens over): remove it, or set sessionStorage: \'store\'');
  }
  if (isRedisClient(given)) {
    return redisLock(given) ?? fail('refreshLock', 'is a node-redis client in legacyMode without client.v4, whose callback commands cannot say whether a lease was taken: give a client without legacyMode (or its client.v4)');
  }
  if (isRefreshLock(given)) return given;
  return fail('refreshLock', 'must be a node-redis or ioredis client, an object with acquire(key, token, ttlMs) and release(key, token), or false');
}

/** `attemptSilentLogin`, which sends `prompt=none`: not with another `prompt` the app fixed. */
function silentLoginOf(given: unknown, authorizationParams: Readonly<Record<string, string>>): boolean {
  const on = assertBoolean(given, 'attemptSilentLogin', false);
  if (on && authorizationParams.prompt !== undefined && authorizationParams.prompt !== 'none') {
    fail('attemptSilentLogin', `cannot send prompt=none while authorizationParams fixes prompt to "${authorizationParams.prompt}": remove one of them`);
  }
  return on;
}

/**
 * The `events` option: an object of listeners, each a function when set (its names were checked
 * by `checkOptionNames()`), copied and frozen.
 */
function eventsOf(given: unknown): Readonly<AuthCallbackEvents> {
  if (given === undefined) return Object.freeze({});
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    fail('events', 'must be an object of listeners, e.g. { login: (event) => logins.inc() }');
  }
  const listeners: Record<string, unknown> = {};
  for (const [name, listener] of Object.entries(given)) {
    if (listener === undefined) continue;
    if (typeof listener !== 'function') fail(`events.${name}`, `must be a function (event, req) => void (got ${listener === null ? 'null' : typeof listener})`);
    listeners[name] = listener;
  }
  return Object.freeze(listeners) as Readonly<AuthCallbackEvents>;
}

/** The app's hooks and listeners (functions, when set) and the logout options. */
function resolveHooks(config: AuthCallbackConfig) {
  for (const key of ['loginState', 'afterCallback'] as const) {
    if (config[key] !== undefined && typeof config[key] !== 'function') fail(key, 'must be a function');
  }
  return {
    loginState: config.loginState,
    afterCallback: config.afterCallback,
    events: eventsOf(config.events),
    idpLogout: assertBoolean(config.idpLogout, 'idpLogout', true),
    logoutParams: checkLogoutParams(config.logoutParams, 'logoutParams', fail),
  } as const;
}

/** Checks an `adapter` and the options that cannot go with it. */
function checkAdapter(adapter: ProviderAdapter, config: AuthCallbackConfig): void {
  if (adapter === null || typeof adapter !== 'object' || typeof adapter.issuer !== 'string'
    || typeof adapter.authorizationUrl !== 'function' || typeof adapter.exchangeCode !== 'function') {
    fail('adapter', 'must be a ProviderAdapter: { issuer, authorizationUrl(), exchangeCode() }, e.g. workos()');
  }
  parseAbsoluteUrl(adapter.issuer, 'adapter.issuer');
  for (const key of OPENID_ONLY_OPTIONS) {
    if (config[key] !== undefined && config[key] !== false) fail(key, 'needs an OpenID Provider: it cannot be used with adapter');
  }
  if (config.routes?.backchannelLogout !== undefined && config.routes.backchannelLogout !== false) {
    fail('routes.backchannelLogout', 'needs an OpenID Provider: it cannot be used with adapter');
  }
  if (config.authorizationParams?.max_age !== undefined) {
    fail('authorizationParams.max_age', 'needs an OpenID Provider (an ID token\'s auth_time proves it): it cannot be used with adapter');
  }
}
