/**
 * Unit tests of lib/config/checks.ts: which hosts are loopback, where plain http is allowed
 * (an issuer, a `baseURL` with `responseMode: 'form_post'`, an adapter's endpoints).
 */
import { describe, expect, test } from '@jest/globals';
import { isLoopbackHost } from '../../lib/config/checks.js';

describe('isLoopbackHost(): localhost (RFC 6761 §6.3), 127.0.0.0/8 and [::1]', () => {
  test.each(['localhost', 'app.localhost', 'a.b.localhost', '127.0.0.1', '127.255.255.254', '127.0.0.53', '[::1]'])(
    '%s is loopback',
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
    },
  );

  test.each([
    'example.com',
    'localhost.example.com',
    'notlocalhost',
    '127.0.0.1.example.com',
    '128.0.0.1',
    '10.0.0.1',
    '0.0.0.0',
    '::1',
    '[::2]',
    '[::ffff:7f00:1]',
    '',
  ])('%s is not loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(false);
  });
});
