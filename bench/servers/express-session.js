// @ts-check
/**
 * express-session with its MemoryStore (connect-redis when `BENCH_REDIS_URL` is set, see
 * serve.js): the token set of a hand-written openid-client login
 * (./openid-login.js) kept in `req.session`; the guard checks that it is there.
 */
import express from 'express';
import session from 'express-session';
import { decodeJwt } from 'jose';
import { finishLogin, startLogin } from './openid-login.js';
import { baseURL, secret, serve, sessionStore } from './serve.js';

/** @typedef {import('express-session').Session & Partial<{ transaction: import('./openid-login.js').Transaction, tokens: import('./openid-login.js').TokenSet, user: Record<string, unknown> }>} BenchSession */

const app = express();
const store = await sessionStore();
app.use(session({ store, secret, resave: false, saveUninitialized: false }));
app.get('/login', async (req, res) => {
  const { url, transaction } = await startLogin(`${baseURL}/callback`);
  /** @type {BenchSession} */ (req.session).transaction = transaction;
  req.session.save(() => res.redirect(url));
});
app.get('/callback', async (req, res) => {
  const transaction = /** @type {BenchSession} */ (req.session).transaction;
  if (transaction === undefined) {
    res.status(400).end();
    return;
  }
  const tokens = await finishLogin(new URL(req.originalUrl, baseURL), transaction);
  req.session.regenerate(() => {
    const s = /** @type {BenchSession} */ (req.session);
    s.tokens = tokens;
    s.user = decodeJwt(tokens.id_token);
    res.redirect('/');
  });
});
/**
 * @param {express.Request} req
 * @param {express.Response} res
 * @param {express.NextFunction} next
 */
function guard(req, res, next) {
  if (/** @type {BenchSession} */ (req.session).tokens === undefined) res.status(401).end();
  else next();
}
app.get('/profile', guard, (req, res) => {
  res.json(/** @type {BenchSession} */ (req.session).user);
});
app.get('/tokens', guard, (req, res) => {
  res.json(/** @type {BenchSession} */ (req.session).tokens);
});
serve(app, store);
