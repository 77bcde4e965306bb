/**
 * `acr`, end to end (lib/callback/authentication-checks.ts): when the login sent `acr_values`
 * (fixed in `authorizationParams`, or from `/login?acr_values=` when not fixed), or
 * `authorizationParams.claims` marks `acr` essential, the ID token's `acr` must be one of the
 * values asked for (OpenID Connect Core 1.0 §3.1.2.1, §5.5.1.1), else 401 `acr_mismatch`.
 *
 * The example app over real HTTP, against the hostile provider (test/support/authentication-bed.ts
 * says what every refusal and acceptance must show).
 */
import { describe, expect, test } from '@jest/globals';
import { acceptedLogin, provider, refusedLogin, startApp, useAuthenticationBed } from '../support/authentication-bed.js';

useAuthenticationBed();

/** `authorizationParams.claims` asking for `acr` as essential (OpenID Connect Core 1.0 §5.5.1.1). */
function essentialAcr(request: { values?: string[]; value?: string }): string {
  return JSON.stringify({ id_token: { acr: { essential: true, ...request } } });
}

describe('acr: the ID token must be the authentication level the login asked for (OpenID Connect Core 1.0 §3.1.2.1, §5.5.1.1)', () => {
  describe('acr_values fixed by the app (authorizationParams: { acr_values: "urn:mfa urn:hwk" })', () => {
    const auth = { authorizationParams: { acr_values: 'urn:mfa urn:hwk' } };

    test('§3.1.2.1: acr_values is sent, and an acr that is one of the space-separated values is accepted', async () => {
      provider.behaviour.claims = { acr: 'urn:hwk' };
      const { me, sent } = await acceptedLogin(await startApp(auth), '/login');
      expect(sent.getAll('acr_values')).toEqual(['urn:mfa urn:hwk']);
      expect(me.acr).toBe('urn:hwk');
    });

    test('§3.1.2.1: an acr that is not one of the values → 401 acr_mismatch, no session', async () => {
      provider.behaviour.claims = { acr: 'urn:pwd' };
      const { description } = await refusedLogin(await startApp(auth), '/login', 401, 'acr_mismatch');
      expect(description).toContain('urn:pwd');
    });

    test('§3.1.2.1: an acr that is a value\'s prefix or the whole list is not one of the values → 401 acr_mismatch', async () => {
      const app = await startApp(auth);
      provider.behaviour.claims = { acr: 'urn:mfa urn:hwk' };
      await refusedLogin(app, '/login', 401, 'acr_mismatch');
      provider.behaviour.claims = { acr: 'urn:mf' };
      await refusedLogin(app, '/login', 401, 'acr_mismatch');
    });

    test('§3.1.2.1: an ID token without acr → 401 acr_mismatch, no session', async () => {
      provider.behaviour.claims = { acr: undefined };
      await refusedLogin(await startApp(auth), '/login', 401, 'acr_mismatch');
      expect(JSON.parse(Buffer.from(provider.issued.idTokens.at(-1)!.split('.')[1]!, 'base64url').toString('utf8'))).not.toHaveProperty('acr');
    });

    test('§3.1.2.1: a non-string acr (an array holding an asked value) → 401 acr_mismatch', async () => {
      provider.behaviour.claims = { acr: ['urn:mfa'] };
      await refusedLogin(await startApp(auth), '/login', 401, 'acr_mismatch');
    });

    test('/login?acr_values=urn:pwd cannot weaken the app\'s acr_values: the app\'s are sent, and an acr of urn:pwd → 401 acr_mismatch', async () => {
      provider.behaviour.claims = { acr: 'urn:pwd' };
      const { sent } = await refusedLogin(await startApp(auth), '/login?acr_values=urn%3Apwd', 401, 'acr_mismatch');
      expect(sent.getAll('acr_values')).toEqual(['urn:mfa urn:hwk']);
    });

    test('an acr holding markup is refused, and the error_description shows it as plain text (no < or >)', async () => {
      provider.behaviour.claims = { acr: '<img src=x onerror=alert(1)>' };
      const { description } = await refusedLogin(await startApp(auth), '/login', 401, 'acr_mismatch');
      expect(description).not.toMatch(/[<>]/);
    });
  });

  describe('acr_values from /login\'s query, when the app does not fix it', () => {
    test('§3.1.2.1: /login?acr_values=urn:mfa sends it, and an acr of urn:mfa is accepted', async () => {
      provider.behaviour.claims = { acr: 'urn:mfa' };
      const { me, sent } = await acceptedLogin(await startApp(), '/login?acr_values=urn%3Amfa');
      expect(sent.getAll('acr_values')).toEqual(['urn:mfa']);
      expect(me.acr).toBe('urn:mfa');
    });

    test('§3.1.2.1: /login?acr_values=urn:mfa and an acr of urn:pwd → 401 acr_mismatch, no session', async () => {
      provider.behaviour.claims = { acr: 'urn:pwd' };
      const { sent } = await refusedLogin(await startApp(), '/login?acr_values=urn%3Amfa', 401, 'acr_mismatch');
      expect(sent.getAll('acr_values')).toEqual(['urn:mfa']);
    });

    test('§3.1.2.1: /login?acr_values=urn:mfa and an ID token without acr → 401 acr_mismatch, no session', async () => {
      provider.behaviour.claims = { acr: undefined };
      await refusedLogin(await startApp(), '/login?acr_values=urn%3Amfa', 401, 'acr_mismatch');
    });

    test('§3.1.2.1: /login?acr_values with two values accepts either', async () => {
      const app = await startApp();
      provider.behaviour.claims = { acr: 'urn:mfa' };
      await acceptedLogin(app, '/login?acr_values=urn%3Ahwk%20urn%3Amfa');
      provider.behaviour.claims = { acr: 'urn:hwk' };
      const { me } = await acceptedLogin(app, '/login?acr_values=urn%3Ahwk%20urn%3Amfa');
      expect(me.acr).toBe('urn:hwk');
    });

    test('the check is per login: the same app, after a login that asked for urn:mfa, still accepts any acr when the next login asks for none', async () => {
      const app = await startApp();
      provider.behaviour.claims = { acr: 'urn:pwd' };
      await refusedLogin(app, '/login?acr_values=urn%3Amfa', 401, 'acr_mismatch');
      const { me, sent } = await acceptedLogin(app, '/login');
      expect(sent.has('acr_values')).toBe(false);
      expect(me.acr).toBe('urn:pwd');
    });
  });

  describe('authorizationParams.claims asking for acr as essential (§5.5.1.1)', () => {
    test('§5.5.1.1: essential with values: the claims request is sent, and an acr among the values is accepted', async () => {
      const claims = essentialAcr({ values: ['urn:mfa', 'urn:hwk'] });
      provider.behaviour.claims = { acr: 'urn:mfa' };
      const { me, sent } = await acceptedLogin(await startApp({ authorizationParams: { claims } }), '/login');
      expect(sent.get('claims')).toBe(claims);
      expect(me.acr).toBe('urn:mfa');
    });

    test('§5.5.1.1: essential with values and an acr not among them → 401 acr_mismatch, no session', async () => {
      provider.behaviour.claims = { acr: 'urn:pwd' };
      await refusedLogin(await startApp({ authorizationParams: { claims: essentialAcr({ values: ['urn:mfa', 'urn:hwk'] }) } }), '/login', 401, 'acr_mismatch');
    });

    test('§5.5.1.1: essential with values and no acr → 401 acr_mismatch, no session', async () => {
      provider.behaviour.claims = { acr: undefined };
      await refusedLogin(await startApp({ authorizationParams: { claims: essentialAcr({ values: ['urn:mfa'] }) } }), '/login', 401, 'acr_mismatch');
    });

    test('§5.5.1.1: essential with a single value: that acr is accepted, another → 401 acr_mismatch', async () => {
      const app = await startApp({ authorizationParams: { claims: essentialAcr({ value: 'urn:mfa' }) } });
      provider.behaviour.claims = { acr: 'urn:mfa' };
      const { me } = await acceptedLogin(app, '/login');
      expect(me.acr).toBe('urn:mfa');
      provider.behaviour.claims = { acr: 'urn:hwk' };
      await refusedLogin(app, '/login', 401, 'acr_mismatch');
    });

    test('§5.5.1.1: essential without values: any acr is accepted, but one must be there (none → 401 acr_mismatch)', async () => {
      const app = await startApp({ authorizationParams: { claims: essentialAcr({}) } });
      provider.behaviour.claims = { acr: 'urn:anything' };
      const { me } = await acceptedLogin(app, '/login');
      expect(me.acr).toBe('urn:anything');
      provider.behaviour.claims = { acr: undefined };
      await refusedLogin(app, '/login', 401, 'acr_mismatch');
    });

    test('§5.5.1.1: a voluntary acr request (not essential) is no requirement: any acr, or none, is accepted', async () => {
      const app = await startApp({ authorizationParams: { claims: JSON.stringify({ id_token: { acr: { values: ['urn:mfa'] } } }) } });
      provider.behaviour.claims = { acr: 'urn:pwd' };
      expect((await acceptedLogin(app, '/login')).me.acr).toBe('urn:pwd');
      provider.behaviour.claims = { acr: undefined };
      expect((await acceptedLogin(app, '/login')).me).not.toHaveProperty('acr');
    });

    test.each([
      ['essential without values', essentialAcr({})],
      ['essential with values that include the acr', essentialAcr({ values: ['urn:pwd', 'urn:mfa'] })],
    ])('§3.1.2.1: with a claims request (%s), /login?acr_values=urn:mfa still holds the acr to urn:mfa: an acr of urn:pwd → 401 acr_mismatch', async (_what, claims) => {
      provider.behaviour.claims = { acr: 'urn:pwd' };
      const { sent } = await refusedLogin(await startApp({ authorizationParams: { claims } }), '/login?acr_values=urn%3Amfa', 401, 'acr_mismatch');
      expect(sent.getAll('acr_values')).toEqual(['urn:mfa']);
    });
  });

  describe('a login that sent no acr_values', () => {
    test('§3.1.2.1: any acr is accepted', async () => {
      provider.behaviour.claims = { acr: 'urn:whatever-the-provider-did' };
      const { me, sent } = await acceptedLogin(await startApp(), '/login');
      expect(sent.has('acr_values')).toBe(false);
      expect(me.acr).toBe('urn:whatever-the-provider-did');
    });

    test('§3.1.2.1: an ID token without acr is accepted', async () => {
      provider.behaviour.claims = { acr: undefined };
      const { me } = await acceptedLogin(await startApp(), '/login');
      expect(me).not.toHaveProperty('acr');
    });
  });
});
