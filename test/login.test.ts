/**
 * The login route against a real OpenID Provider: the authorization request it sends
 * (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID Connect Core 1.0 §3.1.2.1) and what it stores.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createHash } from 'node:crypto';
import express from 'express';
import request from 'supertest';
import { authCallback } from '../lib/index.js';
import { Browser } from './support/browser.js';
import { errorAsJson } from './support/error-handler.js';
import { CLIENT_ID, SECRET, sessionIdOf, startLogin, startTestbed, storedSession, type Testbed } from './support/testbed.js';

let bed: Testbed;
beforeAll(async () => {
  bed = await startTestbed({ auth: { authorizationParams: { prompt: 'login', ui_locales: 'fr' } } });
});
afterAll(async () => {
  await bed.close();
});

interface StoredTransaction { nonce: string; codeVerifier: string; returnTo: string; createdAt: number }

/** Starts a login and reads back what the login route stored in the express-session. */
async function login(path: string): Promise<{ url: URL; transaction: StoredTransaction; browser: Browser }> {
  const browser = new Browser();
  const { authorizationUrl, state } = await startLogin(browser, `${bed.baseURL}${path}`);
  const sid = sessionIdOf((await browser.cookie(bed.baseURL, 'connect.sid'))!);
  const data = await storedSession(bed.store, sid as string);
  const transactions = data?.oidcTransactions as Record<string, StoredTransaction>;
  return { url: authorizationUrl, transaction: transactions[state]!, browser };
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

  test('stores state, nonce, code_verifier and returnTo in the express-session under one key', async () => {
    const { url, transaction } = await login('/login?returnTo=%2Fprofile%3Ftab%3D1');
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

  test('without express-session mounted, the error says to mount it', async () => {
    const app = express();
    app.use(authCallback({ ...bed.auth }));
    app.use(errorAsJson);
    const res = await request(app).get('/login');
    expect(res.status).toBe(500);
    expect(res.body.code).toBe('session_not_mounted');
    expect(res.body.message).toContain('app.use(session(');
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
