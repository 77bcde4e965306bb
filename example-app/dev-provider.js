// @ts-check
/**
 * A development OpenID Provider: `oidc-provider` (OpenID Certified) with its development login
 * form, where any user name and password sign in. For the example app and the tests only: it
 * keeps everything in memory and trusts whoever types a name.
 */
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { exportJWK, generateKeyPair } from 'jose';
import { escapeHtml, htmlPage } from './html.js';

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
 * A page of the provider: its own header bar and colour, so that it does not pass for the app.
 *
 * @param {string} title
 * @param {string} main HTML, already escaped
 * @returns {string}
 */
function providerPage(title, main) {
  return htmlPage({ title, header: '<span class="brand">Development OpenID Provider</span>', main, accent: '#6639ba' });
}

/**
 * The login page's and the consent page's HTML.
 *
 * @param {import('oidc-provider').Interaction} interaction
 * @param {string} path the interaction's path, where its forms post
 * @returns {string}
 */
function interactionPage({ prompt, params }, path) {
  const client = `<strong>${escapeHtml(params.client_id)}</strong>`;
  const cancel = `<a class="button secondary" href="${escapeHtml(path)}/abort">Cancel</a>`;
  if (prompt.name === 'login') {
    const hint = typeof params.login_hint === 'string' ? ` value="${escapeHtml(params.login_hint)}"` : ' autofocus';
    return providerPage('Sign in', `<h1>Sign in</h1>
<section><p>to continue to ${client}</p>
<form autocomplete="off" action="${escapeHtml(path)}" method="post">
<input type="hidden" name="prompt" value="login">
<input required type="text" name="login" placeholder="Enter any login" aria-label="User name"${hint}>
<input required type="password" name="password" placeholder="and password" aria-label="Password"${hint.startsWith(' value') ? ' autofocus' : ''}>
<p class="actions"><button type="submit">Sign in</button>${cancel}</p>
</form>
<p class="muted">A provider for development: any user name and password sign in.</p></section>`);
  }
  const details = /** @type {{ missingOIDCScope?: string[], missingOIDCClaims?: string[] }} */ (prompt.details);
  const scopes = (details.missingOIDCScope ?? []).filter((s) => s !== 'openid' && s !== 'offline_access');
  const claims = (details.missingOIDCClaims ?? []).filter((c) => !['sub', 'sid', 'auth_time', 'acr', 'amr', 'iss'].includes(c));
  const items = [...scopes.map((s) => `scope <code>${escapeHtml(s)}</code>`), ...claims.map((c) => `claim <code>${escapeHtml(c)}</code>`)];
  if (String(params.scope ?? '').split(' ').includes('offline_access')) items.push('access while you are away (a refresh token)');
  return providerPage('Authorize', `<h1>Authorize</h1>
<section><p>${client} asks for:</p>
<ul>${items.length > 0 ? items.map((item) => `<li>${item}</li>`).join('') : '<li>what you have already allowed</li>'}</ul>
<form autocomplete="off" action="${escapeHtml(path)}" method="post">
<input type="hidden" name="prompt" value="consent">
<p class="actions"><button autofocus type="submit">Continue</button>${cancel}</p>
</form></section>`);
}

/**
 * Serves `/interaction/{uid}` (oidc-provider's `interactions.url`): GET shows the login or consent
 * page, POST completes it, `/abort` cancels the login (`access_denied` to the app).
 *
 * @param {import('oidc-provider').default} provider
 * @param {import('node:http').IncomingMessage} req
 * @param {import('node:http').ServerResponse} res
 * @param {string} path `/interaction/{uid}`
 * @param {boolean} abort
 */
async function interaction(provider, req, res, path, abort) {
  if (abort) {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User aborted interaction' }, { mergeWithLastSubmission: false });
    return;
  }
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session, grantId } = details;
  if (req.method !== 'POST') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(interactionPage(details, path));
    return;
  }
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw Object.assign(new Error('form too large'), { status: 413 });
  }
  const form = new URLSearchParams(body);
  if (form.get('prompt') !== prompt.name) throw Object.assign(new Error(`expected the ${prompt.name} form`), { status: 400 });
  if (prompt.name === 'login') {
    const accountId = form.get('login');
    if (!accountId) throw Object.assign(new Error('no login name'), { status: 400 });
    await provider.interactionFinished(req, res, { login: { accountId } }, { mergeWithLastSubmission: false });
    return;
  }
  // Consent: grant what the login asks for (scopes, claims, resource scopes).
  const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({ accountId: session?.accountId, clientId: String(params.client_id) });
  if (grant === undefined) throw new Error('the interaction\'s grant is gone');
  const missing = /** @type {{ missingOIDCScope?: string[], missingOIDCClaims?: string[], missingResourceScopes?: Record<string, string[]> }} */ (prompt.details);
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
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
      // The login and consent pages: interaction() below, not oidc-provider's development pages.
      interactions: { url: (_ctx, { uid }) => `/interaction/${uid}` },
      features: {
        devInteractions: { enabled: false },
        rpInitiatedLogout: {
          enabled: true,
          async logoutSource(ctx, form) {
            ctx.body = providerPage('Sign out', `<h1>Sign out of the development provider?</h1>
<section>${form}<p>You signed out of the app. Sign out here too, or stay signed in for the next login?</p>
<p class="actions"><button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="secondary">No, stay signed in</button></p></section>`);
          },
          async postLogoutSuccessSource(ctx) {
            ctx.body = providerPage('Signed out', '<h1>Signed out</h1><section><p>You are signed out of the development provider.</p></section>');
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
  const callback = provider.callback();
  server.on('request', (req, res) => {
    const match = /^(\/interaction\/[\w-]+)(\/abort)?$/.exec(new URL(req.url ?? '/', issuer).pathname);
    if (match === null) {
      callback(req, res);
      return;
    }
    interaction(provider, req, res, /** @type {string} */ (match[1]), match[2] !== undefined).catch((/** @type {any} */ err) => {
      // No interaction cookie (an expired or foreign sign-in), a bad form: a short page, no stack.
      const status = err?.status ?? err?.statusCode ?? 500;
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      const message = status < 500 ? err.error_description ?? err.message : 'Something went wrong.';
      res.end(providerPage('Sign-in problem', `<h1>Sign-in problem</h1><section><p>${escapeHtml(message)}</p><p>Start again from the app.</p></section>`));
    });
  });

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
