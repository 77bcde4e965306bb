/**
 * A login starts where its callback will arrive: at `baseURL`'s host, and over https when
 * `baseURL` is https. The pending-login cookie is set by the host the browser asked for `/login`,
 * and the provider sends the browser back to `redirect_uri`, on `baseURL`'s host: a login started
 * at `http://127.0.0.1:3000` with `baseURL` `http://localhost:3000` sets its cookie for
 * 127.0.0.1, and the callback at localhost finds none; a `Secure` cookie answered to a plain
 * http request is dropped by the browser. Either way the login could only fail at the callback.
 *
 * @packageDocumentation
 */
import { parse, serialize } from 'cookie';
import type { TLSSocket } from 'node:tls';
import type { ResolvedOptions } from '../config/resolved-options.js';
import { debugOf } from '../debug.js';
import { appendSetCookie, redirect, requestPath, type HttpRequest, type HttpResponse } from '../http.js';
import { companionCookie } from '../session/session-cookie.js';

const debug = debugOf('login');

/** Lifetime of the mark that a browser was sent to `baseURL`'s origin, in seconds: long enough for one redirect. */
const MOVED_MARK_SECONDS = 60;

/**
 * `true` for a browser's page load: `Sec-Fetch-Mode: navigate` (Fetch Metadata Request Headers),
 * or, from a browser that sends no Fetch Metadata (over plain http to a host that is not
 * loopback), `Upgrade-Insecure-Requests: 1`, which browsers send with every navigation.
 */
function isBrowserNavigation(req: HttpRequest): boolean {
  const mode = req.headers['sec-fetch-mode'];
  return mode !== undefined ? mode === 'navigate' : req.headers['upgrade-insecure-requests'] === '1';
}

/** The host the request names, lower case and without its port: Express's `req.hostname` (which honours `trust proxy`), else the `Host` header. */
function requestHostname(req: HttpRequest): string | undefined {
  const express = (req as { hostname?: unknown }).hostname;
  const host = typeof express === 'string' && express !== '' ? express : req.headers.host;
  if (host === undefined || host === '') return undefined;
  try {
    return new URL(`http://${host}`).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * `true` when the request arrived over https: Express's `req.secure`, which honours
 * `trust proxy` (and so a trusted `X-Forwarded-Proto: https`); in Connect or plain Node, a TLS socket.
 */
export function arrivedSecure(req: HttpRequest): boolean {
  const secure = (req as { secure?: unknown }).secure;
  return typeof secure === 'boolean' ? secure : (req.socket as Partial<TLSSocket> | null)?.encrypted === true;
}

/**
 * `true` when the first `X-Forwarded-Proto` value is `https`: a proxy says the browser came over
 * https, whether or not the app trusts it. Only used to skip a redirect to https that could not
 * help, and to name the setting to fix: never to decide what is secure.
 */
export function forwardedHttps(req: HttpRequest): boolean {
  const header = req.headers['x-forwarded-proto'];
  const first = (Array.isArray(header) ? header[0] : header)?.split(',', 1)[0]?.trim().toLowerCase();
  return first === 'https';
}

/**
 * `true` when the request carries the mark {@link redirectToBaseOrigin} sets: this browser was
 * sent to `baseURL`'s origin less than a minute ago. With an https `baseURL` the mark is `Secure`,
 * which browsers send only over https: a request that carries it yet looks plain http came
 * through a proxy that ended TLS.
 */
export function carriesMovedMark(options: ResolvedOptions, req: HttpRequest): boolean {
  const header = req.headers.cookie;
  return header !== undefined && parse(header)[companionCookie(options.cookie, 'moved').name] !== undefined;
}

/** `true` when cookies set with `Domain=domain` are sent to `hostname` (RFC 6265 §5.1.3). */
function domainMatches(hostname: string, domain: string): boolean {
  const d = domain.replace(/^\./, '').toLowerCase();
  return hostname === d || hostname.endsWith(`.${d}`);
}

/**
 * Sends a browser that asks for the login route elsewhere than `baseURL`'s origin there first,
 * to the login route under `baseURL`'s path with the same query (a `POST`'s form as the query
 * of a `GET`, which the login route reads the same): 302 (303 for a `POST`). "Elsewhere" is another host name (with `cookie.domain`,
 * one outside that domain: its cookies are shared), or plain http when `baseURL` is https. The
 * port is not compared: cookies are not kept per port.
 *
 * Why a redirect, not a 400 naming both hosts: the user meant to sign in, and at `baseURL`'s
 * origin they can, so the redirect is what they would expect; a 400 would only tell them to
 * retype the URL. Only a browser's page load is redirected ({@link isBrowserNavigation}): only a
 * browser keeps cookies by these rules, and an API client or a test agent calling the route is
 * answered as before.
 *
 * A proxy that rewrites `Host`, or ends TLS without a trusted `X-Forwarded-Proto` (Express
 * without `trust proxy`; Connect and plain Node, which never trust it), makes every request look
 * misplaced, though the browser is at `baseURL`'s origin already. A plain http request whose
 * `X-Forwarded-Proto` says https is not redirected: the browser is on https already, and a
 * redirect could not change what the app sees (a debug line names `trust proxy`). Otherwise the
 * redirect sets a short-lived mark (a cookie valid at `baseURL`'s origin, 60 seconds); a request
 * that carries it back is from a browser already sent there, and the login goes ahead (with a
 * debug line naming the proxy setting to fix). A browser is redirected at most once, never in a
 * loop; only one that refuses all cookies would be sent round until its redirect limit, and such
 * a browser could not keep the pending-login cookie either.
 *
 * The target is always `baseURL`'s origin and path (from the configuration, never from `Host`,
 * `X-Forwarded-*` or a path a proxy rewrote) with the login route and the request's query.
 *
 * @param query - the login's parameters, `?…` (a `POST`'s form, read already)
 * @returns `true` when it answered the request (the redirect), `false` when the login goes ahead
 */
export function redirectToBaseOrigin(options: ResolvedOptions, req: HttpRequest, res: HttpResponse, query: string): boolean {
  if (!isBrowserNavigation(req)) return false;
  const { baseURL, cookie } = options;
  const hostname = requestHostname(req);
  const otherHost = hostname !== undefined
    && (cookie.domain === undefined ? hostname !== baseURL.hostname.toLowerCase() : !domainMatches(hostname, cookie.domain));
  const seenPlain = baseURL.protocol === 'https:' && !arrivedSecure(req);
  if (seenPlain && forwardedHttps(req)) {
    debug('login over https by X-Forwarded-Proto, which the app does not trust: with Express, set app.set(\'trust proxy\', 1) (or the proxy\'s address)');
  }
  const plainHttp = seenPlain && !forwardedHttps(req);
  if (!otherHost && !plainHttp) return false;
  const arrivedAt = `${plainHttp ? 'http' : baseURL.protocol.slice(0, -1)}://${hostname ?? '(no Host)'}`;
  const mark = companionCookie(cookie, 'moved');
  if (carriesMovedMark(options, req)) {
    debug('login at %s after a redirect to %s: a proxy rewrites Host or ends TLS unannounced; forward Host and X-Forwarded-Proto, and with Express set trust proxy',
      arrivedAt, baseURL.origin);
    return false;
  }
  const target = new URL(`${options.basePath}${requestPath(req)}${query}`, baseURL.origin);
  if (target.origin !== baseURL.origin) return false;
  debug('login asked at %s, not at baseURL\'s %s: the browser is sent there first, where the callback will find its cookie', arrivedAt, baseURL.origin);
  appendSetCookie(res, [serialize(mark.name, '1', { ...mark.attributes, maxAge: MOVED_MARK_SECONDS })]);
  res.setHeader('Cache-Control', 'no-store');
  redirect(res, target.href, req.method === 'POST' ? 303 : 302);
  return true;
}
