/**
 * `attemptSilentLogin`: a browser's first page load without a session tries a login with
 * `prompt=none` (OpenID Connect Core 1.0 §3.1.2.1), so that a user already signed in at the
 * provider is signed in here without a click; `login_required` and its kin bring them back
 * anonymous (see the callback route). Tried once per browser session: a session cookie (no
 * `Max-Age`) marks it, and is set on logout too, so a user who just signed out is not signed
 * back in. The login itself is `startSilentLogin()`'s (login-route.ts).
 *
 * @packageDocumentation
 */
import { parse, serialize, type SerializeOptions } from 'cookie';
import type { ResolvedOptions } from '../config/resolved-options.js';
import { appendSetCookie, prefersHtml, type HttpRequest, type HttpResponse } from '../http.js';
import { companionCookie } from '../session/session-cookie.js';

/** The silent-login mark of one `authCallback()`. */
export class SilentLogin {
  readonly #name: string;
  readonly #attributes: SerializeOptions;

  constructor(options: ResolvedOptions) {
    ({ name: this.#name, attributes: this.#attributes } = companionCookie(options.cookie, 'silent'));
  }

  /**
   * `true` for a request to try it on: a `GET` page load (`Sec-Fetch-Dest: document` when the
   * browser sends Fetch Metadata, else one that prefers HTML), in a browser that has not tried
   * this session.
   */
  isDue(req: HttpRequest): boolean {
    if (req.method !== 'GET') return false;
    const dest = req.headers['sec-fetch-dest'];
    if (dest !== undefined ? dest !== 'document' : !prefersHtml(req)) return false;
    const cookies = req.headers.cookie;
    return cookies === undefined || !cookies.includes(`${this.#name}=`) || parse(cookies)[this.#name] === undefined;
  }

  /** Marks the browser as having tried, for the rest of its session. */
  markTried(res: HttpResponse): void {
    appendSetCookie(res, [serialize(this.#name, '1', this.#attributes)]);
  }
}
