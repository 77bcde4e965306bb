/**
 * The example app on its own 127.0.0.1 port, with `baseURL` = `http://localhost:<port>`: the
 * app side of the hostile-provider tests.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { createApp } from '../../example-app/app.js';

export interface AppServer {
  /** `http://localhost:<port>` */
  baseURL: string;
  server: Server;
  close(): Promise<void>;
}

export interface AppServerOptions {
  /** authCallback()'s options, given the app's `baseURL`. */
  auth: (baseURL: string) => AuthCallbackConfig;
  /** express-session's secret. */
  sessionSecret: string;
  /** Changes the built app before it serves (e.g. test-only routes, `trust proxy`). */
  configure?: (app: Express) => void;
}

export async function startAppServer(options: AppServerOptions): Promise<AppServer> {
  const server = createServer();
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  const baseURL = `http://localhost:${port}`;
  const app: Express = createApp({ auth: options.auth(baseURL), sessionSecret: options.sessionSecret });
  options.configure?.(app);
  server.on('request', app);
  return {
    baseURL,
    server,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
