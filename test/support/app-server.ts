/**
 * The example app on its own 127.0.0.1 port, with `baseURL` = `http://localhost:<port>`: the
 * app side of the hostile-provider tests, and how they drive a login through it.
 */
import { expect } from '@jest/globals';
import type { Express } from 'express';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { createApp } from '../../example-app/app.js';
import type { Browser } from './browser.js';
import { serveApp, type RunningServer } from './http-server.js';

export type AppServer = RunningServer;

export interface AppServerOptions {
  /** authCallback()'s options, given the app's `baseURL`. */
  auth: (baseURL: string) => AuthCallbackConfig;
  /** express-session's secret. */
  sessionSecret: string;
  /** Changes the built app before it serves (e.g. test-only routes, `trust proxy`). */
  configure?: (app: Express) => void;
}

export function startAppServer(options: AppServerOptions): Promise<AppServer> {
  return serveApp((baseURL) => {
    const app: Express = createApp({ auth: options.auth(baseURL), sessionSecret: options.sessionSecret });
    options.configure?.(app);
    return app;
  });
}

/** A test file's client at the provider, and the app's own secrets. */
export interface AppClient {
  clientId: string;
  clientSecret: string;
  /** authCallback()'s `secret`. */
  secret: string;
  /** express-session's secret. */
  sessionSecret: string;
  /** authCallback()'s `httpTimeout`, in seconds, when not its default. */
  httpTimeout?: number;
}

/** The example app (on its own port) signing in at `issuer` as `client`, with `auth` over those options. */
export function startExampleApp(client: AppClient, issuer: string, auth: Partial<AuthCallbackConfig> = {}, configure?: (app: Express) => void): Promise<AppServer> {
  return startAppServer({
    auth: (baseURL) => ({
      issuer, clientId: client.clientId, clientSecret: client.clientSecret, baseURL, secret: client.secret,
      ...(client.httpTimeout !== undefined && { httpTimeout: client.httpTimeout }),
      ...auth,
    }),
    sessionSecret: client.sessionSecret,
    ...(configure && { configure }),
  });
}

/** The app's own secrets, which no answer and no log line may carry (the client secret also form-encoded, as in HTTP Basic). */
export function appSecrets(client: AppClient): string[] {
  return [client.clientSecret, encodeURIComponent(client.clientSecret), client.secret, client.sessionSecret];
}

/**
 * GET `path` (a login route URL) of `app`, then the provider's `/authorize`, which answers at
 * once: the callback URL the provider sends the browser to, not yet requested.
 */
export async function callbackUrl(browser: Browser, app: { baseURL: string }, provider: { issuer: string }, path = '/login'): Promise<URL> {
  const login = await browser.request(`${app.baseURL}${path}`);
  expect(login.status).toBe(302);
  const authorize = new URL(login.headers.get('location')!);
  expect(authorize.origin + authorize.pathname).toBe(`${provider.issuer}/authorize`);
  const answer = await browser.request(authorize.href);
  expect(answer.status).toBe(302);
  const callback = new URL(answer.headers.get('location')!, answer.url);
  expect(callback.origin + callback.pathname).toBe(`${app.baseURL}/callback`);
  return callback;
}

/** A whole login in `browser` (the provider signs the user in at once): the `oidc_session` cookie it leaves. */
export async function signInAt(browser: Browser, app: { baseURL: string }, provider: { issuer: string }): Promise<string> {
  const landed = await browser.request(await callbackUrl(browser, app, provider));
  expect(landed.status).toBe(302);
  const cookie = await browser.cookie(app.baseURL, 'oidc_session');
  expect(cookie).toBeDefined();
  return cookie!;
}
