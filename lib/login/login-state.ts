/**
 * `loginState`: the app's own data, carried through a login in the pending-login cookie.
 *
 * @packageDocumentation
 */
import type { Request } from 'express';
import type { HookOptions, JsonValue } from '../config/hook-options.js';
import { AuthError } from '../errors.js';
import type { HttpRequest } from '../http.js';

/**
 * Largest `loginState`, in bytes of JSON: it rides in the pending-login cookie, which holds at
 * most `MAX_TRANSACTION_COOKIE_BYTES` with the login's own checks and `returnTo`.
 */
export const MAX_LOGIN_STATE_BYTES = 512;

/**
 * Calls the app's `loginState(req)` and returns a JSON copy of its answer (so what the callback
 * gives back is exactly what was sealed); `undefined` without the hook or when it returns none.
 *
 * @throws AuthError `hook_failed` (500) when it throws, or returns what is not JSON data or is
 *   larger than {@link MAX_LOGIN_STATE_BYTES}
 */
export async function loginStateOf(hook: HookOptions['loginState'], req: HttpRequest): Promise<JsonValue | undefined> {
  if (hook === undefined) return undefined;
  let value: unknown;
  try {
    value = await hook(req as Request);
  } catch (err) {
    throw new AuthError('hook_failed', 500, 'loginState() failed: no login was started (see cause)', { cause: err });
  }
  if (value === undefined) return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw new AuthError('hook_failed', 500, 'loginState() must return JSON data (plain objects, arrays, strings, numbers, booleans, null)', { cause: err });
  }
  if (json === undefined) throw new AuthError('hook_failed', 500, 'loginState() must return JSON data (plain objects, arrays, strings, numbers, booleans, null)');
  const bytes = Buffer.byteLength(json);
  if (bytes > MAX_LOGIN_STATE_BYTES) {
    throw new AuthError('hook_failed', 500, `loginState() returned ${bytes} bytes of JSON; at most ${MAX_LOGIN_STATE_BYTES} fit in the pending-login cookie: keep an id there and the data on the server`);
  }
  return JSON.parse(json) as JsonValue;
}
