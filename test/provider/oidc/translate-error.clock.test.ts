/**
 * A clock problem, as the callback reports it (lib/provider/oidc/translate-error.ts `clockFault()`,
 * and the `iat` check of lib/provider/oidc/token-exchange.ts): an ID token fresh from the token
 * endpoint whose `exp` is past, or whose `nbf` or `iat` is ahead, beyond `clockTolerance`, means
 * that this server's clock or the provider's is wrong. The message names the claim, by how many
 * seconds, the `clockTolerance` in force, and the fix (NTP). An `auth_time` older than `max_age`
 * allows says by how much. Against the hostile provider, whose ID token claims each test shifts.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import express from 'express';
import type { AuthCallbackConfig } from 'express-oidc-callback';
import { authCallback } from '../../../lib/index.js';
import { callbackUrl } from '../../support/app-server.js';
import { Browser } from '../../support/browser.js';
import { errorAsJson } from '../../support/error-handler.js';
import { startHostileProvider, type HostileProvider } from '../../support/hostile-provider.js';
import { serveApp, type RunningServer } from '../../support/http-server.js';

const CLIENT_ID = 'rp-clock-test';
const CLIENT_SECRET = 'clock-test-client-secret-0123456789';
const JSON_ACCEPT = { accept: 'application/json' };
/** How far each test shifts a timestamp, in seconds: far beyond any tolerance used here. */
const SKEW = 600;

let provider: HostileProvider;
beforeAll(async () => {
  provider = await startHostileProvider({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
});
afterAll(async () => {
  await provider.close();
});
beforeEach(() => {
  provider.reset();
});

/** An app (cookie sessions, errors as JSON `{ code, message }`) against the hostile provider. */
function startApp(auth: Partial<AuthCallbackConfig> = {}): Promise<RunningServer> {
  return serveApp((baseURL) => {
    const app = express();
    app.use(authCallback({
      issuer: provider.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, baseURL, secret: 'a-test-secret-of-at-least-32-characters-0123456789', ...auth,
    }));
    app.get('/', (_req, res) => { res.send('home'); });
    app.use(errorAsJson);
    return app;
  });
}

/** A login through `app` with the ID token's claims changed by `shift`: the callback's answer. */
async function callbackWith(app: RunningServer, shift: (claims: Record<string, unknown>) => Record<string, unknown>): Promise<{ status: number; code: string; message: string }> {
  provider.behaviour.transformClaims = shift;
  const browser = new Browser();
  const res = await browser.request(await callbackUrl(browser, app, provider), { headers: JSON_ACCEPT });
  if (res.status === 302) return { status: 302, code: '', message: '' };
  return { status: res.status, ...(JSON.parse(res.body) as { code: string; message: string }) };
}

/** `n` seconds, give or take the second a test may straddle, as a pattern. */
function about(n: number): string {
  return `(${n - 2}|${n - 1}|${n}|${n + 1}|${n + 2})`;
}

describe('an ID token timestamp beyond clockTolerance: 502 invalid_id_token naming the claim, the seconds, clockTolerance and NTP', () => {
  let app: RunningServer;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app.close();
  });

  test('exp in the past', async () => {
    const answer = await callbackWith(app, (c) => ({ ...c, exp: (c.iat as number) - SKEW }));
    expect({ status: answer.status, code: answer.code }).toEqual({ status: 502, code: 'invalid_id_token' });
    expect(answer.message).toMatch(new RegExp(`^The ID token's exp \\(expiry\\) is ${about(SKEW)} seconds in the past by this server's clock, beyond clockTolerance \\(30 seconds\\)`));
    expect(answer.message).toContain('keep this server\'s clock in sync (NTP)');
    expect(answer.message).toContain('raise clockTolerance only to allow a known, small skew');
  });

  test('nbf in the future', async () => {
    const answer = await callbackWith(app, (c) => ({ ...c, nbf: (c.iat as number) + SKEW }));
    expect({ status: answer.status, code: answer.code }).toEqual({ status: 502, code: 'invalid_id_token' });
    expect(answer.message).toMatch(new RegExp(`^The ID token's nbf \\(not before\\) is ${about(SKEW)} seconds in the future by this server's clock, beyond clockTolerance \\(30 seconds\\)`));
    expect(answer.message).toContain('NTP');
  });

  test('iat in the future (a check openid-client leaves to its caller)', async () => {
    const answer = await callbackWith(app, (c) => ({ ...c, iat: (c.iat as number) + SKEW }));
    expect({ status: answer.status, code: answer.code }).toEqual({ status: 502, code: 'invalid_id_token' });
    expect(answer.message).toMatch(new RegExp(`^The ID token's iat \\(issued at\\) is ${about(SKEW)} seconds in the future by this server's clock, beyond clockTolerance \\(30 seconds\\)`));
    expect(answer.message).toContain('NTP');
  });

  test('a skew within clockTolerance is no error: the login completes', async () => {
    expect((await callbackWith(app, (c) => ({ ...c, iat: (c.iat as number) + 10, nbf: (c.iat as number) + 10 }))).status).toBe(302);
  });
});

test('the message names the clockTolerance in force', async () => {
  const app = await startApp({ clockTolerance: 5 });
  try {
    const answer = await callbackWith(app, (c) => ({ ...c, exp: (c.iat as number) - 60 }));
    expect(answer.code).toBe('invalid_id_token');
    expect(answer.message).toMatch(new RegExp(`exp \\(expiry\\) is ${about(60)} seconds in the past by this server's clock, beyond clockTolerance \\(5 seconds\\)`));
  } finally {
    await app.close();
  }
});

test('auth_time older than max_age allows: 401 max_age_exceeded, by how many seconds, and the clock if the user did just sign in', async () => {
  const app = await startApp({ authorizationParams: { max_age: '60' } });
  try {
    const answer = await callbackWith(app, (c) => ({ ...c, auth_time: (c.iat as number) - SKEW }));
    expect({ status: answer.status, code: answer.code }).toEqual({ status: 401, code: 'max_age_exceeded' });
    expect(answer.message).toMatch(new RegExp(`auth_time is older: ${about(SKEW)} seconds old, for a max_age of 60 and a clockTolerance of 30 seconds`));
    expect(answer.message).toContain('if the user did just sign in, check this server\'s clock (NTP)');
  } finally {
    await app.close();
  }
});
