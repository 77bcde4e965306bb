// @ts-check
/**
 * Starts the example app on http://localhost:3000 (PORT overrides).
 *
 * Without ISSUER it also starts the embedded development OpenID Provider on
 * http://localhost:3001 (DEV_PROVIDER_PORT overrides): sign in with any user name and password.
 * With ISSUER, CLIENT_ID and CLIENT_SECRET it uses that provider instead; register
 * BASE_URL + '/callback' as its redirect URI and BASE_URL as its post-logout redirect URI.
 */
import { randomBytes } from 'node:crypto';
import { createApp } from './app.js';
import { startDevProvider } from './dev-provider.js';

const port = Number(process.env.PORT ?? 3000);
const baseURL = process.env.BASE_URL ?? `http://localhost:${port}`;
// A random secret signs out everyone on restart; set SECRET to keep sessions across restarts.
const secret = process.env.SECRET ?? randomBytes(32).toString('base64url');

let issuer = process.env.ISSUER;
let clientId = process.env.CLIENT_ID;
let clientSecret = process.env.CLIENT_SECRET;
/** @type {import('./dev-provider.js').DevProvider | undefined} */
let devProvider;
if (issuer === undefined) {
  clientId = 'example-app';
  clientSecret = 'example-app-secret-for-the-dev-provider-only';
  devProvider = await startDevProvider({
    port: Number(process.env.DEV_PROVIDER_PORT ?? 3001),
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [`${baseURL}/callback`],
      post_logout_redirect_uris: [baseURL],
    }],
    // A refresh token with every login, so that the profile page's Refresh button has one to use
    // (a real provider issues one for the offline_access scope, or by its own settings).
    configuration: { issueRefreshToken: async () => true },
  });
  issuer = devProvider.issuer;
  console.log(`Development OpenID Provider at ${issuer} (any user name and password sign in)`);
} else if (clientId === undefined) {
  console.error('ISSUER is set: set CLIENT_ID (and CLIENT_SECRET for a confidential client) too.');
  process.exit(1);
}

const app = createApp({
  auth: { issuer, clientId, ...(clientSecret && { clientSecret }), baseURL, secret },
  sessionSecret: secret,
});
const server = app.listen(port, () => {
  console.log(`Example app at ${baseURL}`);
});

function shutdown() {
  server.close();
  server.closeAllConnections();
  void devProvider?.close();
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
