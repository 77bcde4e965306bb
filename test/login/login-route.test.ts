/**
 * The login route against a real OpenID Provider: the authorization request it sends
 * (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect Core 1.0 §3.1.2.1) and what it stores.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { authCallback } from '../../lib/index.js';
import { Browser } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import type { Transaction } from '../../lib/transaction/transaction.js';
import { CLIENT_ID, pendingLogin, SECRET, startLogin, startTestbed, type Testbed } from '../support/testbed.js';

let bed: Testbed;
beforeAll(async () => {
  bed = await startTestbed({ auth: { authorizationParams: { prompt: 'login', ui_locales: 'fr' } } });
});
afterAll(async () => {
  await bed.close();
});

/** Starts a login and reads back the pending login the login route sealed into the browser's cookie. */
async function login(path: string): Promise<{ url: URL; transaction: Transaction; browser: Browser }> {
  const browser = new Browser();
  const { authorizationUrl, state } = await startLogin(browser, `${bed.baseURL}${path}`);
  const transaction = await pendingLogin(browser, bed.baseURL, state);
  if (transaction === undefined) throw new Error('no pending-login cookie');
  return { url: authorizationUrl, transaction, browser };
}

/** How many records the app's express-session store holds. */
function storeSize(): Promise<number> {
  return new Promise((resolve, reject) => bed.store.length((err, n) => (err ? reject(err) : resolve(n ?? 0))));
}

describe('GET /login', () => {
  test('redirects to the authorization endpoint with the code flow parameters, PKCE S256, state and nonce', async () => {
    const res = await request(bed.app).get('/login');
    expect(res.status).toBe(302);
    expect(res.headers['cache-control']).toBe('no-store');
    const url = new URL(res.headers.location as string);
    expect(url.origin + url.pathname).toBe(`${bed.provider.issuer}/auth`);
    const p = url.searchParams;
    expect(p.get('response_type')).toBe('code');
    expect(p.get('client_id')).toBe(CLIENT_ID);
    expect(p.get('redirect_uri')).toBe(`${bed.baseURL}/callback`);
    expect(p.get('scope')).toBe('openid profile email');
    expect(p.get('code_challenge_method')).toBe('S256');
    expect(p.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(p.get('state')).toMatch(/^[\w-]{43}$/);
    expect(p.get('nonce')).toMatch(/^[\w-]{43}$/);
    expect(p.get('nonce')).not.toBe(p.get('state'));
    // Configured extra parameters are passed through.
    expect(p.get('prompt')).toBe('login');
    expect(p.get('ui_locales')).toBe('fr');
  });

  test('seals nonce, code_verifier, returnTo, the issuer and the redirect_uri into a cookie of this login\'s state; nothing reaches the store', async () => {
    const sizeBefore = await storeSize();
    const { url, transaction, browser } = await login('/login?returnTo=%2Fprofile%3Ftab%3D1');
    expect(await storeSize()).toBe(sizeBefore);
    expect(await browser.cookie(bed.baseURL, 'connect.sid')).toBeUndefined();
    expect(transaction.issuer).toBe(bed.provider.issuer);
    expect(transaction.redirectUri).toBe(`${bed.baseURL}/callback`);
    expect(transaction.nonce).toBe(url.searchParams.get('nonce'));
    expect(transaction.returnTo).toBe('/profile?tab=1');
    expect(transaction.createdAt).toBeGreaterThan(Date.now() / 1000 - 60);
    // RFC 7636 §4.2: code_challenge = BASE64URL(SHA256(code_verifier)); the verifier never leaves the server.
    expect(createHash('sha256').update(transaction.codeVerifier).digest('base64url')).toBe(url.searchParams.get('code_challenge'));
    expect(url.href).not.toContain(transaction.codeVerifier);
  });

  test('each login gets fresh values', async () => {
    const a = await login('/login');
    const b = await login('/login');
    expect(a.url.searchParams.get('state')).not.toBe(b.url.searchParams.get('state'));
    expect(a.transaction.nonce).not.toBe(b.transaction.nonce);
    expect(a.transaction.codeVerifier).not.toBe(b.transaction.codeVerifier);
  });

  test.each([
    ['an absolute URL', 'https://evil.example/phish'],
    ['a scheme-relative URL', '//evil.example'],
    ['a backslash host', '/\\evil.example'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a relative path without /', 'profile'],
    ['an encoded tab before a host', '/\t/evil.example'],
  ])('returnTo as %s falls back to /', async (_kind, returnTo) => {
    const { transaction } = await login(`/login?returnTo=${encodeURIComponent(returnTo)}`);
    expect(transaction.returnTo).toBe('/');
  });

  test('a returnTo whose own query is not encoded keeps it (the raw query is read past its first "?")', async () => {
    const { transaction } = await login('/login?returnTo=/search?q=1');
    expect(transaction.returnTo).toBe('/search?q=1');
  });

  test('a repeated returnTo falls back to /', async () => {
    const { transaction } = await login('/login?returnTo=%2Fa&returnTo=%2Fb');
    expect(transaction.returnTo).toBe('/');
  });

  test.each(['image', 'script', 'empty', 'style'])('a /login that is not a page load (Sec-Fetch-Dest: %s: an <img> or fetch() from another site) → 400, no pending-login cookie planted', async (dest) => {
    const res = await request(bed.app).get('/login').set('Sec-Fetch-Dest', dest).set('Sec-Fetch-Site', 'cross-site');
    expect(res.status).toBe(400);
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  test.each(['document', 'iframe'])('a /login page load (Sec-Fetch-Dest: %s) starts the login', async (dest) => {
    const res = await request(bed.app).get('/login').set('Sec-Fetch-Dest', dest).set('Sec-Fetch-Mode', 'navigate');
    expect(res.status).toBe(302);
  });

  test('needs no express-session: without it, /login still redirects to the provider with its pending-login cookie', async () => {
    const app = express();
    app.use(authCallback({ ...bed.auth }));
    app.use(errorAsJson);
    const res = await request(app).get('/login');
    expect(res.status).toBe(302);
    expect((res.headers['set-cookie'] as unknown as string[]).some((c) => /^oidc_session_tx_[\w-]{16}=/.test(c))).toBe(true);
  });
});

describe('authCallback() options', () => {
  test('an invalid option throws a TypeError naming the key, at start-up', () => {
    expect(() => authCallback({ ...bed.auth, secret: 'short' })).toThrow(TypeError);
    expect(() => authCallback({ ...bed.auth, secret: 'short' })).toThrow(/"secret"/);
    expect(() => authCallback({ ...bed.auth, baseURL: 'localhost:3000' })).toThrow(/"baseURL"/);
    expect(() => authCallback({ ...bed.auth, issuer: 'http://op.example.com' })).toThrow(/"issuer"/);
  });

  test('routes can be renamed, and redirect_uri follows the callback route', async () => {
    const app = express();
    app.use((await import('express-session')).default({ secret: SECRET, resave: false, saveUninitialized: false }));
    app.use(authCallback({ ...bed.auth, routes: { login: '/auth/sign-in', callback: '/auth/return' } }));
    const res = await request(app).get('/auth/sign-in');
    expect(res.status).toBe(302);
    expect(new URL(res.headers.location as string).searchParams.get('redirect_uri')).toBe(`${bed.baseURL}/auth/return`);
    const old = await request(app).get('/login');
    expect(old.status).toBe(404);
  });
});
