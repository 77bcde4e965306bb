/**
 * Unit tests of lib/config/option-names.ts and the options of issue 14: an unknown option is a
 * `ConfigurationError` naming it (a slip, or express-openid-connect's name, would otherwise be
 * ignored: an app that sets `authRequired: true` would protect nothing), with the closest name
 * or what to do instead; the hooks, logout and silent-login options (issue 14) and the `events`
 * listeners (issue 15) are checked at start-up.
 */
import { describe, expect, test } from '@jest/globals';
import { resolveOptions } from '../../lib/config/resolve-options.js';
import type { AuthCallbackConfig } from '../../lib/config/options.js';
import { ConfigurationError, ERR_INVALID_OPTION } from '../../lib/errors.js';
import { PROTOCOL_CLAIMS } from '../../lib/session/user-claims.js';

const BASE = { issuer: 'https://op.example', clientId: 'my-client', baseURL: 'https://app.example', secret: 'a-secret-of-at-least-thirty-two-characters' };

function config(extra: Record<string, unknown>): AuthCallbackConfig {
  return { ...BASE, ...extra } as unknown as AuthCallbackConfig;
}

/** The ConfigurationError `resolveOptions()` throws for `extra`. */
function refusal(extra: Record<string, unknown>): ConfigurationError {
  try {
    resolveOptions(config(extra));
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as ConfigurationError).code).toBe(ERR_INVALID_OPTION);
    return err as ConfigurationError;
  }
  throw new Error(`resolveOptions() accepted ${JSON.stringify(extra)}`);
}

describe('an unknown option is refused, naming it', () => {
  test.each<[Record<string, unknown>, string, RegExp]>([
    [{ sesionDuration: 3600 }, 'sesionDuration', /did you mean "sessionDuration"\?/],
    [{ clientid: 'x' }, 'clientid', /did you mean "clientId"\?/],
    [{ baseUrl: 'https://app.example' }, 'baseUrl', /did you mean "baseURL"\?/],
    [{ routes: { logut: '/bye' } }, 'routes.logut', /did you mean "routes.logout"\?/],
    [{ cookie: { samesite: 'lax' } }, 'cookie.samesite', /did you mean "cookie.sameSite"\?/],
    [{ cookie: { secure: true } }, 'cookie.secure', /the cookie options are name, domain, sameSite/],
    [{ tenants: { issuer: () => undefined, cachesize: 3 } }, 'tenants.cachesize', /did you mean "tenants.cacheSize"\?/],
    [{ frobnicate: true }, 'frobnicate', /is not an option: the options are issuer, tenants/],
  ])('%j → %s', (extra, option, message) => {
    const err = refusal(extra);
    expect(err.option).toBe(option);
    expect(err.message).toContain(`option "${option}"`);
    expect(err.message).toMatch(message);
  });

  test.each<[string, unknown, RegExp]>([
    ['authRequired', true, /put requireAuth\(\) on the routes to protect/],
    ['auth0Logout', true, /idpLogout/],
    ['clientID', 'x', /"clientId"/],
    ['issuerBaseURL', 'https://op.example', /"issuer"/],
    ['errorOnRequiredAuth', true, /requireAuth\(\{ redirect: false \}\)/],
    ['getLoginState', () => ({}), /README/],
    ['clientAssertionSigningKey', 'pem', /"clientPrivateKey"/],
    ['backchannelLogout', true, /routes.backchannelLogout/],
  ])('express-openid-connect\'s %s says what to use here', (name, value, message) => {
    const err = refusal({ [name]: value });
    expect(err.option).toBe(name);
    expect(err.message).toMatch(message);
  });

  test('express-openid-connect\'s session settings object says where they are here', () => {
    expect(refusal({ session: { rolling: true, absoluteDuration: 60 } }).message).toMatch(/sessionDuration, sessionIdleDuration/);
  });

  test('authorizationParams is the provider\'s to define: any name is accepted', () => {
    expect(resolveOptions(config({ authorizationParams: { audience: 'https://api', frobnicate: 'x' } })).authorizationParams).toMatchObject({ frobnicate: 'x' });
  });
});

describe('the options of issue 14 are checked at start-up', () => {
  test.each<[Record<string, unknown>, string]>([
    [{ afterCallback: 'yes' }, 'afterCallback'],
    [{ loginState: {} }, 'loginState'],
    [{ idpLogout: 'false' }, 'idpLogout'],
    [{ logoutParams: 'federated' }, 'logoutParams'],
    [{ logoutParams: { federated: true } }, 'logoutParams.federated'],
    [{ logoutParams: { state: 'mine' } }, 'logoutParams.state'],
    [{ logoutParams: { id_token_hint: 'x' } }, 'logoutParams.id_token_hint'],
    [{ logoutParams: { post_logout_redirect_uri: 'https://evil.example' } }, 'logoutParams.post_logout_redirect_uri'],
    [{ attemptSilentLogin: 1 }, 'attemptSilentLogin'],
    [{ attemptSilentLogin: true, authorizationParams: { prompt: 'login' } }, 'attemptSilentLogin'],
    [{ identityClaimFilter: 'iss' }, 'identityClaimFilter'],
    [{ identityClaimFilter: ['iss', 'sub'] }, 'identityClaimFilter'],
  ])('%j → option "%s"', (extra, option) => {
    expect(refusal(extra).option).toBe(option);
  });

  test('the defaults: idpLogout on, no logoutParams, no silent login, the protocol claims filtered, no hooks', () => {
    const options = resolveOptions(config({}));
    expect(options).toMatchObject({ idpLogout: true, logoutParams: {}, attemptSilentLogin: false, loginState: undefined, afterCallback: undefined });
    expect([...options.identityClaimFilter]).toEqual([...PROTOCOL_CLAIMS]);
    expect([...options.identityClaimFilter]).toEqual(expect.arrayContaining(['iss', 'aud', 'exp', 'iat', 'nonce', 'at_hash', 'c_hash', 'azp', 'auth_time', 'sid']));
    expect(options.identityClaimFilter.has('sub')).toBe(false);
  });

  test('accepted values are kept: attemptSilentLogin with prompt none fixed, logoutParams of the app\'s own, an empty filter', () => {
    const options = resolveOptions(config({
      attemptSilentLogin: true, authorizationParams: { prompt: 'none' }, logoutParams: { federated: '', ui_locales: 'fr' }, identityClaimFilter: [],
    }));
    expect(options).toMatchObject({ attemptSilentLogin: true, logoutParams: { federated: '', ui_locales: 'fr' } });
    expect(options.identityClaimFilter.size).toBe(0);
  });

  test('attemptSilentLogin is refused with an adapter (prompt=none is OpenID Connect\'s)', () => {
    const adapter = { issuer: 'https://api.workos.com', authorizationUrl: () => new URL('https://x'), exchangeCode: () => Promise.resolve({}) };
    expect(() => resolveOptions({ ...BASE, issuer: undefined, adapter, attemptSilentLogin: true } as unknown as AuthCallbackConfig)).toThrow(/option "attemptSilentLogin" needs an OpenID Provider/);
  });
});

describe('events (issue 15): listeners, checked at start-up', () => {
  test.each<[string, Record<string, unknown>, RegExp]>([
    ['events.login', { events: { login: 'count' } }, /must be a function \(event, req\) => void \(got string\)/],
    ['events.sessionExpired', { events: { sessionExpired: null } }, /must be a function .*\(got null\)/],
    ['events.refreshFailed', { events: { refreshFailed: { handleEvent() {} } } }, /must be a function .*\(got object\)/],
    ['events', { events: () => undefined }, /must be an object of listeners/],
    ['events', { events: [() => undefined] }, /must be an object of listeners/],
    ['events', { events: null }, /must be an object of listeners/],
    ['events.logn', { events: { logn: () => undefined } }, /did you mean "events.login"\?/],
    ['events.sessionEnded', { events: { sessionEnded: () => undefined } }, /did you mean "events.sessionExpired"\?/],
    ['events.error', { events: { error: () => undefined } }, /the events options are login, loginFailed, refresh, refreshFailed, logout, backchannelLogout, sessionExpired/],
  ])('option "%s" refused', (option, extra, message) => {
    const err = refusal(extra);
    expect(err.option).toBe(option);
    expect(err.message).toMatch(message);
  });

  test('the listeners given are kept, frozen, undefined ones left out; none by default', () => {
    const login = (): void => undefined;
    const sessionExpired = (): void => undefined;
    const events = resolveOptions(config({ events: { login, sessionExpired, logout: undefined } })).events;
    expect(events).toEqual({ login, sessionExpired });
    expect(Object.isFrozen(events)).toBe(true);
    expect(resolveOptions(config({})).events).toEqual({});
  });

  test('an async function is a function: accepted (what it rejects with is caught at the call)', () => {
    const refresh = async (): Promise<void> => undefined;
    expect(resolveOptions(config({ events: { refresh } })).events.refresh).toBe(refresh);
  });
});
