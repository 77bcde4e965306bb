/**
 * lib/callback/authorization-response.ts, end to end: the authorization response is read from
 * the raw query string or form body, so repeated and bracketed parameters are refused (RFC 6749
 * §3.1), against the hostile provider (test/support/callback-attack-bed.ts says what every
 * rejection must do).
 */
import { describe, expect, test } from '@jest/globals';
import {
  app, callbackUrl, expectRefused, expectUsedUp, expectVictimUnchanged, provider, rawRequest, useCallbackAttackBed, victim,
} from '../support/callback-attack-bed.js';

useCallbackAttackBed();

describe('repeated and bracketed parameters, read from the raw request (RFC 6749 §3.1)', () => {
  /** Builds a raw query (or form body) from the genuine response's values; `iss` is already form-encoded. */
  type Build = (v: { code: string; state: string; iss: string }) => string;
  const MALFORMED: [string, Build][] = [
    ['state=a&state=b', ({ code, state, iss }) => `code=${code}&state=${state}&state=forged&iss=${iss}`],
    ['state twice with the same value', ({ code, state, iss }) => `code=${code}&state=${state}&state=${state}&iss=${iss}`],
    ['code=x&code=y', ({ code, state, iss }) => `code=${code}&code=forged&state=${state}&iss=${iss}`],
    ['iss twice', ({ code, state, iss }) => `code=${code}&state=${state}&iss=${iss}&iss=${iss}`],
    ['state[x]=1 beside state', ({ code, state, iss }) => `code=${code}&state=${state}&state[x]=1&iss=${iss}`],
    ['state%5Bx%5D=1 (encoded brackets) beside state', ({ code, state, iss }) => `code=${code}&state=${state}&state%5Bx%5D=1&iss=${iss}`],
    ['code[]=x beside code', ({ code, state, iss }) => `code=${code}&code[]=x&state=${state}&iss=${iss}`],
  ];
  const CASES = MALFORMED.flatMap(([name, build]) => (['GET', 'POST'] as const).map((method) => [name, method, build] as const));

  test.each(CASES)('RFC 6749 §3.1: %s as %s → 400 invalid_request, zero token requests, the login used up', async (_name, method, build) => {
    const v = await victim(false);
    const genuine = await callbackUrl(v.browser);
    const values = {
      code: genuine.searchParams.get('code')!,
      state: genuine.searchParams.get('state')!,
      iss: encodeURIComponent(genuine.searchParams.get('iss')!),
    };
    const raw = build(values);
    const page = method === 'GET'
      ? await rawRequest(v.browser, app, `/callback?${raw}`)
      : await rawRequest(v.browser, app, '/callback', { body: raw });
    expectRefused(page, 400, 'invalid_request');
    expect(provider.requests.token).toBe(0);
    // The genuine response, whose code was never exchanged, cannot finish the login any more.
    await expectUsedUp(v.browser, genuine.href);
    await expectVictimUnchanged(v);
  });
});
