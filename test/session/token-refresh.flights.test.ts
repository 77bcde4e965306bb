/**
 * RefreshFlights (lib/session/token-refresh.ts), the single flight of a session's refresh, on
 * Jest's fake timers: a refresh is reused for 30 s after it succeeded; one whose tokens could not
 * be written (`unsaved`, the provider may have rotated the refresh token) is kept until they are
 * (then 30 s more), at most 10 minutes and never past the session's end; or found written late.
 */
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import type { Refreshed } from '../../lib/session/refresh-lease.js';
import { RefreshFlights } from '../../lib/session/token-refresh.js';

const refreshed = (unsaved?: boolean): Refreshed => ({
  tokens: { accessToken: 'at-2', tokenType: 'Bearer', refreshToken: 'rt-2' },
  claims: { iss: 'https://op.example', sub: 'alice' },
  ...(unsaved !== undefined && { unsaved }),
});

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

/** Runs a flight of `key` that answers `result`; `true` when `start` ran (no flight reused). */
async function started(flights: RefreshFlights, key: string, result: Refreshed, keepUntil?: number): Promise<boolean> {
  let ran = false;
  await flights.run(key, async () => {
    ran = true;
    return result;
  }, keepUntil);
  return ran;
}

describe('RefreshFlights', () => {
  test('a written refresh is reused for 30 s, then a new request refreshes again', async () => {
    const flights = new RefreshFlights();
    expect(await started(flights, 'k', refreshed())).toBe(true);
    await jest.advanceTimersByTimeAsync(29_000);
    expect(await started(flights, 'k', refreshed())).toBe(false);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(flights.size).toBe(0);
    expect(await started(flights, 'k', refreshed())).toBe(true);
  });

  test('an unsaved refresh is kept past 30 s until its tokens are written (saved()), then reused for 30 s more', async () => {
    const flights = new RefreshFlights();
    const unsaved = refreshed(true);
    expect(await started(flights, 'k', unsaved)).toBe(true);
    await jest.advanceTimersByTimeAsync(5 * 60_000);
    expect(await started(flights, 'k', refreshed())).toBe(false); // still the unsaved one: not refreshed from the old token
    flights.saved('k');
    await jest.advanceTimersByTimeAsync(29_000);
    expect(flights.size).toBe(1);
    await jest.advanceTimersByTimeAsync(2_000);
    expect(flights.size).toBe(0);
  });

  test('an unsaved refresh is kept at most 10 minutes, and not past the session\'s end', async () => {
    const flights = new RefreshFlights();
    await started(flights, 'a', refreshed(true));
    await started(flights, 'b', refreshed(true), Date.now() + 90_000);
    await jest.advanceTimersByTimeAsync(91_000);
    expect(flights.size).toBe(1); // b: its session ended
    await jest.advanceTimersByTimeAsync(10 * 60_000);
    expect(flights.size).toBe(0);
  });

  test('an unsaved refresh whose tokens the record turns out to hold (the store applied the write late) is marked written by landed(), and reused for 30 s more', async () => {
    const flights = new RefreshFlights();
    const unsaved = refreshed(true);
    await started(flights, 'k', unsaved);
    expect(flights.landed({ accessToken: 'at-2', tokenType: 'Bearer', refreshToken: 'rt-other' })).toBeUndefined();
    expect(flights.landed(unsaved.tokens)).toBe(unsaved);
    expect(unsaved.unsaved).toBe(false);
    expect(flights.landed(unsaved.tokens)).toBeUndefined(); // once
    await jest.advanceTimersByTimeAsync(31_000);
    expect(flights.size).toBe(0);
  });

  test('a failed refresh is not kept: the next request tries again', async () => {
    const flights = new RefreshFlights();
    await expect(flights.run('k', () => Promise.reject(new Error('provider down')))).rejects.toThrow('provider down');
    expect(flights.size).toBe(0);
  });
});
