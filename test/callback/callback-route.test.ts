/**
 * The callback route against a real OpenID Provider: every rule of the authorization response
 * (RFC 6749 §4.1.2, RFC 9207, RFC 9700 §4.7) and what a successful login leaves behind.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseSetCookie } from 'cookie';
import express from 'express';
import session from 'express-session';
import { authCallback } from '../../lib/index.js';
import { Browser, readForm } from '../support/browser.js';
import { jsonError } from '../support/leaks.js';
import {
  authorizationResponse, sessionIdOf, signIn, startLogin, startTestbed, storedSession, testbedTools, useTestbed, type Testbed,
} from '../support/testbed.js';

const bed = useTestbed();
const { expectNotSignedIn } = testbedTools(bed);

const json = { accept: 'application/json' };

describe('an error from the provider (RFC 6749 §4.1.2.1)', () => {
  test('is a 400 whose code is the OAuth error and whose message carries error_description', async () => {
    const browser = new Browser();
    const { state } = await startLogin(browser, `${bed.baseURL}/login`);
    const res = await browser.request(
      `${bed.baseURL}/callback?error=access_denied&error_description=The+user+said+no&state=${state}`, { headers: json });
    expect(res.status).toBe(400);
    expect(jsonError(res)).toEqual({ error: 'access_denied', error_description: 'The OpenID Provider answered the login with "access_denied": The user said no' });
    await expectNotSignedIn(browser);
  });

  test('removes the transaction: the same state cannot be used afterwards', async () => {
    const browser = new Browser();
    const { state } = await startLogin(browser, `${bed.baseURL}/login`);
    await browser.request(`${bed.baseURL}/callback?error=access_denied&state=${state}`, { headers: json });
    const again = await browser.request(`${bed.baseURL}/callback?code=abc&state=${state}`, { headers: json });
    expect(again.status).toBe(400);
    expect(jsonError(again).error).toBe('missing_transaction');
    expect(bed.tokenRequests).toBe(0);
  });

  test('is never reflected unescaped into HTML', async () => {
    const browser = new Browser();
    const { state } = await startLogin(browser, `${bed.baseURL}/login`);
    const evil = encodeURIComponent('<script>alert(1)</script>');
    const res = await browser.request(`${bed.baseURL}/callback?error=${evil}&error_description=${evil}&state=${state}`);
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.body).not.toContain('<script>');
    expect(res.body).not.toMatch(/at \S+ \(.*:\d+:\d+\)/); // no stack trace
  });

  test('an error value outside RFC 6749\'s character set becomes invalid_request', async () => {
    const browser = new Browser();
    const { state } = await startLogin(browser, `${bed.baseURL}/login`);
    const res = await browser.request(`${bed.baseURL}/callback?error=${encodeURIComponent('bad"error')}&state=${state}`, { headers: json });
    expect(res.status).toBe(400);
    expect(jsonError(res).error).toBe('invalid_request');
  });
});

describe('a callback that is not the answer to this browser\'s login', () => {
  test('without a code: 400 "authorization code not found"', async () => {
    const browser = new Browser();
    const { state } = await startLogin(browser, `${bed.baseURL}/login`);
    const res = await browser.request(`${bed.baseURL}/callback?state=${state}`, { headers: json });
    expect(res.status).toBe(400);
    expect(jsonError(res)).toEqual({ error: 'missing_code', error_description: 'Authorization code not found in the callback' });
    expect(bed.tokenRequests).toBe(0);
  });

  test('without a pending login: 400 before any token request (login CSRF)', async () => {
    const attacker = new Browser();
    const response = await authorizationResponse(attacker, `${bed.baseURL}/login`, 'mallory');
    const victim = new Browser();
    const res = await victim.request(response.href, { headers: json });
    expect(res.status).toBe(400);
    expect(jsonError(res).error).toBe('missing_transaction');
    expect(bed.tokenRequests).toBe(0);
    await expectNotSignedIn(victim);
  });

  test('with another state: 400 before any token request; the browser\'s own pending login is left alone and still completes', async () => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login`);
    const forged = new URL(response);
    forged.searchParams.set('state', 'forged-state');
    const res = await browser.request(forged.href, { headers: json });
    expect(res.status).toBe(400);
    expect(jsonError(res).error).toBe('state_mismatch');
    expect(bed.tokenRequests).toBe(0);
    await expectNotSignedIn(browser);
    const genuine = await browser.request(response.href, { headers: json });
    expect(genuine.status).toBe(302);
    expect(bed.tokenRequests).toBe(1);
  });

  test('with an iss that is not the issuer (RFC 9207 §2.4): 400, no token request', async () => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login`);
    expect(response.searchParams.get('iss')).toBe(bed.provider.issuer); // oidc-provider sends iss
    response.searchParams.set('iss', 'https://attacker.example');
    const res = await browser.request(response.href, { headers: json });
    expect(res.status).toBe(400);
    expect(jsonError(res).error).toBe('issuer_mismatch');
    expect(bed.tokenRequests).toBe(0);
  });

  test('without iss when the provider promises it (RFC 9207 §3): 400', async () => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login`);
    response.searchParams.delete('iss');
    const res = await browser.request(response.href, { headers: json });
    expect(res.status).toBe(400);
    expect(jsonError(res).error).toBe('issuer_mismatch');
    expect(bed.tokenRequests).toBe(0);
  });

  test.each([
    ['state', (u: URL) => u.searchParams.append('state', u.searchParams.get('state')!)],
    ['code', (u: URL) => u.searchParams.append('code', 'second-code')],
  ])('with %s repeated (RFC 6749 §3.1): 400, read from the raw URL', async (_name, repeat) => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login`);
    repeat(response);
    const res = await browser.request(response.href, { headers: json });
    expect(res.status).toBe(400);
    expect(jsonError(res).error).toBe('invalid_request');
    expect(bed.tokenRequests).toBe(0);
  });

  test('with a bracketed state (state[x]=1): 400', async () => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login`);
    response.searchParams.set('state[x]', '1');
    const res = await browser.request(response.href, { headers: json });
    expect(res.status).toBe(400);
    expect(jsonError(res).error).toBe('invalid_request');
  });

  test('replayed after a successful login (the back button): 302 to /, no code exchanged, and the session stays; in a signed-out browser: 400', async () => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login`);
    const first = await browser.request(response.href);
    expect(first.status).toBe(302);
    const cookie = await browser.cookie(bed.baseURL, 'oidc_session');
    expect(cookie).toBeDefined();
    const replay = await browser.request(response.href, { headers: json });
    expect(replay.status).toBe(302);
    expect(replay.headers.get('location')).toBe('/');
    expect(replay.headers.getSetCookie().map((c) => parseSetCookie(c).name).filter((n) => /^oidc_session(\.\d+)?$/.test(n))).toEqual([]);
    expect(await browser.cookie(bed.baseURL, 'oidc_session')).toBe(cookie);
    expect(bed.tokenRequests).toBe(1);
    // The same replay in a browser with no session is still refused.
    const elsewhere = await new Browser().request(response.href, { headers: json });
    expect(elsewhere.status).toBe(400);
    expect(jsonError(elsewhere).error).toBe('missing_transaction');
    expect(bed.tokenRequests).toBe(1);
  });
});

describe('a successful callback', () => {
  test('redirects to returnTo and sets the session cookie HttpOnly, SameSite=Lax, Path=/, not Secure on http', async () => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login?returnTo=%2Fprofile`);
    const before = Math.floor(Date.now() / 1000);
    const res = await browser.request(response.href);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/profile');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const cookies = res.headers.getSetCookie().map((c) => parseSetCookie(c));
    const session = cookies.find((c) => c.name === 'oidc_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'lax', path: '/' });
    expect(session?.secure).toBeFalsy();
    // The cookie expires with the seal: sessionIdleDuration (1 day, under the 7-day sessionDuration) from now.
    const expires = Math.floor(session!.expires!.getTime() / 1000);
    expect(expires).toBeGreaterThanOrEqual(before + 86400 - 1);
    expect(expires).toBeLessThanOrEqual(before + 86400 + 5);
    // The cookie is sealed: the claims are not readable in it, plain or base64-decoded.
    const value = session!.value ?? '';
    expect(value).not.toContain('alice');
    for (const part of value.split('.')) {
      expect(Buffer.from(part, 'base64url').toString('latin1')).not.toContain('alice');
    }
  });

  test('with an https baseURL, the session cookie is also Secure', async () => {
    const proxied = await startTestbed({
      behindTlsProxy: true,
      // express-session's own cookie stays non-Secure: the test browser talks plain http to the app.
      build(auth) {
        const app = express();
        app.use(session({ secret: 'express-session-test-secret', resave: false, saveUninitialized: false }));
        app.use(authCallback(auth));
        return app;
      },
    });
    try {
      expect(proxied.auth.baseURL).toMatch(/^https:/);
      const browser = new Browser();
      const response = await authorizationResponse(browser, `${proxied.baseURL}/login`);
      expect(response.protocol).toBe('https:');
      response.protocol = 'http:'; // the TLS-terminating proxy's job
      const res = await browser.request(response.href);
      expect(res.status).toBe(302);
      // RFC 6265bis §4.1.3.2: on https without a cookie domain, the default name is __Host- prefixed.
      const session = res.headers.getSetCookie().map((c) => parseSetCookie(c)).find((c) => c.name === '__Host-oidc_session');
      expect(session).toMatchObject({ secure: true, httpOnly: true, sameSite: 'lax', path: '/' });
      expect(session?.domain).toBeUndefined();
    } finally {
      await proxied.close();
    }
  });

  describe('the app\'s own express-session (mounted with app.use())', () => {
    /** An app whose pages keep a cart in req.session, guarded pages and errors as JSON. */
    function appWithCart(auth: typeof bed.auth): express.Express {
      const app = express();
      app.use(session({ store: bed.store, secret: 'express-session-test-secret', resave: false, saveUninitialized: false }));
      app.use(authCallback(auth));
      app.get('/cart', (req, res) => {
        (req.session as unknown as { cart?: string }).cart = 'three apples';
        res.json({ cart: 'three apples' });
      });
      app.get('/cart/show', (req, res) => { res.json({ cart: (req.session as unknown as { cart?: string }).cart ?? null, user: req.user?.sub ?? null }); });
      return app;
    }

    async function withCartApp(run: (baseURL: string) => Promise<void>): Promise<void> {
      const cartBed = await startTestbed({ build: appWithCart });
      try {
        await run(cartBed.baseURL);
      } finally {
        await cartBed.close();
      }
    }

    test('a login gives it a new id (no session fixation): the pre-login id is destroyed, the app\'s data is kept', async () => {
      await withCartApp(async (baseURL) => {
        const browser = new Browser();
        await browser.request(`${baseURL}/cart`);
        const before = sessionIdOf((await browser.cookie(baseURL, 'connect.sid'))!) as string;
        expect(await storedSession(bed.store, before)).toHaveProperty('cart', 'three apples');
        await signIn(browser, `${baseURL}/login?returnTo=%2Fcart%2Fshow`);
        const after = sessionIdOf((await browser.cookie(baseURL, 'connect.sid'))!) as string;
        expect(after).not.toBe(before);
        expect(await storedSession(bed.store, before)).toBeUndefined();
        expect(await storedSession(bed.store, after)).toHaveProperty('cart', 'three apples');
        const shown = await browser.request(`${baseURL}/cart/show`, { headers: json });
        expect(JSON.parse(shown.body)).toEqual({ cart: 'three apples', user: 'alice' });
      });
    });

    test('a login leaves no express-session record behind when the app stored nothing in it', async () => {
      await withCartApp(async (baseURL) => {
        const count = () => new Promise<number>((resolve, reject) => {
          bed.store.length((err, length) => (err ? reject(err) : resolve(length ?? 0)));
        });
        const before = await count();
        const browser = new Browser();
        await signIn(browser, `${baseURL}/login`);
        expect(await browser.cookie(baseURL, 'connect.sid')).toBeUndefined();
        const me = await browser.request(`${baseURL}/cart/show`, { headers: json });
        expect(JSON.parse(me.body)).toEqual({ cart: null, user: 'alice' });
        expect(await count()).toBe(before);
      });
    });
  });

  test('two tabs logging in at once both succeed', async () => {
    const browser = new Browser();
    const tabA = await authorizationResponse(browser, `${bed.baseURL}/login?returnTo=%2Fa`, 'alice');
    const tabB = await authorizationResponse(browser, `${bed.baseURL}/login?returnTo=%2Fb`, 'alice');
    const b = await browser.request(tabB.href);
    expect(b.status).toBe(302);
    expect(b.headers.get('location')).toBe('/b');
    const a = await browser.request(tabA.href);
    expect(a.status).toBe(302);
    expect(a.headers.get('location')).toBe('/a');
    expect(bed.tokenRequests).toBe(2);
  });

  test('POST (response_mode=form_post) is accepted with the same checks', async () => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login?returnTo=%2Fprofile`);
    const form = new URLSearchParams(response.search);
    const res = await browser.request(`${bed.baseURL}/callback`, { body: form });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/profile');
    const me = await browser.request(`${bed.baseURL}/api/me`, { headers: json });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'alice' });
  });

  test('responseMode form_post: the provider posts the response back through its auto-submitted form, and the login completes [rp-response_mode-form_post]', async () => {
    const other = await startTestbed({ auth: { responseMode: 'form_post' } });
    try {
      const browser = new Browser();
      const { authorizationUrl } = await startLogin(browser, `${other.baseURL}/login?returnTo=%2Fprofile`);
      expect(authorizationUrl.searchParams.get('response_mode')).toBe('form_post');
      const formPost = await signIn(browser, authorizationUrl.href);
      // The provider's page is a form that posts code, state and iss to the callback: no code in any URL.
      expect(formPost.body).toMatch(new RegExp(`<form[^>]+method="post"[^>]+action="${other.baseURL}/callback"`, 'i'));
      expect(browser.history.some((url) => new URL(url).searchParams.has('code'))).toBe(false);
      const landed = await browser.submit(formPost);
      expect(new URL(landed.url).pathname).toBe('/profile');
      const me = await browser.request(`${other.baseURL}/api/me`, { headers: json });
      expect(JSON.parse(me.body)).toMatchObject({ sub: 'alice' });
    } finally {
      await other.close();
    }
  });

  describe('responseMode form_post arriving cross-site, without the SameSite=Lax express-session cookie', () => {
    /** The provider's auto-submitted form for a login started in `browser`, and the pending-login cookie /login set. */
    async function formPostLogin(bedUrl: string, browser: Browser): Promise<{ fields: URLSearchParams; txCookie: string; txSetCookie: string }> {
      const login = await browser.request(`${bedUrl}/login?returnTo=%2Fprofile`);
      const txSetCookie = login.headers.getSetCookie().find((c) => c.startsWith('oidc_session_tx_'))!;
      expect(txSetCookie).toBeDefined();
      const formPost = await signIn(browser, login.headers.get('location')!);
      return { fields: readForm(formPost).fields, txCookie: txSetCookie.split(';')[0]!, txSetCookie };
    }

    /** The cross-site POST as a browser sends it: the form, and only the SameSite=None cookies. */
    function crossSitePost(bedUrl: string, fields: URLSearchParams, cookie?: string): Promise<Response> {
      return fetch(`${bedUrl}/callback`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...(cookie !== undefined && { cookie }) },
        body: fields.toString(),
      });
    }

    let formBed: Testbed;
    beforeAll(async () => {
      formBed = await startTestbed({ auth: { responseMode: 'form_post' } });
    });
    afterAll(async () => {
      await formBed.close();
    });

    test('/login sets a sealed pending-login cookie: HttpOnly, Secure, SameSite=None, Path=/, for transactionDuration', async () => {
      const { txSetCookie } = await formPostLogin(formBed.baseURL, new Browser());
      const parsed = parseSetCookie(txSetCookie);
      expect(parsed).toMatchObject({ httpOnly: true, secure: true, sameSite: 'none', path: '/', maxAge: 3600 });
      expect(parsed.value).toMatch(/^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/); // a JWE, nothing readable
    });

    test('the callback finds the login in that cookie: signed in, sent to returnTo, the cookie cleared', async () => {
      const { fields, txCookie } = await formPostLogin(formBed.baseURL, new Browser());
      const res = await crossSitePost(formBed.baseURL, fields, txCookie);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe('/profile');
      const set = res.headers.getSetCookie();
      expect(set.some((c) => /^oidc_session=[^;]+/.test(c))).toBe(true);
      const cleared = set.find((c) => c.startsWith(txCookie.split('=')[0]!))!;
      expect(parseSetCookie(cleared)).toMatchObject({ value: '', path: '/' });
    });

    test('without it (and without the express-session cookie), the same POST is refused: 400 missing_transaction', async () => {
      const { fields } = await formPostLogin(formBed.baseURL, new Browser());
      const res = await crossSitePost(formBed.baseURL, fields);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe('missing_transaction');
    });

    test('another login\'s cookie does not open this login (the cookie is bound to its state): 400', async () => {
      const mine = await formPostLogin(formBed.baseURL, new Browser());
      const other = await formPostLogin(formBed.baseURL, new Browser());
      const res = await crossSitePost(formBed.baseURL, mine.fields, other.txCookie);
      expect(res.status).toBe(400);
    });

    test('a cookie value moved under this state\'s cookie name is refused (the sealed state must match): 400', async () => {
      const mine = await formPostLogin(formBed.baseURL, new Browser());
      const other = await formPostLogin(formBed.baseURL, new Browser());
      const forged = `${mine.txCookie.split('=')[0]!}=${other.txCookie.split('=')[1]!}`;
      const res = await crossSitePost(formBed.baseURL, mine.fields, forged);
      expect(res.status).toBe(400);
    });

    test('an http baseURL off loopback is refused at start-up: the cookie needs Secure', () => {
      expect(() => authCallback({ issuer: 'https://op.example', clientId: 'c', baseURL: 'http://app.example', secret: 'x'.repeat(32), responseMode: 'form_post' }))
        .toThrow(/option "responseMode"/);
    });
  });

  test('a POST with a repeated parameter is refused like a GET', async () => {
    const browser = new Browser();
    const response = await authorizationResponse(browser, `${bed.baseURL}/login`);
    const form = new URLSearchParams(response.search);
    form.append('state', 'other');
    const res = await browser.request(`${bed.baseURL}/callback`, { body: form, headers: json });
    expect(res.status).toBe(400);
    expect(jsonError(res).error).toBe('invalid_request');
    expect(bed.tokenRequests).toBe(0);
  });

  test('req.user holds the user\'s claims on every page, not only guarded ones', async () => {
    const browser = new Browser();
    const home = await signIn(browser, `${bed.baseURL}/login`, 'bob');
    expect(home.url).toBe(`${bed.baseURL}/`);
    expect(home.body).toContain('Signed in as <strong>bob</strong>');
  });
});
