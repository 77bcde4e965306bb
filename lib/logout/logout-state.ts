/**
 * The `state` of an RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2, §3): sent to
 * the provider's `end_session_endpoint`, kept with the page to return to in a short-lived sealed
 * cookie, and checked when the provider sends the browser back to `post_logout_redirect_uri`.
 * One registered `post_logout_redirect_uri` (`baseURL`) then serves every `returnTo`; and
 * providers that return only when `state` is sent (Glewlwyd) return.
 *
 * @packageDocumentation
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { parse, serialize, type SerializeOptions } from 'cookie';
import type { ResolvedOptions } from '../config/resolved-options.js';
import { appendSetCookie, type HttpRequest, type HttpResponse } from '../http.js';
import type { Sealer } from '../session/seal.js';
import { companionCookie } from '../session/session-cookie.js';

/** How long a logout may take at the provider (a confirmation page), in seconds. */
const LOGOUT_STATE_DURATION = 600;

interface SealedLogout {
  state: string;
  returnTo: string;
}

/** The pending logout of one `authCallback()`, in the browser's cookie. */
export class LogoutStateCookie {
  readonly #name: string;
  readonly #attributes: SerializeOptions;
  readonly #sealer: Sealer;

  /** @param sealer - a sealer for the `'logout'` purpose */
  constructor(options: ResolvedOptions, sealer: Sealer) {
    ({ name: this.#name, attributes: this.#attributes } = companionCookie(options.cookie, 'logout'));
    this.#sealer = sealer;
  }

  /** A fresh `state`: 128 random bits, base64url. */
  static newState(): string {
    return randomBytes(16).toString('base64url');
  }

  /** Seals `state` with `returnTo` into the response's cookie, for the provider's redirect back. */
  keep(res: HttpResponse, state: string, returnTo: string): void {
    const expiresAt = Math.floor(Date.now() / 1000) + LOGOUT_STATE_DURATION;
    appendSetCookie(res, [serialize(this.#name, this.#sealer.seal({ state, returnTo } satisfies SealedLogout, expiresAt), { ...this.#attributes, maxAge: LOGOUT_STATE_DURATION })]);
  }

  /** `true` when the request may carry the cookie: a cheap look at the `Cookie` header, for every request. */
  mayBePresent(req: HttpRequest): boolean {
    return req.headers.cookie?.includes(`${this.#name}=`) === true;
  }

  /**
   * Takes the pending logout (its cookie is cleared) and returns its `returnTo` when the
   * provider's `state` is its own; `undefined` otherwise (no `state` echoed, another one, an
   * expired or foreign cookie).
   */
  take(req: HttpRequest, res: HttpResponse, state: string | null): string | undefined {
    const value = parse(req.headers.cookie ?? '')[this.#name];
    if (value === undefined) return undefined;
    appendSetCookie(res, [serialize(this.#name, '', { ...this.#attributes, expires: new Date(0), maxAge: 0 })]);
    const sealed = this.#sealer.unseal<Partial<SealedLogout>>(value)?.payload;
    if (state === null || typeof sealed?.state !== 'string' || typeof sealed.returnTo !== 'string') return undefined;
    const a = Buffer.from(sealed.state);
    const b = Buffer.from(state);
    return a.length === b.length && timingSafeEqual(a, b) ? sealed.returnTo : undefined;
  }
}
