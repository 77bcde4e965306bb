/**
 * Reads the authorization response's parameters exactly as the provider (or an attacker) sent
 * them: from the raw query string (`GET`) or the raw form body (`POST`, `response_mode=form_post`,
 * OAuth 2.0 Form Post Response Mode §2), never from Express's `req.query`, whose parser turns
 * repeated and bracketed parameters into arrays and objects.
 *
 * @packageDocumentation
 */
import { isFormBody, originalUrl, type HttpRequest } from '../http.js';
import { AuthError } from '../errors.js';

/** Largest form-post body read, in bytes. */
const MAX_FORM_POST_BYTES = 64 * 1024;

/** Parameters of an authorization response (RFC 6749 §4.1.2, RFC 9207 §2, OIDC Session Management §3). */
const RESPONSE_PARAMS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri', 'session_state'];

/**
 * The callback's parameters as sent, not yet checked (see {@link checkAuthorizationResponse}).
 *
 * @throws AuthError `invalid_request` (400) for a form post that is not
 *   `application/x-www-form-urlencoded`; 413 above {@link MAX_FORM_POST_BYTES}
 */
export async function readAuthorizationResponse(req: HttpRequest): Promise<URLSearchParams> {
  return req.method === 'POST' ? readFormPost(req) : rawQuery(req);
}

/**
 * Checks the callback's parameters for shape.
 *
 * @throws AuthError `invalid_request` (400) when a parameter is repeated (RFC 6749 §3.1: "MUST
 *   NOT be included more than once") or a response parameter comes in bracket form (`state[x]`)
 */
export function checkAuthorizationResponse(params: URLSearchParams): void {
  const seen = new Set<string>();
  for (const name of params.keys()) {
    if (seen.has(name)) {
      const known = RESPONSE_PARAMS.includes(name);
      throw new AuthError('invalid_request', 400, known ? `The callback parameter "${name}" is repeated` : 'A callback parameter is repeated');
    }
    seen.add(name);
    const bracket = name.indexOf('[');
    if (bracket > 0 && RESPONSE_PARAMS.includes(name.slice(0, bracket))) {
      throw new AuthError('invalid_request', 400, `The callback parameter "${name.slice(0, bracket)}" is malformed`);
    }
  }
}

function rawQuery(req: HttpRequest): URLSearchParams {
  const url = originalUrl(req);
  const q = url.indexOf('?');
  return new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
}

/** The raw `application/x-www-form-urlencoded` body of a `POST` (the login route's form-posted initiation, too). */
export async function readFormPost(req: HttpRequest): Promise<URLSearchParams> {
  const parsed: unknown = (req as { body?: unknown }).body;
  if (parsed !== undefined && parsed !== null && typeof parsed === 'object' && !Buffer.isBuffer(parsed) && Object.keys(parsed).length > 0) {
    // An application body parser ran first: rebuild the form from its result.
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(parsed)) {
      if (Array.isArray(value)) throw new AuthError('invalid_request', 400, 'A callback parameter is repeated');
      if (typeof value !== 'string') throw new AuthError('invalid_request', 400, 'A callback parameter is malformed');
      params.append(name, value);
    }
    return params;
  }
  if (req.readableEnded) return new URLSearchParams();
  if (req.headers['content-type'] !== undefined && !isFormBody(req)) {
    throw new AuthError('invalid_request', 400, 'A posted form must be application/x-www-form-urlencoded');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_POST_BYTES) throw new AuthError('invalid_request', 413, `The posted form exceeds ${MAX_FORM_POST_BYTES} bytes`);
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}
