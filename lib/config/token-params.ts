/**
 * Extra parameters of the token endpoint requests (`tokenEndpointParams`, `refreshParams`,
 * `req.oidc.refresh({ tokenEndpointParams })`): strings, and none of the parameters the protocol
 * sets itself.
 *
 * @packageDocumentation
 */
import { ConfigurationError } from '../errors.js';
import { fail } from './checks.js';

/**
 * Parameters a token request sets itself (RFC 6749 §4.1.3, §6; RFC 7636 §4.5; RFC 7521 §4.2;
 * RFC 6749 §2.3.1): an extra one of these names would change the grant or the client's
 * authentication. Any name that starts with `client_assertion` is refused too.
 */
const PROTOCOL_TOKEN_PARAMS: ReadonlySet<string> = new Set([
  'grant_type', 'code', 'code_verifier', 'redirect_uri', 'refresh_token', 'client_id', 'client_secret',
]);

/**
 * `given`, checked: an object of strings, none of them a parameter the protocol sets.
 *
 * @param key - the option's name in error messages, e.g. `tokenEndpointParams`
 * @param problem - throws the error of `key`: `authCallback()`'s option error by default
 * @returns a frozen copy; `{}` when `given` is `undefined`
 * @throws ConfigurationError naming `key.<name>` and the fix
 */
export function tokenParamsOf(given: unknown, key: string, problem: (key: string, text: string) => never = fail): Readonly<Record<string, string>> {
  const params: Record<string, string> = {};
  if (given === undefined) return Object.freeze(params);
  if (given === null || typeof given !== 'object' || Array.isArray(given)) problem(key, 'must be an object of strings, e.g. { resource: \'https://api.example.com\' }');
  for (const [name, value] of Object.entries(given)) {
    if (PROTOCOL_TOKEN_PARAMS.has(name) || name.startsWith('client_assertion')) {
      problem(`${key}.${name}`, 'is a parameter the token request sets itself (the grant or the client\'s authentication, RFC 6749 §4.1.3, §6, §2.3): remove it');
    }
    if (name.length === 0) problem(key, 'must not have an empty parameter name');
    if (typeof value !== 'string') problem(`${key}.${name}`, `must be a string (got ${typeof value})`);
    params[name] = value;
  }
  return Object.freeze(params);
}

/**
 * The parameters of one `req.oidc.refresh({ tokenEndpointParams })` call, checked as the options'.
 *
 * @throws ConfigurationError (option `refresh().tokenEndpointParams`) naming the bad parameter
 */
export function refreshCallParamsOf(given: unknown): Readonly<Record<string, string>> {
  return tokenParamsOf(given, 'refresh().tokenEndpointParams', (key, text) => {
    throw new ConfigurationError(`req.oidc.refresh(): "${key.replace(/^refresh\(\)\./, '')}" ${text}`, key);
  });
}
