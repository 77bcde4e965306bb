/**
 * Unit tests of lib/session/seal.ts: a sealed value is a JWE compact serialization (RFC 7516 §7.1,
 * `dir` + `A256GCM`, RFC 7518 §4.5 and §5.3) that `jose` opens with the documented key, and
 * `unseal()` returns `undefined`, never throws, for anything that is not an unexpired value
 * sealed with one of its secrets.
 */
import { hkdfSync } from 'node:crypto';
import { describe, expect, test } from '@jest/globals';
import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { SEAL_VERSION, Sealer } from '../../lib/session/seal.js';

const SECRET = 'a-secret-of-at-least-thirty-two-characters';
const OLD_SECRET = 'the-previous-secret-also-thirty-two-characters';
const FOREIGN_SECRET = 'someone-elses-secret-of-thirty-two-characters';

/** The key the docstring specifies: HKDF-SHA-256 of the secret, empty salt, a purpose label, 32 bytes. */
function documentedKey(secret: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, '', 'express-oidc-callback/session-cookie/A256GCM/v1', 32));
}

const NOW = Math.floor(Date.now() / 1000);
const LATER = NOW + 3600;
const PAYLOAD = { sub: 'alice', claims: { email: 'alice@example.com', groups: ['a', 'b'] }, note: 'caf\u00e9 \u2603' };

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * Replaces the base64url character at `index` with the one whose 6-bit value differs in its
 * highest bit, so the decoded bytes always change (a low bit of a final character may be padding).
 */
function flipCharAt(value: string, index: number): string {
  const position = BASE64URL.indexOf(value[index]!);
  if (position < 0) throw new Error(`not a base64url character at ${index}`);
  return value.slice(0, index) + BASE64URL[position ^ 0b100000] + value.slice(index + 1);
}

function parts(sealed: string): string[] {
  return sealed.split('.');
}

/** A value sealed by `jose` under the sealer's own protected header, with `plaintext`. */
async function sealWithJose(sealer: Sealer, secret: string, plaintext: string): Promise<string> {
  const header = decodeProtectedHeader(sealer.seal({}, LATER));
  return new CompactEncrypt(new TextEncoder().encode(plaintext))
    .setProtectedHeader(header as { alg: string; enc: string })
    .encrypt(documentedKey(secret));
}

describe('Sealer: construction', () => {
  test('refuses an empty list of secrets', () => {
    expect(() => new Sealer([])).toThrow(TypeError);
  });
});

describe('Sealer.seal() / unseal(): round trip', () => {
  const sealer = new Sealer([SECRET]);

  test('unseal(seal(payload)) gives the payload back, with v, iat and exp', () => {
    const before = Math.floor(Date.now() / 1000);
    const sealed = sealer.seal(PAYLOAD, LATER);
    const after = Math.floor(Date.now() / 1000);
    const opened = sealer.unseal<typeof PAYLOAD>(sealed);
    expect(opened).toBeDefined();
    expect(opened!.staleKey).toBe(false);
    expect(opened!.payload).toMatchObject(PAYLOAD);
    expect(opened!.payload.v).toBe(SEAL_VERSION);
    expect(opened!.payload.exp).toBe(LATER);
    expect(opened!.payload.iat).toBeGreaterThanOrEqual(before);
    expect(opened!.payload.iat).toBeLessThanOrEqual(after);
  });

  test('v, iat and exp are set by seal(), overriding any in the payload', () => {
    const opened = sealer.unseal(sealer.seal({ v: 99, iat: 1, exp: 2, sub: 'x' }, LATER));
    expect(opened!.payload).toMatchObject({ v: SEAL_VERSION, exp: LATER, sub: 'x' });
    expect(opened!.payload.iat).not.toBe(1);
  });

  test('exp is expiresAt rounded down to whole seconds', () => {
    const opened = sealer.unseal(sealer.seal({}, LATER + 0.9));
    expect(opened!.payload.exp).toBe(LATER);
  });

  test('the sealed value is cookie-safe: base64url parts and dots only', () => {
    expect(sealer.seal(PAYLOAD, LATER)).toMatch(/^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });

  test('the plaintext is not visible in the sealed value', () => {
    const sealed = sealer.seal({ sub: 'alice-the-user' }, LATER);
    expect(sealed).not.toContain('alice');
    expect(Buffer.from(parts(sealed)[3]!, 'base64url').toString('latin1')).not.toContain('alice');
  });

  test('two seals of the same payload differ (random IV)', () => {
    const a = sealer.seal(PAYLOAD, LATER);
    const b = sealer.seal(PAYLOAD, LATER);
    expect(a).not.toBe(b);
    expect(parts(a)[2]).not.toBe(parts(b)[2]);
    expect(sealer.unseal(a)!.payload).toEqual(sealer.unseal(b)!.payload);
  });

  test('a new Sealer with the same secret opens the value (keys derive from the secret alone)', () => {
    const sealed = sealer.seal(PAYLOAD, LATER);
    expect(new Sealer([SECRET]).unseal(sealed)?.payload).toMatchObject(PAYLOAD);
  });
});

describe('Sealer: the format is a JWE compact serialization (RFC 7516 §7.1) that jose opens', () => {
  const sealer = new Sealer([SECRET]);

  test('five parts, the second (the encrypted key) empty as "dir" requires (RFC 7518 §4.5)', () => {
    const [header, encryptedKey, iv, ciphertext, tag] = parts(sealer.seal(PAYLOAD, LATER));
    expect(encryptedKey).toBe('');
    expect(Buffer.from(iv!, 'base64url')).toHaveLength(12); // 96-bit IV, RFC 7518 §5.3
    expect(Buffer.from(tag!, 'base64url')).toHaveLength(16); // 128-bit tag, RFC 7518 §5.3
    expect(ciphertext!.length).toBeGreaterThan(0);
    expect(header!.length).toBeGreaterThan(0);
  });

  test('the protected header is {"alg":"dir","enc":"A256GCM","kid":…}', () => {
    const header = decodeProtectedHeader(sealer.seal(PAYLOAD, LATER));
    expect(header).toEqual({ alg: 'dir', enc: 'A256GCM', kid: expect.any(String) });
  });

  test('jose compactDecrypt opens it with the HKDF-SHA-256 key and yields the sealed JSON', async () => {
    const sealed = sealer.seal(PAYLOAD, LATER);
    const { plaintext, protectedHeader } = await compactDecrypt(sealed, documentedKey(SECRET));
    expect(protectedHeader).toMatchObject({ alg: 'dir', enc: 'A256GCM' });
    const claims = JSON.parse(new TextDecoder().decode(plaintext)) as Record<string, unknown>;
    expect(claims).toMatchObject({ ...PAYLOAD, v: SEAL_VERSION, exp: LATER });
    expect(typeof claims.iat).toBe('number');
  });

  test('jose refuses it with a key derived from another secret', async () => {
    const sealed = sealer.seal(PAYLOAD, LATER);
    await expect(compactDecrypt(sealed, documentedKey(FOREIGN_SECRET))).rejects.toThrow();
  });

  test('a value jose seals with the same key and header opens with unseal()', async () => {
    const sealed = await sealWithJose(sealer, SECRET, JSON.stringify({ sub: 'bob', v: SEAL_VERSION, iat: NOW, exp: LATER }));
    expect(sealer.unseal(sealed)?.payload).toEqual({ sub: 'bob', v: SEAL_VERSION, iat: NOW, exp: LATER });
  });

  test('the kid differs per secret and does not reveal the key', () => {
    const kid = decodeProtectedHeader(sealer.seal({}, LATER)).kid!;
    const otherKid = decodeProtectedHeader(new Sealer([OLD_SECRET]).seal({}, LATER)).kid!;
    expect(kid).not.toBe(otherKid);
    const key = Buffer.from(documentedKey(SECRET));
    expect(key.includes(Buffer.from(kid, 'base64url'))).toBe(false);
  });
});

describe('Sealer.unseal(): anything else gives undefined, never a throw', () => {
  const sealer = new Sealer([SECRET]);
  const sealed = sealer.seal(PAYLOAD, LATER);
  const [header, , iv, ciphertext, tag] = parts(sealed) as [string, string, string, string, string];

  /** unseal() neither throws nor opens `value`. */
  function expectRefused(value: string, now?: number): void {
    let result: unknown = 'not called';
    expect(() => {
      result = now === undefined ? sealer.unseal(value) : sealer.unseal(value, now);
    }).not.toThrow();
    expect(result).toBeUndefined();
  }

  test('the untampered value opens (control for the cases below)', () => {
    expect(sealer.unseal(sealed)).toBeDefined();
  });

  test.each([
    ['header', 0],
    ['iv', 2],
    ['ciphertext', 3],
    ['tag', 4],
  ])('a changed %s is refused (the GCM tag covers header, iv and ciphertext)', (_part, index) => {
    const p = parts(sealed);
    p[index] = flipCharAt(p[index]!, Math.floor(p[index]!.length / 2));
    expectRefused(p.join('.'));
  });

  test('flipping any single character anywhere is refused', () => {
    for (let i = 0; i < sealed.length; i++) {
      if (sealed[i] === '.') continue;
      expect(sealer.unseal(flipCharAt(sealed, i))).toBeUndefined();
    }
  });

  test('a header of another kid is refused', () => {
    const foreignHeader = parts(new Sealer([FOREIGN_SECRET]).seal({}, LATER))[0]!;
    expectRefused([foreignHeader, '', iv, ciphertext, tag].join('.'));
  });

  test('a header with "alg":"none" is refused', () => {
    const none = Buffer.from(JSON.stringify({ alg: 'none', enc: 'A256GCM' })).toString('base64url');
    expectRefused([none, '', iv, ciphertext, tag].join('.'));
  });

  test('swapping in the ciphertext of another value sealed with the same key is refused', () => {
    const other = parts(sealer.seal({ sub: 'mallory' }, LATER));
    expectRefused([header, '', iv, other[3], tag].join('.'));
    expectRefused([header, '', other[2], ciphertext, tag].join('.'));
  });

  test('truncation at any point is refused', () => {
    for (let length = 0; length < sealed.length; length += 7) {
      expect(sealer.unseal(sealed.slice(0, length))).toBeUndefined();
    }
    expectRefused(sealed.slice(0, -1));
    expectRefused(sealed.slice(1));
  });

  test('a truncated or extended iv or tag is refused', () => {
    expectRefused([header, '', iv.slice(0, -2), ciphertext, tag].join('.'));
    expectRefused([header, '', iv + 'AAAA', ciphertext, tag].join('.'));
    expectRefused([header, '', iv, ciphertext, tag.slice(0, -2)].join('.'));
    expectRefused([header, '', iv, ciphertext, tag + 'AAAA'].join('.'));
    expectRefused([header, '', iv, '', tag].join('.'));
  });

  test('appended data is refused', () => {
    expectRefused(sealed + 'A');
    expectRefused(sealed + '.');
    expectRefused(sealed + '.AAAA');
  });

  test('a wrong number of parts is refused', () => {
    expectRefused([header, '', iv, ciphertext].join('.'));
    expectRefused([header, '', iv, ciphertext, tag, ''].join('.'));
    expectRefused([header, iv, ciphertext, tag].join('.'));
    expectRefused(`${header}.${iv}.${ciphertext}.${tag}.`);
  });

  test('a non-empty encrypted-key part is refused (only "dir" is sealed)', () => {
    expectRefused([header, 'AAAA', iv, ciphertext, tag].join('.'));
  });

  test('a value sealed with a foreign secret is refused', () => {
    expectRefused(new Sealer([FOREIGN_SECRET]).seal(PAYLOAD, LATER));
  });

  test('a value sealed by jose with a foreign key under this sealer\'s header is refused', async () => {
    expectRefused(await sealWithJose(sealer, FOREIGN_SECRET, JSON.stringify({ v: SEAL_VERSION, iat: NOW, exp: LATER })));
  });

  test.each([
    '',
    'garbage',
    '.',
    '....',
    '.....',
    'a.b.c.d.e',
    'a..b.c.d',
    '\u0000\u0000\u0000',
    '\u00e9..\u00e9.\u00e9.\u00e9',
    '%%%%..%%%%.%%%%.%%%%',
    'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
  ])('a garbage string is refused: %j', (value) => {
    expectRefused(value);
  });

  test('a very long garbage value is refused', () => {
    expectRefused(`${header}..${'A'.repeat(16)}.${'B'.repeat(100_000)}.${'C'.repeat(22)}`);
  });

  test('garbage in the base64url parts under a valid header is refused', () => {
    expectRefused(`${header}..!!!!!!!!!!!!!!!!.${ciphertext}.${tag}`);
    expectRefused(`${header}..${iv}.${ciphertext}.!!!!!!!!!!!!!!!!!!!!!!`);
  });
});

describe('Sealer.unseal(): expiry and format version', () => {
  const sealer = new Sealer([SECRET]);

  test('a value opens before its exp and not at or after it (now argument, RFC 7519 §4.1.4)', () => {
    const exp = NOW + 100;
    const sealed = sealer.seal(PAYLOAD, exp);
    expect(sealer.unseal(sealed, exp - 1)).toBeDefined();
    expect(sealer.unseal(sealed, exp - 0.001)).toBeDefined();
    expect(sealer.unseal(sealed, exp)).toBeUndefined();
    expect(sealer.unseal(sealed, exp + 1)).toBeUndefined();
  });

  test('a value sealed already expired does not open on the clock', () => {
    expect(sealer.unseal(sealer.seal(PAYLOAD, NOW - 10))).toBeUndefined();
  });

  test('a payload of another format version is refused', async () => {
    const control = await sealWithJose(sealer, SECRET, JSON.stringify({ sub: 'x', v: SEAL_VERSION, iat: NOW, exp: LATER }));
    expect(sealer.unseal(control)).toBeDefined();
    for (const v of [SEAL_VERSION + 1, 0, '1', undefined]) {
      const sealed = await sealWithJose(sealer, SECRET, JSON.stringify({ sub: 'x', v, iat: NOW, exp: LATER }));
      expect(sealer.unseal(sealed)).toBeUndefined();
    }
  });

  test('a payload without a numeric exp is refused', async () => {
    for (const exp of [undefined, String(LATER), null]) {
      const sealed = await sealWithJose(sealer, SECRET, JSON.stringify({ v: SEAL_VERSION, iat: NOW, exp }));
      expect(sealer.unseal(sealed)).toBeUndefined();
    }
  });

  test.each(['not json', 'null', '42', '"a string"', '[1,2]', ''])('a plaintext that is not a JSON object is refused: %j', async (plaintext) => {
    const sealed = await sealWithJose(sealer, SECRET, plaintext);
    expect(() => sealer.unseal(sealed)).not.toThrow();
    expect(sealer.unseal(sealed)).toBeUndefined();
  });
});

describe('Sealer: key rotation (the first secret seals, every one opens)', () => {
  test('a value sealed with [old] opens with [new, old], with staleKey: true', () => {
    const sealed = new Sealer([OLD_SECRET]).seal(PAYLOAD, LATER);
    const opened = new Sealer([SECRET, OLD_SECRET]).unseal<typeof PAYLOAD>(sealed);
    expect(opened).toBeDefined();
    expect(opened!.staleKey).toBe(true);
    expect(opened!.payload).toMatchObject(PAYLOAD);
  });

  test('[new, old] seals with new: [new] opens it with staleKey: false', () => {
    const sealed = new Sealer([SECRET, OLD_SECRET]).seal(PAYLOAD, LATER);
    const opened = new Sealer([SECRET]).unseal<typeof PAYLOAD>(sealed);
    expect(opened).toBeDefined();
    expect(opened!.staleKey).toBe(false);
    expect(opened!.payload).toMatchObject(PAYLOAD);
  });

  test('[new, old] opens its own values with staleKey: false', () => {
    const sealer = new Sealer([SECRET, OLD_SECRET]);
    expect(sealer.unseal(sealer.seal(PAYLOAD, LATER))!.staleKey).toBe(false);
  });

  test('[new, old] seals values that [old] cannot open', () => {
    const sealed = new Sealer([SECRET, OLD_SECRET]).seal(PAYLOAD, LATER);
    expect(new Sealer([OLD_SECRET]).unseal(sealed)).toBeUndefined();
  });

  test('once old is dropped, values sealed with it no longer open', () => {
    const sealed = new Sealer([OLD_SECRET]).seal(PAYLOAD, LATER);
    expect(new Sealer([SECRET]).unseal(sealed)).toBeUndefined();
  });

  test('a value sealed with [new, old] is a JWE that jose opens with the new key only', async () => {
    const sealed = new Sealer([SECRET, OLD_SECRET]).seal(PAYLOAD, LATER);
    await expect(compactDecrypt(sealed, documentedKey(SECRET))).resolves.toBeDefined();
    await expect(compactDecrypt(sealed, documentedKey(OLD_SECRET))).rejects.toThrow();
  });
});

describe('Sealer: an attachment (bytes sealed after the JSON)', () => {
  const sealer = new Sealer([SECRET]);
  const BYTES = Buffer.from([0x00, 0x0a, 0xff, 0x0a, 0x7b, 0x22]); // NUL, two newlines, a "{" and a quote

  test('unseal() gives the payload and the very bytes back, newlines included', () => {
    const opened = sealer.unseal<typeof PAYLOAD>(sealer.seal(PAYLOAD, LATER, BYTES));
    expect(opened?.payload).toMatchObject(PAYLOAD);
    expect(opened?.attachment).toEqual(BYTES);
  });

  test('a value sealed without one opens with no attachment', () => {
    expect(sealer.unseal(sealer.seal(PAYLOAD, LATER))).not.toHaveProperty('attachment');
  });

  test('a newline inside a payload string does not end the JSON (JSON.stringify escapes it)', () => {
    const opened = sealer.unseal<{ text: string }>(sealer.seal({ text: 'two\nlines' }, LATER, BYTES));
    expect(opened?.payload.text).toBe('two\nlines');
    expect(opened?.attachment).toEqual(BYTES);
  });

  test('jose opens it: the plaintext is the JSON, a newline, then the bytes', async () => {
    const { plaintext } = await compactDecrypt(sealer.seal(PAYLOAD, LATER, BYTES), documentedKey(SECRET));
    const separator = Buffer.from(plaintext).indexOf(0x0a);
    expect(JSON.parse(Buffer.from(plaintext).subarray(0, separator).toString('utf8'))).toMatchObject(PAYLOAD);
    expect(Buffer.from(plaintext).subarray(separator + 1)).toEqual(BYTES);
  });
});
