/**
 * `requireAuth({ claims })`: what the signed-in user's claims must be, compiled once when
 * `requireAuth()` is called, so that a request only compares.
 *
 * @packageDocumentation
 */
import { AuthError } from '../errors.js';
import type { User, UserClaims } from '../provider/provider.js';
import { fail, isPlainObject } from './guard-options.js';

/** A value a claim may be required to have: a JSON primitive. */
export type ClaimValue = string | number | boolean | null;

/**
 * A requirement on the signed-in user's claims: `{ claim: expected, … }` or a function of the
 * claims (see `RequireAuthOptions.claims`).
 */
export type ClaimsRequirement =
  | Readonly<Record<string, ClaimValue | readonly ClaimValue[]>>
  | ((user: User) => boolean);

function isClaimValue(value: unknown): value is ClaimValue {
  return typeof value === 'string' || typeof value === 'boolean' || value === null
    || (typeof value === 'number' && Number.isFinite(value));
}

/** One required claim, as {@link claimsMatcher} compiles it. */
interface ClaimRequirement {
  readonly name: string;
  /** A single value, or (`all`) every value of a list. */
  readonly expected: ClaimValue | readonly ClaimValue[];
  readonly all: boolean;
}

/** Claims whose string value is a space-separated list by definition: `scope` (RFC 6749 §3.3, RFC 8693 §4.2). */
const SPACE_SEPARATED: ReadonlySet<string> = new Set(['scope']);

/** The values of a space-separated string claim, e.g. `"openid read:orders"` → `['openid', 'read:orders']`. */
function spaceSeparated(value: string): string[] {
  return value.split(' ').filter((token) => token.length > 0);
}

/** `true` when `actual` is `expected`, an array that includes it, or (`scope`) a space-separated string that does. */
function matchesOne(name: string, actual: unknown, expected: ClaimValue): boolean {
  if (actual === expected) return true;
  if (Array.isArray(actual)) return actual.includes(expected);
  return SPACE_SEPARATED.has(name) && typeof actual === 'string' && spaceSeparated(actual).includes(expected as string);
}

/** `true` when `actual` is an array, or a space-separated string, that includes every one of `expected`. */
function matchesAll(actual: unknown, expected: readonly ClaimValue[]): boolean {
  const values: readonly unknown[] | undefined = Array.isArray(actual) ? actual : typeof actual === 'string' ? spaceSeparated(actual) : undefined;
  if (values === undefined) return false;
  for (const value of expected) {
    if (!values.includes(value)) return false;
  }
  return true;
}

/**
 * Compiles the object form of {@link RequireAuthOptions.claims} into a matcher, checking every
 * entry and copying it, so the requirement is fixed at start-up and a request only compares.
 *
 * @param requirement - `{ claim: expected, … }`, as documented on {@link RequireAuthOptions.claims}
 * @returns a function that is `true` when `claims` meets every entry
 * @throws TypeError naming the bad entry, e.g. `requireAuth(): option "claims.groups" must be …`
 */
export function claimsMatcher(requirement: Readonly<Record<string, unknown>>): (claims: Readonly<Record<string, unknown>>, appClaims?: Readonly<Record<string, unknown>>) => boolean {
  const entries: ClaimRequirement[] = [];
  for (const name of Object.keys(requirement)) {
    const expected = requirement[name];
    if (Array.isArray(expected)) {
      if (expected.length === 0 || !expected.every(isClaimValue)) {
        fail(`claims.${name}`, 'must be a string, a finite number, a boolean, null, or a non-empty array of them');
      }
      entries.push({ name, expected: Object.freeze([...expected]), all: true });
    } else {
      if (!isClaimValue(expected)) {
        fail(`claims.${name}`, 'must be a string, a finite number, a boolean, null, or a non-empty array of them');
      }
      entries.push({ name, expected, all: false });
    }
  }
  Object.freeze(entries);
  return function matchClaims(claims: Readonly<Record<string, unknown>>, appClaims?: Readonly<Record<string, unknown>>): boolean {
    for (const { name, expected, all } of entries) {
      // An inherited property ("constructor", "__proto__") is a function or an object: never
      // `===` an expected primitive, never an array, so it cannot match.
      const actual = appClaims !== undefined && Object.hasOwn(appClaims, name) ? appClaims[name] : claims[name];
      if (all ? !matchesAll(actual, expected as readonly ClaimValue[]) : !matchesOne(name, actual, expected as ClaimValue)) return false;
    }
    return true;
  };
}

/** The outcome of one claims check: let through, refused, or an error for `next()`. */
export type Verdict = true | false | AuthError;

/**
 * The claims a requirement is checked against: the session's (`req.oidc.claims`, protocol
 * claims included), the app's `afterCallback` claims over them, and `req.user` for a function.
 */
export interface CheckedClaims {
  readonly claims: UserClaims;
  readonly appClaims: Readonly<Record<string, unknown>> | undefined;
  readonly user: User;
}

/** Builds the per-request claims check of `requireAuth()`'s `claims` option, once. */
export function claimsCheck(option: ClaimsRequirement | undefined): ((checked: CheckedClaims) => Verdict) | undefined {
  if (option === undefined) return undefined;
  if (typeof option === 'function') {
    if (option.constructor.name === 'AsyncFunction') {
      fail('claims', 'must return a boolean synchronously: an async function returns a Promise');
    }
    const predicate = option;
    return function checkPredicate({ user }: CheckedClaims): Verdict {
      let result: unknown;
      try {
        result = predicate(user);
      } catch (err) {
        return new AuthError('internal_error', 500, 'requireAuth(): the claims function threw an error (see cause)', { cause: err });
      }
      if (result === true) return true;
      if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
        // Observe a rejection so it is not an unhandledRejection (which ends the process).
        Promise.resolve(result).catch(() => undefined);
        return new AuthError('internal_error', 500, 'requireAuth(): the claims function returned a Promise; it must return a boolean synchronously');
      }
      return false;
    };
  }
  if (!isPlainObject(option)) fail('claims', 'must be an object or a function');
  const matches = claimsMatcher(option);
  return ({ claims, appClaims }: CheckedClaims): Verdict => matches(claims, appClaims);
}

