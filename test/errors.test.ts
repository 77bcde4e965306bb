/**
 * Unit tests of lib/errors.ts: what an error may carry from outside. A provider's `error` and
 * `error_description` (RFC 6749 §4.1.2.1) are any printable ASCII, markup included; an exposed
 * (4xx) `message` is shown to the user by the app's error handler, often as it is
 * (`res.send(err.message)`, an HTML answer), so it must never carry markup, and a `code` is only
 * ever an OAuth error token's characters.
 *
 * Then end to end, against the hostile provider: the callback's 400 for the provider's
 * `error_description="<img src=x onerror=alert(1)>…"`, sent by an app whose error handler is
 * exactly `res.status(err.status).send(err.message)`, carries no markup character. And what
 * `redacted()` keeps of an error from the provider for the logs.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express, { type NextFunction, type Request, type Response } from 'express';
import { AuthError, AuthErrorCodes, ConfigurationError, ERR_INVALID_OPTION, oauthErrorCode, plainText, redacted, redirectUriRefusal } from '../lib/errors.js';
import { authCallback, requireAuth } from '../lib/index.js';
import { Browser, type Page } from './support/browser.js';
import { startHostileProvider, type HostileProvider } from './support/hostile-provider.js';
import { serveApp, type RunningServer } from './support/http-server.js';

const CLIENT_ID = 'rp-errors-test';
const CLIENT_SECRET = 'errors-test-client-secret-0123456789abcdef';
const SECRET = 'a-test-secret-of-at-least-32-characters-0123456789';
/** The characters of markup, and those that close an HTML attribute. */
const MARKUP = ['<', '>', '&', '"', '\'', '`'];

describe('plainText(value, max): text from outside made fit for a message shown in a page', () => {
  test.each([
    ['<', 'a<b'],
    ['>', 'a>b'],
    ['&', 'a&b'],
    ['"', 'a"b'],
    ['\'', 'a\'b'],
    ['`', 'a`b'],
    ['\\', 'a\\b'],
    ['NUL', 'a\u0000b'],
    ['TAB', 'a\tb'],
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['ESC', 'a\u001bb'],
    ['US (0x1f)', 'a\u001fb'],
    ['DEL (0x7f)', 'a\u007fb'],
  ])('removes %s: it becomes one space', (_char, value) => {
    expect(plainText(value, 100)).toBe('a b');
  });

  test('each run of removed characters becomes one space', () => {
    expect(plainText('a<<>>&&""\'\'``\\\\b', 100)).toBe('a b');
    expect(plainText('a\r\n\r\nb', 100)).toBe('a b');
    expect(plainText('one<b>two</b>three', 100)).toBe('one b two /b three');
    expect(plainText('x<\t>y', 100)).toBe('x y');
  });

  test('markup never survives: <img src=x onerror=alert(1)> and a closing quote', () => {
    const out = plainText('<img src=x onerror=alert(1)>&"\'', 100);
    expect(out).toBe('img src=x onerror=alert(1)');
    for (const c of MARKUP) expect(out).not.toContain(c);
  });

  test.each([
    ['letters', 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ'],
    ['digits', '0123456789'],
    ['spaces between words', 'The user denied the request'],
    ['( ) / [ ] = ? # % : ; , . _ - + * ! @ ~', '( ) / [ ] = ? # % : ; , . _ - + * ! @ ~'],
    ['them run together', '()/[]=?#%:;,._-+*!@~'],
    ['a URL', 'https://provider.example/errors?code=42#details'],
  ])('keeps %s as they are', (_what, value) => {
    expect(plainText(value, 1000)).toBe(value);
  });

  test('cuts at max characters', () => {
    expect(plainText('abcdefghij', 4)).toBe('abcd');
    expect(plainText('abcdefghij', 10)).toBe('abcdefghij');
    expect(plainText('x'.repeat(5000), 300)).toHaveLength(300);
    expect(plainText('', 10)).toBe('');
  });

  test('trims: no space at either end, also where a removed character or the cut was', () => {
    expect(plainText('  padded  ', 100)).toBe('padded');
    expect(plainText('<b>', 100)).toBe('b');
    expect(plainText('\nline\n', 100)).toBe('line');
    expect(plainText('ab cd', 3)).toBe('ab');
    expect(plainText('<>&"', 100)).toBe('');
  });

  test('never longer than max, and never a markup character, backslash or control character, whatever the input', () => {
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let round = 0; round < 500; round++) {
      const length = next() % 80;
      let input = '';
      for (let i = 0; i < length; i++) input += String.fromCharCode(next() % 160);
      const max = 1 + (next() % 60);
      const out = plainText(input, max);
      expect(out.length).toBeLessThanOrEqual(max);
      expect(out).not.toMatch(/[<>&"'`\\]/);
      expect([...out].filter((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) >= 0x7f)).toEqual([]);
      expect(out).toBe(out.trim());
    }
  });
});

describe('oauthErrorCode(value, fallback): an OAuth error token fit to be a code (RFC 6749 §4.1.2.1, §5.2)', () => {
  test.each([
    'access_denied',
    'invalid_grant',
    'login_required',
    'a',
    'urn.example-error_2',
    'ABC.def-123_x',
    'x'.repeat(64),
  ])('accepts %j', (value) => {
    expect(oauthErrorCode(value, 'invalid_request')).toBe(value);
  });

  test.each([
    ['markup', '<b>'],
    ['a script tag', '<script>'],
    ['a space', 'access denied'],
    ['65 characters', 'x'.repeat(65)],
    ['the empty string', ''],
    ['a quote', 'access_denied"'],
    ['an ampersand', 'a&b'],
    ['a slash', 'a/b'],
    ['a trailing line feed', 'access_denied\n'],
    ['a CR/LF and a header', 'access_denied\r\nSet-Cookie: x=1'],
    ['a non-ASCII letter', 'accès_refusé'],
  ])('gives the fallback for %s', (_what, value) => {
    expect(oauthErrorCode(value, 'invalid_request')).toBe('invalid_request');
    expect(oauthErrorCode(value, 'internal_error')).toBe('internal_error');
  });

  test.each([
    ['a number', 42],
    ['null', null],
    ['undefined', undefined],
    ['an object', { toString: () => 'access_denied' }],
    ['an array', ['access_denied']],
    ['a boolean', true],
  ])('gives the fallback for a non-string: %s', (_what, value) => {
    expect(oauthErrorCode(value, 'invalid_request')).toBe('invalid_request');
  });
});

describe('AuthError: an exposed (4xx) message never carries < or >', () => {
  test.each([400, 401, 403, 404, 413, 499])('status %i: < and > removed from the message, its text kept', (status) => {
    const err = new AuthError(oauthErrorCode('access_denied', 'invalid_request'), status, 'Denied: <img src=x onerror=alert(1)> <b>bold</b>');
    expect(err.message).not.toMatch(/[<>]/);
    expect(err.message).toContain('Denied:');
    expect(err.message).toContain('img src=x onerror=alert(1)');
    expect(err.message).toContain('bold');
    expect(err.expose).toBe(true);
  });

  test.each([500, 502, 503, 504, 599])('status %i: the message is kept as given (not exposed)', (status) => {
    const message = 'The provider answered <html><body>Bad Gateway</body></html>';
    const err = new AuthError('invalid_provider_response', status, message);
    expect(err.message).toBe(message);
    expect(err.expose).toBe(false);
  });

  test('a message without markup is kept exactly, whatever the status', () => {
    for (const status of [400, 500]) {
      expect(new AuthError('state_mismatch', status, 'The callback\'s state does not match: start again').message)
        .toBe('The callback\'s state does not match: start again');
    }
  });

  test('status, statusCode, code, expose, name and cause are kept', () => {
    const cause = new Error('socket hang up');
    const err = new AuthError('provider_unreachable', 502, 'The provider could not be reached', { cause });
    expect(err).toBeInstanceOf(AuthError);
    expect(err).toBeInstanceOf(Error);
    expect(err.status).toBe(502);
    expect(err.statusCode).toBe(502);
    expect(err.code).toBe('provider_unreachable');
    expect(err.expose).toBe(false);
    expect(err.name).toBe('AuthError');
    expect(err.cause).toBe(cause);

    const client = new AuthError('state_mismatch', 400, 'x <y>', { cause: 'a string cause' });
    expect(client).toMatchObject({ status: 400, statusCode: 400, code: 'state_mismatch', expose: true, name: 'AuthError' });
    expect(client.cause).toBe('a string cause');
  });

  test('without a cause, there is none', () => {
    const err = new AuthError('unauthorized', 401, 'Sign in first');
    expect(err.cause).toBeUndefined();
    expect(Object.hasOwn(err, 'cause')).toBe(false);
  });
});

describe('end to end: a provider\'s error_description with markup, sent by res.status(err.status).send(err.message) (RFC 6749 §4.1.2.1)', () => {
  const DESCRIPTION = '<img src=x onerror=alert(1)>&"\'';
  let provider: HostileProvider;
  let server: RunningServer;
  let baseURL: string;
  /** The errors the app's handler was given, in order. */
  const seen: AuthError[] = [];

  beforeAll(async () => {
    provider = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    server = await serveApp((url) => {
      const app = express();
      app.use(authCallback({ issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL: url, secret: SECRET }));
      // The handler 0.1.0's docstring recommended: the message as it is, an HTML answer.
      app.use((err: AuthError, _req: Request, res: Response, _next: NextFunction) => {
        seen.push(err);
        res.status(err.status).send(err.message);
      });
      return app;
    });
    baseURL = server.baseURL;
  });
  afterAll(async () => {
    await server.close();
    await provider.close();
  });
  beforeEach(() => {
    provider.reset();
    seen.length = 0;
  });

  /** A login through the provider, which answers the authorization request as its behaviour says: the callback's answer. */
  async function callbackAnswer(): Promise<Page> {
    const browser = new Browser();
    const login = await browser.request(`${baseURL}/login`);
    expect(login.status).toBe(302);
    const authorize = await browser.request(login.headers.get('location')!);
    expect(authorize.status).toBe(302);
    const callback = new URL(authorize.headers.get('location')!);
    expect(callback.origin + callback.pathname).toBe(`${baseURL}/callback`);
    return browser.request(callback.href);
  }

  test('error=access_denied with error_description=<img src=x onerror=alert(1)>&"\': 400, the body has none of < > & \' and no " from the description', async () => {
    provider.behaviour.authorize = 'access_denied';
    provider.behaviour.errorDescription = DESCRIPTION;
    const res = await callbackAnswer();
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ code: 'access_denied', status: 400, expose: true });
    expect(res.body).toBe(seen[0]!.message);
    expect(res.body).toContain('access_denied');
    expect(res.body).toContain('img src=x onerror=alert(1)'); // shown, as plain text
    for (const c of ['<', '>', '&', '\'']) expect(res.body).not.toContain(c);
    // The message may quote the code itself; no other double quote, so none came from the description.
    expect(res.body.replace('"access_denied"', '')).not.toContain('"');
  });

  test('error=<script> (markup in the error itself): 400 with code invalid_request, no markup in the body', async () => {
    provider.behaviour.overrides.authorize = (req, res) => {
      const params = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
      const target = new URL(params.get('redirect_uri')!);
      target.searchParams.set('error', '<script>');
      target.searchParams.set('error_description', '<script>alert(1)</script>');
      target.searchParams.set('state', params.get('state')!);
      target.searchParams.set('iss', provider.issuer);
      res.redirect(302, target.href);
    };
    const res = await callbackAnswer();
    expect(res.status).toBe(400);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.code).toBe('invalid_request');
    expect(res.body).toBe(seen[0]!.message);
    expect(res.body).toContain('invalid_request');
    expect(res.body).not.toMatch(/[<>&']/);
    expect(res.body).not.toContain('<script');
  });
});

describe('the codes: a closed union of this package\'s, and the provider\'s typed apart', () => {
  test('AuthErrorCodes lists every code by a constant named after it', () => {
    for (const [name, code] of Object.entries(AuthErrorCodes)) expect(name).toBe(code.toUpperCase());
    expect(Object.values(AuthErrorCodes)).toEqual(expect.arrayContaining(['store_unavailable', 'acr_mismatch', 'mix_up_unprotected']));
  });

  test('a code that is not listed does not compile (checked by npm run typecheck)', () => {
    // @ts-expect-error 'not_a_listed_code' is neither an AuthErrorCode nor a ProviderErrorCode
    const err = new AuthError('not_a_listed_code', 400, 'x');
    expect(err.code).toBe('not_a_listed_code');
  });

  test.each(['store_unavailable', 'unauthorized', 'forbidden', 'session_ended', 'acr_mismatch', 'internal_error'])(
    'a provider\'s error %s is not passed through: it would pass for this package\'s own code', (value) => {
      expect(oauthErrorCode(value, 'invalid_request')).toBe('invalid_request');
    },
  );

  test.each(['invalid_grant', 'invalid_request', 'access_denied', 'login_required', 'invalid_client'])('the OAuth error %s is passed through', (value) => {
    expect(oauthErrorCode(value, 'invalid_provider_response')).toBe(value);
  });

  test('a start-up misconfiguration is a ConfigurationError: a TypeError with code ERR_INVALID_OPTION naming the option', () => {
    let thrown: unknown;
    try {
      authCallback({ issuer: 'https://op.example', clientId: 'app', baseURL: 'https://app.example', secret: 'short' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect(thrown).toMatchObject({ code: ERR_INVALID_OPTION, option: 'secret', name: 'ConfigurationError' });
    expect(() => requireAuth({ redirect: 'no' as unknown as boolean })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', option: 'redirect' }));
  });
});

describe('redirectUriRefusal(): a refusal about the redirect_uri names the URI sent and that it must be registered exactly', () => {
  const SENT = 'https://app.example.test/callback';
  test.each([
    ['invalid_redirect_uri', null],
    ['redirect_uri_mismatch', null],
    ['invalid_request', 'redirect_uri did not match any of the client\'s registered redirect_uris'],
    ['invalid_grant', 'authorization code redirectUri mismatch'],
  ])('%s (%s)', (error, description) => {
    const hint = redirectUriRefusal(error, description, SENT);
    expect(hint).toContain(`the redirect_uri this app sent, ${SENT}, is not one the provider has registered for this client`);
    expect(hint).toContain('register it there exactly as sent');
  });

  test.each([['access_denied', 'The user denied the request'], ['invalid_grant', 'grant request is invalid'], ['invalid_request', null]])('none for %s (%s)', (error, description) => {
    expect(redirectUriRefusal(error, description, SENT)).toBeUndefined();
  });
});

describe('redacted(): what an error from the provider keeps for the logs', () => {
  test('name, message, stack, code, error and status, down the cause chain; never a body, response or token', () => {
    const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln';
    const inner = Object.assign(new Error('invalid response encountered'), {
      code: 'OAUTH_INVALID_RESPONSE',
      cause: { access_token: token, id_token: token },
    });
    const outer = Object.assign(new TypeError('outer'), { code: 'X', status: 502, error: 'invalid_client', body: token, cause: inner });
    const copy = redacted(outer)!;
    expect(copy).toMatchObject({ name: 'TypeError', message: 'outer', code: 'X', status: 502, error: 'invalid_client', stack: outer.stack });
    expect(copy.cause).toMatchObject({ name: 'Error', message: 'invalid response encountered', code: 'OAUTH_INVALID_RESPONSE' });
    expect((copy.cause as Error).cause).toBeUndefined();
    expect(JSON.stringify(Object.entries(copy))).not.toContain(token);
    expect(inspect(copy, { depth: 10 })).not.toContain(token);
  });

  test('a value that is not an error gives undefined', () => {
    expect(redacted({ access_token: 'x' })).toBeUndefined();
    expect(redacted(undefined)).toBeUndefined();
  });
});
