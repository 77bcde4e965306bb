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
 * answers (see `refreshSession()`), and the lease is kept (until it runs out, or `release()`
 * after the late write), so that no other instance refreshes from the record's old, perhaps
 * rotated, refresh token meanwhile.
 */
export interface Refreshed {
  tokens: SealedTokens;
  claims: UserClaims;
  unsaved?: boolean;
  /**
   * When the store record holding these tokens expires, in seconds since the epoch (as the
   * instance that wrote it computed it): the cookie of every request sharing the refresh is
   * sealed until then, never past its record. Unset with cookie sessions, or while `unsaved`.
   */
  expiresAt?: number;
  /** Gives up the refresh lease kept for `unsaved` tokens: called once they are written. */
  release?: () => Promise<void>;
}

/** First and longest pause between two reads of the record by a waiting instance, in milliseconds. */
const FIRST_POLL_MS = 25;
const LONGEST_POLL_MS = 250;

/**
 * The longest the provider's part of a refresh can take, in milliseconds, each request held to
 * `httpTimeout`: the provider's discovery (again, after a failure), the token request and its one
 * retry with a `DPoP-Nonce` (RFC 9449 §8), and the JWKS fetched again for a rotated signing key
 * (OpenID Connect Core 1.0 §10.1.1): 4 × `httpTimeout`.
 */
function providerBoundMs(options: Pick<ResolvedOptions, 'httpTimeout'>): number {
  return 4 * options.httpTimeout * 1000;
}

/**
 * The longest the record's write after a refresh can take, in milliseconds: `Sessions.saveRecord()`
 * tries again until `storeTimeout` has passed, its last attempt itself held to `storeTimeout`.
 */
function writeBoundMs(options: Pick<ResolvedOptions, 'storeTimeout'>): number {
  return 2 * options.storeTimeout * 1000;
}

/** Room for what is not held to a timeout (sealing, the event loop), in milliseconds. */
const SLACK_MS = 2000;

/**
 * How long a refresh lease lasts, in milliseconds: the worst case of what its holder does under
 * it, each step held to its own timeout: taking the lease and reading the record again
 * (`storeTimeout` each), the provider's part (4 × `httpTimeout`: discovery, the token request and
 * its `DPoP-Nonce` retry, a JWKS fetched again), the record's write (2 × `storeTimeout`, tried
 * again within `storeTimeout`), and 2 s for the rest: 4 × `httpTimeout` + 4 × `storeTimeout` + 2 s.
 * With the defaults (`httpTimeout` 10 s, `storeTimeout` 5 s): 62 s. It is only waited out in full
 * when a holder crashed (its instance stopped mid-refresh).
 *
 * The holder does not count on it blindly: it starts the token request only while the lease has
 * the provider's part and the write still ahead of it (else: 503 `refresh_failed`, nothing spent),
 * so that a lease running out (a paused process, a clock jump) never lets two instances send one
 * refresh token. Extending the lease before the write would need a third `RefreshLock` call of
 * every app's own lock; with a lease that covers the write, it is not needed.
 */
export function leaseMs(options: Pick<ResolvedOptions, 'httpTimeout' | 'storeTimeout'>): number {
  return Math.ceil(2 * options.storeTimeout * 1000 + providerBoundMs(options) + writeBoundMs(options) + SLACK_MS);
}

/** `true` when the record holds other tokens than the request's: another instance refreshed them. */
function refreshedElsewhere(current: AuthSession, held: AuthSession): boolean {
  return current.tokens.accessToken !== held.tokens.accessToken || current.tokens.refreshToken !== held.tokens.refreshToken;
}

function sessionGone(): AuthError {
  return new AuthError('session_ended', 401, 'The session ended on another instance while its tokens were being refreshed: sign in again');
}

function notInTime(): AuthError {
  return new AuthError('refresh_failed', 503, 'Another instance is refreshing this session\'s tokens and no new tokens appeared in time: try again shortly');
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
/**
 * Refreshes the server-side `session` (it has a `ref`) once across instances, through the refresh
 * lease of the request's store, and writes its record; without a lease (`refreshLock: false`, a
 * store without one) it refreshes and writes the record as one instance would.
 *
 * The holder of the lease reads the record again first: when it already holds new tokens
 * (another instance refreshed just before), they are the answer, without a token request;
 * else it calls `refresh` with the record's session, writes the record and gives the lease up.
 * It starts the token request only while the lease still covers it and the write (see
 * {@link leaseMs}); once the provider answered it writes the tokens even if the lease may have
 * run out meanwhile: they are the only live ones. A refresh the provider refuses deletes the
 * record before the lease is given up, unless the record holds other tokens by then (a holder
 * before this one wrote late: they are the answer).
 *
 * A request that finds the lease taken waits, reading the record (every 25 ms, then up to
 * every 250 ms): new tokens there are its answer; no record means the session ended. While a
 * whole lease still fits before its own deadline (the lease time and `storeTimeout` after it
 * began to wait), it tries to take the lease after each read: it is free again without new tokens
 * when its holder's refresh failed, or when the holder crashed and the lease ran out; the request
 * then refreshes itself, under the lease, so that a refresh token is never used by two at once.
 * So a request waits at most the lease time and `storeTimeout`, or takes the lease within
 * `storeTimeout` and holds it at most the lease time. After a crashed holder, the waiting
 * requests answer 503 `refresh_failed` and the next request, its lease run out, refreshes.
 * A refresh with its own parameters (`tokenEndpointParams`) is never answered with another's
 * tokens: it waits for the lease and refreshes from the record's newest refresh token.
 *
 * @param refresh - the token request, from the session it is given
 * @returns the tokens, with the record's expiry (`expiresAt`); or `unsaved` with the lease's
 *   `release()` when the record could not be written (the lease is kept until then)
 * @throws AuthError `session_ended` (401) when the record is gone, or `refresh` says so;
 *   `refresh_failed` (503) when no new tokens appeared within the lease time and `storeTimeout`
 *   (the session is kept), or the lease was taken too late to cover the token request;
 *   `store_unavailable` (503); what `refresh` throws
 */
export async function refreshUnderLease(
  context: LeaseDeps, req: HttpRequest, session: AuthSession & { ref: string }, params: Readonly<Record<string, string>> | undefined,
  refresh: (current: AuthSession) => Promise<Refreshed>,
): Promise<Refreshed> {
  const { options, sessions } = context;
  const ownParams = params !== undefined && Object.keys(params).length > 0;
  const save = async (refreshed: Refreshed): Promise<Refreshed> => {
    try {
      const expiresAt = await sessions.saveRecord(req, refreshed.tokens, refreshed.claims, session.createdAt, session.ref);
      return { tokens: refreshed.tokens, claims: refreshed.claims, expiresAt };
    } catch (err) {
      if (!(err instanceof AuthError) || err.code !== 'store_unavailable') throw err;
      debug('refreshed tokens not written (the store failed): kept by this instance, to be written by its next request');
      return { tokens: refreshed.tokens, claims: refreshed.claims, unsaved: true };
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
  const release = (): Promise<void> => lock.release(key, token).catch(() => debug('refresh lease not given up (the store failed): it runs out by itself'));

  /** Under the lease, until `leaseEnds` (ms): the record's new tokens, or a refresh of it, written; the lease given up. */
  const hold = async (leaseEnds: number): Promise<Refreshed> => {
    let keepLease = false;
    try {
      const current = await reload();
      if (!ownParams && refreshedElsewhere(current, session)) {
        debug('refresh lease taken, but another instance had refreshed: its tokens are used');
        return recorded(current);
      }
      if (Date.now() + providerBoundMs(options) + writeBoundMs(options) > leaseEnds) {
        debug('refresh lease too short now for the token request and the write: not refreshed (its refresh token could be sent twice)');
        throw new AuthError('refresh_failed', 503, 'The session\'s refresh lease could run out before its tokens were refreshed: try again shortly');
      }
      let answered: Refreshed;
      try {
        answered = await refresh(current);
      } catch (err) {
        if (err instanceof AuthError && err.code === 'session_ended') {
          // A holder before this one, its lease run out, may have spent the refresh token and
          // written its tokens since: they are the session's live ones, not an ended session.
          const after = await sessions.load(req, reference).catch(() => undefined);
          if (after !== undefined && refreshedElsewhere(after, current)) {
            debug('refresh refused, but another instance had written new tokens meanwhile: the session goes on with them');
            if (!ownParams) return recorded(after);
            throw new AuthError('refresh_failed', 503, 'Another instance refreshed this session\'s tokens meanwhile: try again', { cause: err });
          }
          // Waiting instances see the record gone, and end the session too. (When the store fails
          // here, the caller's own end of the session deletes it, or reports the failure.)
          await sessions.forget(req, current).catch(() => undefined);
        }
        throw err;
      }
      if (Date.now() > leaseEnds) debug('refresh lease may have run out before the write: written anyway, these tokens are the only live ones');
      const refreshed = await save(answered);
      keepLease = refreshed.unsaved === true;
      return keepLease ? { ...refreshed, release } : refreshed;
    } finally {
      if (!keepLease) await release();
    }
  };

  const asked = Date.now();
  if (await lock.acquire(key, token, ttl)) return hold(asked + ttl);
  debug('another instance holds the refresh lease: waiting for the record\'s new tokens');
  const deadline = asked + ttl + options.storeTimeout * 1000;
  for (let pause = FIRST_POLL_MS; ; pause = Math.min(2 * pause, LONGEST_POLL_MS)) {
    await sleep(pause);
    const current = await reload();
    if (!ownParams && refreshedElsewhere(current, session)) return recorded(current);
    // Free again without new tokens: its holder's refresh failed, or the holder crashed and the
    // lease ran out. Taken now (only while a whole lease fits before the deadline), this request
    // refreshes, from the record read under it.
    const now = Date.now();
    if (now + ttl <= deadline && await lock.acquire(key, token, ttl)) {
      debug('refresh lease taken after waiting: its holder gave it up without new tokens, or crashed');
      return hold(now + ttl);
    }
    if (Date.now() >= deadline) throw notInTime();
  }
}

/** The record's tokens as a refresh's answer, until the record's own expiry. */
function recorded(current: AuthSession): Refreshed {
  return { tokens: current.tokens, claims: current.claims, ...(current.recordExpiresAt !== undefined && { expiresAt: current.recordExpiresAt }) };
}
