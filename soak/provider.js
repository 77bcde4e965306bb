// @ts-check
/**
 * The OpenID Provider of the soak, in its own process so that the orchestrator can stop it and
 * start it again: oidc-provider configured as the example app's development provider
 * (example-app/dev-provider.js: its devInteractions login form, any name signs in, the same
 * claims), on a fixed port, with
 * - the same signing key across restarts (its JWKS kept in `jwks.json` in the state folder);
 * - its sessions, grants and tokens in a file (`file-adapter.js`), which a restart reads back;
 * - short-lived access tokens (`SOAK_ACCESS_TOKEN_TTL` seconds), refresh tokens issued without
 *   `offline_access` and rotated on every use (RFC 9700 §4.14.2), Back-Channel Logout 1.0 on.
 *
 * Built here rather than with startDevProvider(), which listens before it builds the provider (it
 * learns its port first): after a restart, its port would take connections that get no answer
 * for a second or two. This one listens once it can answer: a restart is a clean outage.
 *
 * Every token request and back-channel logout is pushed to the orchestrator as it happens
 * (`{ type: 'event', event: 'grant', grantType, ok, error }`), so that a restart loses no count.
 * SIGTERM stops it gracefully: no new connections, the requests in flight answered.
 *
 * Environment: `SOAK_PROVIDER_PORT`, `SOAK_STATE_DIR`, `SOAK_CLIENT` (JSON: the app's client
 * metadata), `SOAK_ACCESS_TOKEN_TTL` (seconds).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { exportJWK, generateKeyPair } from 'jose';
import { pushEvent, serveParent } from './child.js';
import { fileAdapter } from './file-adapter.js';

const dir = process.env.SOAK_STATE_DIR ?? '';
if (dir === '') throw new Error('SOAK_STATE_DIR is not set: start this file from soak/run.js');
const port = Number(process.env.SOAK_PROVIDER_PORT ?? 0);
const accessTokenTtl = Number(process.env.SOAK_ACCESS_TOKEN_TTL ?? 20);
const issuer = `http://localhost:${port}`;

/** The signing key: read from `jwks.json`, or made and written there on the first start. */
async function signingKeys() {
  const file = join(dir, 'jwks.json');
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwks = { keys: [{ ...(await exportJWK(privateKey)), kid: 'soak-rs256', use: 'sig', alg: 'RS256' }] };
  writeFileSync(file, JSON.stringify(jwks));
  return jwks;
}

/**
 * oidc-provider's module, its start-up notices ("Unsupported runtime" on Node 20,
 * "development-only feature") kept out of the output, as dev-provider.js does.
 */
async function quietProvider() {
  /* eslint-disable no-console -- oidc-provider writes its notices to the console: they are filtered, not written */
  const { warn, info } = console;
  /** @param {(...args: unknown[]) => void} write */
  const filter = (write) => (/** @type {unknown[]} */ ...args) => {
    if (typeof args[0] === 'string' && args[0].startsWith('oidc-provider ')) return;
    write.apply(console, args);
  };
  console.warn = filter(warn);
  console.info = filter(info);
  try {
    const { default: Provider } = await import('oidc-provider');
    const client = JSON.parse(process.env.SOAK_CLIENT ?? '{}');
    return new Provider(issuer, {
      clients: [{ token_endpoint_auth_method: 'client_secret_basic', grant_types: ['authorization_code', 'refresh_token'], ...client }],
      adapter: fileAdapter(join(dir, 'provider-records.jsonl')),
      jwks: await signingKeys(),
      cookies: { keys: ['soak-provider-cookie-key-not-a-secret'] },
      claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
      conformIdTokenClaims: false,
      pkce: { required: () => true },
      // Refresh tokens without offline_access and its consent prompt, rotated on every use.
      issueRefreshToken: async () => true,
      rotateRefreshToken: true,
      ttl: {
        AccessToken: accessTokenTtl,
        AuthorizationCode: 60, IdToken: 3600, Interaction: 3600, Grant: 14 * 86400, Session: 14 * 86400, RefreshToken: 14 * 86400,
      },
      features: {
        devInteractions: { enabled: true },
        backchannelLogout: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          async logoutSource(ctx, form) {
            ctx.body = `<!doctype html><title>Sign out</title>${form}<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes</button>`;
          },
          async postLogoutSuccessSource(ctx) {
            ctx.body = '<!doctype html><title>Signed out</title><h1>Signed out</h1>';
          },
        },
      },
      // oidc-provider refuses to send requests (back-channel logouts) to special-use addresses
      // such as 127.0.0.1 (SSRF protection, through its own dispatcher); the soak's app is on loopback.
      fetch: (url, options) => {
        const rest = { ...options };
        delete (/** @type {{ dispatcher?: unknown }} */ (rest)).dispatcher;
        return fetch(url, rest);
      },
      async findAccount(_ctx, id) {
        return {
          accountId: id,
          async claims() {
            return { sub: id, name: id, email: `${id}@example.com`, email_verified: true };
          },
        };
      },
    });
  } finally {
    console.warn = warn;
    console.info = info;
  }
  /* eslint-enable no-console */
}

const provider = await quietProvider();
provider.on('grant.success', (ctx) => {
  pushEvent({ event: 'grant', grantType: String(ctx.oidc.params?.grant_type), ok: true });
});
provider.on('grant.error', (ctx, err) => {
  pushEvent({ event: 'grant', grantType: String(ctx.oidc?.params?.grant_type), ok: false, error: /** @type {any} */ (err).error ?? err.message });
});
provider.on('backchannel.success', () => {
  pushEvent({ event: 'backchannel', ok: true });
});
provider.on('backchannel.error', (_ctx, err) => {
  const cause = /** @type {any} */ (err).cause;
  pushEvent({ event: 'backchannel', ok: false, error: `${err.message}${cause ? ` (${cause.code ?? cause.message})` : ''}` });
});
provider.on('server_error', (_ctx, err) => {
  pushEvent({ event: 'server_error', error: err.message });
});

const server = createServer(provider.callback());
server.listen(port, '127.0.0.1', () => {
  serveParent({}, { issuer }, () => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, 2000).unref();
  }));
});
