/**
 * `express-session` as promises, and the check that it is mounted before `authCallback()`.
 *
 * @packageDocumentation
 */
import type { Request } from 'express';
import { AuthError } from './errors.js';

/**
 * The part of an express-session `Session` used here, typed structurally so that this package
 * neither needs `@types/express-session` nor adds anything to its `SessionData`.
 */
export interface ExpressSession {
  regenerate(callback: (err?: unknown) => void): unknown;
  save(callback: (err?: unknown) => void): unknown;
  destroy(callback: (err?: unknown) => void): unknown;
  [key: string]: unknown;
}

function sessionOf(req: Request): ExpressSession | undefined {
  const session = (req as unknown as { session?: ExpressSession | null }).session;
  return session === null ? undefined : session;
}

/**
 * The request's express-session.
 *
 * @throws AuthError `session_not_mounted` (500) when express-session did not run before this
 *   middleware, or its store failed to load the session
 */
export function requireSession(req: Request): ExpressSession {
  const session = sessionOf(req);
  if (session === undefined || typeof session.regenerate !== 'function') {
    throw new AuthError(
      'session_not_mounted',
      500,
      'express-session is not mounted before authCallback(): add app.use(session({ secret, resave: false, saveUninitialized: false })) ' +
        'before app.use(authCallback({ ... })). If it is mounted, its store failed to load the session.',
    );
  }
  return session;
}

function promisify(run: (done: (err?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    run((err) => (err ? reject(err) : resolve()));
  });
}

/** Saves the session now, so the store has it before the browser follows a redirect. */
export function saveSession(req: Request): Promise<void> {
  return promisify((done) => requireSession(req).save(done));
}

/**
 * Replaces the session with a new one under a new id (against session fixation, OWASP ASVS
 * V3.2.1), carrying over the `keep` entries.
 */
export async function regenerateSession(req: Request, keep: Record<string, unknown>): Promise<void> {
  await promisify((done) => requireSession(req).regenerate(done));
  Object.assign(requireSession(req), keep);
}

/** Destroys the session in its store; a request without express-session is left as it is. */
export function destroySession(req: Request): Promise<void> {
  const session = sessionOf(req);
  if (session === undefined || typeof session.destroy !== 'function') return Promise.resolve();
  return promisify((done) => session.destroy(done));
}
