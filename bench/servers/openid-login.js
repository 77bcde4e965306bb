// @ts-check
/**
 * A hand-written login with openid-client for the contestants that are only session stores
 * (express-session, iron-session): authorization code flow with PKCE, state and nonce, the same
 * client authentication (client_secret_basic) and scope as the others. The caller keeps the
 * transaction and the token set wherever its session lives.
 */
import * as client from 'openid-client';
import { clientId, clientSecret, issuer, scope } from './serve.js';

/**
 * @typedef {object} Transaction
 * @property {string} codeVerifier
 * @property {string} state
 * @property {string} nonce
 */
/**
 * @typedef {object} TokenSet the token set a session keeps
 * @property {string} id_token
 * @property {string} access_token
 * @property {string} token_type
 * @property {number | undefined} expires_at seconds since the epoch
 * @property {string | undefined} scope
 */

const config = await client.discovery(new URL(issuer), clientId, { id_token_signed_response_alg: 'RS256' },
  client.ClientSecretBasic(clientSecret), { execute: [client.allowInsecureRequests] });

/**
 * Starts a login.
 *
 * @param {string} redirectUri
 * @returns {Promise<{ url: string, transaction: Transaction }>}
 */
export async function startLogin(redirectUri) {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  });
  return { url: url.href, transaction: { codeVerifier, state, nonce } };
}

/**
 * Finishes a login: exchanges the code and validates the ID token.
 *
 * @param {URL} callbackUrl the callback request's full URL
 * @param {Transaction} transaction
 * @returns {Promise<TokenSet>}
 */
export async function finishLogin(callbackUrl, transaction) {
  const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
    pkceCodeVerifier: transaction.codeVerifier,
    expectedState: transaction.state,
    expectedNonce: transaction.nonce,
    idTokenExpected: true,
  });
  const expiresIn = tokens.expiresIn();
  return {
    id_token: /** @type {string} */ (tokens.id_token),
    access_token: tokens.access_token,
    token_type: tokens.token_type,
    expires_at: expiresIn === undefined ? undefined : Math.floor(Date.now() / 1000) + expiresIn,
    scope: tokens.scope,
  };
}
