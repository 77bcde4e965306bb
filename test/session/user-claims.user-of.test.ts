/**
 * `userOf()` (lib/session/user-claims.ts): `req.user` for each request of a session. For the
 * claims of a cached session (`shareClaims()`, session-cache.ts) which members it has is worked
 * out once; for others (a store's session, read afresh) they are copied as they are. Either way
 * each request must get its own copy, objects and arrays at every depth, with the filter and the
 * app's claims of that call.
 */
import { describe, expect, test } from '@jest/globals';
import { deepFreeze, PROTOCOL_CLAIMS, shareClaims, userClaims, userOf } from '../../lib/session/user-claims.js';
import type { UserClaims } from '../../lib/provider/provider.js';

const FILTER = new Set(PROTOCOL_CLAIMS);

/** `req.user` as a handler may change it. */
interface Mutable {
  [name: string]: unknown;
  name: string;
  groups: string[];
  roles: string[];
  address: { country: string; lines: string[] };
}

function claimsOf(shared: boolean): UserClaims {
  const claims = userClaims({
    iss: 'https://op.example', sub: 'user-1', aud: 'rp', exp: 2_000_000_000, iat: 1_999_999_000, nonce: 'n',
    name: 'Ada', email_verified: true, groups: ['admin', 'dev'], address: { country: 'NL', lines: ['Main 1'] }, nickname: null,
  } as unknown as UserClaims, undefined);
  if (shared) shareClaims(claims);
  return claims;
}

describe.each([
  ['a cached session\'s (shared) claims', true],
  ['claims read afresh (not shared)', false],
])('userOf() with %s: one session\'s requests', (_name, shared) => {
  test('every call gives a new object equal to the claims without the filtered ones, in their order', () => {
    const claims = claimsOf(shared);
    const first = userOf(claims, undefined, FILTER);
    const second = userOf(claims, undefined, FILTER);
    const expected = { sub: 'user-1', name: 'Ada', email_verified: true, groups: ['admin', 'dev'], address: { country: 'NL', lines: ['Main 1'] }, nickname: null };
    expect(first).toEqual(expected);
    expect(Object.keys(first)).toEqual(Object.keys(expected));
    expect(second).toEqual(expected);
    expect(second).not.toBe(first);
    expect(Object.isFrozen(first)).toBe(false);
    expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
  });

  test('a handler that changes its req.user, at any depth, changes neither the session\'s claims nor the next request\'s', () => {
    const claims = claimsOf(shared);
    const first = userOf(claims, undefined, FILTER) as unknown as Mutable;
    first.name = 'Eve';
    first.groups.push('root');
    first.address.country = 'XX';
    first.address.lines.push('Other 2');
    first.extra = 1;
    const next = userOf(claims, undefined, FILTER);
    expect(next).toEqual({ sub: 'user-1', name: 'Ada', email_verified: true, groups: ['admin', 'dev'], address: { country: 'NL', lines: ['Main 1'] }, nickname: null });
    expect(claims.groups).toEqual(['admin', 'dev']);
    expect((claims.address as { country: string }).country).toBe('NL');
  });

  test('the filter and the app\'s claims are those of each call, for the same claims object', () => {
    const claims = claimsOf(shared);
    expect(Object.keys(userOf(claims, undefined, FILTER))).not.toContain('iss');
    expect(userOf(claims, undefined, new Set<string>())).toMatchObject({ iss: 'https://op.example', nonce: 'n', sub: 'user-1' });
    const appClaims = deepFreeze({ name: 'Ada L.', roles: ['billing'] });
    const withApp = userOf(claims, appClaims, FILTER) as unknown as Mutable;
    expect(withApp).toMatchObject({ name: 'Ada L.', roles: ['billing'], sub: 'user-1' });
    withApp.roles.push('x');
    expect(appClaims.roles).toEqual(['billing']);
    expect(userOf(claims, undefined, FILTER)).not.toHaveProperty('roles');
  });
});

describe('userOf() with claims that are not frozen (never shared)', () => {
  test('claims that are not frozen are read as they are on each call', () => {
    const claims = { sub: 'user-2', name: 'Bob' } as Record<string, unknown>;
    expect(userOf(claims as UserClaims, undefined, FILTER)).toEqual({ sub: 'user-2', name: 'Bob' });
    claims.name = 'Robert';
    expect(userOf(claims as UserClaims, undefined, FILTER)).toEqual({ sub: 'user-2', name: 'Robert' });
  });
});
