// @ts-check
/**
 * This package as an app mounts it: express-session, authCallback(), requireAuth(); with
 * BENCH_SESSION_OPTION=1, express-session given to authCallback() (its `session` option); with
 * BENCH_SESSION_STORAGE=store, the token set in express-session's store (`sessionStorage:
 * 'store'`; connect-redis when `BENCH_REDIS_URL` is set, see serve.js); BENCH_SESSION_TOUCH_INTERVAL,
 * the `sessionTouchInterval` in seconds (default the package's, 300). From dist/, or from the
 * build that `BENCH_DIST` names (BENCH_COMPARE in run.js).
 */
import express from 'express';
import session from 'express-session';
import { pathToFileURL } from 'node:url';
import { baseURL, clientId, clientSecret, issuer, scope, secret, serve, sessionStore } from './serve.js';

/** @type {typeof import('../../dist/index.js')} */
const { authCallback, requireAuth } = await import(process.env.BENCH_DIST ? pathToFileURL(process.env.BENCH_DIST).href : '../../dist/index.js');

const app = express();
const store = await sessionStore();
const sessionMiddleware = session({ store, secret, resave: false, saveUninitialized: false });
const sessionStorage = process.env.BENCH_SESSION_STORAGE === 'store' ? 'store' : 'cookie';
const touch = process.env.BENCH_SESSION_TOUCH_INTERVAL ? { sessionTouchInterval: Number(process.env.BENCH_SESSION_TOUCH_INTERVAL) } : {};
if (process.env.BENCH_SESSION_OPTION === '1') {
  // The `session` option: express-session runs only where the package needs it (with
  // sessionStorage 'cookie': the login, callback and logout routes).
  app.use(authCallback({ issuer, clientId, clientSecret, baseURL, secret, scope, sessionStorage, ...touch, session: sessionMiddleware }));
} else {
  app.use(sessionMiddleware);
  app.use(authCallback({ issuer, clientId, clientSecret, baseURL, secret, scope, sessionStorage, ...touch }));
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
