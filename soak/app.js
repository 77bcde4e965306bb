// @ts-check
/**
 * One instance of the soak's app, in its own process: Express 5, express-session on
 * connect-redis (node-redis, its offline queue off so that a command to a Redis that is down
 * fails at once instead of waiting), given to authCallback() (its `session` option) with
 * server-side sessions (`sessionStorage: 'store'`), a short `storeTimeout`, `autoRefresh` and
 * back-channel logout. This package is imported from dist/, as bench/servers/this-package.js does.
 *
 * Routes besides authCallback()'s: `GET /api/me` (guarded, JSON: the user, the access token's
 * expiry, the instance), `POST /api/refresh` (guarded, `req.oidc.refresh()`), `GET /` (a
 * landing page after logout). Every answer carries `x-soak-instance`; an answer on which a
 * session ended carries `x-soak-session-ended: <reason>` (from the `sessionExpired` event).
 *
 * The orchestrator asks over IPC for `memory` (after two full garbage collections when node runs
 * with `--expose-gc`) and `stats` (answers by status, the events of authCallback() by type and
 * code, Redis client errors, the last 5xx errors).
 *
 * Environment: `SOAK_NAME`, `SOAK_PORT`, `SOAK_BASE_URL` (the proxy's URL), `SOAK_ISSUER`,
 * `SOAK_CLIENT_ID`, `SOAK_CLIENT_SECRET`, `SOAK_REDIS_URL`, `SOAK_STORE_TIMEOUT`,
 * `SOAK_HTTP_TIMEOUT`, `SOAK_REFRESH_MARGIN` (seconds).
 */
import { createServer } from 'node:http';
import express from 'express';
import session from 'express-session';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { serveParent } from './child.js';

/** @type {typeof import('../dist/index.js')} */
const { AuthError, authCallback, requireAuth } = await import('../dist/index.js');

/**
 * @param {string} name
 * @returns {string}
 */
function env(name) {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set: start this file from soak/run.js`);
  return value;
}

const name = env('SOAK_NAME');
const secret = 'soak-secret-soak-secret-soak-secret-0123456789';

/** Answers by status. */
/** @type {Record<string, number>} */
const statuses = {};
/** authCallback()'s events, by `type` and `code` or `reason` (e.g. `refreshFailed refresh_failed`). */
/** @type {Record<string, number>} */
const events = {};
let redisErrors = 0;
/** The last few 5xx errors: code and message, to say in the printout what failed. */
/** @type {string[]} */
const serverErrors = [];

const redis = createClient({
  url: env('SOAK_REDIS_URL'),
  disableOfflineQueue: true,
  socket: { connectTimeout: 1000, reconnectStrategy: (retries) => Math.min(50 + retries * 100, 500) },
});
redis.on('error', () => { redisErrors++; });
await redis.connect();

const app = express();
app.disable('x-powered-by');
app.use((req, res, next) => {
  res.setHeader('x-soak-instance', name);
  res.on('finish', () => { statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1; });
  next();
});

/**
 * @param {string} key
 * @returns {() => void}
 */
const count = (key) => () => { events[key] = (events[key] ?? 0) + 1; };

app.use(authCallback({
  issuer: env('SOAK_ISSUER'),
  clientId: env('SOAK_CLIENT_ID'),
  clientSecret: env('SOAK_CLIENT_SECRET'),
  baseURL: env('SOAK_BASE_URL'),
  secret,
  sessionStorage: 'store',
  session: session({
    store: new RedisStore({ client: redis, prefix: 'soak:' }),
    secret,
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax' },
  }),
  storeTimeout: Number(env('SOAK_STORE_TIMEOUT')),
  httpTimeout: Number(env('SOAK_HTTP_TIMEOUT')),
  refreshMargin: Number(env('SOAK_REFRESH_MARGIN')),
  autoRefresh: true,
  routes: { backchannelLogout: '/backchannel-logout' },
  events: {
    login: count('login'),
    loginFailed: (e) => count(`loginFailed ${e.code}`)(),
    refresh: count('refresh'),
    refreshFailed: (e) => count(`refreshFailed ${e.code}`)(),
    logout: count('logout'),
    backchannelLogout: count('backchannelLogout'),
    sessionExpired: (e, req) => {
      count(`sessionExpired ${e.reason}`)();
      if (req.res !== undefined && !req.res.headersSent) req.res.setHeader('x-soak-session-ended', e.reason);
    },
  },
}));

app.get('/', (_req, res) => {
  res.type('text').send(`soak app ${name}\n`);
});
app.get('/api/me', requireAuth(), (req, res) => {
  res.json({ sub: req.user?.sub, expiresAt: req.oidc.expiresAt, instance: name });
});
app.post('/api/refresh', requireAuth(), async (req, res) => {
  await req.oidc.refresh();
  res.json({ sub: req.user?.sub, expiresAt: req.oidc.expiresAt, instance: name });
});

/**
 * Errors as JSON: the status and code of an AuthError, else 500; never a stack trace. A 5xx is
 * remembered for the printout and written to stderr in one line.
 *
 * @param {any} err
 * @param {import('express').Request} req
 * @param {import('express').Response} res
 * @param {import('express').NextFunction} _next
 */
function errorAsJson(err, req, res, _next) {
  const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 600 ? err.status : 500;
  const code = err instanceof AuthError ? err.code : 'server_error';
  if (status >= 500) {
    const line = `${status} ${code} ${req.method} ${req.path}: ${err?.message ?? err}${err?.cause ? ` (cause: ${err.cause.message ?? err.cause})` : ''}`;
    serverErrors.push(line);
    if (serverErrors.length > 20) serverErrors.shift();
    if (status === 500) process.stderr.write(`[app ${name}] ${err?.stack ?? line}\n`);
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(status).json({ error: code, error_description: err instanceof AuthError && err.expose ? err.message : 'Something went wrong' });
}
app.use(errorAsJson);

/** @returns {NodeJS.MemoryUsage} */
function memory() {
  const gc = /** @type {undefined | (() => void)} */ (globalThis.gc);
  if (gc !== undefined) {
    gc();
    gc();
  }
  return process.memoryUsage();
}

const server = createServer(app);
server.listen(Number(env('SOAK_PORT')), '127.0.0.1', () => {
  serveParent({
    memory,
    stats: () => ({ statuses: { ...statuses }, events: { ...events }, redisErrors, serverErrors: [...serverErrors] }),
  }, { name }, async () => {
    await new Promise((resolve) => {
      server.close(resolve);
      server.closeIdleConnections();
    });
    await redis.close();
  });
});
