/**
 * The small checks every option goes through at start-up: each failure is a
 * {@link ConfigurationError} naming the option.
 *
 * @packageDocumentation
 */
import { createRequire } from 'node:module';
import { ConfigurationError } from '../errors.js';

/** JWS algorithms an ID token may be signed with; `none` and the HMAC family (which need the client secret as key) excluded. */
export const ASYMMETRIC_JWS_ALGS: ReadonlySet<string> = new Set(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'Ed25519', 'EdDSA']);

const resolveFromHere = createRequire(import.meta.url).resolve;

/**
 * An optional peer dependency that `key` needs (package.json `peerDependenciesMeta`): checked at
 * start-up, so that a missing one is a clear error, not a failure on the first login.
 *
 * @param resolve - finds the package (default: Node's resolution from this package)
 * @throws ConfigurationError naming `key`, the package and the command that installs it
 */
export function assertInstalled(name: string, key: string, resolve: (name: string) => string = resolveFromHere): void {
  try {
    resolve(name);
  } catch {
    fail(key, `needs the package "${name}", an optional peer dependency that is not installed: npm install ${name}`);
  }
}

/** Throws the {@link ConfigurationError} of `authCallback()`'s option `key`. */
export function fail(key: string, problem: string): never {
  throw new ConfigurationError(`authCallback(): option "${key}" ${problem}`, key);
}

/** A non-empty string. */
export function assertString(value: unknown, key: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) fail(key, 'is required and must be a non-empty string');
}

/** A boolean; `fallback` when unset. */
export function assertBoolean(value: unknown, key: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(key, 'must be a boolean');
  return value;
}

/** A number of seconds, at least `min`; `fallback` when unset. */
export function assertSeconds(value: unknown, key: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    fail(key, `must be a number of seconds, at least ${min} (got ${String(value)})`);
  }
  return value;
}

/** A route path (`/x`, no query, no white space), or `false` when `allowFalse`; `fallback` when unset. */
export function assertRoute(value: unknown, key: string, fallback: string, allowFalse: boolean): string | false {
  if (value === undefined) return fallback;
  if (value === false && allowFalse) return false;
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || /[?#\s\\]/.test(value)) {
    fail(key, `must be a path starting with "/"${allowFalse ? ' or false' : ''} (got ${JSON.stringify(value)})`);
  }
  return value;
}

/** An absolute http(s) URL without credentials, query or fragment. */
export function parseAbsoluteUrl(value: string, key: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    fail(key, `must be an absolute http(s) URL (got ${JSON.stringify(value)})`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    fail(key, `must be an absolute http(s) URL (got ${JSON.stringify(value)})`);
  }
  if (url.username || url.password) fail(key, 'must not contain credentials');
  if (url.search || url.hash) fail(key, 'must not contain a query or a fragment');
  return url;
}

/**
 * `true` for `localhost` (and its subdomains, RFC 6761 §6.3), `127.0.0.0/8` and `[::1]`.
 *
 * @param hostname - a URL's `hostname` (IPv6 in brackets, as WHATWG URL gives it)
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** An issuer identifier as a URL: absolute http(s), and `http:` only on loopback unless `allowInsecure`. */
export function parseIssuer(value: string, key: string, allowInsecure: boolean): URL {
  const issuer = parseAbsoluteUrl(value, key);
  if (issuer.protocol === 'http:' && !isLoopbackHost(issuer.hostname) && !allowInsecure) {
    fail(key, `uses http: on a host that is not loopback (${issuer.hostname}); use https:, or set allowInsecureRequests: true on a test network`);
  }
  return issuer;
}
