/**
 * Unit tests of lib/callback/authentication-checks.ts: `checkAuthentication()` holds a login's ID
 * token (or a provider adapter's user) to the `acr` the login asked for (OpenID Connect Core 1.0
 * §3.1.2.1, §5.5.1.1) and to the organization the app fixed, branch by branch. End to end:
 * authentication-checks.acr.test.ts and authentication-checks.policy.test.ts.
 */
import { describe, expect, test } from '@jest/globals';
import { checkAuthentication } from '../../lib/callback/authentication-checks.js';
import { AuthError } from '../../lib/errors.js';
import type { TokenSet } from '../../lib/provider/provider.js';
import { thrownBy } from '../support/expect-error.js';

describe('checkAuthentication() directly', () => {
  /** A validated token set with `claims` over a minimal ID token's, and `extra` when given (a provider adapter's). */
  function tokens(claims: Record<string, unknown>, extra?: Record<string, unknown>): TokenSet {
    return {
      idToken: 'header.payload.signature',
      claims: { iss: 'https://op.example.test', sub: 'alice', aud: 'client', ...claims },
      accessToken: 'access-token',
      tokenType: 'Bearer',
      ...(extra !== undefined && { extra }),
    };
  }

  /** The AuthError `fn` throws (fails when it throws none, or something else). */
  function thrown(fn: () => void): AuthError {
    const caught = thrownBy(fn);
    expect(caught).toBeInstanceOf(AuthError);
    return caught as AuthError;
  }

  describe('acr (OpenID Connect Core 1.0 §3.1.2.1, §5.5.1.1)', () => {
    test('no acr asked for (undefined): any acr, a non-string acr or none passes', () => {
      for (const acr of [undefined, 'urn:any', 42, ['urn:mfa'], null]) {
        expect(() => checkAuthentication(tokens(acr === undefined ? {} : { acr }), undefined, {})).not.toThrow();
      }
    });

    test('an acr among the values asked for passes', () => {
      expect(() => checkAuthentication(tokens({ acr: 'urn:mfa' }), ['urn:mfa', 'urn:hwk'], {})).not.toThrow();
      expect(() => checkAuthentication(tokens({ acr: 'urn:hwk' }), ['urn:mfa', 'urn:hwk'], {})).not.toThrow();
    });

    test('an acr not among the values (exact, case-sensitive match) → acr_mismatch, 401, exposed', () => {
      for (const acr of ['urn:pwd', 'URN:MFA', 'urn:mfa ', 'urn:mfa urn:hwk', '']) {
        const err = thrown(() => checkAuthentication(tokens({ acr }), ['urn:mfa', 'urn:hwk'], {}));
        expect({ code: err.code, status: err.status, expose: err.expose }).toEqual({ code: 'acr_mismatch', status: 401, expose: true });
      }
    });

    test('values asked for and no acr → acr_mismatch, 401, the message says it is absent', () => {
      const err = thrown(() => checkAuthentication(tokens({}), ['urn:mfa'], {}));
      expect({ code: err.code, status: err.status }).toEqual({ code: 'acr_mismatch', status: 401 });
      expect(err.message).toContain('absent');
      expect(err.message).toContain('urn:mfa');
    });

    test('values asked for and a non-string acr (an array holding the value, a number) → acr_mismatch', () => {
      for (const acr of [['urn:mfa'], 1, { value: 'urn:mfa' }, null]) {
        expect(thrown(() => checkAuthentication(tokens({ acr }), ['urn:mfa', '1'], {})).code).toBe('acr_mismatch');
      }
    });

    test('an empty list (essential acr without values): any string acr passes, none → acr_mismatch', () => {
      expect(() => checkAuthentication(tokens({ acr: 'urn:anything' }), [], {})).not.toThrow();
      const err = thrown(() => checkAuthentication(tokens({}), [], {}));
      expect({ code: err.code, status: err.status }).toEqual({ code: 'acr_mismatch', status: 401 });
      expect(thrown(() => checkAuthentication(tokens({ acr: 7 }), [], {})).code).toBe('acr_mismatch');
    });

    test('the message carries no markup even when the token\'s acr (and the values asked) contain it: no < or >', () => {
      const err = thrown(() => checkAuthentication(tokens({ acr: '<script>alert("x")</script>' }), ['urn:<b>mfa</b>'], {}));
      expect(err.code).toBe('acr_mismatch');
      expect(err.message).not.toMatch(/[<>]/);
      expect(err.message).toContain('script');
    });

    test('the message does not echo an unbounded acr: a 10,000-character acr is cut', () => {
      const err = thrown(() => checkAuthentication(tokens({ acr: 'a'.repeat(10_000) }), ['urn:mfa'], {}));
      expect(err.message.length).toBeLessThan(1000);
    });
  });

  describe('organization', () => {
    function mismatch(fn: () => void): void {
      const err = thrown(fn);
      expect({ code: err.code, status: err.status, expose: err.expose }).toEqual({ code: 'organization_mismatch', status: 403, expose: true });
    }

    test('none fixed: no organization claim, or any, passes', () => {
      expect(() => checkAuthentication(tokens({}), undefined, {})).not.toThrow();
      expect(() => checkAuthentication(tokens({ org_id: 'org_x', org_name: 'x', organization_id: 'org_y', oid: 'org_z' }), undefined, { audience: 'https://api' })).not.toThrow();
    });

    test('Auth0 organization "org_123": org_id org_123 passes; organization_id org_123 passes (WorkOS adapter mapping)', () => {
      const fixed = { organization: 'org_123' };
      expect(() => checkAuthentication(tokens({ org_id: 'org_123' }), undefined, fixed)).not.toThrow();
      expect(() => checkAuthentication(tokens({ organization_id: 'org_123' }), undefined, fixed)).not.toThrow();
    });

    test('Auth0 organization "org_123" named only in an adapter\'s extra.organization_id (WorkOS) passes', () => {
      expect(() => checkAuthentication(tokens({}, { organization_id: 'org_123', authentication_method: 'SSO' }), undefined, { organization: 'org_123' })).not.toThrow();
    });

    test('Auth0 organization "org_123": another org_id, no claim, or only org_name "org_123" → organization_mismatch 403', () => {
      const fixed = { organization: 'org_123' };
      mismatch(() => checkAuthentication(tokens({ org_id: 'org_999' }), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({}), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({ org_name: 'org_123' }), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({}, { organization_id: 'org_999' }), undefined, fixed));
    });

    test('Auth0 organization name "Acme": org_name "acme" passes; "other", none, or only an org_id → organization_mismatch 403', () => {
      const fixed = { organization: 'Acme' };
      expect(() => checkAuthentication(tokens({ org_name: 'acme' }), undefined, fixed)).not.toThrow();
      mismatch(() => checkAuthentication(tokens({ org_name: 'other' }), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({}), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({ org_id: 'Acme' }), undefined, fixed));
    });

    test('organization_id "org_A": the organization_id claim, Scalekit\'s oid, or an adapter\'s extra.organization_id (WorkOS) of org_A passes', () => {
      const fixed = { organization_id: 'org_A' };
      expect(() => checkAuthentication(tokens({ organization_id: 'org_A' }), undefined, fixed)).not.toThrow();
      expect(() => checkAuthentication(tokens({ oid: 'org_A' }), undefined, fixed)).not.toThrow();
      expect(() => checkAuthentication(tokens({}, { organization_id: 'org_A' }), undefined, fixed)).not.toThrow();
    });

    test('organization_id "org_A": org_B (claim, oid or extra), none, or only Auth0\'s org_id → organization_mismatch 403', () => {
      const fixed = { organization_id: 'org_A' };
      mismatch(() => checkAuthentication(tokens({ organization_id: 'org_B' }), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({ oid: 'org_B' }), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({}, { organization_id: 'org_B' }), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({}), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({}, {}), undefined, fixed));
      mismatch(() => checkAuthentication(tokens({ org_id: 'org_A' }), undefined, fixed));
    });

    test('organization_id "org_A": a claim org_B is not overridden by an extra org_A (the token\'s own claim counts first)', () => {
      mismatch(() => checkAuthentication(tokens({ organization_id: 'org_B' }, { organization_id: 'org_A' }), undefined, { organization_id: 'org_A' }));
    });

    test('the organization message carries no markup from the token: no < or >', () => {
      const err = thrown(() => checkAuthentication(tokens({ organization_id: '<b>org_EVIL</b>' }), undefined, { organization_id: 'org_A' }));
      expect(err.code).toBe('organization_mismatch');
      expect(err.message).not.toMatch(/[<>]/);
    });
  });

  test('both checks pass together: the acr asked for and the organization fixed', () => {
    expect(() => checkAuthentication(tokens({ acr: 'urn:mfa', organization_id: 'org_A' }), ['urn:mfa'], { organization_id: 'org_A', acr_values: 'urn:mfa' })).not.toThrow();
  });
});
