/**
 * What the tests do with the console: the example app (and the test apps, as real ones would)
 * `console.error()`s every 5xx, and tests that cause them on purpose mute and record those calls,
 * then check that nothing secret reached them (test/support/leaks.ts); oidc-provider's own
 * notices are kept out of the output.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, jest } from '@jest/globals';
import { leaksInLogs } from './leaks.js';

export interface ConsoleErrors {
  /** The arguments of every `console.error()` call since the last clear. */
  readonly calls: readonly unknown[][];
  /** Forgets the calls so far (done before each test). */
  clear(): void;
}

/**
 * Mutes and records `console.error()` while the tests of the file (or of the `describe` block it
 * is called in) run; the record starts empty for each test.
 */
export function captureConsoleErrors(): ConsoleErrors {
  let spy: ReturnType<typeof jest.spyOn> | undefined;
  beforeAll(() => {
    spy = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterAll(() => {
    spy?.mockRestore();
  });
  beforeEach(() => {
    spy?.mockClear();
  });
  return {
    get calls() {
      return (spy?.mock.calls ?? []) as unknown[][];
    },
    clear() {
      spy?.mockClear();
    },
  };
}

/**
 * {@link captureConsoleErrors}, and after each test: nothing of `secrets()`, no JWT and no JWS
 * signing input in anything logged, read as deep as it goes ({@link leaksInLogs}).
 */
export function guardLogs(secrets: () => readonly string[]): ConsoleErrors {
  const errors = captureConsoleErrors();
  afterEach(() => {
    expect(leaksInLogs(errors.calls, secrets())).toEqual([]);
  });
  return errors;
}

/** `true` for a console line of oidc-provider's own (`oidc-provider …`). */
function isProviderNotice(args: readonly unknown[]): boolean {
  return typeof args[0] === 'string' && args[0].startsWith('oidc-provider ');
}

/**
 * Keeps oidc-provider's `console.warn()` notices (e.g. that it cannot set up its SSRF guard under
 * Jest, at its first back-channel delivery) out of the output while the tests of the file (or
 * `describe` block) run; any other warning is printed.
 */
export function quietProviderWarnings(): void {
  let spy: ReturnType<typeof jest.spyOn> | undefined;
  beforeAll(() => {
    const { warn } = console;
    spy = jest.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => {
      if (isProviderNotice(args)) return;
      warn.apply(console, args);
    });
  });
  afterAll(() => {
    spy?.mockRestore();
  });
}

/**
 * Runs `fn` with oidc-provider's `console.warn()` and `console.info()` notices (its start-up
 * notices, "Unsupported runtime" on Node 20, development-only features; the SSRF guard notice of
 * its first outgoing request under Jest) kept out of the output; every other line passes.
 */
export async function withoutProviderNotices<T>(fn: () => Promise<T>): Promise<T> {
  const { warn, info } = console;
  const filter = (write: (...args: unknown[]) => void) => (...args: unknown[]): void => {
    if (isProviderNotice(args)) return;
    write.apply(console, args);
  };
  console.warn = filter(warn);
  console.info = filter(info);
  try {
    return await fn();
  } finally {
    console.warn = warn;
    console.info = info;
  }
}
