/**
 * The guard, and how a session cookie is read on every request: valid, chunked, tampered,
 * expired or foreign.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { authCallback, requireAuth } from '../lib/index.js';
import { Sealer } from '../lib/seal.js';
import { Browser } from './support/browser.js';
import { errorAsJson } from './support/error-handler.js';
import { SECRET, signIn, startTestbed, type Testbed } from './support/testbed.js';

let bed: Testbed;
let signedIn: Browser;
let cookie: string;
beforeAll(async () => {
  bed = await startTestbed();
  signedIn = new Browser();
  await signIn(signedIn, `${bed.baseURL}/login`, 'carol');
  cookie = (await signedIn.cookie(bed.baseURL, 'oidc_session'))!;
});
afterAll(async () => {
  await bed.close();
});

/** A compact JWS-shaped ID token (the seal vouches for it, so its signature is not read back). */
function idToken(claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'RS256' })}.${part(claims)}.c2ln`;
}

function sealed(payload: object, secret = SECRET, expiresAt = Date.now() / 1000 + 3600): string {
  return new Sealer([secret]).seal(payload, expiresAt);
}

const claims = { iss: 'https://op.example', sub: 'dave', aud: 'test-app', iat: 1, exp: 2, email: 'dave@example.com' };

describe('requireAuth() with a valid session', () => {
  test('lets the request through, with req.user = the ID token claims', async () => {
    const res = await request(bed.app).get('/api/me').set('Cookie', `oidc_session=${cookie}`).set('Accept', 'application/json');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ sub: 'carol', email: 'carol@example.com', name: 'carol' });
  });

  test('a token set over 4,000 bytes arrives in chunks and is reassembled', async () => {
    const value = sealed({ idToken: idToken(claims), accessToken: 'a'.repeat(6000), tokenType: 'Bearer' });
    const res = await request(bed.app).get('/api/me')
      .set('Cookie', `oidc_session.0=${value.slice(0, 3900)}; oidc_session.1=${value.slice(3900)}`)
      .set('Accept', 'application/json');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ sub: 'dave', email: 'dave@example.com' });
  });

  test('does not re-send the session cookie on an ordinary request', async () => {
    const res = await request(bed.app).get('/api/me').set('Cookie', `oidc_session=${cookie}`).set('Accept', 'application/json');
    expect(res.status).toBe(200);
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe('requireAuth() without a valid session', () => {
  test('a browser (Accept: text/html) is sent to login with returnTo = the current path', async () => {
    const res = await request(bed.app).get('/profile?x=1&y=%2F').set('Accept', 'text/html');
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`/login?returnTo=${encodeURIComponent('/profile?x=1&y=%2F')}`);
  });

  test('an API client (Accept: application/json) gets 401 with WWW-Authenticate', async () => {
    const res = await request(bed.app).get('/api/me').set('Accept', 'application/json');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe(`OpenIDConnect realm="${bed.baseURL}", login_uri="${bed.baseURL}/login"`);
    expect(res.body).toEqual({ error: 'unauthorized', error_description: 'Authentication required: sign in first' });
  });

  test('a POST gets 401, not a redirect that would lose its body', async () => {
    const app = express();
    app.use(authCallback(bed.auth));
    app.post('/comments', requireAuth(), (_req, res) => { res.send('saved'); });
    app.use(errorAsJson);
    const res = await request(app).post('/comments').set('Accept', 'text/html').send('text=hi');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^OpenIDConnect /);
  });

  test.each([
    ['tampered', () => cookie.slice(0, -4) + (cookie.endsWith('AAAA') ? 'BBBB' : 'AAAA')],
    ['truncated', () => cookie.slice(0, cookie.length / 2)],
    ['garbage', () => 'not-a-session'],
    ['sealed with another secret', () => sealed({ idToken: idToken(claims), accessToken: 'x', tokenType: 'Bearer' }, 'another-secret-of-at-least-32-characters!!')],
    ['expired', () => sealed({ idToken: idToken(claims), accessToken: 'x', tokenType: 'Bearer' }, SECRET, Date.now() / 1000 - 1)],
    ['missing a chunk', () => cookie],
  ])('a %s cookie reads as "not signed in": 401, never a 500', async (kind, value) => {
    const name = kind === 'missing a chunk' ? 'oidc_session.1' : 'oidc_session';
    const res = await request(bed.app).get('/api/me').set('Cookie', `${name}=${value()}`).set('Accept', 'application/json');
    expect(res.status).toBe(401);
    const home = await request(bed.app).get('/').set('Cookie', `${name}=${value()}`);
    expect(home.status).toBe(200);
    expect(home.text).toContain('You are not signed in');
  });

  test('without authCallback() mounted, the error says to mount it', async () => {
    const app = express();
    app.get('/x', requireAuth(), (_req, res) => { res.send('unreachable'); });
    app.use(errorAsJson);
    const res = await request(app).get('/x');
    expect(res.status).toBe(500);
    expect(res.body.code).toBe('middleware_not_mounted');
    expect(res.body.message).toContain('app.use(authCallback(');
  });
});

describe('requireAuth() when the login route is disabled', () => {
  test('answers 401 even to a browser, and names no login URL', async () => {
    const other = await startTestbed({ auth: { routes: { login: false } } });
    try {
      const res = await request(other.app).get('/profile').set('Accept', 'text/html');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toBe(`OpenIDConnect realm="${other.baseURL}"`);
    } finally {
      await other.close();
    }
  });
});
