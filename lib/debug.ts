/**
 * The package's debug lines: one per decision of the flow, never a token, secret or code.
 *
 * @packageDocumentation
 */
import { debuglog } from 'node:util';

/** Writes a debug line, shown with `NODE_DEBUG=express-oidc-callback` (`util.format` placeholders). */
export const debug = debuglog('express-oidc-callback');
