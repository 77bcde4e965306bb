/**
 * The names `authCallback()` accepts. A misspelt option (`sesionDuration`) or one of another
 * library (express-openid-connect's `authRequired`) would otherwise be ignored without a word,
 * and an app that believes it set `authRequired: true` protects nothing: an unknown name is a
 * {@link ConfigurationError} naming it, with the closest known name or the way this package
 * does the same thing.
 *
 * @packageDocumentation
 */
import { ConfigurationError } from '../errors.js';
import type { ClientCertificate } from './client-options.js';
import type { AuthCallbackEvents } from './event-options.js';
import type { RoutesConfig } from './login-options.js';
import type { AuthCallbackConfig } from './options.js';
import type { CookieConfig } from './session-options.js';
import type { TenantsConfig } from './tenants.js';

/** Every key of `T`, once: the compiler fails here when an option is added without its name. */
type Names<T> = { readonly [K in keyof Required<T>]: true };

const TOP_LEVEL: Names<AuthCallbackConfig> = {
  issuer: true, tenants: true, adapter: true, clientId: true, baseURL: true, secret: true,
  clientSecret: true, clientAuthMethod: true, clientPrivateKey: true, clientKeyId: true, clientAssertionAlg: true,
  clientCertificate: true, customFetch: true, idTokenSigningAlg: true, clockTolerance: true, httpTimeout: true,
  allowInsecureRequests: true, dpop: true, dpopAlg: true, fetchUserInfo: true, pushedAuthorizationRequests: true,
  scope: true, routes: true, authorizationParams: true, loginParams: true, responseMode: true, transactionDuration: true,
  sessionDuration: true, sessionIdleDuration: true, sessionTouchInterval: true, sessionStorage: true, session: true,
  storeTimeout: true, autoRefresh: true, refreshMargin: true, cookie: true, identityClaimFilter: true,
  loginState: true, afterCallback: true, idpLogout: true, logoutParams: true, attemptSilentLogin: true,
  requestObject: true, tokenEndpointParams: true, refreshParams: true, events: true,
};
const ROUTES: Names<RoutesConfig> = { login: true, callback: true, logout: true, backchannelLogout: true };
const COOKIE: Names<CookieConfig> = { name: true, domain: true, sameSite: true };
const TENANTS: Names<TenantsConfig> = { issuer: true, client: true, cacheSize: true, allowSharedCallback: true };
const CLIENT_CERTIFICATE: Names<ClientCertificate> = { cert: true, key: true, passphrase: true, ca: true };
const EVENTS: Names<AuthCallbackEvents> = {
  login: true, loginFailed: true, refresh: true, refreshFailed: true, logout: true, backchannelLogout: true, sessionExpired: true,
};

/**
 * express-openid-connect's options (and a few common slips) that are not names here, with what
 * to do instead. Checked before the spelling suggestions.
 */
const INSTEAD: Readonly<Record<string, string>> = {
  authRequired: 'is express-openid-connect\'s: here nothing is protected by default; put requireAuth() on the routes to protect (app.use(\'/admin\', requireAuth()), or app.use(requireAuth()) for every route after it)',
  auth0Logout: 'is express-openid-connect\'s: logout goes to the provider\'s end_session_endpoint whenever it has one (idpLogout, default true); Auth0 publishes one when RP-Initiated Logout is enabled for the tenant',
  clientID: 'is spelt "clientId" here',
  issuerBaseURL: 'is spelt "issuer" here: the issuer identifier, e.g. https://tenant.example.com/',
  errorOnRequiredAuth: 'is express-openid-connect\'s: use requireAuth({ redirect: false }) for a 401 instead of the login redirect',
  getLoginState: 'is express-openid-connect\'s: see the "Coming from express-openid-connect" section of the README',
  clientAssertionSigningKey: 'is spelt "clientPrivateKey" here',
  clientAssertionSigningAlg: 'is spelt "clientAssertionAlg" here',
  enableTelemetry: 'is express-openid-connect\'s: this package sends no telemetry',
  httpUserAgent: 'is express-openid-connect\'s: the User-Agent names this package and its version',
  httpAgent: 'is express-openid-connect\'s: give a customFetch instead (e.g. one using an undici Agent)',
  discoveryCacheMaxAge: 'is express-openid-connect\'s: the issuer\'s metadata is discovered once per authCallback() and again after a failure',
  legacySameSiteCookie: 'is express-openid-connect\'s: no fallback cookie is needed, every supported browser knows SameSite',
  transactionCookie: 'is express-openid-connect\'s: pending logins are sealed cookies named after the session cookie (cookie.name)',
  backchannelLogout: 'is express-openid-connect\'s: set routes.backchannelLogout (e.g. \'/backchannel-logout\') and mount express-session',
};

/** Levenshtein distance of `a` and `b`, case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let previous = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const current = [i];
    for (let j = 1; j <= y.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[y.length]!;
}

/** The known name closest to `name`, when it is close enough to be a slip (at most a third of its letters differ). */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** @throws ConfigurationError for the first key of `given` that `known` lacks. */
function checkNames(given: unknown, known: Readonly<Record<string, true>>, prefix: string): void {
  if (given === null || typeof given !== 'object' || Array.isArray(given)) return; // the option's own check says what it must be
  const names = Object.keys(known);
  for (const key of Object.keys(given)) {
    if (Object.hasOwn(known, key)) continue;
    const option = prefix + key;
    const instead = prefix === '' ? INSTEAD[key] : undefined;
    const suggestion = closest(key, names);
    const fix = instead ?? (suggestion === undefined
      ? `is not an option: the ${prefix === '' ? '' : `${prefix.slice(0, -1)} `}options are ${names.join(', ')}`
      : `is not an option: did you mean "${prefix}${suggestion}"?`);
    throw new ConfigurationError(`authCallback(): option "${option}" ${fix}`, option);
  }
}

/**
 * Refuses a key `authCallback()` does not know, at the top level and in `routes`, `cookie`,
 * `tenants`, `clientCertificate` and `events` (`authorizationParams` is the provider's to define).
 *
 * @throws ConfigurationError (`ERR_INVALID_OPTION`) naming the key and the closest known name,
 *   e.g. `option "sesionDuration" is not an option: did you mean "sessionDuration"?`
 */
export function checkOptionNames(config: object): void {
  checkNames(config, TOP_LEVEL, '');
  const { routes, cookie, tenants, clientCertificate, events } = config as AuthCallbackConfig;
  checkNames(routes, ROUTES, 'routes.');
  checkNames(cookie, COOKIE, 'cookie.');
  checkNames(tenants, TENANTS, 'tenants.');
  checkNames(clientCertificate, CLIENT_CERTIFICATE, 'clientCertificate.');
  checkNames(events, EVENTS, 'events.');
}
