/**
 * A cookie session's contents for the unit tests of lib/session/ (id-token-bytes, session-codec,
 * session-cache): a real RS256-signed ID token and the token set a login seals.
 */
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SealedSession } from '../../lib/session/session.js';

export const SECRET = 'a-secret-of-at-least-thirty-two-characters';
export const NOW = Math.floor(Date.now() / 1000);
export const LATER = NOW + 3600;

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
export const ID_TOKEN = await new SignJWT({ sub: 'alice', email: 'alice@example.com', nonce: 'n-0S6_WzA2Mj' })
  .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
  .setIssuer('https://op.example').setAudience('app').setIssuedAt(NOW).setExpirationTime(LATER)
  .sign(privateKey);

export const PAYLOAD: SealedSession = { idToken: ID_TOKEN, accessToken: 'access-token-0123456789', tokenType: 'Bearer', refreshToken: 'refresh-token-abc', createdAt: NOW };
