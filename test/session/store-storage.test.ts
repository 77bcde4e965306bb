/**
 * Unit tests of lib/session/store-storage.ts: a session's tokens in a store record sealed with a
 * key of its own (HKDF label `session-record`), the cookie naming the record; records that 0.1.x
 * sealed with the session cookie's key still open during the migration window.
 */
import type { Request } from 'express';
import { describe, expect, test } from '@jest/globals';
import { MemoryStore } from 'express-session';
import { decodeJwt } from 'jose';
import { recordKey } from '../../lib/session/record-store.js';
import { Sealer } from '../../lib/session/seal.js';
import { StoreStorage } from '../../lib/session/store-storage.js';

const SECRET = 'a-test-secret-of-at-least-32-characters-0123456789';
const NOW = Math.floor(Date.now() / 1000);
const ID_TOKEN = [{ alg: 'RS256' }, { iss: 'https://op.example', sub: 'ann', aud: 'app', iat: NOW, exp: NOW + 3600 }, 'sig']
  .map((part) => (typeof part === 'string' ? part : Buffer.from(JSON.stringify(part)).toString('base64url'))).join('.');
const TOKENS = { idToken: ID_TOKEN, accessToken: 'access-token-value', tokenType: 'bearer' };

/** A request whose express-session store is `store`. */
function requestWith(store: MemoryStore): Request {
  return { sessionStore: store } as unknown as Request;
}

function storageOf(): StoreStorage {
  return new StoreStorage(new Sealer([SECRET], 'session-cookie'), new Sealer([SECRET], 'session-record', 'session-cookie'), 1);
}

const times = { createdAt: NOW, touchedAt: NOW, expiresAt: NOW + 3600, staleKey: false };

describe('StoreStorage', () => {
  test('save() seals the tokens into a record with the record key, and the cookie value names the record', async () => {
    const store = new MemoryStore();
    const { value, ref } = await storageOf().save(requestWith(store), TOKENS, NOW, NOW + 3600, undefined);
    expect(ref).toMatch(/^[\w-]{43}$/);
    expect(new Sealer([SECRET], 'session-cookie').unseal<{ ref: string }>(value)?.payload.ref).toBe(ref);
    const record = await new Promise<{ sealed: string } | undefined>((resolve) => store.get(recordKey('session', ref), (_e, d) => resolve(d as never)));
    expect(new Sealer([SECRET], 'session-cookie').unseal(record!.sealed)).toBeUndefined(); // not the cookie's key
    expect(new Sealer([SECRET], 'session-record').unseal(record!.sealed)?.payload).toMatchObject(TOKENS);
  });

  test('load() opens a record sealed by 0.1.x with the session cookie\'s key (the migration window)', async () => {
    const store = new MemoryStore();
    const ref = 'r'.repeat(43);
    const sealed = new Sealer([SECRET], 'session-cookie').seal(TOKENS, NOW + 3600);
    await new Promise<void>((resolve) => store.set(recordKey('session', ref), { sealed, cookie: { expires: new Date((NOW + 3600) * 1000) } } as never, () => resolve()));
    const session = await storageOf().load(requestWith(store), { ref, ...times });
    expect(session?.claims.sub).toBe(decodeJwt(ID_TOKEN).sub);
    expect(session?.tokens.accessToken).toBe('access-token-value');
  });

  test('load() of a record sealed with another purpose\'s key (a pending login\'s) finds no session', async () => {
    const store = new MemoryStore();
    const ref = 't'.repeat(43);
    const sealed = new Sealer([SECRET], 'transaction').seal(TOKENS, NOW + 3600);
    await new Promise<void>((resolve) => store.set(recordKey('session', ref), { sealed, cookie: { expires: new Date((NOW + 3600) * 1000) } } as never, () => resolve()));
    expect(await storageOf().load(requestWith(store), { ref, ...times })).toBeUndefined();
  });

  test('open() takes a reference only: a cookie of sessionStorage \'cookie\' is not one', () => {
    expect(storageOf().open({ ref: 'x' }, times)).toEqual({ ref: 'x', ...times });
    expect(storageOf().open({ ...TOKENS, createdAt: NOW }, times)).toBeUndefined();
  });
});
