/**
 * Calls the app's `events` listeners (see `config/event-options.ts`): synchronously, in the
 * request's async context, and never to the request's harm: what a listener throws, or a promise
 * it returns that rejects, is caught and written to the `events` debug line.
 *
 * @packageDocumentation
 */
import type { Request } from 'express';
import type { AuthCallbackEvents, AuthEvent } from './config/event-options.js';
import { debugOf } from './debug.js';
import type { HttpRequest } from './http.js';

const debug = debugOf('events');

/** The event of `type`. */
type EventOf<T extends AuthEvent['type']> = Extract<AuthEvent, { type: T }>;

/** A listener's failure, as a debug line: its error's name and message (the app's own text). */
function listenerFailed(type: string, err: unknown): void {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : typeof err;
  debug('the %s listener failed (ignored): %s', type, text.slice(0, 200));
}

/**
 * Calls the listener of `event.type`, when the app gave one, with `event` and `req`.
 *
 * @param listeners - the `events` option (checked at start-up: functions only)
 */
export function emit<T extends AuthEvent['type']>(listeners: Readonly<AuthCallbackEvents>, event: EventOf<T>, req: HttpRequest): void {
  const listener = listeners[event.type] as ((event: EventOf<T>, req: Request) => unknown) | undefined;
  if (listener === undefined) return;
  try {
    const result = listener(event, req as Request);
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, (err: unknown) => listenerFailed(event.type, err));
    }
  } catch (err) {
    listenerFailed(event.type, err);
  }
}

/** The `sid` claim when it is a string (the only shape Back-Channel Logout 1.0 §2.4 allows). */
export function sidOf(claims: { readonly sid?: unknown }): string | undefined {
  return typeof claims.sid === 'string' ? claims.sid : undefined;
}
