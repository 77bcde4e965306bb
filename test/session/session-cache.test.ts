/**
 * Unit tests of lib/session/session-cache.ts: the cache of opened session cookies.
 */
import { describe, expect, test } from '@jest/globals';
import { SessionCache } from '../../lib/session/session-cache.js';
import type { AuthSession } from '../../lib/session/session.js';
import { ID_TOKEN, LATER, NOW } from '../support/session-fixture.js';

describe('SessionCache', () => {
  const session = (sub: string, expiresAt = LATER): AuthSession => ({
    tokens: { idToken: ID_TOKEN, accessToken: `at-${sub}`, tokenType: 'Bearer' },
    claims: { sub, iss: 'https://op.example', groups: ['a'] },
    createdAt: NOW, touchedAt: NOW, expiresAt, staleKey: false,
  });

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

  test('each hit gets its own claims: a handler changing req.user changes no later request', () => {
    const cache = new SessionCache();
    cache.set('sealed-1', session('alice'));
    const first = cache.get('sealed-1', NOW) as AuthSession;
    first.claims.sub = 'mallory';
    (first.claims.groups as string[]).push('admin');
    expect((cache.get('sealed-1', NOW) as AuthSession).claims).toEqual({ sub: 'alice', iss: 'https://op.example', groups: ['a'] });
  });

  test('the first request\'s claims (the session given to set()) are not the cached ones: changing them changes no later request', () => {
    const cache = new SessionCache();
    const first = session('alice');
    cache.set('sealed-1', first);
    first.claims.sub = 'mallory';
    (first.claims.groups as string[]).push('admin');
    expect((cache.get('sealed-1', NOW) as AuthSession).claims).toEqual({ sub: 'alice', iss: 'https://op.example', groups: ['a'] });
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
