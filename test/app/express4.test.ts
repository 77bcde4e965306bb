/**
 * Express 4 (4.21+) is a supported peer: the whole flow, and errors from async routes reaching
 * the error handler (Express 4 does not catch rejected promises itself).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
// @ts-expect-error -- the npm alias of express@4 has no types of its own; it is used untyped here
import express4 from 'express4';
import session from 'express-session';
import type { NextFunction, Request, Response } from 'express';
import { AuthError, authCallback, requireAuth } from '../../lib/index.js';
import { Browser } from '../support/browser.js';
import { signIn, startTestbed, type Testbed } from '../support/testbed.js';

let bed: Testbed;
beforeAll(async () => {
  bed = await startTestbed({
    build(auth) {
      const app = express4();
      app.use(session({ secret: 'express4-session-secret', resave: false, saveUninitialized: false }));
      app.use(authCallback(auth));
      app.get('/', (req: Request, res: Response) => { res.send(req.user ? `hello ${String(req.user.name)}` : 'anonymous'); });
      app.get('/api/me', requireAuth(), (req: Request, res: Response) => { res.json(req.user); });
      app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
        const e = err instanceof AuthError ? err : new AuthError('internal_error', 500, 'unexpected');
        res.status(e.status).json({ error: e.code });
      });
      return app;
    },
  });
});
afterAll(async () => {
  await bed.close();
});

describe('with Express 4', () => {
  test('a user signs in and req.user is set', async () => {
    const browser = new Browser();
    const home = await signIn(browser, `${bed.baseURL}/login`, 'frank');
    expect(home.body).toBe('hello frank');
    const me = await browser.request(`${bed.baseURL}/api/me`, { headers: { accept: 'application/json' } });
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'frank' });
  });

  test('a rejected callback reaches the error handler as a 400', async () => {
    const browser = new Browser();
    const res = await browser.request(`${bed.baseURL}/callback?code=x&state=y`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: 'missing_transaction' });
  });

  test('requireAuth() answers 401 to an API client', async () => {
    const browser = new Browser();
    const res = await browser.request(`${bed.baseURL}/api/me`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(401);
  });
});
