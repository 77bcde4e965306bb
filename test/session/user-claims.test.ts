/**
 * A `__proto__` claim (lib/session/user-claims.ts): an ID token whose JSON payload has an own `"__proto__"` member (any
 * member name is valid JSON, RFC 8259 §4, and a provider, or a user who controls a claim, may
 * send one). `JSON.parse` makes it an own property named `__proto__`; a later copy by assignment
 * turns it into the object's prototype instead (prototype pollution of `req.user`: `admin`
 * inherited), or drops it. `req.user` must not depend on which happened: it is the same on the
 * request that opens the cookie as on those served from the cache of opened cookies, has no
 * `__proto__` member, inherits nothing but `Object.prototype`, at any depth.
 *
 * On 0.1.0 the first request after login kept the key (`res.json(req.user)` wrote it), and the
 * cached ones dropped it. The same holds of `req.oidc.claims` (every claim, which the example
 * app's `/api/me` answers) and of `req.user` (a fresh copy per request, without the protocol
 * claims). The example app against the hostile provider, over real HTTP.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { requireAuth } from '../../lib/index.js';
import { signInAt, startExampleApp, type AppServer } from '../support/app-server.js';
import { Browser } from '../support/browser.js';
import { startHostileProvider, type HostileProvider } from '../support/hostile-provider.js';

const CLIENT_ID = 'rp-claims-proto-test';
const CLIENT_SECRET = 'claims-proto-client-secret-0123456789abcdef';
const SECRET = 'a-test-secret-of-at-least-32-characters-0123456789';
const SESSION_SECRET = 'express-session-test-secret';
const CLIENT = { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, secret: SECRET, sessionSecret: SESSION_SECRET };
const JSON_ACCEPT = { accept: 'application/json' };

/** What the test route reports about `req.user` (`/inspect`) or `req.oidc.claims` (`/inspect/claims`). */
interface Inspection {
  /** `req.user.admin`, `null` when undefined. */
  admin: unknown;
  /** `Object.getPrototypeOf(req.user) === Object.prototype`. */
  plainPrototype: boolean;
  /** `Object.hasOwn(req.user, '__proto__')`. */
  ownProto: boolean;
  /** `Object.keys(req.user)`. */
  keys: string[];
  /** The same of `req.user.address`, when it is an object. */
  address: { admin: unknown; plainPrototype: boolean; ownProto: boolean; country: unknown } | null;
}

/** `value` with an own, enumerable `__proto__` member, as `JSON.parse` makes it (assigning `__proto__` would set the prototype instead). */
function withOwnProto<T extends object>(value: T, proto: Record<string, unknown>): T {
  Object.defineProperty(value, '__proto__', { value: proto, enumerable: true, writable: true, configurable: true });
  return value;
}

/** The decoded JSON text of a compact JWS's payload. */
function payloadText(jws: string): string {
  return Buffer.from(jws.split('.')[1]!, 'base64url').toString('utf8');
}

let provider: HostileProvider;
let app: AppServer;

beforeAll(async () => {
  provider = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
  app = await startExampleApp(CLIENT, provider.issuer, {}, (expressApp) => {
    const inspect = (user: Record<string, unknown>): Inspection => {
      const address = user.address;
      const inspectAddress = address !== null && typeof address === 'object' ? address as Record<string, unknown> : undefined;
      const inspection: Inspection = {
        admin: user.admin ?? null,
        plainPrototype: Object.getPrototypeOf(user) === Object.prototype,
        ownProto: Object.hasOwn(user, '__proto__'),
        keys: Object.keys(user),
        address: inspectAddress === undefined ? null : {
          admin: inspectAddress.admin ?? null,
          plainPrototype: Object.getPrototypeOf(inspectAddress) === Object.prototype,
          ownProto: Object.hasOwn(inspectAddress, '__proto__'),
          country: inspectAddress.country ?? null,
        },
      };
      return inspection;
    };
    expressApp.get('/inspect', requireAuth(), (req, res) => {
      res.json(inspect(req.user as unknown as Record<string, unknown>));
    });
    expressApp.get('/inspect/claims', requireAuth(), (req, res) => {
      res.json(inspect(req.oidc.claims as unknown as Record<string, unknown>));
    });
    // What 0.1.0 got wrong: req.user written as JSON.
    expressApp.get('/user', requireAuth(), (req, res) => {
      res.json(req.user);
    });
  });
});
afterAll(async () => {
  await app.close();
  await provider.close();
});
beforeEach(() => {
  provider.reset();
});

/** A whole login at the hostile provider: the browser then holds the session cookie. Checks the signed ID token has `needle`. */
async function login(needle: string): Promise<Browser> {
  const browser = new Browser();
  await signInAt(browser, app, provider);
  // The provider really signed a token whose JSON payload has the own "__proto__" member.
  expect(payloadText(provider.issued.idTokens.at(-1)!)).toContain(needle);
  return browser;
}

async function getJson(browser: Browser, path: string): Promise<{ text: string; json: Record<string, unknown> }> {
  const res = await browser.request(`${app.baseURL}${path}`, { headers: JSON_ACCEPT });
  expect(res.status).toBe(200);
  return { text: res.body, json: JSON.parse(res.body) as Record<string, unknown> };
}

/** `/api/me`'s (or `/user`'s) body has no `__proto__` member (as text, and as JSON.parse reads it) and no `admin`. */
function expectNoProto(me: { text: string; json: Record<string, unknown> }): void {
  expect(me.text).not.toContain('__proto__');
  expect(Object.hasOwn(me.json, '__proto__')).toBe(false);
  expect(me.json).not.toHaveProperty('admin');
  expect(me.text).not.toContain('"admin"');
}

describe('a top-level "__proto__" claim in the ID token', () => {
  beforeEach(() => {
    provider.behaviour.transformClaims = (claims) => withOwnProto({ ...claims }, { admin: true });
  });

  test('/api/me (res.json(req.oidc.claims)) and /user (res.json(req.user)) are the same on the first request after login and on a second, cached one, with no __proto__ key nor admin', async () => {
    const browser = await login('"__proto__":{"admin":true}');
    const first = await getJson(browser, '/api/me');
    const second = await getJson(browser, '/api/me');
    expect(first.json).toMatchObject({ sub: 'mallory', iss: provider.issuer, aud: CLIENT_ID });
    expectNoProto(first);
    expectNoProto(second);
    expect(second.text).toBe(first.text);
    expect(second.json).toEqual(first.json);

    const firstUser = await getJson(browser, '/user');
    const secondUser = await getJson(browser, '/user');
    expect(firstUser.json).toMatchObject({ sub: 'mallory' });
    expect(firstUser.json).not.toHaveProperty('iss');
    expect(firstUser.json).not.toHaveProperty('aud');
    expectNoProto(firstUser);
    expectNoProto(secondUser);
    expect(secondUser.text).toBe(firstUser.text);
  });

  test('in a route: req.user.admin and req.oidc.claims.admin are undefined and their prototype is Object.prototype, on the first request and on a cached one', async () => {
    const browser = await login('"__proto__":{"admin":true}');
    const first = (await getJson(browser, '/inspect')).json as unknown as Inspection;
    const second = (await getJson(browser, '/inspect')).json as unknown as Inspection;
    for (const inspection of [first, second]) {
      expect(inspection).toMatchObject({ admin: null, plainPrototype: true, ownProto: false });
      expect(inspection.keys).not.toContain('__proto__');
      // req.user: without the protocol claims (iss, aud, …).
      expect(inspection.keys).toEqual(expect.arrayContaining(['sub', 'name', 'email']));
      expect(inspection.keys).not.toContain('iss');
    }
    expect(second).toEqual(first);

    const firstClaims = (await getJson(browser, '/inspect/claims')).json as unknown as Inspection;
    const secondClaims = (await getJson(browser, '/inspect/claims')).json as unknown as Inspection;
    for (const inspection of [firstClaims, secondClaims]) {
      expect(inspection).toMatchObject({ admin: null, plainPrototype: true, ownProto: false });
      expect(inspection.keys).not.toContain('__proto__');
      expect(inspection.keys).toEqual(expect.arrayContaining(['sub', 'iss', 'name', 'email']));
    }
    expect(secondClaims).toEqual(firstClaims);
  });
});

describe('a nested "__proto__" member (address: { "__proto__": {...}, country: "NL" })', () => {
  beforeEach(() => {
    provider.behaviour.transformClaims = (claims) => ({
      ...claims,
      address: withOwnProto({ country: 'NL' }, { admin: true, country: 'XX' }),
    });
  });

  test('/api/me is the same on the first and a cached request: address is { country: "NL" }, no __proto__ at any depth', async () => {
    const browser = await login('"address":{"country":"NL","__proto__":{"admin":true,"country":"XX"}}');
    const first = await getJson(browser, '/api/me');
    const second = await getJson(browser, '/api/me');
    for (const me of [first, second]) {
      expectNoProto(me);
      expect(me.json.address).toEqual({ country: 'NL' });
      expect(Object.hasOwn(me.json.address as object, '__proto__')).toBe(false);
    }
    expect(second.text).toBe(first.text);
  });

  test('in a route: req.user.address.admin (and req.oidc.claims.address.admin) is undefined, its prototype Object.prototype, its country kept, first and cached', async () => {
    const browser = await login('"__proto__":{"admin":true');
    const inspections: Inspection[] = [];
    for (const path of ['/inspect', '/inspect', '/inspect/claims', '/inspect/claims']) {
      inspections.push((await getJson(browser, path)).json as unknown as Inspection);
    }
    for (const inspection of inspections) {
      expect(inspection.address).toEqual({ admin: null, plainPrototype: true, ownProto: false, country: 'NL' });
      expect(inspection).toMatchObject({ admin: null, plainPrototype: true, ownProto: false });
    }
  });

  test('inside an array too: [{ "__proto__": {...}, n: 1 }] keeps n and drops the member', async () => {
    provider.behaviour.transformClaims = (claims) => ({
      ...claims,
      groups: [withOwnProto({ n: 1 }, { admin: true })],
    });
    const browser = await login('"groups":[{"n":1,"__proto__":{"admin":true}}]');
    const first = await getJson(browser, '/api/me');
    const second = await getJson(browser, '/api/me');
    for (const me of [first, second]) {
      expectNoProto(me);
      expect(me.json.groups).toEqual([{ n: 1 }]);
    }
    expect(second.text).toBe(first.text);
  });
});

describe('the control: an ordinary claim named like a prototype member is kept', () => {
  test('"constructor" and "toString" string claims are kept as the ID token carries them, first and cached', async () => {
    provider.behaviour.claims = { constructor: 'c-value', toString: 't-value' };
    const browser = await login('"constructor":"c-value"');
    const first = await getJson(browser, '/api/me');
    const second = await getJson(browser, '/api/me');
    for (const me of [first, second]) expect(me.json).toMatchObject({ constructor: 'c-value', toString: 't-value' });
    expect(second.text).toBe(first.text);
  });
});
