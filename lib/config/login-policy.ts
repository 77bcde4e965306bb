/**
 * What a login may ask for: the app's fixed authorization parameters (its policy), which of the
 * login route's query parameters may add to them, and what an essential `acr` request holds the
 * ID token to.
 *
 * @packageDocumentation
 */
import { fail } from './checks.js';

/** Parameters the login route sets itself; `authorizationParams` may not override them. */
const PROTOCOL_PARAMS: ReadonlySet<string> = new Set([
  'response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'nonce',
  'code_challenge', 'code_challenge_method', 'response_mode', 'request', 'request_uri',
]);

/**
 * Parameters a login may take from `/login`'s query by default. Not the ones that choose where the
 * user authenticates (`organization`, `connection`, …): with those, a link from any site could
 * send a user to a connection an attacker runs, and sign them in as the attacker's user.
 */
const DEFAULT_LOGIN_PARAMS: readonly string[] = ['prompt', 'login_hint', 'max_age', 'acr_values', 'ui_locales'];

/**
 * The app's `authorizationParams`, checked: strings, none of the protocol's own.
 *
 * @throws ConfigurationError naming the bad parameter
 */
export function authorizationParamsOf(given: unknown): Record<string, string> {
  const params: Record<string, string> = {};
  if (given === undefined) return params;
  if (given === null || typeof given !== 'object') fail('authorizationParams', 'must be an object of strings');
  for (const [k, v] of Object.entries(given)) {
    if (PROTOCOL_PARAMS.has(k)) fail(`authorizationParams.${k}`, 'is set by the login route itself and cannot be overridden');
    if (typeof v !== 'string') fail(`authorizationParams.${k}`, 'must be a string');
    params[k] = v;
  }
  if (params.max_age !== undefined && !/^\d{1,10}$/.test(params.max_age)) fail('authorizationParams.max_age', 'must be a whole number of seconds, as a string of digits');
  return params;
}

/**
 * The parameters a login may add from the query: `given` (or {@link DEFAULT_LOGIN_PARAMS}) less
 * the names `authorizationParams` fixes, since the app's policy wins; `max_age` stays, as a login
 * may shorten it.
 *
 * @throws ConfigurationError when `given` lists a protocol parameter, or one `authorizationParams` fixes
 */
export function loginParamsOf(given: unknown, authorizationParams: Readonly<Record<string, string>>): readonly string[] {
  const names = given ?? DEFAULT_LOGIN_PARAMS;
  if (!Array.isArray(names) || names.some((p) => typeof p !== 'string' || p.length === 0)) fail('loginParams', 'must be an array of parameter names');
  for (const p of names as string[]) if (PROTOCOL_PARAMS.has(p)) fail('loginParams', `cannot list the protocol parameter "${p}"`);
  const fixed = (p: string): boolean => p !== 'max_age' && Object.hasOwn(authorizationParams, p);
  if (given !== undefined) {
    const clash = (names as string[]).find(fixed);
    if (clash !== undefined) fail('loginParams', `lists "${clash}", which authorizationParams fixes: a login cannot change the app's value; remove it from one of them`);
  }
  return Object.freeze((names as string[]).filter((p) => !fixed(p)));
}

/**
 * The values of an essential `acr` request in a `claims` parameter (OpenID Connect Core 1.0
 * §5.5.1.1: `{"id_token":{"acr":{"essential":true,"values":[…]}}}`, or `value`), which the ID
 * token's `acr` must then be one of (any, when none is listed); `undefined` when `acr` is not
 * requested as essential.
 *
 * @throws ConfigurationError when `claims` is not a JSON object
 */
export function essentialAcrOf(claims: string | undefined): readonly string[] | undefined {
  if (claims === undefined) return undefined;
  let request: unknown;
  try {
    request = JSON.parse(claims);
  } catch {
    fail('authorizationParams.claims', 'must be a JSON object (OpenID Connect Core 1.0 §5.5)');
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) fail('authorizationParams.claims', 'must be a JSON object (OpenID Connect Core 1.0 §5.5)');
  const acr = (request as { id_token?: { acr?: { essential?: unknown; value?: unknown; values?: unknown } } }).id_token?.acr;
  if (acr?.essential !== true) return undefined;
  const values = typeof acr.value === 'string' ? [acr.value] : Array.isArray(acr.values) ? acr.values.filter((v): v is string => typeof v === 'string') : [];
  return Object.freeze(values); // empty: any acr, but one must be there
}
