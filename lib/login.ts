/**
 * The login route: starts an authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636,
 * OpenID Connect Core 1.0 §3.1.2).
 *
 * @packageDocumentation
 */
import type { Request, Response } from 'express';
import type { Context } from './context.js';
import { randomChecks } from './issuer.js';
import { saveSession, requireSession } from './req-session.js';
import { readFormPost } from './authorization-response.js';
import { dpopThumbprint, generateDPoPKey } from './dpop-key.js';
import { readLoginRequest } from './login-request.js';
import { storeTransaction, type Transaction } from './transaction.js';

/**
 * `GET {routes.login}[?returnTo=/path]`: creates `state`, `nonce` and a PKCE `code_verifier`,
 * stores them with `returnTo` (kept only when same-origin, else `/`) as a pending transaction in
 * the express-session, and answers 302 to the provider's `authorization_endpoint`.
 *
 * Errors (passed to `next()`): `session_not_mounted` (500); discovery failures (502/504).
 */
export async function handleLogin(context: Context, req: Request, res: Response): Promise<void> {
  const session = requireSession(req);
  const raw = req.method === 'POST' ? `?${(await readFormPost(req)).toString()}` : req.originalUrl;
  const login = readLoginRequest(raw, context.options);
  const checks = randomChecks();
  const dpopAlg = context.options.dpopAlg;
  const dpopKey = dpopAlg === undefined ? undefined : await generateDPoPKey(dpopAlg);
  const params = dpopKey === undefined ? login.params : { ...login.params, dpop_jkt: await dpopThumbprint(dpopKey) };
  const authorizationUrl = await context.issuer.authorizationUrl(checks, params);
  const now = Math.floor(Date.now() / 1000);
  const transaction: Transaction = {
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
