/**
 * What a request to the login route asks for: where to return, and the authorization request's
 * parameters. The app's `authorizationParams` are its policy and always win; `/login`'s query may
 * add the `loginParams` the app did not fix, and may only shorten `max_age`. Also a
 * third-party-initiated login (OpenID Connect Core 1.0 §4): its `iss` is read here (the login
 * route checks it names an issuer this app signs in with), and `target_link_uri` is honoured only
 * on this app's origin.
 *
 * @packageDocumentation
 */
import { AuthError } from '../errors.js';
import type { ResolvedOptions } from '../config/resolved-options.js';
import { safeReturnTo } from './return-to.js';

/** `prompt` values of OpenID Connect Core 1.0 §3.1.2.1, and `create` (Initiating User Registration 1.0). */
const PROMPT_VALUES = new Set(['none', 'login', 'consent', 'select_account', 'create']);

/** Longest per-login parameter value kept, in characters. */
const MAX_PARAM_LENGTH = 1024;

/** A login as `/login`'s query asks for it, held to the app's policy. */
export interface LoginRequest {
  /** Same-origin path to return to after login. */
  returnTo: string;
  /**
   * The authorization request's parameters besides the protocol's own: `authorizationParams`,
   * plus this login's values of the `loginParams` the app did not fix, and `max_age` the smaller
   * of the app's and this login's.
   */
  params: Record<string, string>;
  /** The `max_age` sent, in seconds: the ID token's `auth_time` must be within it. */
  maxAge: number | undefined;
  /**
   * The `acr` values the ID token's `acr` must be one of (any, when empty): the `acr_values` sent,
   * held to an essential `acr` in `authorizationParams.claims` (OpenID Connect Core 1.0 §5.5.1.1).
   */
  acrValues: readonly string[] | undefined;
  /** `true` for `prompt=none`: a silent login, whose `login_required` means "not signed in". */
  silent: boolean;
  /** The issuer a third party named (`iss`, OpenID Connect Core 1.0 §4), not yet checked. */
  iss: string | undefined;
  /** The names of the parameters the request itself asked for (the query's `loginParams`, a signed token's), for the debug line. */
  asked: readonly string[];
}

/** The one value of `name` in `query`; `undefined` when absent. @throws AuthError 400 when repeated */
function single(query: URLSearchParams, name: string): string | undefined {
  const values = query.getAll(name);
  if (values.length > 1) throw new AuthError('invalid_request', 400, `The login parameter "${name}" is repeated`);
  return values[0];
}

/** `target_link_uri` (OpenID Connect Core 1.0 §4) as a path, when it is on `baseURL`'s origin. */
function targetPath(target: string | undefined, options: ResolvedOptions): string | undefined {
  if (target === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return undefined;
  }
  if (url.origin !== options.baseURL.origin || !url.pathname.startsWith(`${options.basePath}/`)) return undefined;
  return url.pathname.slice(options.basePath.length) + url.search + url.hash;
}

/**
 * Reads the login route's raw query (past its first `?`, so an unencoded `returnTo` keeps its
 * own query).
 *
 * - `returnTo`, else `target_link_uri` when on this app's origin: held to the same-origin rule,
 *   `'/'` otherwise (RFC 9700 §4.11).
 * - `iss` (a third party starting the login, OpenID Connect Core 1.0 §4): returned for the login
 *   route to check; no login is ever accepted without this app starting it.
 * - the `loginParams` (which never include a name `authorizationParams` fixes, but `max_age`),
 *   each at most once and at most 1,024 characters: `prompt` of §3.1.2.1's values (`none`
 *   alone), `max_age` a whole number of seconds, sent only when shorter than the app's.
 *
 * @throws AuthError `invalid_request` (400) for a repeated or malformed parameter, or `acr_values`
 *   that an essential `acr` claims request rules out
 */
export function readLoginRequest(originalUrl: string, options: ResolvedOptions): LoginRequest {
  const q = originalUrl.indexOf('?');
  const query = new URLSearchParams(q === -1 ? '' : originalUrl.slice(q + 1));
  const returnTos = query.getAll('returnTo');
  const target = returnTos.length === 0 ? targetPath(single(query, 'target_link_uri'), options) : undefined;
  const returnTo = safeReturnTo(returnTos.length === 1 ? returnTos[0] : target);
  const iss = single(query, 'iss');
  if (iss !== undefined && (iss.length === 0 || iss.length > MAX_PARAM_LENGTH)) throw new AuthError('invalid_request', 400, 'The login parameter "iss" is empty or too long');
  const asked: Record<string, string> = {};
  for (const name of options.loginParams) {
    const value = single(query, name);
    if (value === undefined) continue;
    if (value.length === 0 || value.length > MAX_PARAM_LENGTH) throw new AuthError('invalid_request', 400, `The login parameter "${name}" is empty or too long`);
    asked[name] = value;
  }
  const prompt = asked.prompt?.split(' ');
  if (prompt !== undefined && (prompt.some((p) => !PROMPT_VALUES.has(p)) || (prompt.includes('none') && prompt.length > 1))) {
    throw new AuthError('invalid_request', 400, 'The login parameter "prompt" has a value OpenID Connect does not define, or "none" with another');
  }
  if (asked.max_age !== undefined && !/^\d{1,10}$/.test(asked.max_age)) {
    throw new AuthError('invalid_request', 400, 'The login parameter "max_age" must be a whole number of seconds');
  }
  return heldToPolicy(asked, returnTo, iss, options);
}

/**
 * A login whose parameters come from the issuer itself, signed, rather than from a query (Scalekit's
 * IdP-initiated login token, see `callback/idp-initiated-login.ts`): `asked` may name parameters
 * `loginParams` leaves out (`connection_id`, `organization_id`), as the issuer vouches for them;
 * the app's `authorizationParams` still win over each of them.
 *
 * @param asked - the signed parameters, each a non-empty string the caller checked
 * @param returnTo - a path that passed `returnToOf()`
 * @throws AuthError `invalid_request` (400) when the app's `acr_values` and `claims` disagree
 */
export function signedLoginRequest(asked: Readonly<Record<string, string>>, returnTo: string, options: ResolvedOptions): LoginRequest {
  return heldToPolicy(asked, returnTo, undefined, options);
}

/**
 * The login `attemptSilentLogin` starts on a page load: `prompt=none` (OpenID Connect Core 1.0
 * §3.1.2.1), under the app's policy otherwise (start-up refuses a fixed `prompt` with it).
 *
 * @param returnTo - the page, a path that passed `safeReturnTo()`
 */
export function silentLoginRequest(returnTo: string, options: ResolvedOptions): LoginRequest {
  return heldToPolicy({ prompt: 'none' }, returnTo, undefined, options);
}

/**
 * Where to return after a login a third party started (`target_link_uri`, Scalekit's
 * `relay_state`): a URL on this app's origin and under `baseURL`, as a path, or a same-origin
 * path; `'/'` for anything else (RFC 9700 §4.11, see `safeReturnTo()`).
 */
export function returnToOf(value: string | undefined, options: ResolvedOptions): string {
  return safeReturnTo(targetPath(value, options) ?? value);
}

/** The login `asked` for, under the app's policy: `authorizationParams` win, and `max_age` may only be shortened (OpenID Connect Core 1.0 §3.1.2.1). */
function heldToPolicy(asked: Readonly<Record<string, string>>, returnTo: string, iss: string | undefined, options: ResolvedOptions): LoginRequest {
  const params: Record<string, string> = { ...asked, ...options.authorizationParams };
  const maxAge = minimum(options.maxAge, asked.max_age === undefined ? undefined : Number(asked.max_age));
  if (maxAge !== undefined) params.max_age = String(maxAge);
  return {
    returnTo,
    params,
    maxAge,
    acrValues: acrValuesOf(params.acr_values, options.essentialAcr),
    silent: params.prompt === 'none',
    iss,
    asked: Object.keys(asked),
  };
}

/**
 * The `acr` values a login's ID token must be one of: those of `acr_values` that an essential
 * `acr` claims request also allows (OpenID Connect Core 1.0 §3.1.2.1, §5.5.1.1); `[]` for any
 * `acr` (an essential request without values); `undefined` when the login asks for none.
 *
 * @throws AuthError `invalid_request` (400) when `acr_values` names none the claims request allows
 */
function acrValuesOf(acrValues: string | undefined, essential: readonly string[] | undefined): readonly string[] | undefined {
  const asked = acrValues?.split(' ').filter((v) => v.length > 0);
  if (asked === undefined || essential === undefined) return asked ?? essential;
  if (essential.length === 0) return asked;
  const allowed = asked.filter((v) => essential.includes(v));
  if (allowed.length === 0) throw new AuthError('invalid_request', 400, 'The login parameter "acr_values" names none of the acr values this app requires');
  return allowed;
}

function minimum(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}
