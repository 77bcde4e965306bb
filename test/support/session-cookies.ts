/**
 * The session cookie as the tests see it: sent alone, as a browser that has not seen later
 * answers would, and what an answer does to it.
 */
import { expect } from '@jest/globals';
import type { Page } from './browser.js';
import { sessionCookiesSet } from './leaks.js';

/** One request to `url` carrying exactly `cookie` (or none) as the session cookie: no jar, no redirect followed. */
export async function requestWithSessionCookie(url: string, cookie: string | undefined, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Page> {
  const headers: Record<string, string> = { ...options.headers };
  if (cookie !== undefined) headers.cookie = `oidc_session=${cookie}`;
  const res = await fetch(url, { method: options.method ?? 'GET', headers, redirect: 'manual' });
  return { url, status: res.status, headers: res.headers, body: await res.text() };
}

/** The new session cookie an answer sets (exactly one, not a clearing one). */
export function newSessionCookie(page: Page): string {
  const set = sessionCookiesSet(page);
  expect(set).toHaveLength(1);
  const value = /^oidc_session=([^;]*)/.exec(set[0]!)![1]!;
  expect(value).not.toBe('');
  return value;
}

/** The answer clears the session cookie (an empty value, expired), and sets no new one. */
export function expectCleared(page: Page): void {
  const set = sessionCookiesSet(page);
  expect(set).toHaveLength(1);
  expect(set[0]).toMatch(/^oidc_session=;/);
  expect(set[0]).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/);
}
