/**
 * lib/login/site.ts: two hosts are told apart as sites only where that is certain without a
 * public-suffix list (IP addresses, names whose last two labels differ); hosts under one parent
 * domain below the top-level one may be the same site.
 */
import { describe, expect, test } from '@jest/globals';
import { mayBeSameSite } from '../../lib/login/site.js';

describe('mayBeSameSite', () => {
  test('one registrable domain: sso.example.com and app.example.com, example.com and www.example.com, any case, a trailing dot', () => {
    expect(mayBeSameSite('sso.example.com', 'app.example.com')).toBe(true);
    expect(mayBeSameSite('example.com', 'www.example.com')).toBe(true);
    expect(mayBeSameSite('SSO.Example.COM', 'app.example.com.')).toBe(true);
    expect(mayBeSameSite('login.corp.example.com', 'app.example.com')).toBe(true);
  });

  test('loopback: localhost and localhost, 127.0.0.1 and 127.0.0.1, [::1] and ::1', () => {
    expect(mayBeSameSite('localhost', 'localhost')).toBe(true);
    expect(mayBeSameSite('127.0.0.1', '127.0.0.1')).toBe(true);
    expect(mayBeSameSite('[::1]', '::1')).toBe(true);
  });

  test('certainly other sites: other registrable domains, localhost and 127.0.0.1, two IP addresses, an address and a name', () => {
    expect(mayBeSameSite('sso.example.com', 'app.example.org')).toBe(false);
    expect(mayBeSameSite('login.provider.test', 'app.example.test')).toBe(false);
    expect(mayBeSameSite('localhost', '127.0.0.1')).toBe(false);
    expect(mayBeSameSite('10.0.0.1', '10.0.0.2')).toBe(false);
    expect(mayBeSameSite('192.168.1.10', 'app.1.10')).toBe(false);
    expect(mayBeSameSite('localhost', 'app.localhost')).toBe(false);
  });

  test('the limit of no public-suffix list: names under a public suffix of two labels count as possibly one site', () => {
    expect(mayBeSameSite('a.co.uk', 'b.co.uk')).toBe(true);
    expect(mayBeSameSite('a.github.io', 'b.github.io')).toBe(true);
  });
});
