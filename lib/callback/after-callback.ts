/**
 * `afterCallback`: the app's last word on a login, once every check has passed and before the
 * session is sealed.
 *
 * @packageDocumentation
 */
import type { Request, Response } from 'express';
import type { AfterCallbackSession, HookOptions } from '../config/hook-options.js';
import { AuthError } from '../errors.js';
import type { HttpRequest, HttpResponse } from '../http.js';

/** What the app decided: sign the user in (with claims of its own), or not. */
export type AfterCallbackDecision =
  | { signIn: true; appClaims: Record<string, unknown> | undefined }
  | { signIn: false };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * The app's claims, checked: JSON data (copied, so later changes to the app's object do not
 * reach the session), never `sub` nor a name `protectedNames` holds (the protocol claims of
 * `identityClaimFilter`, which the session's checks read from the ID token).
 */
function appClaimsOf(claims: unknown, protectedNames: ReadonlySet<string>): Record<string, unknown> | undefined {
  if (claims === undefined) return undefined;
  if (!isPlainObject(claims)) throw new AuthError('hook_failed', 500, 'afterCallback() must return { claims: { … } } with a plain object of claims');
  for (const name of Object.keys(claims)) {
    if (name === 'sub' || name === 'iss' || protectedNames.has(name)) {
      throw new AuthError('hook_failed', 500, `afterCallback() may not set the claim "${name}": it is the ID token's (sub, and the identityClaimFilter claims); give the app's own value another name`);
    }
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(claims);
  } catch (err) {
    throw new AuthError('hook_failed', 500, 'afterCallback() claims must be JSON data', { cause: err });
  }
  const copy = JSON.parse(json!) as Record<string, unknown>;
  return Object.keys(copy).length === 0 ? undefined : copy;
}

/**
 * Runs the app's `afterCallback` on a login that passed every check.
 *
 * @param protectedNames - claim names the app may not set (`identityClaimFilter`)
 * @returns the decision; `{ signIn: true, appClaims: undefined }` without the hook
 * @throws AuthError the hook's own AuthError, or `hook_failed` (500) when it throws anything
 *   else or returns what it may not
 */
export async function afterCallback(
  hook: HookOptions['afterCallback'], req: HttpRequest, res: HttpResponse, session: AfterCallbackSession, protectedNames: ReadonlySet<string>,
): Promise<AfterCallbackDecision> {
  if (hook === undefined) return { signIn: true, appClaims: undefined };
  let result: unknown;
  try {
    result = await hook(req as Request, res as Response, session);
  } catch (err) {
    if (err instanceof AuthError) throw err;
    throw new AuthError('hook_failed', 500, 'afterCallback() failed: the user was not signed in (see cause)', { cause: err });
  }
  if (result === undefined || result === true) return { signIn: true, appClaims: undefined };
  if (result === false) return { signIn: false };
  if (isPlainObject(result) && Object.keys(result).every((key) => key === 'claims')) {
    return { signIn: true, appClaims: appClaimsOf(result.claims, protectedNames) };
  }
  throw new AuthError('hook_failed', 500, 'afterCallback() must return undefined, true, false or { claims }');
}
