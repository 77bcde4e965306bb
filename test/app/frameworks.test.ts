/**
 * The whole contract in each framework the package supports: Express 5, Express 4, plain
 * Connect 3, and Node's own `http.createServer()` with no framework at all. Each app is built the
 * same way (express-session, authCallback(), guarded routes, an error handler) and runs the same
 * flow against the real oidc-provider: the guard's redirect and 401, login → callback → guarded
 * route → logout, an error callback, and the package mounted under a path.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import connect from 'connect';
import express from 'express';
// @ts-expect-error -- the npm alias of express@4 has no types of its own; it is used untyped here
import express4 from 'express4';
import session from 'express-session';
import type { Express } from 'express';
import { AuthError, authCallback, requireAuth, type AuthCallbackConfig, type Middleware } from '../../lib/index.js';
import { Browser } from '../support/browser.js';
import { signIn, startTestbed, type Testbed } from '../support/testbed.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;
type ErrorHandler = (err: unknown, req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/** The same app in any framework: `use(path, ...middleware)` and an error handler, written with Node's own `res`. */
interface Framework {
  name: string;
  build(mount: (use: (path: string, ...handlers: Middleware[]) => void) => void, onError: ErrorHandler): Listener;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.end(body);
}

/** The app's pages, as plain middleware: they answer only their own path, exactly. */
function page(path: string, answer: (req: IncomingMessage & { user?: Express.User }, res: ServerResponse) => void): Middleware {
  return (req, res, next) => {
    if (req.url?.split('?')[0] === path || (path === '/' && req.url?.split('?')[0] === '')) answer(req as IncomingMessage & { user?: Express.User }, res);
    else next();
  };
}

// Four parameters: Express and Connect tell an error handler by its arity.
const onError: ErrorHandler = (err, _req, res, _next) => {
  const e = err instanceof AuthError ? err : new AuthError('internal_error', 500, 'unexpected');
  send(res, e.status, 'application/json', JSON.stringify({ error: e.code }));
};

/** Runs `handlers` in order on a bare `http` request, as a framework would; what none answers is a 404. */
function plainNode(handlers: [string, Middleware][], errorHandler: ErrorHandler): Listener {
  return (req, res) => {
    let i = 0;
    const next = (err?: unknown): void => {
      if (err !== undefined) {
        errorHandler(err, req, res, () => undefined);
        return;
      }
      const entry = handlers[i++];
      if (entry === undefined) {
        send(res, 404, 'text/plain', 'not found');
        return;
      }
      const [path, handler] = entry;
      const url = req.url ?? '/';
      // A handler "mounted" at a path runs for that path and below it (the URL is left whole).
      if (path === '/' || url === path || url.startsWith(`${path}/`) || url.startsWith(`${path}?`)) handler(req, res, next);
      else next();
    };
    next();
  };
}

const FRAMEWORKS: Framework[] = [
  {
    name: 'Express 5',
    build(mount, errorHandler) {
      const app = express();
      mount((path, ...handlers) => app.use(path, ...handlers));
      app.use(errorHandler);
      return app;
    },
  },
  {
    name: 'Express 4',
    build(mount, errorHandler) {
      const app = (express4 as () => Express)();
      mount((path, ...handlers) => app.use(path, ...handlers));
      app.use(errorHandler);
      return app;
    },
  },
  {
    name: 'Connect 3',
    build(mount, errorHandler) {
      const app = connect();
      mount((path, ...handlers) => {
        for (const handler of handlers) app.use(path, handler);
      });
      app.use(errorHandler);
      return app;
    },
  },
  {
    name: 'Node http, no framework',
    build(mount, errorHandler) {
      const handlers: [string, Middleware][] = [];
      mount((path, ...more) => handlers.push(...more.map((h): [string, Middleware] => [path, h])));
      return plainNode(handlers, errorHandler);
    },
  },
];

/** The app: express-session, authCallback(), a home page, a guarded page and API, at `mountPath`. */
function appOf(framework: Framework, auth: AuthCallbackConfig, mountPath = '/'): Listener {
  return framework.build((use) => {
    use(mountPath, session({ secret: 'frameworks-session-secret', resave: false, saveUninitialized: false }) as unknown as Middleware);
    use(mountPath, authCallback(auth));
    use(mountPath, page('/', (req, res) => send(res, 200, 'text/plain', req.user ? `hello ${String(req.user.sub)}` : 'anonymous')));
    use(`${mountPath === '/' ? '' : mountPath}/profile`, requireAuth());
    use(`${mountPath === '/' ? '' : mountPath}/api`, requireAuth());
    use(mountPath, page('/profile', (req, res) => send(res, 200, 'text/plain', `profile of ${String(req.user?.sub)}`)));
    use(mountPath, page('/api/me', (req, res) => send(res, 200, 'application/json', JSON.stringify({ sub: req.user?.sub }))));
  }, onError);
}

const JSON_ACCEPT = { accept: 'application/json' };
const HTML_ACCEPT = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };

describe.each(FRAMEWORKS)('$name', (framework) => {
  let bed: Testbed;
  beforeAll(async () => {
    bed = await startTestbed({ build: (auth) => appOf(framework, auth) as unknown as Express });
  });
  afterAll(async () => {
    await bed.close();
  });

  test('the guard sends a page load to the login route, with returnTo', async () => {
    const res = await new Browser().request(`${bed.baseURL}/profile?tab=2`, { headers: HTML_ACCEPT });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`/login?returnTo=${encodeURIComponent('/profile?tab=2')}`);
  });

  test('the guard answers an API client 401 with a WWW-Authenticate challenge, through the error handler', async () => {
    const res = await new Browser().request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^OpenIDConnect realm=/);
    expect(JSON.parse(res.body)).toEqual({ error: 'unauthorized' });
  });

  test('login → callback → guarded page and API → logout', async () => {
    const browser = new Browser();
    const landed = await signIn(browser, `${bed.baseURL}/profile`, 'grace');
    expect(landed.url).toBe(`${bed.baseURL}/profile`);
    expect(landed.body).toBe('profile of grace');
    const me = await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toEqual({ sub: 'grace' });

    const logout = await browser.request(`${bed.baseURL}/logout`);
    expect(logout.status).toBe(302);
    expect(new URL(logout.headers.get('location')!).origin).toBe(new URL(bed.provider.issuer).origin);
    const after = await browser.request(`${bed.baseURL}/api/me`, { headers: JSON_ACCEPT });
    expect(after.status).toBe(401);
    expect((await browser.request(`${bed.baseURL}/`)).body).toBe('anonymous');
  });

  test('an error callback reaches the error handler as a 4xx, and no session is made', async () => {
    const browser = new Browser();
    const res = await browser.request(`${bed.baseURL}/callback?error=access_denied&state=unknown`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: 'missing_transaction' });
    expect((await browser.request(`${bed.baseURL}/`)).body).toBe('anonymous');
  });

  test('a path the package does not serve falls through to the app', async () => {
    const res = await new Browser().request(`${bed.baseURL}/login/elsewhere`);
    expect(res.status).toBe(404);
  });
});

describe.each(FRAMEWORKS.filter((f) => f.name !== 'Node http, no framework'))('$name, mounted under /auth', (framework) => {
  let bed: Testbed;
  beforeAll(async () => {
    bed = await startTestbed({ basePath: '/auth', build: (auth) => appOf(framework, auth, '/auth') as unknown as Express });
  });
  afterAll(async () => {
    await bed.close();
  });

  test('serves its routes under the mount path, and the guard sends the browser there', async () => {
    const browser = new Browser();
    const guard = await browser.request(`${bed.baseURL}/auth/profile`, { headers: HTML_ACCEPT });
    expect(guard.status).toBe(302);
    // returnTo is relative to baseURL's path, which the callback adds back.
    expect(guard.headers.get('location')).toBe(`/auth/login?returnTo=${encodeURIComponent('/profile')}`);
    const landed = await signIn(browser, `${bed.baseURL}/auth/profile`, 'heidi');
    expect(landed.url).toBe(`${bed.baseURL}/auth/profile`);
    expect(landed.body).toBe('profile of heidi');
  });

  test('does not answer its routes outside the mount path', async () => {
    const res = await new Browser().request(`${bed.baseURL}/login`);
    expect(res.status).toBe(404);
  });
});
