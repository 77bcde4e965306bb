// @ts-check
/**
 * This package as an app mounts it: express-session, authCallback(), requireAuth(); with
 * BENCH_SESSION_OPTION=1, express-session given to authCallback() (its `session` option). From
 * dist/, or from the build that `BENCH_DIST` names (BENCH_COMPARE in run.js).
 */
import express from 'express';
import session from 'express-session';
import { pathToFileURL } from 'node:url';
import { baseURL, clientId, clientSecret, issuer, scope, secret, serve } from './serve.js';

/** @type {typeof import('../../dist/index.js')} */
const { authCallback, requireAuth } = await import(process.env.BENCH_DIST ? pathToFileURL(process.env.BENCH_DIST).href : '../../dist/index.js');

const app = express();
const store = new session.MemoryStore();
const sessionMiddleware = session({ store, secret, resave: false, saveUninitialized: false });
if (process.env.BENCH_SESSION_OPTION === '1') {
  // The `session` option: express-session runs on the login, callback and logout routes only.
  app.use(authCallback({ issuer, clientId, clientSecret, baseURL, secret, scope, session: sessionMiddleware }));
} else {
  app.use(sessionMiddleware);
  app.use(authCallback({ issuer, clientId, clientSecret, baseURL, secret, scope }));
}
app.get('/profile', requireAuth(), (req, res) => {
  res.json(req.user);
});
app.get('/tokens', requireAuth(), (req, res) => {
  // express-openid-connect's types also declare `req.oidc` (this package's is a RequestAuth).
  const oidc = /** @type {import('../../dist/index.js').RequestAuth} */ (/** @type {unknown} */ (req.oidc));
  res.json({ id_token: oidc.idToken, access_token: oidc.accessToken, token_type: oidc.tokenType, expires_at: oidc.expiresAt, scope: oidc.scope });
});
serve(app, store);
