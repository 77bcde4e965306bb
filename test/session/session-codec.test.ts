/**
 * Unit tests of the cookie payload of lib/session/session-codec.ts (sealCookiePayload /
 * unsealCookiePayload): what a cookie session seals and how it is read back.
 */
import { describe, expect, test } from '@jest/globals';
import { idTokenBytes } from '../../lib/session/id-token-bytes.js';
import { Sealer } from '../../lib/session/seal.js';
import { sealCookiePayload, unsealCookiePayload } from '../../lib/session/session-codec.js';
import { ID_TOKEN, LATER, PAYLOAD, SECRET } from '../support/session-fixture.js';

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
