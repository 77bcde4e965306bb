// @ts-check
/** express-openid-connect: auth() and requiresAuth(), the code flow with the same client settings. */
import express from 'express';
import eoc from 'express-openid-connect';
import { baseURL, clientId, clientSecret, issuer, scope, secret, serve } from './serve.js';

const app = express();
app.use(eoc.auth({
  issuerBaseURL: issuer,
  baseURL,
  clientID: clientId,
  clientSecret,
  clientAuthMethod: 'client_secret_basic',
  secret,
  authRequired: false,
  idpLogout: false,
  authorizationParams: { response_type: 'code', scope },
}));
app.get('/profile', eoc.requiresAuth(), (req, res) => {
  res.json(req.oidc.user);
});
app.get('/tokens', eoc.requiresAuth(), (req, res) => {
  const { idToken, accessToken } = req.oidc;
  res.json({ id_token: idToken, access_token: accessToken?.access_token, token_type: accessToken?.token_type, expires_at: accessToken && Math.floor(Date.now() / 1000) + accessToken.expires_in, scope });
});
serve(app);
