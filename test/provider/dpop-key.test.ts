/**
 * DPoP (RFC 9449) against a real oidc-provider with DPoP enabled: the login binds its tokens to
 * the session's own key pair, and every later use (refresh, UserInfo, a resource request)
 * proves possession of it.
 */
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import express, { type Request, type Response } from 'express';
import session from 'express-session';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, type JWK } from 'jose';
import { authCallback, requireAuth } from '../../lib/index.js';
import { Browser } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import type { DevClient } from '../../example-app/dev-provider.js';
import { SESSION_SECRET, signIn, startLogin, startTestbed, type Testbed } from '../support/testbed.js';

let bed: Testbed;
/** DPoP proofs oidc-provider received at its token endpoint, by grant type. */
const tokenProofs: { grantType: string; jkt: string | undefined }[] = [];
/** Token requests oidc-provider refused, by OAuth error. */
const grantErrors: string[] = [];

beforeAll(async () => {
  bed = await startTestbed({
    auth: { dpop: true },
    // Registration metadata the DevClient type does not list (RFC 9449 §5.2: dpop_bound_access_tokens).
    client: { grant_types: ['authorization_code', 'refresh_token'], dpop_bound_access_tokens: true } as unknown as Partial<DevClient>,
    providerConfiguration: {
      features: {
        devInteractions: { enabled: true },
        // Nonces required (RFC 9449 §8, §9): openid-client must retry with the server's DPoP-Nonce.
        dPoP: { enabled: true, nonceSecret: Buffer.alloc(32, 7), requireNonce: () => true },
        rpInitiatedLogout: { enabled: true },
      },
      issueRefreshToken: async () => true,
    },
    build: (auth) => {
      const app = express();
      app.use(session({ secret: SESSION_SECRET, resave: false, saveUninitialized: false, store: new session.MemoryStore() }));
      app.use(authCallback(auth));
      app.get('/tokens', requireAuth({ redirect: false }), (req: Request, res: Response) => {
        res.json({ tokenType: req.oidc.tokenType, accessToken: req.oidc.accessToken });
      });
      app.get('/userinfo', requireAuth({ redirect: false }), async (req: Request, res: Response) => {
        res.json(await req.oidc.fetchUserInfo());
      });
      app.get('/resource', requireAuth({ redirect: false }), async (req: Request, res: Response) => {
        // The provider's UserInfo endpoint stands in for a resource server that accepts DPoP.
        const upstream = await req.oidc.fetchResource(`${bed.provider.issuer}/me`);
        res.status(upstream.status).json({ status: upstream.status, body: await upstream.json() });
      });
      app.get('/call', requireAuth({ redirect: false }), async (req: Request, res: Response) => {
        const upstream = await req.oidc.fetchResource(String(req.query.url), { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
        res.json({ status: upstream.status });
      });
      app.post('/refresh', requireAuth({ redirect: false }), async (req: Request, res: Response) => {
        await req.oidc.refresh();
        res.json({ tokenType: req.oidc.tokenType, accessToken: req.oidc.accessToken });
      });
      app.use(errorAsJson);
      return app;
    },
  });
  bed.provider.provider.on('grant.error', (_ctx, err) => {
    grantErrors.push((err as { error?: string }).error ?? 'unknown');
  });
  bed.provider.provider.on('grant.success', (ctx) => {
    const proof = ctx.oidc.entities.AccessToken?.jkt as string | undefined;
    tokenProofs.push({ grantType: String(ctx.oidc.params?.grant_type), jkt: proof });
  });
});
afterAll(async () => {
  await bed.close();
});

const json = { accept: 'application/json' };

describe('DPoP (RFC 9449) with option dpop', () => {
  test('the authorization request carries dpop_jkt, the thumbprint of a fresh key pair per login (RFC 9449 §10)', async () => {
    const first = await startLogin(new Browser(), `${bed.baseURL}/login`);
    const second = await startLogin(new Browser(), `${bed.baseURL}/login`);
    const jkt = first.authorizationUrl.searchParams.get('dpop_jkt');
    expect(jkt).toMatch(/^[\w-]{43}$/);
    expect(second.authorizationUrl.searchParams.get('dpop_jkt')).toMatch(/^[\w-]{43}$/);
    expect(second.authorizationUrl.searchParams.get('dpop_jkt')).not.toBe(jkt);
  });

  test('the code exchange proves the key: the access token is DPoP-bound to the login\'s dpop_jkt (RFC 9449 §5, §6)', async () => {
    const browser = new Browser();
    const { authorizationUrl } = await startLogin(browser, `${bed.baseURL}/login`);
    tokenProofs.length = 0;
    grantErrors.length = 0;
    await signIn(browser, authorizationUrl.href);
    // The provider requires nonces: the first proof is refused with use_dpop_nonce, and openid-client retries with it (RFC 9449 §8).
    expect(grantErrors).toEqual(['use_dpop_nonce']);
    const page = await browser.request(`${bed.baseURL}/tokens`, { headers: json });
    expect(page.status).toBe(200);
    const seen = JSON.parse(page.body) as { tokenType: string };
    expect(seen.tokenType).toBe('DPoP');
    expect(tokenProofs).toEqual([{ grantType: 'authorization_code', jkt: authorizationUrl.searchParams.get('dpop_jkt') }]);
  });

  test('UserInfo and a resource request carry a DPoP proof for that key; the same token as Bearer is refused (RFC 9449 §7)', async () => {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`);
    const userinfo = await browser.request(`${bed.baseURL}/userinfo`, { headers: json });
    expect(userinfo.status).toBe(200);
    expect(JSON.parse(userinfo.body)).toMatchObject({ sub: 'alice' });
    const resource = await browser.request(`${bed.baseURL}/resource`, { headers: json });
    expect(JSON.parse(resource.body)).toMatchObject({ status: 200, body: { sub: 'alice' } });

    const { accessToken } = JSON.parse((await browser.request(`${bed.baseURL}/tokens`, { headers: json })).body) as { accessToken: string };
    const asBearer = await fetch(`${bed.provider.issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(asBearer.status).toBe(401);
  });

  test('a refresh proves the same key, and the refreshed access token stays bound to it (RFC 9449 §5)', async () => {
    const browser = new Browser();
    const { authorizationUrl } = await startLogin(browser, `${bed.baseURL}/login`);
    await signIn(browser, authorizationUrl.href);
    tokenProofs.length = 0;
    const refreshed = await browser.request(`${bed.baseURL}/refresh`, { body: new URLSearchParams(), headers: json });
    expect(refreshed.status).toBe(200);
    expect(JSON.parse(refreshed.body)).toMatchObject({ tokenType: 'DPoP' });
    expect(tokenProofs).toEqual([{ grantType: 'refresh_token', jkt: authorizationUrl.searchParams.get('dpop_jkt') }]);
    const resource = await browser.request(`${bed.baseURL}/resource`, { headers: json });
    expect(JSON.parse(resource.body)).toMatchObject({ status: 200 });
  });

  test('the proof sent to a resource server names the bound key, the method and URL, and the access token (RFC 9449 §4.2, §7.1); the cookie shows no key', async () => {
    const browser = new Browser();
    const { authorizationUrl } = await startLogin(browser, `${bed.baseURL}/login`);
    await signIn(browser, authorizationUrl.href);
    const cookie = (await browser.cookie(bed.baseURL, 'oidc_session'))!;
    expect(cookie).not.toMatch(/"d"|"kty"|P-256/); // sealed with the tokens

    const received: { authorization: string; dpop: string }[] = [];
    const resourceServer = express().post('/orders', (req, res) => {
      received.push({ authorization: String(req.headers.authorization), dpop: String(req.headers.dpop) });
      res.json({ ok: true });
    });
    const server = resourceServer.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
      const page = await browser.request(`${bed.baseURL}/call?url=${encodeURIComponent(url)}`, { headers: json });
      expect(JSON.parse(page.body)).toEqual({ status: 200 });
      const { accessToken } = JSON.parse((await browser.request(`${bed.baseURL}/tokens`, { headers: json })).body) as { accessToken: string };
      expect(received).toHaveLength(1);
      expect(received[0]!.authorization).toBe(`DPoP ${accessToken}`);
      const header = decodeProtectedHeader(received[0]!.dpop);
      expect(header.typ).toBe('dpop+jwt');
      expect(header.alg).toBe('ES256');
      expect(await calculateJwkThumbprint(header.jwk as JWK, 'sha256')).toBe(authorizationUrl.searchParams.get('dpop_jkt'));
      expect(header.jwk).not.toHaveProperty('d');
      const proof = decodeJwt(received[0]!.dpop);
      expect(proof).toMatchObject({ htm: 'POST', htu: url, ath: createHash('sha256').update(accessToken).digest('base64url') });
      expect(typeof proof.jti).toBe('string');
    } finally {
      server.close();
    }
  });
});
