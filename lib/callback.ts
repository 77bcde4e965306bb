/**
 * The callback route (the `redirect_uri`): checks the authorization response against the
 * pending transaction, has the authorization code exchanged, and starts the session.
 *
 * @packageDocumentation
 */
import type { Request, Response } from 'express';
import { writeSession } from './auth-session.js';
import { readAuthorizationResponse } from './authorization-response.js';
import type { Context } from './context.js';
import { AuthError, oauthErrorCode } from './errors.js';
import { regenerateSession, requireSession, saveSession, type ExpressSession } from './req-session.js';
import { pendingTransactions, takeTransaction, type Transaction } from './transaction.js';

/** RFC 6749 §4.1.2.1: `error_description` uses the same characters; longer text is cut. */
const NOT_DESCRIPTION_CHAR = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;
const MAX_DESCRIPTION_LENGTH = 300;

/** The `error` response (RFC 6749 §4.1.2.1) as an {@link AuthError} whose `code` is the OAuth `error`. */
function authorizationError(error: string, description: string | null): AuthError {
  const code = oauthErrorCode(error, 'invalid_request');
  const text = description?.replace(NOT_DESCRIPTION_CHAR, ' ').slice(0, MAX_DESCRIPTION_LENGTH).trim();
  return new AuthError(code, 400, `The OpenID Provider answered the login with "${code}"${text ? `: ${text}` : ''}`);
}

/** Takes the pending transaction for this response, or throws the 400 that says why there is none. */
function transactionFor(context: Context, session: ExpressSession, params: URLSearchParams): Transaction {
  const now = Math.floor(Date.now() / 1000);
  const taken = takeTransaction(session, params.get('state') ?? undefined, context.options.transactionDuration, now);
  // The transaction is used up first, so that every outcome below consumes it.
  const error = params.get('error');
  if (error !== null) throw authorizationError(error, params.get('error_description'));
  if (!params.get('code')) throw new AuthError('missing_code', 400, 'Authorization code not found in the callback');
  switch (taken.kind) {
    case 'found':
      return taken.transaction;
    case 'none':
      throw new AuthError('missing_transaction', 400, 'No login is pending in this browser session: start again from the login page');
    case 'state_mismatch':
      throw new AuthError('state_mismatch', 400, 'The callback\'s state does not match the pending login: start again from the login page');
    case 'expired':
      throw new AuthError('transaction_expired', 400, 'The login took too long: start again from the login page');
  }
}

/** RFC 9207 §2.4: `iss`, when sent, must be the issuer; when the provider promises it, it must be sent. */
async function checkIssuer(context: Context, params: URLSearchParams): Promise<void> {
  const iss = params.get('iss');
  const expected = await context.issuer.identifier();
  if (iss !== null ? iss !== expected : await context.issuer.sendsIssInResponse()) {
    throw new AuthError('issuer_mismatch', 400, iss === null ? 'The callback is missing the iss parameter' : 'The callback\'s iss is not the configured issuer');
  }
}

/**
 * `GET`/`POST {routes.callback}`: the authorization response.
 *
 * In order: the pending transaction for `state` is removed from the express-session (every
 * outcome uses it up); an `error` parameter → 400 with `code` = the OAuth `error`; no `code` →
 * 400 `missing_code`; no pending transaction → 400 `missing_transaction`; unknown `state` →
 * 400 `state_mismatch`; a wrong or (when promised) missing `iss` → 400 `issuer_mismatch`. Then the
 * code is exchanged with the stored `code_verifier`, `state` and `nonce`, and the ID token is
 * validated, signature included. On success the express-session id is regenerated (against
 * session fixation), the tokens are sealed into the session cookie, and the answer is 302 to the
 * transaction's `returnTo`.
 *
 * Errors (passed to `next()`): the 400s above; `invalid_grant` (400); provider faults (502/504).
 */
export async function handleCallback(context: Context, req: Request, res: Response): Promise<void> {
  const session = requireSession(req);
  res.set('Cache-Control', 'no-store');
  let params: URLSearchParams;
  try {
    params = await readAuthorizationResponse(req);
  } catch (err) {
    takeTransaction(session, undefined, 0, 0); // a malformed callback uses up every pending login
    throw err;
  }
  const transaction = transactionFor(context, session, params);
  await checkIssuer(context, params);

  const callbackUrl = new URL(context.options.redirectUri);
  for (const [name, value] of params) callbackUrl.searchParams.append(name, value);
  const state = params.get('state')!;
  const tokenSet = await context.issuer.exchangeCode(callbackUrl, {
    state,
    nonce: transaction.nonce,
    codeVerifier: transaction.codeVerifier,
  });

  const keep = pendingTransactions(session); // another tab's login, still pending
  await regenerateSession(req, keep);
  if (Object.keys(keep).length > 0) await saveSession(req);
  writeSession(context, req, res, tokenSet);
  res.redirect(302, context.options.basePath + transaction.returnTo);
}
