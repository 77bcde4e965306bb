/**
 * Unit tests of lib/session/id-token-bytes.ts: the ID token a cookie session seals, as bytes,
 * and read back to the very same text.
 */
import { describe, expect, test } from '@jest/globals';
import { idTokenBytes, idTokenOfBytes } from '../../lib/session/id-token-bytes.js';
import { ID_TOKEN } from '../support/session-fixture.js';

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
