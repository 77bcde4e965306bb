/**
 * An `https:` issuer is trusted through the system's CAs plus NODE_EXTRA_CA_CERTS, and refused
 * when its certificate does not chain to a trusted CA. The app runs in its own process
 * (NODE_EXTRA_CA_CERTS is read at process start-up); the provider is oidc-provider over TLS
 * with a test-only CA from test/fixtures/tls.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startDevProvider, type DevProvider } from '../../example-app/dev-provider.js';
import { startExampleProcess, type ExampleProcess } from '../support/example-process.js';

const tlsDir = fileURLToPath(new URL('../fixtures/tls/', import.meta.url));

let provider: DevProvider;
const apps: ExampleProcess[] = [];

/** Starts the example app against the https provider, in its own process. */
async function startApp(caFile: string | undefined): Promise<string> {
  const app = await startExampleProcess({
    ISSUER: provider.issuer,
    CLIENT_ID: 'tls-app',
    CLIENT_SECRET: 'tls-app-secret-0123456789abcdef',
    SECRET: 'a-test-secret-of-at-least-32-characters-0123456789',
    NODE_EXTRA_CA_CERTS: caFile,
  });
  apps.push(app);
  return app.baseURL;
}

beforeAll(async () => {
  provider = await startDevProvider({
    tls: { key: readFileSync(`${tlsDir}localhost-key.pem`, 'utf8'), cert: readFileSync(`${tlsDir}localhost.pem`, 'utf8') },
    clients: [{ client_id: 'tls-app', client_secret: 'tls-app-secret-0123456789abcdef', redirect_uris: ['http://localhost/callback'] }],
  });
});

afterAll(async () => {
  await Promise.all(apps.map((app) => app.stop()));
  await provider.close();
});

describe('an https: issuer', () => {
  test('signed by a CA in NODE_EXTRA_CA_CERTS is discovered: /login redirects to its authorization endpoint', async () => {
    expect(provider.issuer).toMatch(/^https:\/\/localhost:\d+$/);
    const baseURL = await startApp(`${tlsDir}ca.pem`);
    const res = await fetch(`${baseURL}/login`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(new RegExp(`^${provider.issuer}/auth\\?`));
  });

  test('whose certificate chains to no trusted CA is refused: 502, never a redirect', async () => {
    const baseURL = await startApp(undefined);
    const res = await fetch(`${baseURL}/login`, { redirect: 'manual', headers: { accept: 'application/json' } });
    expect(res.status).toBe(502);
    expect(await res.json()).toMatchObject({ error: 'provider_unreachable' });
  });
});
