/**
 * The same-origin rule for `returnTo`, the path the browser is sent back to after login.
 *
 * An open redirect after login turns the provider's trusted page into a phishing hop
 * (RFC 9700 §4.11), so only a relative path on this origin is kept.
 *
 * @packageDocumentation
 */
import { originalUrl, type HttpRequest } from '../http.js';

/**
 * Longest `returnTo` kept, in characters, as given and once normalised (percent-encoding may
 * lengthen it): it is sealed into the pending-login cookie, which every request carries until
 * the callback, so it must stay small.
 */
export const MAX_RETURN_TO_LENGTH = 512;

const PLACEHOLDER_ORIGIN = 'http://return-to.invalid';

/**
 * Returns `value` when it is a path on this origin, else `fallback`.
 *
 * Kept: `/`, `/profile?tab=1#x`. Refused (→ `fallback`): absolute URLs (`https://evil`),
 * scheme-relative `//evil` and `/\evil` (browsers read `\` as `/`), paths whose dot segments
 * normalise to a scheme-relative URL (`/.//evil`, `/%2e%2e//evil`), `javascript:` and every
 * other scheme, relative paths without a leading `/`, control characters and white space,
 * anything longer than {@link MAX_RETURN_TO_LENGTH} as given or once normalised, and non-strings
 * (`?returnTo=a&returnTo=b`).
 *
 * @param value - the candidate, e.g. the `returnTo` query parameter
 * @param fallback - what to use instead; default `'/'`
 * @returns a path starting with a single `/`
 */
export function safeReturnTo(value: unknown, fallback = '/'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RETURN_TO_LENGTH) return fallback;
  // A single leading slash, then no backslash, no control character and no white space anywhere.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (value[0] !== '/' || value[1] === '/' || /[\\\s\u0000-\u001f\u007f]/.test(value)) return fallback;
  let url: URL;
  try {
    url = new URL(value, PLACEHOLDER_ORIGIN);
  } catch {
    return fallback;
  }
  if (url.origin !== PLACEHOLDER_ORIGIN) return fallback;
  // Dot segments ("/.//evil", "/a/..//evil", "/%2e//evil") normalise to "//evil": scheme-relative.
  if (url.pathname.startsWith('//')) return fallback;
  const path = url.pathname + url.search + url.hash;
  return path.length > MAX_RETURN_TO_LENGTH ? fallback : path;
}

/**
 * The `returnTo` query parameter of `req`, read from the raw URL past its first `?` (so an
 * unencoded `returnTo` keeps its own query) and held to {@link safeReturnTo}: `'/'` when absent,
 * repeated or refused.
 *
 * @param originalUrl - the request's `originalUrl`
 */
export function requestedReturnTo(originalUrl: string): string {
  const query = originalUrl.indexOf('?');
  const requested = query === -1 ? [] : new URLSearchParams(originalUrl.slice(query + 1)).getAll('returnTo');
  return safeReturnTo(requested.length === 1 ? requested[0] : undefined);
}

/**
 * The requested page as a `returnTo`, which is relative to `baseURL`'s path (the login and
 * callback routes add that path back): the request's whole URL, less `baseURL`'s path where the
 * app is mounted under it (`app.use('/auth', ...)` with `baseURL` = `https://app.example/auth`).
 * Behind a proxy that strips that path, the URL is already relative to it. Held to
 * {@link safeReturnTo}.
 */
export function pageReturnTo(req: HttpRequest, basePath: string): string {
  const url = originalUrl(req);
  const relative = basePath !== '' && (url.startsWith(`${basePath}/`) || url.startsWith(`${basePath}?`) || url === basePath)
    ? `/${url.slice(basePath.length).replace(/^\//, '')}`
    : url;
  return safeReturnTo(relative);
}
