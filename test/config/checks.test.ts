/**
 * Unit tests of lib/config/checks.ts: which hosts are loopback, where plain http is allowed
 * (an issuer, a `baseURL` with `responseMode: 'form_post'`, an adapter's endpoints); optional
 * peer dependencies checked at start-up.
 */
import { describe, expect, test } from '@jest/globals';
import { assertInstalled, isLoopbackHost } from '../../lib/config/checks.js';
import { ConfigurationError } from '../../lib/errors.js';
import { thrownBy } from '../support/expect-error.js';

describe('assertInstalled(): an optional peer dependency an option needs', () => {
  test('installed (undici, a dev dependency here): nothing to say', () => {
    expect(() => assertInstalled('undici', 'clientCertificate')).not.toThrow();
  });

  test('missing: a ConfigurationError naming the option, the package and how to install it', () => {
    const err = thrownBy(() => assertInstalled('undici', 'clientCertificate', () => {
      throw Object.assign(new Error("Cannot find module 'undici'"), { code: 'MODULE_NOT_FOUND' });
    }));
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err).toMatchObject({ option: 'clientCertificate', message: expect.stringContaining('needs the package "undici"') });
    expect((err as Error).message).toContain('npm install undici');
  });

  test('a package that is not there at all, resolved for real', () => {
    expect(() => assertInstalled('express-oidc-callback-no-such-package', 'clientCertificate')).toThrow(/npm install express-oidc-callback-no-such-package/);
  });
});

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
