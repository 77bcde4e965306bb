/**
 * The checks of `requireAuth()`'s options: each bad one a {@link ConfigurationError} naming it.
 *
 * @packageDocumentation
 */
import { ConfigurationError } from '../errors.js';

/** Throws the {@link ConfigurationError} of `requireAuth()`'s option `key`. */
export function fail(key: string, problem: string): never {
  throw new ConfigurationError(`requireAuth(): option "${key}" ${problem}`, key);
}

/** `true` for an object literal (or a null-prototype object), not an array, a Map, a class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

