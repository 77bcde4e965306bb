/**
 * Unit tests of lib/config/resolve-options.ts: every bad option is a `TypeError` naming its key,
 * at start-up; every default is filled in; `redirectUri` is `baseURL` + `routes.callback`.
 */
import { maxHeaderSize } from 'node:http';
import { describe, expect, test } from '@jest/globals';
import { MAX_SEALED_SESSION_BYTES } from '../../lib/session/cookie-storage.js';
import { MIN_SECRET_LENGTH, resolveOptions } from '../../lib/config/resolve-options.js';
import { type AuthCallbackConfig } from '../../lib/config/options.js';
import { MAX_PENDING_TRANSACTIONS, MAX_TRANSACTION_COOKIE_BYTES } from '../../lib/transaction/transaction.js';
import { expectTypeError } from '../support/expect-error.js';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const OTHER_SECRET = 'another-secret-of-at-least-thirty-two-chars';

/** A valid configuration, with `overrides` applied (an `undefined` override removes the key). */
function config(overrides: Record<string, unknown> = {}): AuthCallbackConfig {
  const base: Record<string, unknown> = {
    issuer: 'https://op.example',
    clientId: 'my-client',
    baseURL: 'https://app.example',
    secret: SECRET,
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete base[key];
    else base[key] = value;
  }
  return base as unknown as AuthCallbackConfig;
}

/** Asserts that `resolveOptions(cfg)` throws a `TypeError` whose message names `key`. */
function expectOptionError(cfg: AuthCallbackConfig, key: string): void {
  expectTypeError(() => resolveOptions(cfg), `option "${key}"`);
}

describe('resolveOptions(): required options', () => {
  test('a non-object configuration is a TypeError', () => {
    expect(() => resolveOptions(undefined as unknown as AuthCallbackConfig)).toThrow(TypeError);
    expect(() => resolveOptions(null as unknown as AuthCallbackConfig)).toThrow(TypeError);
    expect(() => resolveOptions('https://op.example' as unknown as AuthCallbackConfig)).toThrow(TypeError);
  });

  test.each(['issuer', 'clientId', 'baseURL', 'secret'])('a missing "%s" is refused, naming the key', (key) => {
    expectOptionError(config({ [key]: undefined }), key);
  });

  test.each(['issuer', 'clientId', 'baseURL'])('an empty "%s" is refused, naming the key', (key) => {
    expectOptionError(config({ [key]: '' }), key);
  });

  test.each(['issuer', 'clientId', 'baseURL'])('a non-string "%s" is refused, naming the key', (key) => {
    expectOptionError(config({ [key]: 42 }), key);
  });

  test('an empty clientSecret is refused; an absent one makes a public client', () => {
    expectOptionError(config({ clientSecret: '' }), 'clientSecret');
    expect(resolveOptions(config()).clientSecret).toBeUndefined();
    expect(resolveOptions(config({ clientSecret: 's3cr3t' })).clientSecret).toBe('s3cr3t');
  });

  test('a valid minimal configuration resolves', () => {
    const options = resolveOptions(config());
    expect(options.issuer!.href).toBe('https://op.example/');
    expect(options.clientId).toBe('my-client');
    expect(options.baseURL.href).toBe('https://app.example/');
  });
});

describe('resolveOptions(): secret', () => {
  test(`a secret shorter than ${MIN_SECRET_LENGTH} characters is refused`, () => {
    expectOptionError(config({ secret: 'x'.repeat(MIN_SECRET_LENGTH - 1) }), 'secret');
  });

  test(`a secret of exactly ${MIN_SECRET_LENGTH} characters is accepted`, () => {
    const secret = 'x'.repeat(MIN_SECRET_LENGTH);
    expect(resolveOptions(config({ secret })).secrets).toEqual([secret]);
  });

  test('a short secret inside an array is refused', () => {
    expectOptionError(config({ secret: [SECRET, 'too-short'] }), 'secret');
    expectOptionError(config({ secret: ['too-short', SECRET] }), 'secret');
  });

  test('an empty secret array is refused', () => {
    expectOptionError(config({ secret: [] }), 'secret');
  });

  test('a non-string secret (alone or in an array) is refused', () => {
    expectOptionError(config({ secret: 1e40 }), 'secret');
    expectOptionError(config({ secret: [SECRET, { toString: () => SECRET }] }), 'secret');
  });

  test('an array of secrets is kept in order (the first seals, every one opens)', () => {
    const options = resolveOptions(config({ secret: [SECRET, OTHER_SECRET] }));
    expect(options.secrets).toEqual([SECRET, OTHER_SECRET]);
  });

  test('a single secret string becomes a one-element list', () => {
    expect(resolveOptions(config()).secrets).toEqual([SECRET]);
  });

  test('the resolved secrets are a copy, not the caller\'s array', () => {
    const secrets = [SECRET];
    const options = resolveOptions(config({ secret: secrets }));
    secrets.push(OTHER_SECRET);
    expect(options.secrets).toEqual([SECRET]);
  });
});

describe('resolveOptions(): baseURL', () => {
  test.each(['localhost:3000', 'ftp://x', '/path', 'app.example', 'javascript:alert(1)', 'file:///etc/passwd'])(
    'a baseURL that is not an absolute http(s) URL is refused: %s',
    (baseURL) => {
      expectOptionError(config({ baseURL }), 'baseURL');
    },
  );

  test('a baseURL with credentials, a query or a fragment is refused', () => {
    expectOptionError(config({ baseURL: 'https://user:pass@app.example' }), 'baseURL');
    expectOptionError(config({ baseURL: 'https://app.example/?x=1' }), 'baseURL');
    expectOptionError(config({ baseURL: 'https://app.example/#x' }), 'baseURL');
  });

  test('an http baseURL is accepted (the cookie is then not Secure)', () => {
    const options = resolveOptions(config({ baseURL: 'http://localhost:3000' }));
    expect(options.baseURL.href).toBe('http://localhost:3000/');
    expect(options.cookie.secure).toBe(false);
  });

  test('postLogoutRedirectUri is baseURL exactly as configured', () => {
    expect(resolveOptions(config({ baseURL: 'https://app.example' })).postLogoutRedirectUri).toBe('https://app.example');
    expect(resolveOptions(config({ baseURL: 'https://app.example/app/' })).postLogoutRedirectUri).toBe('https://app.example/app/');
  });
});

describe('resolveOptions(): redirectUri = baseURL + routes.callback (RFC 6749 §3.1.2)', () => {
  test.each([
    ['https://x.example', 'https://x.example/callback'],
    ['https://x.example/', 'https://x.example/callback'],
    ['https://x.example/app', 'https://x.example/app/callback'],
    ['https://x.example/app/', 'https://x.example/app/callback'],
    ['https://x.example/a/b//', 'https://x.example/a/b/callback'],
    ['http://localhost:3000', 'http://localhost:3000/callback'],
  ])('baseURL %s gives redirect_uri %s', (baseURL, redirectUri) => {
    expect(resolveOptions(config({ baseURL })).redirectUri.href).toBe(redirectUri);
  });

  test('a custom callback route is appended to the baseURL path prefix', () => {
    const options = resolveOptions(config({ baseURL: 'https://x.example/app/', routes: { callback: '/auth/cb' } }));
    expect(options.redirectUri.href).toBe('https://x.example/app/auth/cb');
  });

  test('basePath is baseURL\'s path without a trailing slash ("" for a root baseURL)', () => {
    expect(resolveOptions(config({ baseURL: 'https://x.example' })).basePath).toBe('');
    expect(resolveOptions(config({ baseURL: 'https://x.example/' })).basePath).toBe('');
    expect(resolveOptions(config({ baseURL: 'https://x.example/app/' })).basePath).toBe('/app');
  });
});

describe('resolveOptions(): issuer', () => {
  test('an https issuer is accepted and is not insecure', () => {
    expect(resolveOptions(config({ issuer: 'https://op.example/tenant' })).insecureIssuer).toBe(false);
  });

  test.each(['op.example', '/issuer', 'ftp://op.example'])('an issuer that is not an absolute http(s) URL is refused: %s', (issuer) => {
    expectOptionError(config({ issuer }), 'issuer');
  });

  test('an issuer with a query or a fragment is refused', () => {
    expectOptionError(config({ issuer: 'https://op.example/?tenant=1' }), 'issuer');
    expectOptionError(config({ issuer: 'https://op.example/#x' }), 'issuer');
  });

  test.each(['http://op.example', 'http://10.0.0.5:8080', 'http://localhost.evil.example', 'http://127.0.0.1.nip.io'])(
    'an http issuer on a non-loopback host is refused: %s',
    (issuer) => {
      expectOptionError(config({ issuer }), 'issuer');
    },
  );

  test('an http issuer on a non-loopback host is accepted with allowInsecureRequests: true', () => {
    const options = resolveOptions(config({ issuer: 'http://op.example', allowInsecureRequests: true }));
    expect(options.issuer!.href).toBe('http://op.example/');
    expect(options.insecureIssuer).toBe(true);
  });

  test('allowInsecureRequests: false still refuses an http issuer on a non-loopback host', () => {
    expectOptionError(config({ issuer: 'http://op.example', allowInsecureRequests: false }), 'issuer');
  });

  test('a non-boolean allowInsecureRequests is refused', () => {
    expectOptionError(config({ issuer: 'http://op.example', allowInsecureRequests: 'yes' }), 'allowInsecureRequests');
  });

  test.each([
    'http://localhost',
    'http://localhost:4000/oidc',
    'http://op.localhost:4000',
    'http://127.0.0.1:4000',
    'http://127.1.2.3',
    'http://[::1]:4000',
    'http://[0:0:0:0:0:0:0:1]',
  ])('an http issuer on a loopback host is accepted without allowInsecureRequests: %s', (issuer) => {
    const options = resolveOptions(config({ issuer }));
    expect(options.issuer!.protocol).toBe('http:');
    expect(options.insecureIssuer).toBe(true);
  });
});

describe('resolveOptions(): scope', () => {
  test('the default scope is "openid profile email"', () => {
    expect(resolveOptions(config()).scope).toBe('openid profile email');
  });

  test.each(['openid', 'profile openid', 'openid offline_access'])('a scope containing "openid" is kept: %s', (scope) => {
    expect(resolveOptions(config({ scope })).scope).toBe(scope);
  });

  test.each(['profile email', '', 'openidx profile', 'open id', 'OPENID'])('a scope without "openid" is refused: %j', (scope) => {
    expectOptionError(config({ scope }), 'scope');
  });

  test('a non-string scope is refused', () => {
    expectOptionError(config({ scope: ['openid'] }), 'scope');
  });
});

describe('resolveOptions(): routes', () => {
  test('the default routes are /login, /callback and /logout', () => {
    expect(resolveOptions(config()).routes).toEqual({ login: '/login', callback: '/callback', logout: '/logout', backchannelLogout: false });
  });

  test('custom routes are kept; login and logout may be false', () => {
    const options = resolveOptions(config({ routes: { login: '/auth/in', callback: '/auth/cb', logout: false } }));
    expect(options.routes).toEqual({ login: '/auth/in', callback: '/auth/cb', logout: false, backchannelLogout: false });
    expect(resolveOptions(config({ routes: { login: false } })).routes.login).toBe(false);
  });

  test.each([
    ['login', 'login'],
    ['login', '//evil.example'],
    ['callback', 'callback'],
    ['callback', '//x'],
    ['callback', ''],
    ['logout', 'https://app.example/logout'],
    ['logout', '/log out'],
    ['login', '/login?x=1'],
    ['login', '/login#x'],
    ['login', '/\\login'],
  ])('routes.%s = %j is refused (a path must start with a single "/")', (route, path) => {
    expectOptionError(config({ routes: { [route]: path } }), `routes.${route}`);
  });

  test('routes.callback cannot be false (the callback is the redirect_uri)', () => {
    expectOptionError(config({ routes: { callback: false } }), 'routes.callback');
  });

  test('routes.login cannot be true or a number', () => {
    expectOptionError(config({ routes: { login: true } }), 'routes.login');
    expectOptionError(config({ routes: { logout: 1 } }), 'routes.logout');
  });

  test.each([
    [{ login: '/callback' }],
    [{ logout: '/login' }],
    [{ login: '/auth', callback: '/auth' }],
    [{ login: '/x', logout: '/x' }],
  ])('two routes on the same path are refused: %j', (routes) => {
    expectOptionError(config({ routes }), 'routes');
  });

  test('login and logout both false leave no duplicate', () => {
    expect(resolveOptions(config({ routes: { login: false, logout: false } })).routes).toEqual({ login: false, callback: '/callback', logout: false, backchannelLogout: false });
  });

  test('a non-object routes is refused', () => {
    expectOptionError(config({ routes: '/login' }), 'routes');
  });
});

describe('resolveOptions(): authorizationParams', () => {
  test('extra parameters are kept (e.g. audience, prompt)', () => {
    const options = resolveOptions(config({ authorizationParams: { audience: 'https://api', prompt: 'login' } }));
    expect(options.authorizationParams).toEqual({ audience: 'https://api', prompt: 'login' });
  });

  test('the default is no extra parameter', () => {
    expect(resolveOptions(config()).authorizationParams).toEqual({});
  });

  test.each([
    'state',
    'nonce',
    'redirect_uri',
    'response_type',
    'client_id',
    'scope',
    'code_challenge',
    'code_challenge_method',
    'response_mode',
    'request',
    'request_uri',
  ])('the protocol parameter "%s" cannot be overridden', (param) => {
    expectOptionError(config({ authorizationParams: { [param]: 'x' } }), `authorizationParams.${param}`);
  });

  test('a non-string parameter value is refused', () => {
    expectOptionError(config({ authorizationParams: { max_age: 300 } }), 'authorizationParams.max_age');
  });

  test('max_age, a string of digits, is sent as given and kept as seconds for the auth_time check (OIDC Core §3.1.3.7 item 13)', () => {
    const options = resolveOptions(config({ authorizationParams: { max_age: '600' } }));
    expect(options.authorizationParams.max_age).toBe('600');
    expect(options.maxAge).toBe(600);
    expect(resolveOptions(config({ authorizationParams: { max_age: '0' } })).maxAge).toBe(0);
  });

  test('without max_age, no auth_time check is asked for', () => {
    expect(resolveOptions(config()).maxAge).toBeUndefined();
  });

  test.each(['', '-1', '1.5', '1e3', ' 60', '60s', '12345678901'])('a max_age that is not a whole number of seconds is refused: "%s"', (value) => {
    expectOptionError(config({ authorizationParams: { max_age: value } }), 'authorizationParams.max_age');
  });
});

describe('resolveOptions(): fetchUserInfo', () => {
  test('is off by default', () => {
    expect(resolveOptions(config()).fetchUserInfo).toBe(false);
  });

  test('true is kept', () => {
    expect(resolveOptions(config({ fetchUserInfo: true })).fetchUserInfo).toBe(true);
  });

  test.each(['yes', 1, {}])('a non-boolean is refused: %p', (value) => {
    expectOptionError(config({ fetchUserInfo: value }), 'fetchUserInfo');
  });
});

describe('resolveOptions(): responseMode', () => {
  test('is query by default; form_post is kept', () => {
    expect(resolveOptions(config()).responseMode).toBe('query');
    expect(resolveOptions(config({ responseMode: 'form_post' })).responseMode).toBe('form_post');
  });

  test.each(['fragment', 'jwt', 'FORM_POST', 1])('anything else is refused: %p', (value) => {
    expectOptionError(config({ responseMode: value }), 'responseMode');
  });
});

describe('resolveOptions(): issuerIdentifier', () => {
  test.each(['https://op.example', 'https://op.example/', 'https://op.example/tenant/'])('is the issuer exactly as configured: %s', (issuer) => {
    expect(resolveOptions(config({ issuer })).issuerIdentifier).toBe(issuer);
  });
});

describe('resolveOptions(): idTokenSigningAlg (OpenID Connect Core 1.0 §15.1)', () => {
  test('the default is RS256', () => {
    expect(resolveOptions(config()).idTokenSigningAlg).toBe('RS256');
  });

  test.each(['ES256', 'PS256', 'RS512', 'EdDSA'])('the asymmetric algorithm %s is accepted', (alg) => {
    expect(resolveOptions(config({ idTokenSigningAlg: alg })).idTokenSigningAlg).toBe(alg);
  });

  test.each(['none', 'HS256', 'HS384', 'HS512', 'rs256', ''])('%j is refused', (alg) => {
    expectOptionError(config({ idTokenSigningAlg: alg }), 'idTokenSigningAlg');
  });
});

describe('resolveOptions(): cookie', () => {
  test.each(['RS256', 'PS256', 'RS512'])('dpopAlg %s is refused: a key pair is generated per login, and an RSA one costs ~100 ms of CPU (a cheap DoS of /login)', (alg) => {
    expect(() => resolveOptions(config({ dpop: true, dpopAlg: alg }))).toThrow(/option "dpopAlg" must be one of ES256, ES384, ES512, Ed25519, EdDSA/);
  });

  test('the session cookie\'s share of the request headers leaves room for the browser\'s own headers and every pending-login cookie', () => {
    expect(MAX_SEALED_SESSION_BYTES + MAX_PENDING_TRANSACTIONS * MAX_TRANSACTION_COOKIE_BYTES + 4096).toBe(maxHeaderSize);
  });

  test('the defaults on https: name "__Host-oidc_session" (RFC 6265bis §4.1.3.2: no sibling subdomain can plant or shadow it), no Domain, SameSite lax, Secure', () => {
    expect(resolveOptions(config()).cookie).toEqual({ name: '__Host-oidc_session', domain: undefined, sameSite: 'lax', secure: true });
  });

  test('the default name is "oidc_session" on http, or with a cookie domain (a __Host- cookie cannot have one)', () => {
    expect(resolveOptions(config({ baseURL: 'http://localhost:3000' })).cookie.name).toBe('oidc_session');
    expect(resolveOptions(config({ cookie: { domain: 'app.example' } })).cookie.name).toBe('oidc_session');
  });

  test('Secure is set only for an https baseURL', () => {
    expect(resolveOptions(config({ baseURL: 'https://app.example' })).cookie.secure).toBe(true);
    expect(resolveOptions(config({ baseURL: 'http://app.example' })).cookie.secure).toBe(false);
  });

  test('custom cookie attributes are kept', () => {
    const options = resolveOptions(config({ cookie: { name: '__Secure-sess', domain: 'app.example', sameSite: 'strict' } }));
    expect(options.cookie).toEqual({ name: '__Secure-sess', domain: 'app.example', sameSite: 'strict', secure: true });
  });

  test('a __Host- cookie name is accepted on https without a domain (RFC 6265bis §4.1.3.2)', () => {
    expect(resolveOptions(config({ cookie: { name: '__Host-sess' } })).cookie.name).toBe('__Host-sess');
  });

  test('a __Host- cookie name with a domain is refused: browsers would drop the cookie', () => {
    expectOptionError(config({ cookie: { name: '__Host-sess', domain: 'app.example' } }), 'cookie.domain');
  });

  test.each(['__Host-sess', '__Secure-sess'])('cookie.name %j on an http baseURL is refused: it needs Secure', (name) => {
    expectOptionError(config({ baseURL: 'http://localhost:3000', cookie: { name } }), 'cookie.name');
  });

  test.each(['a b', 'a;b', 'a=b', 'a,b', 'a"b', 'a\tb', 'sess(ion)', 'caf\u00e9', 'a/b', ''])(
    'cookie.name %j is refused: not an RFC 6265 §4.1.1 token',
    (name) => {
      expectOptionError(config({ cookie: { name } }), 'cookie.name');
    },
  );

  test.each(['sess', 'my.session', 'a-b_c', "x!#$%&'*+^`|~1"])('cookie.name %j is an RFC 6265 token and is accepted', (name) => {
    expect(resolveOptions(config({ cookie: { name } })).cookie.name).toBe(name);
  });

  test('an empty cookie.domain is refused', () => {
    expectOptionError(config({ cookie: { domain: '' } }), 'cookie.domain');
  });

  test('an unknown sameSite is refused', () => {
    expectOptionError(config({ cookie: { sameSite: 'Lax' } }), 'cookie.sameSite');
    expectOptionError(config({ cookie: { sameSite: true } }), 'cookie.sameSite');
  });

  test('sameSite "none" with an http baseURL is refused (SameSite=None needs Secure)', () => {
    expectOptionError(config({ baseURL: 'http://app.example', cookie: { sameSite: 'none' } }), 'cookie.sameSite');
    expectOptionError(config({ baseURL: 'http://localhost:3000', cookie: { sameSite: 'none' } }), 'cookie.sameSite');
  });

  test('sameSite "none" with an https baseURL is accepted', () => {
    const options = resolveOptions(config({ cookie: { sameSite: 'none' } }));
    expect(options.cookie).toMatchObject({ sameSite: 'none', secure: true });
  });
});

describe('resolveOptions(): durations, in seconds', () => {
  test('the defaults: httpTimeout 10, clockTolerance 30, transactionDuration 3600, sessionDuration 604800', () => {
    const options = resolveOptions(config());
    expect(options.httpTimeout).toBe(10);
    expect(options.clockTolerance).toBe(30);
    expect(options.transactionDuration).toBe(3600);
    expect(options.sessionDuration).toBe(604800);
  });

  test('custom durations are kept', () => {
    const options = resolveOptions(config({ httpTimeout: 2.5, clockTolerance: 0, transactionDuration: 600, sessionDuration: 3600 }));
    expect(options).toMatchObject({ httpTimeout: 2.5, clockTolerance: 0, transactionDuration: 600, sessionDuration: 3600 });
  });

  const durations = ['httpTimeout', 'clockTolerance', 'transactionDuration', 'sessionDuration'];
  const bad: [string, unknown][] = [
    ['negative', -1],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '60'],
    ['null', null],
  ];
  test.each(durations.flatMap((key) => bad.map(([label, value]) => [key, label, value] as const)))(
    '%s refuses %s',
    (key, _label, value) => {
      expectOptionError(config({ [key]: value }), key);
    },
  );

  test.each(['httpTimeout', 'transactionDuration', 'sessionDuration'])('%s refuses 0', (key) => {
    expectOptionError(config({ [key]: 0 }), key);
  });
});

describe('resolveOptions(): the result', () => {
  test('is frozen, and so are its nested objects', () => {
    const options = resolveOptions(config({ authorizationParams: { prompt: 'login' } }));
    expect(Object.isFrozen(options)).toBe(true);
    expect(Object.isFrozen(options.routes)).toBe(true);
    expect(Object.isFrozen(options.cookie)).toBe(true);
    expect(Object.isFrozen(options.secrets)).toBe(true);
    expect(Object.isFrozen(options.authorizationParams)).toBe(true);
  });
});

describe('resolveOptions(): refreshLock', () => {
  const ownLock = { acquire: async () => true, release: async () => undefined };

  test('unset: \'auto\' (the lease is looked for on the store\'s client); false: none; a RefreshLock of the app\'s own is kept as given', () => {
    expect(resolveOptions(config({ sessionStorage: 'store' })).refreshLock).toBe('auto');
    expect(resolveOptions(config()).refreshLock).toBe('auto');
    expect(resolveOptions(config({ sessionStorage: 'store', refreshLock: false })).refreshLock).toBe(false);
    expect(resolveOptions(config({ refreshLock: false })).refreshLock).toBe(false);
    expect(resolveOptions(config({ sessionStorage: 'store', refreshLock: ownLock })).refreshLock).toBe(ownLock);
  });

  test.each([
    ['a string', 'redis://localhost'],
    ['true', true],
    ['an object without acquire()/release()', { set() {}, get() {} }],
    ['an acquire() without release()', { acquire: async () => true }],
  ])('refuses %s, naming what it takes', (_label, value) => {
    expectTypeError(() => resolveOptions(config({ sessionStorage: 'store', refreshLock: value })),
      'option "refreshLock" must be a node-redis or ioredis client, an object with acquire(key, token, ttlMs) and release(key, token), or false');
  });

  test('a node-redis 4 client in legacyMode without client.v4 is refused: its callback commands cannot say whether a lease was taken', () => {
    const legacy = { isOpen: true, options: { legacyMode: true }, set() {}, eval() {} };
    expectTypeError(() => resolveOptions(config({ sessionStorage: 'store', refreshLock: legacy })),
      'option "refreshLock" is a node-redis client in legacyMode without client.v4');
  });

  test('is refused with cookie sessions, which have no shared record to hand a refresh\'s tokens over', () => {
    expectTypeError(() => resolveOptions(config({ refreshLock: ownLock })), 'option "refreshLock" needs sessionStorage: \'store\'');
  });
});

describe('resolveOptions(): session life and refresh', () => {
  test('the defaults: sessionIdleDuration 86400, sessionTouchInterval 300, autoRefresh true, refreshMargin 60', () => {
    const options = resolveOptions(config());
    expect(options.sessionIdleDuration).toBe(86400);
    expect(options.sessionTouchInterval).toBe(300);
    expect(options.autoRefresh).toBe(true);
    expect(options.refreshMargin).toBe(60);
  });

  test('custom values are kept', () => {
    const options = resolveOptions(config({ sessionIdleDuration: 1800, sessionTouchInterval: 60, autoRefresh: false, refreshMargin: 0 }));
    expect(options).toMatchObject({ sessionIdleDuration: 1800, sessionTouchInterval: 60, autoRefresh: false, refreshMargin: 0 });
  });

  test('sessionIdleDuration false turns idle expiry off (undefined), and then any sessionTouchInterval is accepted', () => {
    expect(resolveOptions(config({ sessionIdleDuration: false })).sessionIdleDuration).toBeUndefined();
    expect(resolveOptions(config({ sessionIdleDuration: false, sessionTouchInterval: 1e6 })).sessionTouchInterval).toBe(1e6);
  });

  const bad: [string, unknown][] = [
    ['negative', -1],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '60'],
    ['null', null],
  ];
  test.each(['sessionIdleDuration', 'sessionTouchInterval', 'refreshMargin'].flatMap((key) => bad.map(([label, value]) => [key, label, value] as const)))(
    '%s refuses %s',
    (key, _label, value) => {
      expectOptionError(config({ [key]: value }), key);
    },
  );

  test('sessionIdleDuration refuses 0 and true (only a number of seconds, at least 1, or false)', () => {
    expectOptionError(config({ sessionIdleDuration: 0 }), 'sessionIdleDuration');
    expectOptionError(config({ sessionIdleDuration: true }), 'sessionIdleDuration');
  });

  test('sessionTouchInterval 0 (touch on every request) and refreshMargin 0 (refresh once expired) are accepted', () => {
    expect(resolveOptions(config({ sessionTouchInterval: 0 })).sessionTouchInterval).toBe(0);
    expect(resolveOptions(config({ refreshMargin: 0 })).refreshMargin).toBe(0);
  });

  test.each([['a string', 'true'], ['a number', 1]])('autoRefresh refuses %s', (_label, value) => {
    expectOptionError(config({ autoRefresh: value }), 'autoRefresh');
  });

  test('a sessionTouchInterval longer than sessionIdleDuration is refused (an active session would expire between touches); a shorter one is accepted', () => {
    expectOptionError(config({ sessionIdleDuration: 60, sessionTouchInterval: 61 }), 'sessionTouchInterval');
    expect(resolveOptions(config({ sessionIdleDuration: 60, sessionTouchInterval: 59 })).sessionTouchInterval).toBe(59);
  });

  test('a sessionTouchInterval equal to sessionIdleDuration is refused too: a session used more often than the interval is never touched, and ends at its idle expiry while in use', () => {
    expectOptionError(config({ sessionIdleDuration: 60, sessionTouchInterval: 60 }), 'sessionTouchInterval');
  });

  test.each([120, 300])('sessionIdleDuration %d without sessionTouchInterval is accepted: the default touch interval (300 s) shrinks below it', (idle) => {
    const options = resolveOptions(config({ sessionIdleDuration: idle }));
    expect(options.sessionIdleDuration).toBe(idle);
    expect(options.sessionTouchInterval).toBeLessThan(idle);
  });
});
