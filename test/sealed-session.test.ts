/**
 * Unit tests of what a cookie session seals and how it is read back: the ID token as bytes
 * (lib/id-token-bytes.ts), the cookie payload (sealCookiePayload / unsealCookiePayload in
 * lib/auth-session.ts), and the cache of opened cookies (lib/session-cache.ts).
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import { SignJWT } from 'jose';
import { sealCookiePayload, unsealCookiePayload } from '../lib/session/session-codec.js';
import { type AuthSession, type SealedSession } from '../lib/session/session.js';
import { idTokenBytes, idTokenOfBytes } from '../lib/session/id-token-bytes.js';
import { Sealer } from '../lib/session/seal.js';
import { SessionCache } from '../lib/session/session-cache.js';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const NOW = Math.floor(Date.now() / 1000);
const LATER = NOW + 3600;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ID_TOKEN = await new SignJWT({ sub: 'alice', email: 'alice@example.com', nonce: 'n-0S6_WzA2Mj' })
  .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
  .setIssuer('https://op.example').setAudience('app').setIssuedAt(NOW).setExpirationTime(LATER)
  .sign(privateKey);

const PAYLOAD: SealedSession = { idToken: ID_TOKEN, accessToken: 'access-token-0123456789', tokenType: 'Bearer', refreshToken: 'refresh-token-abc', createdAt: NOW };

describe('idTokenBytes / idTokenOfBytes', () => {
  test('a signed JWT round-trips to the very same text', () => {
    const bytes = idTokenBytes(ID_TOKEN);
    expect(bytes).toBeDefined();
    expect(idTokenOfBytes(bytes!)).toBe(ID_TOKEN);
  });

  test('the bytes are three quarters of the text, plus the two length fields', () => {
    const bytes = idTokenBytes(ID_TOKEN)!;
    const decoded = ID_TOKEN.split('.').reduce((sum, part) => sum + Buffer.from(part, 'base64url').length, 0);
    expect(bytes.length).toBe(decoded + 4);
    expect(bytes.length).toBeLessThan(ID_TOKEN.length * 0.76);
  });

  test.each([
    ['two parts', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0'],
    ['four parts', `${ID_TOKEN}.x`],
    ['padding', ID_TOKEN.replace(/\.([^.]*)$/, '.$1==')],
    ['a character outside base64url', ID_TOKEN.replace(/\.([^.]*)$/, '.+$1')],
    ['unused bits set in a last character', 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn1.c2ln'],
  ])('a token with %s is not packed (it could not be given back as it was)', (_name, token) => {
    expect(idTokenBytes(token)).toBeUndefined();
  });

  test.each([
    ['empty', Buffer.alloc(0)],
    ['one byte', Buffer.from([0])],
    ['a header length past the end', Buffer.from([0x00, 0x10, 0x41])],
    ['a payload length past the end', Buffer.from([0x00, 0x01, 0x41, 0x00, 0x20, 0x42])],
  ])('bytes that are not the layout (%s) give undefined', (_name, bytes) => {
    expect(idTokenOfBytes(bytes)).toBeUndefined();
  });
});

describe('sealCookiePayload / unsealCookiePayload', () => {
  const sealer = new Sealer([SECRET]);

  test('round trip: the payload comes back with its ID token as text', () => {
    const opened = unsealCookiePayload(sealer, sealCookiePayload(sealer, PAYLOAD, LATER));
    expect(opened?.payload).toMatchObject(PAYLOAD);
    expect(opened?.staleKey).toBe(false);
  });

  test('the ID token is sealed as bytes: the cookie is smaller than sealing it as JSON text', () => {
    const packed = sealCookiePayload(sealer, PAYLOAD, LATER);
    const asText = sealer.seal(PAYLOAD, LATER);
    expect(packed.length).toBeLessThan(asText.length - ID_TOKEN.length * 0.3);
    expect(sealer.unseal(packed)?.attachment).toEqual(idTokenBytes(ID_TOKEN));
  });

  test('a value sealed with the ID token as JSON text (no attachment) still opens', () => {
    expect(unsealCookiePayload(sealer, sealer.seal(PAYLOAD, LATER))?.payload).toMatchObject(PAYLOAD);
  });

  test('an ID token that is not canonical base64url is sealed as text, and comes back as it was', () => {
    const odd = { ...PAYLOAD, idToken: `${ID_TOKEN}=` };
    const sealed = sealCookiePayload(sealer, odd, LATER);
    expect(sealer.unseal(sealed)?.attachment).toBeUndefined();
    expect(unsealCookiePayload(sealer, sealed)?.payload.idToken).toBe(odd.idToken);
  });

  test('a payload without an ID token (a provider adapter) has no attachment', () => {
    const sealed = sealCookiePayload(sealer, { ...PAYLOAD, idToken: undefined, claims: { sub: 'alice', iss: 'https://github.com' } }, LATER);
    expect(sealer.unseal(sealed)?.attachment).toBeUndefined();
    expect(unsealCookiePayload(sealer, sealed)?.payload.claims).toEqual({ sub: 'alice', iss: 'https://github.com' });
  });

  test('an attachment that is not an ID token\'s layout is refused', () => {
    expect(unsealCookiePayload(sealer, sealer.seal(PAYLOAD, LATER, Buffer.from([0x00, 0x40, 0x41])))).toBeUndefined();
  });

  test('an ID token both in the JSON and as an attachment is refused', () => {
    expect(unsealCookiePayload(sealer, sealer.seal(PAYLOAD, LATER, idTokenBytes(ID_TOKEN)))).toBeUndefined();
  });

  test('a foreign secret\'s value gives undefined', () => {
    const foreign = new Sealer(['someone-elses-secret-of-thirty-two-characters']);
    expect(unsealCookiePayload(sealer, sealCookiePayload(foreign, PAYLOAD, LATER))).toBeUndefined();
  });
});

describe('SessionCache', () => {
  const session = (sub: string, expiresAt = LATER): AuthSession => ({
    tokens: { idToken: ID_TOKEN, accessToken: `at-${sub}`, tokenType: 'Bearer' },
    claims: { sub, iss: 'https://op.example', groups: ['a'] },
    createdAt: NOW, touchedAt: NOW, expiresAt, staleKey: false,
  });

  test('gives back what was set for the same sealed value, and nothing for another', () => {
    const cache = new SessionCache();
    cache.set('sealed-1', session('alice'));
    expect(cache.get('sealed-1', NOW)).toMatchObject({ claims: { sub: 'alice' }, tokens: { accessToken: 'at-alice' } });
    expect(cache.get('sealed-2', NOW)).toBeUndefined();
  });

  test('a value that shares only its last 22 characters (the GCM tag, the map key) with a cached one is a miss', () => {
    const cache = new SessionCache();
    const tag = 'T'.repeat(22);
    cache.set(`sealed-1.${tag}`, session('alice'));
    expect(cache.get(`sealed-2.${tag}`, NOW)).toBeUndefined();
    expect(cache.get(`sealed-1.${tag}`, NOW)).toBeDefined();
  });

  test('each hit gets its own claims: a handler changing req.user changes no later request', () => {
    const cache = new SessionCache();
    cache.set('sealed-1', session('alice'));
    const first = cache.get('sealed-1', NOW) as AuthSession;
    first.claims.sub = 'mallory';
    (first.claims.groups as string[]).push('admin');
    expect((cache.get('sealed-1', NOW) as AuthSession).claims).toEqual({ sub: 'alice', iss: 'https://op.example', groups: ['a'] });
  });

  test('the first request\'s claims (the session given to set()) are not the cached ones: changing them changes no later request', () => {
    const cache = new SessionCache();
    const first = session('alice');
    cache.set('sealed-1', first);
    first.claims.sub = 'mallory';
    (first.claims.groups as string[]).push('admin');
    expect((cache.get('sealed-1', NOW) as AuthSession).claims).toEqual({ sub: 'alice', iss: 'https://op.example', groups: ['a'] });
  });

  test('the cached tokens are frozen: changing them throws', () => {
    const cache = new SessionCache();
    cache.set('sealed-1', session('alice'));
    const hit = cache.get('sealed-1', NOW) as AuthSession;
    expect(() => {
      (hit.tokens as { accessToken: string }).accessToken = 'x';
    }).toThrow(TypeError);
  });

  test('an entry is not used at or after its session\'s expiry (seconds since the epoch)', () => {
    const cache = new SessionCache();
    cache.set('sealed-1', session('alice', NOW + 10));
    expect(cache.get('sealed-1', NOW + 9.9)).toBeDefined();
    expect(cache.get('sealed-1', NOW + 10)).toBeUndefined();
    expect(cache.get('sealed-1', NOW)).toBeUndefined(); // dropped, not only hidden
  });

  test('it holds at most its limit, dropping the oldest first', () => {
    const cache = new SessionCache(3);
    for (const n of [1, 2, 3, 4]) cache.set(`sealed-${n}`, session(`user${n}`));
    expect(cache.get('sealed-1', NOW)).toBeUndefined();
    expect([2, 3, 4].map((n) => (cache.get(`sealed-${n}`, NOW) as AuthSession).claims.sub)).toEqual(['user2', 'user3', 'user4']);
  });

  test('a store reference is cached as it is', () => {
    const cache = new SessionCache();
    cache.set('sealed-ref', { ref: 'r1', createdAt: NOW, touchedAt: NOW, expiresAt: LATER, staleKey: true });
    expect(cache.get('sealed-ref', NOW)).toEqual({ ref: 'r1', createdAt: NOW, touchedAt: NOW, expiresAt: LATER, staleKey: true });
  });
});
