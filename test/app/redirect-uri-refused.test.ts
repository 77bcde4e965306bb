/**
 * A `redirect_uri` (or `post_logout_redirect_uri`) the provider does not have registered for the
 * client. What reaches the app says which URI it sent and that it must be registered exactly
 * (lib/errors.ts `redirectUriRefusal()`): the pushed authorization request's refusal (RFC 9126
 * §2.3) at `/login`, an error the provider sends back to the callback, the token endpoint's
 * `invalid_grant` naming `redirect_uri`. Where the provider answers the browser itself (its
 * authorization endpoint and its end-session endpoint show an error page, as they must not
 * redirect to an unregistered URI), nothing reaches the app: those tests pin down what the user
 * sees there, which docs/troubleshooting.md describes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express from 'express';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { authCallback } from '../../lib/index.js';
import { callbackUrl } from '../support/app-server.js';
import { Browser } from '../support/browser.js';
import { errorAsJson } from '../support/error-handler.js';
import { startHostileProvider, type HostileProvider } from '../support/hostile-provider.js';
import { serveApp, type RunningServer } from '../support/http-server.js';
import { withoutProviderNotices } from '../support/log-guard.js';
import { signIn, startTestbed, type Testbed } from '../support/testbed.js';

const JSON_ACCEPT = { accept: 'application/json' };
/** Where the client is registered instead: another app's callback. */
const REGISTERED = 'https://app.example.test/callback';

/** A bare app: authCallback() with `auth`, `GET /` answering, errors as JSON `{ code, message }`. */
function bareApp(auth: AuthCallbackConfig): express.Express {
  const app = express();
  app.use(authCallback(auth));
  app.get('/', (_req, res) => { res.send('home'); });
  app.use(errorAsJson);
  return app;
}

describe('oidc-provider, the client registered with another redirect_uri', () => {
  let bed: Testbed;
  beforeAll(async () => {
    bed = await startTestbed({ client: { redirect_uris: [REGISTERED] }, build: bareApp });
  });
  afterAll(async () => {
    await bed.close();
  });

  test('with pushed authorization requests the refusal reaches /login: 502 with the provider\'s error, naming the URI sent and that it must be registered exactly', async () => {
    const par = await serveApp((baseURL) => bareApp({ ...bed.auth, baseURL, pushedAuthorizationRequests: true }));
    try {
      const res = await new Browser().request(`${par.baseURL}/login`, { headers: JSON_ACCEPT });
      expect(res.status).toBe(502);
      const { code, message } = JSON.parse(res.body) as { code: string; message: string };
      expect(code).toBe('invalid_request'); // oidc-provider's PAR endpoint: invalid_request, its description naming redirect_uri
      expect(message).toContain(`the redirect_uri this app sent, ${par.baseURL}/callback, is not one the provider has registered for this client: register it there exactly as sent`);
      expect(res.headers.get('location')).toBeNull();
    } finally {
      await par.close();
    }
  });

  test('without them the provider shows the browser its own error page (invalid_redirect_uri), and the app hears nothing', async () => {
    const browser = new Browser();
    const login = await browser.request(`${bed.baseURL}/login`);
    expect(login.status).toBe(302);
    const authorize = await withoutProviderNotices(() => browser.request(login.headers.get('location')!));
    expect(authorize.status).toBe(400);
    expect(authorize.headers.get('location')).toBeNull();
    expect(authorize.body).toContain('invalid_redirect_uri');
    expect(browser.history.filter((url) => url.startsWith(`${bed.baseURL}/callback`))).toEqual([]);
  });
});

test('oidc-provider, the client registered with another post_logout_redirect_uri: its end-session endpoint shows an error page, the app hears nothing', async () => {
  const bed = await startTestbed({ client: { post_logout_redirect_uris: ['https://app.example.test/'] } });
  try {
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`);
    const logout = await browser.request(`${bed.baseURL}/logout`);
    expect(logout.status).toBe(302);
    const endSession = new URL(logout.headers.get('location')!);
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(bed.baseURL);
    const page = await withoutProviderNotices(() => browser.request(endSession));
    expect(page.status).toBe(400);
    expect(page.body).toContain('post_logout_redirect_uri');
    // The app's own session is over all the same.
    expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBeUndefined();
  } finally {
    await bed.close();
  }
});

describe('a provider that sends the refusal back to the app', () => {
  let provider: HostileProvider;
  let app: RunningServer;
  beforeAll(async () => {
    provider = await startHostileProvider({ clientId: 'rp-redirect-uri', clientSecret: 'redirect-uri-client-secret-0123456789' });
    app = await serveApp((baseURL) => bareApp({
      issuer: provider.issuer, clientId: 'rp-redirect-uri', clientSecret: 'redirect-uri-client-secret-0123456789', baseURL,
      secret: 'a-test-secret-of-at-least-32-characters-0123456789',
    }));
  });
  afterAll(async () => {
    await app.close();
    await provider.close();
  });
  beforeEach(() => {
    provider.reset();
  });

  test('to the callback, error=invalid_request with a description naming redirect_uri: 400 invalid_request, naming the URI sent', async () => {
    provider.behaviour.overrides.authorize = (req, res) => {
      const target = new URL(req.query.redirect_uri as string);
      target.searchParams.set('error', 'invalid_request');
      target.searchParams.set('error_description', 'redirect_uri does not match the registered one');
      target.searchParams.set('state', req.query.state as string);
      res.redirect(302, target.href);
    };
    const browser = new Browser();
    const login = await browser.request(`${app.baseURL}/login`);
    const back = await browser.request(login.headers.get('location')!);
    const res = await browser.request(back.headers.get('location')!, { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    const { code, message } = JSON.parse(res.body) as { code: string; message: string };
    expect(code).toBe('invalid_request');
    expect(message).toContain('redirect_uri does not match the registered one');
    expect(message).toContain(`the redirect_uri this app sent, ${app.baseURL}/callback, is not one the provider has registered for this client: register it there exactly as sent`);
  });

  test('an error that is not about redirect_uri gets no such hint', async () => {
    provider.behaviour.authorize = 'access_denied';
    const browser = new Browser();
    const res = await browser.request(await callbackUrl(browser, app, provider), { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    expect((JSON.parse(res.body) as { message: string }).message).not.toContain('redirect_uri');
  });

  test('at the token endpoint, invalid_grant naming redirect_uri: 400 invalid_grant, naming the URI sent', async () => {
    provider.behaviour.overrides.token = (_req, res) => {
      res.status(400).json({ error: 'invalid_grant', error_description: 'redirect_uri mismatch' });
    };
    const browser = new Browser();
    const res = await browser.request(await callbackUrl(browser, app, provider), { headers: JSON_ACCEPT });
    expect(res.status).toBe(400);
    const { code, message } = JSON.parse(res.body) as { code: string; message: string };
    expect(code).toBe('invalid_grant');
    expect(message).toContain(`the redirect_uri this app sent, ${app.baseURL}/callback, is not one the provider has registered for this client: register it there exactly as sent`);
  });
});
