/**
 * Unit tests of lib/session/session-cache.ts: the cache of opened session cookies. The cached
 * session and its claims are frozen and shared by the requests that read it; each request's own
 * `req.user` is a copy made by `userOf()` (lib/session/user-claims.ts), as `runtime.attach` does.
 */
import { describe, expect, test } from '@jest/globals';
import { SessionCache } from '../../lib/session/session-cache.js';
import type { AuthSession } from '../../lib/session/session.js';
import { PROTOCOL_CLAIMS, userClaims, userOf } from '../../lib/session/user-claims.js';
import { ID_TOKEN, LATER, NOW } from '../support/session-fixture.js';

describe('SessionCache', () => {
  // The claims as a session opened from a cookie holds them: made by userClaims(), frozen.
  const session = (sub: string, expiresAt = LATER): AuthSession => ({
    tokens: { idToken: ID_TOKEN, accessToken: `at-${sub}`, tokenType: 'Bearer' },
    claims: userClaims({ sub, iss: 'https://op.example', groups: ['a'] }, undefined),
    createdAt: NOW, touchedAt: NOW, expiresAt, staleKey: false,
  });
  /** `req.user` of a request reading `hit`, as runtime.attach builds it (the default identityClaimFilter). */
  const userFor = (hit: AuthSession): Record<string, unknown> => userOf(hit.claims, hit.tokens.appClaims, new Set(PROTOCOL_CLAIMS)) as unknown as Record<string, unknown>;

  test('gives back what was set for the same sealed value, and nothing for another', () => {
    const cache = new SessionCache();
    cache.set('sealed-1', session('alice'));
    expect(cache.get('sealed-1', NOW)).toMatchObject({ claims: { sub: 'alice' }, tokens: { accessToken: 'at-alice' } });
    expect(cache.get('sealed-2', NOW)).toBeUndefined();
  });

  test('a value that shares only its last 22 characters (the GCM tag, the map key) with a cached one is a miss', () => {
    const cache = new SessionCache();
    const tag = 'T'.repeat(22);
    cache.set(`sealed-1.${tag}`, session('alice'));
    expect(cache.get(`sealed-2.${tag}`, NOW)).toBeUndefined();
    expect(cache.get(`sealed-1.${tag}`, NOW)).toBeDefined();
  });

  test('each hit gets its own req.user (a copy of the cached claims): a handler changing req.user changes no later request', () => {
    const cache = new SessionCache();
    cache.set('sealed-1', session('alice'));
    const first = userFor(cache.get('sealed-1', NOW) as AuthSession);
    expect(first).toEqual({ sub: 'alice', groups: ['a'] });
    first.sub = 'mallory';
    (first.groups as string[]).push('admin');
    first.admin = true;
    const later = cache.get('sealed-1', NOW) as AuthSession;
    expect(userFor(later)).toEqual({ sub: 'alice', groups: ['a'] });
    expect(later.claims).toEqual({ sub: 'alice', iss: 'https://op.example', groups: ['a'] });
  });

  test('the cached claims are frozen and shared by every hit: changing them throws, at any depth, and changes no later request', () => {
    const cache = new SessionCache();
    cache.set('sealed-1', session('alice'));
    const hit = cache.get('sealed-1', NOW) as AuthSession;
    expect(Object.isFrozen(hit)).toBe(true);
    expect(Object.isFrozen(hit.claims)).toBe(true);
    expect(Object.isFrozen(hit.claims.groups)).toBe(true);
    expect((cache.get('sealed-1', NOW) as AuthSession).claims).toBe(hit.claims);
    expect(() => {
      hit.claims.sub = 'mallory';
    }).toThrow(TypeError);
    expect(() => {
      (hit.claims.groups as string[]).push('admin');
    }).toThrow(TypeError);
    expect((cache.get('sealed-1', NOW) as AuthSession).claims).toEqual({ sub: 'alice', iss: 'https://op.example', groups: ['a'] });
  });

  test('the first request\'s session (the one given to set()) shares the frozen claims: changing them throws, and changes no later request', () => {
    const cache = new SessionCache();
    const first = session('alice');
    cache.set('sealed-1', first);
    expect(() => {
      first.claims.sub = 'mallory';
    }).toThrow(TypeError);
    expect(() => {
      (first.claims.groups as string[]).push('admin');
    }).toThrow(TypeError);
    first.touchedAt = NOW + 60; // the session object itself is not the cached one
    const hit = cache.get('sealed-1', NOW) as AuthSession;
    expect(hit.claims).toEqual({ sub: 'alice', iss: 'https://op.example', groups: ['a'] });
    expect(hit.touchedAt).toBe(NOW);
    expect(userFor(hit)).toEqual({ sub: 'alice', groups: ['a'] });
  });

  test('the cached tokens are frozen: changing them throws', () => {
    const cache = new SessionCache();
    cache.set('sealed-1', session('alice'));
    const hit = cache.get('sealed-1', NOW) as AuthSession;
    expect(() => {
      (hit.tokens as { accessToken: string }).accessToken = 'x';
    }).toThrow(TypeError);
  });

  test('an entry is not used at or after its session\'s expiry (seconds since the epoch)', () => {
    const cache = new SessionCache();
    cache.set('sealed-1', session('alice', NOW + 10));
    expect(cache.get('sealed-1', NOW + 9.9)).toBeDefined();
    expect(cache.get('sealed-1', NOW + 10)).toBeUndefined();
    expect(cache.get('sealed-1', NOW)).toBeUndefined(); // dropped, not only hidden
  });

  test('it holds at most its limit, dropping the oldest first', () => {
    const cache = new SessionCache(3);
    for (const n of [1, 2, 3, 4]) cache.set(`sealed-${n}`, session(`user${n}`));
    expect(cache.get('sealed-1', NOW)).toBeUndefined();
    expect([2, 3, 4].map((n) => (cache.get(`sealed-${n}`, NOW) as AuthSession).claims.sub)).toEqual(['user2', 'user3', 'user4']);
  });

  test('a store reference is cached as it is', () => {
    const cache = new SessionCache();
    cache.set('sealed-ref', { ref: 'r1', createdAt: NOW, touchedAt: NOW, expiresAt: LATER, staleKey: true });
    expect(cache.get('sealed-ref', NOW)).toEqual({ ref: 'r1', createdAt: NOW, touchedAt: NOW, expiresAt: LATER, staleKey: true });
  });
});
