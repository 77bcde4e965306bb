/**
 * Unit tests of lib/guard/claims-requirement.ts: `claimsMatcher()`, the object form of
 * requireAuth()'s `claims` option.
 */
import { describe, expect, test } from '@jest/globals';
import { claimsMatcher } from '../../lib/guard/claims-requirement.js';

describe('claimsMatcher(): the object form of the claims option', () => {
  const user = { sub: 'u1', email_verified: true, age: 42, nickname: null, groups: ['staff', 'admin'], roles: [] as string[], scope: 'read write', team: 'red blue', name: 'admin user' };

  test.each<[string, Record<string, unknown>, boolean]>([
    ['a matching primitive', { sub: 'u1' }, true],
    ['several, all matching', { sub: 'u1', email_verified: true, age: 42 }, true],
    ['null matches null', { nickname: null }, true],
    ['nothing required', {}, true],
    ['one of several not matching', { sub: 'u1', age: 43 }, false],
    ['a string against a number', { age: '42' }, false],
    ['a string against a boolean', { email_verified: 'true' }, false],
    ['a missing claim', { department: 'sales' }, false],
    ['null against a missing claim', { department: null }, false],
    ['a value an array claim includes', { groups: 'admin' }, true],
    ['a value an array claim lacks', { groups: 'billing' }, false],
    ['every value of a list, all included', { groups: ['admin', 'staff'] }, true],
    ['every value of a list, one missing', { groups: ['admin', 'billing'] }, false],
    ['a value against an empty array claim', { roles: 'admin' }, false],
    ['a list against a space-separated string claim that includes it', { scope: ['read'] }, true],
    ['a list against a space-separated string claim, all included', { scope: ['write', 'read'] }, true],
    ['a list against a space-separated string claim, one missing', { scope: ['read', 'admin'] }, false],
    ['a list against a string claim, whole tokens only', { scope: ['rea'] }, false],
    ['a list against any space-separated string claim', { team: ['blue'] }, true],
    ['a single value against scope, split', { scope: 'write' }, true],
    ['a single value against scope, whole tokens only', { scope: 'writ' }, false],
    ['a single value against another string claim, never split', { name: 'admin' }, false],
    ['a single value against another string claim, equal', { team: 'red blue' }, true],
    ['a one-value list against a string claim equal to it (one space-separated value)', { sub: ['u1'] }, true],
    ['a list against a number claim', { age: [42] }, false],
    ['an inherited name (constructor)', { constructor: 'Object' }, false],
    ['an inherited name (toString)', { toString: 'x' }, false],
  ])('%s → %s', (_name, requirement, expected) => {
    expect(claimsMatcher(requirement)(user)).toBe(expected);
  });

  test('the requirement is copied: changing it afterwards has no effect', () => {
    const requirement: Record<string, unknown> = { groups: ['admin'] };
    const matches = claimsMatcher(requirement);
    (requirement.groups as string[]).push('billing');
    requirement.sub = 'someone-else';
    expect(matches(user)).toBe(true);
  });

  test('reads a claim named __proto__ only when the claims have it as their own', () => {
    const parsed = JSON.parse('{"sub":"u1","__proto__":"x"}') as Record<string, unknown>;
    const requirement = JSON.parse('{"__proto__":"x"}') as Record<string, unknown>;
    expect(claimsMatcher(requirement)(parsed)).toBe(true);
    expect(claimsMatcher(requirement)(user)).toBe(false);
  });
});
