/**
 * The login route: starts an authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636,
 * OpenID Connect Core 1.0 §3.1.2).
 *
 * @packageDocumentation
 */
import type { Request, Response } from 'express';
import type { Context } from './context.js';
import { AuthError } from './errors.js';
import { randomChecks } from './issuer.js';
import { saveSession, requireSession } from './req-session.js';
import { readFormPost } from './authorization-response.js';
import { dpopThumbprint, generateDPoPKey } from './dpop-key.js';
import { readLoginRequest } from './login-request.js';
import { storeTransaction, type Transaction } from './transaction.js';

/**
 * `GET {routes.login}[?returnTo=/path]`: creates `state`, `nonce` and a PKCE `code_verifier`,
 * stores them with `returnTo` (kept only when same-origin, else `/`) and the issuer as a pending
 * transaction in the express-session, and answers 302 to the provider's `authorization_endpoint`.
 *
 * The issuer is the configured one; with `tenants`, the one `tenants.issuer(req)` names. A
 * third-party-initiated login (`iss`, OpenID Connect Core 1.0 §4) starts at the issuer it
 * names, when this app signs in there.
 *
 * Errors (passed to `next()`): `session_not_mounted` (500); `invalid_request` (400) for a
 * malformed login parameter; `issuer_mismatch` (400) for an `iss` this app does not sign in
 * with; `unknown_issuer` (400) when `tenants.issuer()` names none; discovery failures (502/504).
 */
export async function handleLogin(context: Context, req: Request, res: Response): Promise<void> {
  const session = requireSession(req);
  const raw = req.method === 'POST' ? `?${(await readFormPost(req)).toString()}` : req.originalUrl;
  const login = readLoginRequest(raw, context.options);
  const checks = randomChecks();
  const dpopAlg = context.options.dpopAlg;
  const dpopKey = dpopAlg === undefined ? undefined : await generateDPoPKey(dpopAlg);
  const params = dpopKey === undefined ? login.params : { ...login.params, dpop_jkt: await dpopThumbprint(dpopKey) };
  const provider = login.iss === undefined ? await context.providers.forRequest(req) : await context.providers.forNamedIssuer(login.iss, req);
  if (provider === undefined) throw new AuthError('issuer_mismatch', 400, 'The login names an issuer this app does not sign in with');
  const authorizationUrl = await provider.authorizationUrl(checks, params);
  const now = Math.floor(Date.now() / 1000);
  const transaction: Transaction = {
    issuer: await provider.identifier(),
    nonce: checks.nonce,
    codeVerifier: checks.codeVerifier,
    returnTo: login.returnTo,
    createdAt: now,
    ...(login.maxAge !== undefined && { maxAge: login.maxAge }),
    ...(login.silent && { silent: true }),
    ...(dpopKey !== undefined && { dpopKey }),
  };
  storeTransaction(session, checks.state, transaction, context.options.transactionDuration, now);
  if (context.options.responseMode === 'form_post') context.transactionCookie.write(res, checks.state, transaction);
  await saveSession(req);
  res.set('Cache-Control', 'no-store');
  res.redirect(302, authorizationUrl.href);
}
