/**
 * Unit tests of lib/login/return-to.ts: only a path on this origin survives as `returnTo`; anything
 * else becomes the fallback, so login can never be an open redirect (RFC 9700 §4.11).
 */
import { describe, expect, test } from '@jest/globals';
import { MAX_RETURN_TO_LENGTH, safeReturnTo } from '../../lib/login/return-to.js';

/**
 * What a browser does with `Location: <path>` on https://app.example: the result must stay on
 * that origin. Used to check any value the function returns, whatever its exact spelling.
 */
function assertSameOriginPath(result: string): void {
  expect(result.startsWith('/')).toBe(true);
  expect(result[1]).not.toBe('/');
  expect(result[1]).not.toBe('\\');
  // eslint-disable-next-line no-control-regex -- control characters must never come out
  expect(result).not.toMatch(/[\s\u0000-\u001f\u007f\\]/);
  expect(new URL(result, 'https://app.example').origin).toBe('https://app.example');
}

describe('safeReturnTo(): same-origin paths are kept', () => {
  test.each(['/', '/profile', '/profile?tab=1', '/a/b#frag', '/profile?tab=1#x', '/a/b/c?x=1&y=2'])('%s is kept as it is', (value) => {
    expect(safeReturnTo(value)).toBe(value);
  });

  test('a percent-encoded path is kept encoded', () => {
    expect(safeReturnTo('/caf%C3%A9?q=a%20b')).toBe('/caf%C3%A9?q=a%20b');
  });

  test(`a path of exactly ${MAX_RETURN_TO_LENGTH} characters is kept`, () => {
    const value = '/' + 'a'.repeat(MAX_RETURN_TO_LENGTH - 1);
    expect(safeReturnTo(value)).toBe(value);
  });
});

describe('safeReturnTo(): anything else becomes "/" (RFC 9700 §4.11, open redirection)', () => {
  test.each([
    ['an absolute https URL', 'https://evil.example'],
    ['an absolute http URL', 'http://evil.example/path'],
    ['a scheme-relative URL', '//evil.example'],
    ['a scheme-relative URL with a path', '//evil.example/a?b=c'],
    ['a backslash after the slash (browsers read "\\" as "/")', '/\\evil.example'],
    ['a backslash then a slash', '/\\/evil.example'],
    ['a tab after the slash (browsers strip it, leaving "//")', '/\tevil'],
    ['a newline after the slash', '/\nevil'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a data: URL', 'data:text/html,<script>alert(1)</script>'],
    ['a relative path without a leading slash', 'profile'],
    ['a dot-relative path', './profile'],
    ['the empty string', ''],
    ['a leading space', ' /profile'],
    ['a space inside', '/pro file'],
    ['a NUL', '/profile\u0000'],
    ['a CR LF (header injection)', '/profile\r\nSet-Cookie: x=1'],
    ['a DEL', '/profile\u007f'],
    ['a non-breaking space', '/\u00a0evil'],
    ['a line separator', '/a\u2028b'],
  ])('refuses %s', (_label, value) => {
    expect(safeReturnTo(value)).toBe('/');
  });

  test.each([
    ['an array (?returnTo=a&returnTo=b)', ['/a', '/b']],
    ['undefined', undefined],
    ['null', null],
    ['an object', { toString: () => '/profile' }],
    ['a number', 42],
    ['a boolean', true],
  ])('refuses a non-string: %s', (_label, value) => {
    expect(safeReturnTo(value)).toBe('/');
  });

  test(`refuses a value longer than ${MAX_RETURN_TO_LENGTH} characters`, () => {
    expect(safeReturnTo('/' + 'a'.repeat(MAX_RETURN_TO_LENGTH))).toBe('/');
  });

  test(`refuses a value that normalising (percent-encoding) makes longer than ${MAX_RETURN_TO_LENGTH} characters: it is sealed into a cookie every request carries`, () => {
    const quotes = '/' + '"'.repeat(200); // 201 characters given, 601 once encoded
    expect(quotes.length).toBeLessThanOrEqual(MAX_RETURN_TO_LENGTH);
    expect(safeReturnTo(quotes)).toBe('/');
    expect(safeReturnTo('/' + '"'.repeat(100))).toBe('/' + '%22'.repeat(100));
  });
});

describe('safeReturnTo(): what it returns is always a same-origin path', () => {
  test('an encoded CR LF ("/%0d%0aSet-Cookie:x") stays a harmless, still-encoded path', () => {
    const result = safeReturnTo('/%0d%0aSet-Cookie:x');
    assertSameOriginPath(result);
    expect(result).not.toMatch(/[\r\n]/);
  });

  test('an encoded double slash ("/%2F%2Fevil.example") stays a path', () => {
    assertSameOriginPath(safeReturnTo('/%2F%2Fevil.example'));
  });

  // Dot segments are resolved by URL parsing (WHATWG URL, RFC 3986 §5.2.4): "/.//evil.example"
  // and "/a/..//evil.example" become "//evil.example", a scheme-relative URL to another host.
  test.each(['/.//evil.example', '/..//evil.example', '/a/..//evil.example', '/%2e//evil.example', '/%2E%2E//evil.example', '/a/%2e%2e//evil.example'])(
    'a dot segment that leaves "//" after normalisation does not become a scheme-relative URL: %s',
    (value) => {
      assertSameOriginPath(safeReturnTo(value));
    },
  );

  test('dot segments that stay on this origin are resolved', () => {
    expect(safeReturnTo('/a/../b')).toBe('/b');
    expect(safeReturnTo('/a/./b')).toBe('/a/b');
  });

  test.each(['/', '/profile?tab=1', '/a/b#frag', '/%0d%0a', '/a/../..', '/?next=//evil.example', '/#//evil.example', '/a?x=https://evil.example'])(
    'the result for %j is a same-origin path',
    (value) => {
      assertSameOriginPath(safeReturnTo(value));
    },
  );
});

describe('safeReturnTo(): custom fallback', () => {
  test('a refused value gives the fallback', () => {
    expect(safeReturnTo('https://evil.example', '/home')).toBe('/home');
    expect(safeReturnTo(undefined, '/dashboard')).toBe('/dashboard');
    expect(safeReturnTo('//evil.example', '/home')).toBe('/home');
  });

  test('a kept value ignores the fallback', () => {
    expect(safeReturnTo('/profile', '/home')).toBe('/profile');
  });
});
