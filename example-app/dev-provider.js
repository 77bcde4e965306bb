// @ts-check
/**
 * A development OpenID Provider: `oidc-provider` (OpenID Certified) with its development login
 * form, where any user name and password sign in. For the example app and the tests only: it
 * keeps everything in memory and trusts whoever types a name.
 */
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { exportJWK, generateKeyPair } from 'jose';

/**
 * Runs `fn` with oidc-provider's start-up notices (an "Unsupported runtime" warning on Node 20,
 * "development-only feature" notices) kept out of the console; every other line passes.
 *
 * @template T
 * @param {() => Promise<T>} fn
 * @returns {Promise<T>}
 */
async function quietly(fn) {
  const { warn, info } = console;
  /** @param {(...args: unknown[]) => void} write */
  const filter = (write) => (/** @type {unknown[]} */ ...args) => {
    if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider ')) return;
    write.apply(console, args);
  };
  console.warn = filter(warn);
  console.info = filter(info);
  try {
    return await fn();
  } finally {
    console.warn = warn;
    console.info = info;
  }
}

/**
 * @typedef {object} DevClient
 * @property {string} client_id
 * @property {string} [client_secret] omitted for a public client (`token_endpoint_auth_method: 'none'`)
 * @property {string[]} redirect_uris
 * @property {string[]} [post_logout_redirect_uris]
 * @property {import('oidc-provider').ClientAuthMethod} [token_endpoint_auth_method] default `client_secret_basic`, or `none` without a secret
 */

/**
 * @typedef {object} DevProvider
 * @property {string} issuer the issuer identifier, e.g. `http://localhost:3001`
 * @property {import('oidc-provider').default} provider the oidc-provider instance
 * @property {import('node:http').Server | import('node:https').Server} server
 * @property {() => Promise<void>} close stops the server
 */

/**
 * Starts the development provider on `http://localhost:{port}`.
 *
 * Users: any login name; the claims are `sub` = the name, `name`, `email` = name@example.com,
 * `email_verified`. Profile and email claims are put in the ID token (as Auth0 and most
 * providers do), not only in userinfo.
 *
 * @param {object} options
 * @param {DevClient[]} options.clients the registered clients
 * @param {number} [options.port] TCP port; default 0 (any free port)
 * @param {string} [options.host] default `localhost`
 * @param {Record<string, unknown>} [options.configuration] oidc-provider configuration merged over these defaults
 * @param {{ key: string, cert: string }} [options.tls] PEM key and certificate: serve `https:` instead of `http:`
 * @returns {Promise<DevProvider>}
 */
export async function startDevProvider({ clients, port = 0, host = 'localhost', configuration = {}, tls }) {
  const server = tls ? createTlsServer({ key: tls.key, cert: tls.cert }) : createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host === 'localhost' ? '127.0.0.1' : host, () => resolve(undefined));
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('dev provider: no TCP address');
  const issuer = `${tls ? 'https' : 'http'}://${host}:${address.port}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'dev-rs256', use: 'sig', alg: 'RS256' };

  const provider = await quietly(async () => {
    const { default: Provider } = await import('oidc-provider');
    return new Provider(issuer, {
      clients: clients.map((c) => ({
        token_endpoint_auth_method: /** @type {import('oidc-provider').ClientAuthMethod} */ (c.client_secret === undefined ? 'none' : 'client_secret_basic'),
        grant_types: ['authorization_code', 'refresh_token'],
        ...c,
      })),
      jwks: { keys: [signingKey] },
      cookies: { keys: ['dev-provider-cookie-key-not-a-secret'] },
      claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
      conformIdTokenClaims: false,
      pkce: { required: () => true },
      // Lifetimes in seconds (oidc-provider's defaults, stated so it does not warn about them).
      ttl: { AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Grant: 14 * 86400, Session: 14 * 86400, RefreshToken: 14 * 86400 },
      features: {
        devInteractions: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          async logoutSource(ctx, form) {
            ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign out</title></head>
<body><h1>Sign out of the development provider?</h1>${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button></body></html>`;
          },
          async postLogoutSuccessSource(ctx) {
            ctx.body = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head><body><h1>Signed out</h1></body></html>';
          },
        },
      },
      async findAccount(_ctx, id) {
        return {
          accountId: id,
          async claims() {
            return { sub: id, name: id, email: `${id}@example.com`, email_verified: true };
          },
        };
      },
      ...configuration,
    });
  });
  server.on('request', provider.callback());

  return {
    issuer,
    provider,
    server,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
