/**
 * The package's debug lines: one per decision of the flow, never a token, secret, code, `state`,
 * `nonce`, `code_verifier` or cookie value (nor a `sub` or a `returnTo`: only issuers, parameter
 * names, sizes, durations and outcomes).
 *
 * They go through the `debug` package, as express's, express-session's and
 * express-openid-connect's do, one namespace per stage of the flow:
 * `DEBUG=express-oidc-callback:*` shows them all, `DEBUG=express-oidc-callback:refresh` one stage.
 * `NODE_DEBUG=express-oidc-callback` (Node's `util.debuglog`, what 0.3 offered) shows them all too,
 * each prefixed with its stage.
 *
 * @packageDocumentation
 */
import { debuglog } from 'node:util';
import createDebug from 'debug';

/** The `debug` namespace every line is under: `express-oidc-callback:<stage>`. */
export const DEBUG_NAMESPACE = 'express-oidc-callback';

/**
 * The stages, each a `debug` namespace under {@link DEBUG_NAMESPACE}: `login` (a login starts,
 * silent logins), `callback` (the pending login found or not, the code exchanged, sign-in),
 * `session` (sealed, resealed, ignored, ended by time), `refresh`, `logout`, `backchannel` (logout
 * tokens, marks, sessions they end), `provider` (discovery) and `events` (a listener that threw).
 */
export type DebugStage = 'login' | 'callback' | 'session' | 'refresh' | 'logout' | 'backchannel' | 'provider' | 'events';

/** Writes one debug line: a `printf`-like format (`%s`, `%d`) and its arguments. */
export type DebugLine = (format: string, ...args: unknown[]) => void;

/** `NODE_DEBUG=express-oidc-callback`: every stage, through Node's own `util.debuglog`. */
const nodeDebug = debuglog(DEBUG_NAMESPACE);

/**
 * The debug line writer of `stage`: to `debug`'s `express-oidc-callback:<stage>` when `DEBUG`
 * enables it, else to `util.debuglog` when `NODE_DEBUG` names the package, else nowhere (one
 * boolean test per line).
 */
export function debugOf(stage: DebugStage): DebugLine {
  const line = createDebug(`${DEBUG_NAMESPACE}:${stage}`);
  return function debugLine(format: string, ...args: unknown[]): void {
    if (line.enabled) line(format, ...args);
    else if (nodeDebug.enabled) nodeDebug(`${stage}: ${format}`, ...args);
  };
}
