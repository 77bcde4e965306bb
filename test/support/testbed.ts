/**
 * A real OpenID Provider (`oidc-provider`, via the example app's development provider) and an
 * app using the middleware, each on its own localhost port, with real HTTP between them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { createApp } from '../../example-app/app.js';
import { startDevProvider, type DevClient, type DevProvider } from '../../example-app/dev-provider.js';
import type { Browser, Page } from './browser.js';

export const CLIENT_ID = 'test-app';
export const CLIENT_SECRET = 'test-app-client-secret-0123456789abcdef';
export const SECRET = 'a-test-secret-of-at-least-32-characters-0123456789';

export interface Testbed {
  provider: DevProvider;
  /** The app's base URL, e.g. `http://localhost:51234`. */
  baseURL: string;
  app: Express;
  server: Server;
  /** The authCallback() options the app was built with. */
  auth: AuthCallbackConfig;
  close(): Promise<void>;
}

export interface TestbedOptions {
  /** authCallback() options over the defaults (issuer, clientId, clientSecret, baseURL, secret). */
  auth?: Partial<AuthCallbackConfig>;
  /** Client registration over the default (confidential, client_secret_basic). */
  client?: Partial<DevClient>;
  /** oidc-provider configuration over the development provider's. */
  providerConfiguration?: Record<string, unknown>;
  /** Builds the app instead of the example app (whose pages the tests use by default). */
  build?: (auth: AuthCallbackConfig) => Express;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startTestbed(options: TestbedOptions = {}): Promise<Testbed> {
  const server = createServer();
  const port = await listen(server);
  const baseURL = `http://localhost:${port}`;
  const callbackPath = options.auth?.routes?.callback ?? '/callback';
  const provider = await startDevProvider({
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [`${baseURL}${callbackPath}`],
      post_logout_redirect_uris: [baseURL],
      ...options.client,
    }],
    ...(options.providerConfiguration && { configuration: options.providerConfiguration }),
  });
  const auth: AuthCallbackConfig = {
    issuer: provider.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    baseURL,
    secret: SECRET,
    ...options.auth,
  };
  const app = options.build ? options.build(auth) : createApp({ auth, sessionSecret: 'express-session-test-secret' });
  server.on('request', app);
  return {
    provider,
    baseURL,
    app,
    server,
    auth,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await provider.close();
    },
  };
}

/**
 * Signs in through the provider's development login form and consent page, as a user would.
 *
 * @param start - where the browser starts, e.g. `${baseURL}/login`
 * @returns the page the browser lands on after the callback
 */
export async function signIn(browser: Browser, start: string, user = 'alice'): Promise<Page> {
  const loginForm = await browser.visit(start);
  if (!/name="login"/.test(loginForm.body)) throw new Error(`expected the provider's login form, got ${loginForm.status} at ${loginForm.url}`);
  const consent = await browser.submit(loginForm, { login: user, password: 'any-password' });
  if (!/name="prompt" value="consent"/.test(consent.body)) return consent;
  return browser.submit(consent);
}
