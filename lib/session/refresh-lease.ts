/**
 * One refresh per server-side session across app instances (`sessionStorage: 'store'`): the
 * instance that takes the session's refresh lease refreshes and writes the record; the others
 * wait for the record to hold the new tokens. A provider that rotates refresh tokens (RFC 9700
 * §4.14.2) refuses a refresh token used twice, and may revoke the grant: a second refresh with
 * the old one would sign the user out.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import type { ResolvedOptions } from '../config/resolved-options.js';
import { debugOf } from '../debug.js';
import { AuthError } from '../errors.js';
import type { HttpRequest } from '../http.js';
import type { UserClaims } from '../provider/provider.js';
import { recordKey } from './record-store.js';
import { refreshLockOf, timedLock } from './refresh-lock.js';
import type { AuthSession, SealedTokens } from './session.js';
import type { Sessions } from './sessions.js';

const debug = debugOf('refresh');

/** What the lease needs of `authCallback()`'s parts. */
export interface LeaseDeps {
  readonly options: Pick<ResolvedOptions, 'httpTimeout' | 'storeTimeout' | 'refreshLock'>;
  readonly sessions: Pick<Sessions, 'load' | 'saveRecord' | 'forget'>;
}

/**
 * Tokens and claims, as a refresh returns them. `unsaved`: the provider answered, but its tokens
 * could not be written to the record (the store failed): the caller must write them before it
 * answers (see `refreshSession()`), and the lease is kept until it runs out, so that no other
 * instance refreshes from the record's old, perhaps rotated, refresh token meanwhile.
 */
export interface Refreshed {
  tokens: SealedTokens;
  claims: UserClaims;
  unsaved?: boolean;
}

/** First and longest pause between two reads of the record by a waiting instance, in milliseconds. */
const FIRST_POLL_MS = 25;
const LONGEST_POLL_MS = 250;

/**
 * How long a refresh lease lasts, in milliseconds: what its holder does under it, each step held
 * to its own timeout: read the record again and write it (`storeTimeout` each), and the token
 * request with one retry (a `DPoP-Nonce`, or the provider's discovery first: `httpTimeout`
 * each), plus 2 s for the rest. With the defaults (`httpTimeout` 10 s, `storeTimeout` 5 s): 32 s.
 * It is only waited out in full when a holder crashed (its instance stopped mid-refresh).
 */
export function leaseMs(options: Pick<ResolvedOptions, 'httpTimeout' | 'storeTimeout'>): number {
  return Math.ceil((2 * options.httpTimeout + 2 * options.storeTimeout + 2) * 1000);
}

/** `true` when the record holds other tokens than the request's: another instance refreshed them. */
function refreshedElsewhere(current: AuthSession, held: AuthSession): boolean {
  return current.tokens.accessToken !== held.tokens.accessToken || current.tokens.refreshToken !== held.tokens.refreshToken;
}

function sessionGone(): AuthError {
  return new AuthError('session_ended', 401, 'The session ended on another instance while its tokens were being refreshed: sign in again');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Refreshes the server-side `session` (it has a `ref`) once across instances, through the refresh
 * lease of the request's store, and writes its record; without a lease (`refreshLock: false`, a
 * store without one) it refreshes and writes the record as one instance would.
 *
 * The holder of the lease reads the record again first: when it already holds new tokens
 * (another instance refreshed just before), they are the answer, without a token request;
 * else it calls `refresh` with the record's session, writes the record and gives the lease up.
 * A refresh the provider refuses deletes the record before the lease is given up.
 *
 * A request that finds the lease taken waits, reading the record (every 25 ms, then up to
 * every 250 ms): new tokens there are its answer; no record means the session ended. After each
 * read it tries to take the lease: it is free again without new tokens when its holder's refresh
 * failed, or when the holder crashed and the lease ran out ({@link leaseMs}); the request then
 * refreshes itself, under the lease, so that a refresh token is never used by two at once.
 * A refresh with its own parameters (`tokenEndpointParams`) is never answered with another's
 * tokens: it waits for the lease and refreshes from the record's newest refresh token.
 *
 * @param refresh - the token request, from the session it is given
 * @throws AuthError `session_ended` (401) when the record is gone, or `refresh` says so;
 *   `refresh_failed` (503) when no new tokens appeared within the lease time and `storeTimeout`
 *   (the session is kept); `store_unavailable` (503); what `refresh` throws
 */
export async function refreshUnderLease(
  context: LeaseDeps, req: HttpRequest, session: AuthSession & { ref: string }, params: Readonly<Record<string, string>> | undefined,
  refresh: (current: AuthSession) => Promise<Refreshed>,
): Promise<Refreshed> {
  const { options, sessions } = context;
  const ownParams = params !== undefined && Object.keys(params).length > 0;
  const save = async (refreshed: Refreshed): Promise<Refreshed> => {
    try {
      await sessions.saveRecord(req, refreshed.tokens, refreshed.claims, session.createdAt, session.ref);
      return refreshed;
    } catch (err) {
      if (!(err instanceof AuthError) || err.code !== 'store_unavailable') throw err;
      debug('refreshed tokens not written (the store failed): kept by this instance, to be written by its next request');
      return { ...refreshed, unsaved: true };
    }
  };
  const configured = refreshLockOf(req, options.refreshLock);
  if (configured === undefined) return save(await refresh(session));

  const lock = timedLock(configured, options.storeTimeout);
  const key = recordKey('refresh-lock', session.ref);
  const token = randomBytes(16).toString('base64url');
  const ttl = leaseMs(options);
  const reference = { ref: session.ref, createdAt: session.createdAt, touchedAt: session.touchedAt, expiresAt: session.expiresAt, staleKey: session.staleKey };
  const reload = async (): Promise<AuthSession> => {
    const current = await sessions.load(req, reference);
    if (current === undefined) throw sessionGone();
    return current;
  };

  /** Under the lease: the record's new tokens, or a refresh of it, written; the lease given up. */
  const hold = async (): Promise<Refreshed> => {
    let keepLease = false;
    try {
      const current = await reload();
      if (!ownParams && refreshedElsewhere(current, session)) {
        debug('refresh lease taken, but another instance had refreshed: its tokens are used');
        return current;
      }
      try {
        const refreshed = await save(await refresh(current));
        keepLease = refreshed.unsaved === true;
        return refreshed;
      } catch (err) {
        // Waiting instances see the record gone, and end the session too. (When the store fails
        // here, the caller's own end of the session deletes it, or reports the failure.)
        if (err instanceof AuthError && err.code === 'session_ended') await sessions.forget(req, current).catch(() => undefined);
        throw err;
      }
    } finally {
      if (!keepLease) await lock.release(key, token).catch(() => debug('refresh lease not given up (the store failed): it runs out by itself'));
    }
  };

  if (await lock.acquire(key, token, ttl)) return hold();
  debug('another instance holds the refresh lease: waiting for the record\'s new tokens');
  const deadline = Date.now() + ttl + options.storeTimeout * 1000;
  for (let pause = FIRST_POLL_MS; ; pause = Math.min(2 * pause, LONGEST_POLL_MS)) {
    await sleep(pause);
    const current = await reload();
    if (!ownParams && refreshedElsewhere(current, session)) return current;
    // Free again without new tokens: its holder's refresh failed, or the holder crashed and the
    // lease ran out. Taking it now, this request refreshes, from the record read under it.
    if (await lock.acquire(key, token, ttl)) {
      debug('refresh lease taken after waiting: its holder gave it up without new tokens, or crashed');
      return hold();
    }
    if (Date.now() >= deadline) {
      throw new AuthError('refresh_failed', 503, 'Another instance is refreshing this session\'s tokens and no new tokens appeared in time: try again shortly');
    }
  }
}
