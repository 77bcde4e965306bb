/**
 * Asserting a start-up check: the call throws a `TypeError` that names what is wrong.
 */
import { expect } from '@jest/globals';
import { ConfigurationError } from '../../lib/errors.js';

/** What `fn` throws; `undefined` when it returns. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Asserts that `fn` throws a `TypeError` whose message contains `text`. */
export function expectTypeError(fn: () => unknown, text: string): void {
  const thrown = thrownBy(fn);
  expect(thrown).toBeInstanceOf(TypeError);
  expect((thrown as TypeError).message).toContain(text);
}

/** The `ConfigurationError` `fn` throws (failing the test when it throws none, or another error). */
export function configurationError(fn: () => unknown): ConfigurationError {
  const thrown = thrownBy(fn);
  expect(thrown).toBeInstanceOf(ConfigurationError);
  return thrown as ConfigurationError;
}
