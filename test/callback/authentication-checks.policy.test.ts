/**
 * What `authorizationParams` fixes, held at the callback, end to end
 * (lib/callback/authentication-checks.ts, and openid-client's `auth_time` check):
 *
 * - the organization (Auth0 `organization`, Scalekit / WorkOS `organization_id`) must be the one
 *   the token names, else 403 `organization_mismatch`;
 * - `max_age`: `/login`'s query may only shorten the app's, and the `max_age` sent is enforced on
 *   `auth_time` (OpenID Connect Core 1.0 §3.1.3.7 item 13), else 401 `max_age_exceeded`;
 *   including the security review's scenario of a query trying to weaken the app's `max_age` and
 *   `organization_id`.
 *
 * The example app over real HTTP, against the hostile provider (test/support/authentication-bed.ts
 * says what every refusal and acceptance must show).
 */
import { describe, expect, test } from '@jest/globals';
import { acceptedLogin, hourAgo, now, provider, refusedLogin, startApp, useAuthenticationBed } from '../support/authentication-bed.js';

useAuthenticationBed();

describe('organization: the token must name the organization authorizationParams fixes', () => {
  describe('Auth0 organization id (authorizationParams: { organization: "org_123" })', () => {
    const auth = { authorizationParams: { organization: 'org_123' } };

    test('organization is sent, and an org_id of org_123 is accepted', async () => {
      provider.behaviour.claims = { org_id: 'org_123' };
      const { me, sent } = await acceptedLogin(await startApp(auth), '/login');
      expect(sent.getAll('organization')).toEqual(['org_123']);
      expect(me.org_id).toBe('org_123');
    });

    test('an organization_id of org_123 (WorkOS ids start with org_ too) is accepted', async () => {
      provider.behaviour.claims = { organization_id: 'org_123' };
      const { me } = await acceptedLogin(await startApp(auth), '/login');
      expect(me.organization_id).toBe('org_123');
    });

    test('an org_id of another organization → 403 organization_mismatch, no session', async () => {
      provider.behaviour.claims = { org_id: 'org_999' };
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });

    test('no organization claim → 403 organization_mismatch, no session', async () => {
      provider.behaviour.claims = {};
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });

    test('an org_name equal to the id does not name it (an org_… value is matched against org_id) → 403 organization_mismatch', async () => {
      provider.behaviour.claims = { org_name: 'org_123' };
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });

    test('/login?organization=org_999 cannot change the app\'s: org_123 is sent, and an org_id of org_999 → 403 organization_mismatch', async () => {
      provider.behaviour.claims = { org_id: 'org_999' };
      const { sent } = await refusedLogin(await startApp(auth), '/login?organization=org_999', 403, 'organization_mismatch');
      expect(sent.getAll('organization')).toEqual(['org_123']);
    });
  });

  describe('Auth0 organization name (authorizationParams: { organization: "Acme" })', () => {
    const auth = { authorizationParams: { organization: 'Acme' } };

    test('an org_name of "acme" (Auth0 lowercases names) is accepted', async () => {
      provider.behaviour.claims = { org_id: 'org_acme1', org_name: 'acme' };
      const { me, sent } = await acceptedLogin(await startApp(auth), '/login');
      expect(sent.get('organization')).toBe('Acme');
      expect(me.org_name).toBe('acme');
    });

    test('an org_name of another organization → 403 organization_mismatch, no session', async () => {
      provider.behaviour.claims = { org_id: 'org_evil', org_name: 'evil-corp' };
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });

    test('no org_name (only an org_id) → 403 organization_mismatch, no session', async () => {
      provider.behaviour.claims = { org_id: 'org_acme1' };
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });
  });

  describe('organization_id (Scalekit, WorkOS: authorizationParams: { organization_id: "org_A" })', () => {
    const auth = { authorizationParams: { organization_id: 'org_A' } };

    test('organization_id is sent, and an organization_id claim of org_A is accepted', async () => {
      provider.behaviour.claims = { organization_id: 'org_A' };
      const { me, sent } = await acceptedLogin(await startApp(auth), '/login');
      expect(sent.getAll('organization_id')).toEqual(['org_A']);
      expect(me.organization_id).toBe('org_A');
    });

    test('Scalekit\'s oid claim of org_A is accepted', async () => {
      provider.behaviour.claims = { oid: 'org_A' };
      const { me } = await acceptedLogin(await startApp(auth), '/login');
      expect(me.oid).toBe('org_A');
    });

    test('an organization_id of another organization → 403 organization_mismatch, no session', async () => {
      provider.behaviour.claims = { organization_id: 'org_B' };
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });

    test('no organization_id nor oid → 403 organization_mismatch, no session', async () => {
      provider.behaviour.claims = {};
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });

    test('an Auth0 org_id of org_A does not count (organization_id or oid must name it) → 403 organization_mismatch', async () => {
      provider.behaviour.claims = { org_id: 'org_A' };
      await refusedLogin(await startApp(auth), '/login', 403, 'organization_mismatch');
    });
  });

  describe('no organization fixed', () => {
    test('a token naming any organization is accepted', async () => {
      provider.behaviour.claims = { org_id: 'org_anything', organization_id: 'org_other', oid: 'org_third' };
      const { me, sent } = await acceptedLogin(await startApp(), '/login');
      expect(sent.has('organization')).toBe(false);
      expect(sent.has('organization_id')).toBe(false);
      expect(me).toMatchObject({ org_id: 'org_anything', organization_id: 'org_other', oid: 'org_third' });
    });

    test('/login?organization_id=org_X is sent but not checked: the app did not fix it, so a token naming org_Y is accepted', async () => {
      provider.behaviour.claims = { organization_id: 'org_Y' };
      const { me, sent } = await acceptedLogin(await startApp({ loginParams: ['organization_id'] }), '/login?organization_id=org_X');
      expect(sent.getAll('organization_id')).toEqual(['org_X']);
      expect(me.organization_id).toBe('org_Y');
    });
  });
});

describe('max_age: the query may only shorten the app\'s (authorizationParams: { max_age: "60" }; OpenID Connect Core 1.0 §3.1.2.1, §3.1.3.7 item 13)', () => {
  const auth = { authorizationParams: { max_age: '60' } };

  test('/login?max_age=9999999999 still sends max_age=60, and an auth_time an hour old → 401 max_age_exceeded, no session', async () => {
    provider.behaviour.claims = { auth_time: hourAgo() };
    const { sent } = await refusedLogin(await startApp(auth), '/login?max_age=9999999999', 401, 'max_age_exceeded');
    expect(sent.getAll('max_age')).toEqual(['60']);
  });

  test('/login?max_age=9999999999 with a fresh auth_time is accepted, max_age=60 sent', async () => {
    const { me, sent } = await acceptedLogin(await startApp(auth), '/login?max_age=9999999999');
    expect(sent.getAll('max_age')).toEqual(['60']);
    expect(me.auth_time).toBeGreaterThanOrEqual(now() - 10);
  });

  test('/login?max_age=5, shorter than the app\'s, is sent and enforced: an auth_time 60 s old (within 60 + 30 s tolerance, beyond 5 + 30 s) → 401 max_age_exceeded', async () => {
    provider.behaviour.claims = { auth_time: now() - 60 };
    const { sent } = await refusedLogin(await startApp(auth), '/login?max_age=5', 401, 'max_age_exceeded');
    expect(sent.getAll('max_age')).toEqual(['5']);
  });

  test('the same auth_time 60 s old is accepted by a login that sent the app\'s max_age=60', async () => {
    const authTime = now() - 60;
    provider.behaviour.claims = { auth_time: authTime };
    const { me, sent } = await acceptedLogin(await startApp(auth), '/login');
    expect(sent.getAll('max_age')).toEqual(['60']);
    expect(me.auth_time).toBe(authTime);
  });

  test('/login?max_age=5 with a fresh auth_time is accepted', async () => {
    const { me, sent } = await acceptedLogin(await startApp(auth), '/login?max_age=5');
    expect(sent.getAll('max_age')).toEqual(['5']);
    expect(typeof me.auth_time).toBe('number');
  });
});

describe('the security review\'s scenario: authorizationParams { max_age: "60", organization_id: "org_A" } and /login?max_age=9999999999&organization_id=org_EVIL', () => {
  const auth = { authorizationParams: { max_age: '60', organization_id: 'org_A' } };
  const ATTACK = '/login?max_age=9999999999&organization_id=org_EVIL';

  test('the authorization request carries the app\'s max_age=60 and organization_id=org_A, once each', async () => {
    provider.behaviour.claims = { organization_id: 'org_A' };
    const { sent } = await acceptedLogin(await startApp(auth), ATTACK);
    expect(sent.getAll('max_age')).toEqual(['60']);
    expect(sent.getAll('organization_id')).toEqual(['org_A']);
    expect(sent.toString()).not.toContain('org_EVIL');
    expect(sent.toString()).not.toContain('9999999999');
  });

  test('an ID token of org_A with an auth_time an hour old → 401 max_age_exceeded, no session', async () => {
    provider.behaviour.claims = { organization_id: 'org_A', auth_time: hourAgo() };
    const { sent } = await refusedLogin(await startApp(auth), ATTACK, 401, 'max_age_exceeded');
    expect(sent.getAll('max_age')).toEqual(['60']);
  });

  test('an ID token of org_EVIL with a fresh auth_time → 403 organization_mismatch, no session', async () => {
    provider.behaviour.claims = { organization_id: 'org_EVIL' };
    const { sent } = await refusedLogin(await startApp(auth), ATTACK, 403, 'organization_mismatch');
    expect(sent.getAll('organization_id')).toEqual(['org_A']);
  });

  test('an ID token of org_A with a fresh auth_time signs in', async () => {
    provider.behaviour.claims = { organization_id: 'org_A' };
    const { me } = await acceptedLogin(await startApp(auth), ATTACK);
    expect(me.organization_id).toBe('org_A');
    expect(me.auth_time).toBeGreaterThanOrEqual(now() - 10);
  });
});
