/**
 * Every local server the tests start (apps, fake providers, a PAR endpoint) listens on 127.0.0.1
 * and is reached as `http://localhost:<port>`; closing one ends its open connections first, so
 * that keep-alive sockets never hold a test file open.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';

/** Listens on `port` (default: a free one) of 127.0.0.1; the port it got. */
export function listen(server: Server | HttpsServer, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** Ends the server's open connections, then closes it. */
export function closeServer(server: Server | HttpsServer): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A function that closes `server` ({@link closeServer}). */
export function closer(server: Server | HttpsServer): () => Promise<void> {
  return () => closeServer(server);
}

/** A server on its own port of 127.0.0.1. */
export interface RunningServer {
  /** `http://localhost:<port>` */
  baseURL: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * Starts a server on a free port and has it answer with what `build` makes, given the server's
 * own `baseURL` (`http://localhost:<port>`): an app that must know its URL before it is built.
 */
export async function serveApp(build: (baseURL: string) => RequestListener | Promise<RequestListener>): Promise<RunningServer> {
  const server = createServer();
  const port = await listen(server);
  const baseURL = `http://localhost:${port}`;
  try {
    server.on('request', await build(baseURL));
  } catch (err) {
    await closeServer(server);
    throw err;
  }
  return { baseURL, port, server, close: closer(server) };
}

/** A TCP port free on 127.0.0.1 a moment ago (the OS picked it; it may be taken again by the time it is used). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createTcpServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** `http://localhost:<port>` on which nothing listens: a port that was free a moment ago, now closed. */
export async function closedPortURL(): Promise<string> {
  return `http://localhost:${await freePort()}`;
}
