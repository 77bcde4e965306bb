// @ts-check
/**
 * iron-session: the token set of a hand-written openid-client login (./openid-login.js) sealed
 * into its cookie (`sealData`, iron), opened on every request by `getIronSession()`; the claims
 * are read back from the ID token, as this package does.
 */
import express from 'express';
import { getIronSession } from 'iron-session';
import { decodeJwt } from 'jose';
import { finishLogin, startLogin } from './openid-login.js';
import { baseURL, secret, serve } from './serve.js';

/** @typedef {{ transaction?: import('./openid-login.js').Transaction, tokens?: import('./openid-login.js').TokenSet }} IronData */

/** @type {import('iron-session').SessionOptions} */
const options = { password: secret, cookieName: 'iron_session', cookieOptions: { secure: false, httpOnly: true, sameSite: 'lax', path: '/' } };

const app = express();
app.get('/login', async (req, res) => {
  const session = await getIronSession(/** @type {any} */ (req), /** @type {any} */ (res), options);
  const { url, transaction } = await startLogin(`${baseURL}/callback`);
  /** @type {IronData} */ (session).transaction = transaction;
  await session.save();
  res.redirect(url);
});
app.get('/callback', async (req, res) => {
  const session = /** @type {import('iron-session').IronSession<IronData>} */ (await getIronSession(/** @type {any} */ (req), /** @type {any} */ (res), options));
  const { transaction } = session;
  if (transaction === undefined) {
    res.status(400).end();
    return;
  }
  const tokens = await finishLogin(new URL(req.originalUrl, baseURL), transaction);
  delete session.transaction;
  session.tokens = tokens;
  await session.save();
  res.redirect('/');
});
/**
 * @param {express.Request} req
 * @param {express.Response} res
 * @returns {Promise<import('./openid-login.js').TokenSet | undefined>}
 */
async function tokensOf(req, res) {
  const session = /** @type {import('iron-session').IronSession<IronData>} */ (await getIronSession(/** @type {any} */ (req), /** @type {any} */ (res), options));
  if (session.tokens === undefined) res.status(401).end();
  return session.tokens;
}
app.get('/profile', async (req, res) => {
  const tokens = await tokensOf(req, res);
  if (tokens !== undefined) res.json(decodeJwt(tokens.id_token));
});
app.get('/tokens', async (req, res) => {
  const tokens = await tokensOf(req, res);
  if (tokens !== undefined) res.json(tokens);
});
serve(app);
