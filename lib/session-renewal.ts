/**
 * What a request does to the session it carries before the app sees it: refresh expiring tokens
 * (`autoRefresh`), extend the idle lifetime (at most once per `sessionTouchInterval`), and reseal
 * a cookie sealed with an older secret. Most requests need none of it and pay nothing.
 *
 * @packageDocumentation
 */
import type { Request, Response } from 'express';
import { writeSession, type AuthSession } from './auth-session.js';
import { debug, type Context } from './context.js';
import { AuthError } from './errors.js';
import { refreshSession } from './token-refresh.js';

/** What {@link renewalOf} found due. */
export type Renewal = 'refresh' | 'reseal';

/**
 * What `session` needs on this request, if anything, at `now` (seconds since the epoch):
 * `'refresh'` when `autoRefresh` is on, the session holds a refresh token, and the access token
 * expires within `refreshMargin` seconds; `'reseal'` when the cookie was sealed with an older
 * secret, or the idle lifetime is due an extension (`sessionTouchInterval` passed since the last
 * seal, and the absolute lifetime not yet reached).
 */
export function renewalOf(context: Context, session: AuthSession, now: number): Renewal | undefined {
  const o = context.options;
  const { tokens } = session;
  if (o.autoRefresh && tokens.refreshToken !== undefined && tokens.expiresAt !== undefined && tokens.expiresAt - o.refreshMargin <= now) {
    return 'refresh';
  }
  if (session.staleKey) return 'reseal';
  if (o.sessionIdleDuration !== undefined
    && now - session.touchedAt >= o.sessionTouchInterval
    && session.expiresAt < session.createdAt + o.sessionDuration) {
    return 'reseal';
  }
  return undefined;
}

/**
 * Carries out `renewal` and writes the new cookie.
 *
 * @returns the renewed session; `undefined` when a refresh ended the session (the cookie is
 *   cleared, and the request goes on as anonymous: browsers are sent to login, APIs get 401)
 * @throws AuthError `refresh_failed` (503) when the provider failed during a refresh: the cookie
 *   is left as it was
 */
export async function renewSession(context: Context, req: Request, res: Response, session: AuthSession, renewal: Renewal): Promise<AuthSession | undefined> {
  if (renewal === 'reseal') return writeSession(context, req, res, session.tokens, session.claims, session.createdAt);
  try {
    const refreshed = await refreshSession(context, session);
    return writeSession(context, req, res, refreshed.tokens, refreshed.claims, session.createdAt);
  } catch (err) {
    if (!(err instanceof AuthError) || err.code !== 'session_ended') throw err;
    debug('session ended by a refresh: %s', err.message);
    context.cookie.clear(req, res);
    return undefined;
  }
}
