// @ts-check
/**
 * The example app: authCallback(), with express-session given to it (its `session` option),
 * a public home page, a profile page and a JSON API guarded by requireAuth(), and an error page.
 */
import express from 'express';
import session from 'express-session';
import { AuthError, authCallback, requireAuth } from 'express-oidc-callback';
import { escapeHtml, htmlPage } from './html.js';

export { escapeHtml };

const APP_NAME = 'Example app';
/** Claims that are times, in seconds since the epoch: shown as dates. */
const TIME_CLAIMS = new Set(['iat', 'exp', 'nbf', 'auth_time', 'updated_at', 'session_expiry']);

/**
 * A time in seconds since the epoch, as `2026-12-05 14:03:09 UTC` in a `<time>` element.
 *
 * @param {number} seconds
 * @returns {string}
 */
function time(seconds) {
  const iso = new Date(seconds * 1000).toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}

/**
 * A duration in seconds, in words: `1 day`, `45 minutes`.
 *
 * @param {number} seconds
 * @returns {string}
 */
function duration(seconds) {
  const [value, unit] = seconds >= 86400 ? [seconds / 86400, 'day'] : seconds >= 3600 ? [seconds / 3600, 'hour'] : [seconds / 60, 'minute'];
  const n = Math.round(value);
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/**
 * A claim's value as HTML: times as dates, lists joined, objects as JSON.
 *
 * @param {string} name
 * @param {unknown} value
 * @returns {string}
 */
function claimValue(name, value) {
  if (TIME_CLAIMS.has(name) && typeof value === 'number') return time(value);
  if (Array.isArray(value)) return escapeHtml(value.join(', '));
  if (typeof value === 'object' && value !== null) return `<code>${escapeHtml(JSON.stringify(value))}</code>`;
  return escapeHtml(value);
}

/**
 * The profile's table of claims: every claim of the session (`req.oidc.claims`).
 *
 * @param {Readonly<Record<string, unknown>>} claims
 * @returns {string}
 */
function claimsTable(claims) {
  const rows = Object.entries(claims).map(([name, value]) => `<tr><th>${escapeHtml(name)}</th><td>${claimValue(name, value)}</td></tr>`);
  return `<table id="claims">\n${rows.join('\n')}\n</table>`;
}

/** The profile's API section: a button whose script calls `GET /api/me` and shows the answer. */
const API_SECTION = `<section><h2>API</h2>
<p>This page calls the guarded JSON API <code>GET /api/me</code> with <code>fetch()</code>; the session cookie goes with it.</p>
<p class="actions"><button type="button" id="call-api">Call /api/me</button></p>
<pre id="api-result" hidden></pre></section>
<script>
document.getElementById('call-api').addEventListener('click', async () => {
  const out = document.getElementById('api-result');
  const res = await fetch('/api/me', { headers: { accept: 'application/json' } });
  out.textContent = res.status + ' ' + res.statusText + '\\n' + JSON.stringify(await res.json(), null, 2);
  out.hidden = false;
});
</script>`;

/**
 * Lets a POST through only when it comes from a page of `origin` (OWASP CSRF Prevention Cheat
 * Sheet, "Verifying origin with standard headers"): browsers send `Sec-Fetch-Site`, and `Origin`
 * with every POST; a request with neither is refused too. Anything else is a 403.
 *
 * @param {string} origin this app's origin, e.g. `http://localhost:3000`
 * @returns {import('express').RequestHandler}
 */
function sameOriginOnly(origin) {
  return function sameOriginOnly(req, _res, next) {
    const site = req.get('sec-fetch-site');
    const fromHere = site !== undefined ? site === 'same-origin' : req.get('origin') === origin;
    if (fromHere) return next();
    next(Object.assign(new Error('This form can only be sent from this app\'s own pages.'), { status: 403, expose: true }));
  };
}

/**
 * Builds the example app.
 *
 * @param {object} options
 * @param {import('express-oidc-callback').AuthCallbackConfig} options.auth authCallback() options
 * @param {string} options.sessionSecret express-session's secret (signs its session id cookie)
 * @param {import('express-session').Store} [options.store] express-session store; default: its MemoryStore
 * @returns {import('express').Express}
 */
export function createApp({ auth, sessionSecret, store }) {
  const app = express();
  app.disable('x-powered-by');
  // JSON error answers may quote the provider's error_description: write <, > and & as \u003c, \u003e, \u0026.
  app.set('json escape', true);
  // express-session keeps server-side sessions (sessionStorage: 'store') and back-channel logout
  // marks, when they are configured. Given to authCallback() (its `session` option), it runs only
  // where those records are read or written: this app's pages do not use req.session, and with
  // the default cookie sessions it never runs (pending logins and sessions are sealed cookies).
  const expressSession = session({
    ...(store && { store }),
    secret: sessionSecret,
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: auth.baseURL.startsWith('https:') },
  });
  app.use(authCallback({
    // A claim of the app's own, sealed with the session: when the user signed in here.
    afterCallback: () => ({ claims: { signed_in_at: Math.floor(Date.now() / 1000) } }),
    ...auth,
    session: expressSession,
  }));
  // authCallback()'s defaults, unless the options say otherwise, for the profile page.
  const sessionDuration = auth.sessionDuration ?? 7 * 86400;
  const sessionIdleDuration = auth.sessionIdleDuration ?? 86400;

  /**
   * A page of this app: its header shows who is signed in, with a Sign out button (a form: POST
   * /logout must come from this app's pages, so another site cannot sign the user out).
   *
   * @param {import('express').Request} req
   * @param {string} title
   * @param {string} main HTML, already escaped
   */
  function page(req, title, main) {
    const header = req.user
      ? `<a class="brand" href="/">${APP_NAME}</a><a href="/profile">Profile</a>
<span>${escapeHtml(req.user.name ?? req.user.sub)}</span>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>`
      : `<a class="brand" href="/">${APP_NAME}</a><a class="button secondary" href="/login">Sign in</a>`;
    return htmlPage({ title, header, main });
  }

  app.get('/', (req, res) => {
    const main = req.user
      ? `<h1>Welcome back</h1>
<section><p>Signed in as <strong>${escapeHtml(req.user.name ?? req.user.sub)}</strong>.</p>
<p class="actions"><a class="button" href="/profile">Your profile</a></p></section>`
      : `<h1>Welcome</h1>
<section><p>You are not signed in.</p>
<p class="actions"><a class="button" href="/login">Sign in</a></p></section>`;
    res.type('html').send(page(req, APP_NAME, main));
  });

  /**
   * The profile's Session section: who is signed in, since when, until when, and when the access
   * token expires, with a button to refresh the tokens.
   *
   * @param {import('express').Request} req a request with a session
   */
  function sessionSection(req) {
    const claims = /** @type {import('express-oidc-callback').UserClaims} */ (req.oidc.claims);
    const now = Date.now() / 1000;
    // signed_in_at comes from afterCallback above; auth_time, when the provider sends it.
    const signedInAt = typeof req.user?.signed_in_at === 'number' ? req.user.signed_in_at : claims.auth_time;
    const sessionEnds = signedInAt === undefined ? undefined
      : Math.min(signedInAt + sessionDuration, typeof claims.session_expiry === 'number' ? claims.session_expiry : Infinity);
    const sessionExpires = [
      sessionEnds !== undefined && `at ${time(sessionEnds)} at the latest`,
      sessionIdleDuration !== false && `after ${duration(sessionIdleDuration)} without use`,
    ].filter(Boolean).join(', or ');
    const expiresAt = req.oidc.expiresAt;
    const accessToken = expiresAt === undefined ? 'no expiry given'
      : expiresAt <= now ? `expired at ${time(expiresAt)}`
        : `expires in ${duration(expiresAt - now)}, at ${time(expiresAt)}`;
    const refresh = req.oidc.refreshToken
      ? '<form method="post" action="/profile/refresh"><button type="submit" class="secondary">Refresh tokens</button></form>'
      : '<span class="muted">No refresh token: the provider issued none (many issue one for the <code>offline_access</code> scope).</span>';
    return `<section><h2>Session</h2>
<dl>
<dt>Signed in as</dt><dd><strong>${escapeHtml(req.user?.name ?? claims.sub)}</strong> at ${escapeHtml(claims.iss)}</dd>
<dt>Signed in since</dt><dd>${signedInAt === undefined ? 'unknown' : time(signedInAt)}</dd>
<dt>Session expires</dt><dd>${sessionExpires}</dd>
<dt>Access token</dt><dd>${accessToken}</dd>
<dt>Refresh token</dt><dd>${req.oidc.refreshToken ? 'held' : 'none'}</dd>
</dl>
<div class="actions">${refresh}</div></section>`;
  }

  app.get('/profile', requireAuth(), (req, res) => {
    const refreshed = req.query.refreshed === '1' ? '<p class="muted">The tokens were refreshed.</p>' : '';
    const main = `<h1>Profile</h1>${refreshed}
${sessionSection(req)}
<section><h2>Your claims</h2>
${claimsTable(req.oidc.claims ?? {})}</section>
${API_SECTION}`;
    res.type('html').send(page(req, 'Profile', main));
  });

  // A form on the profile page posts here. A POST changes state, so it must come from this app's
  // own pages (CSRF): sameOriginOnly() refuses any other, before the session is even looked at.
  app.post('/profile/refresh', sameOriginOnly(new URL(auth.baseURL).origin), requireAuth(), async (req, res) => {
    await req.oidc.refresh(); // a failure goes to the error page below (Express 5 passes it on)
    res.redirect(303, '/profile?refreshed=1');
  });

  app.get('/api/me', requireAuth(), (req, res) => {
    // req.oidc.claims: every claim of the ID token, iss and aud included (req.user leaves those out).
    res.json(req.oidc.claims);
  });

  // Errors: the status, the AuthError's code and a safe message, escaped; never a stack trace.
  // 5xx are logged, with their cause: they are this server's or the provider's faults.
  /**
   * @param {any} err
   * @param {import('express').Request} req
   * @param {import('express').Response} res
   * @param {import('express').NextFunction} next
   */
  function renderError(err, req, res, next) {
    if (res.headersSent) return next(err); // Express closes the connection
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 600 ? err.status : 500;
    if (status >= 500) console.error(err); // its [cause] included
    // expose: true for 4xx (the http-errors convention AuthError follows), false for 5xx.
    const message = status < 500 && err.expose === true ? String(err.message) : 'Something went wrong. Please try again.';
    const code = err instanceof AuthError ? err.code : status < 500 ? 'bad_request' : 'server_error';
    if (req.accepts(['html', 'json']) === 'json') {
      res.status(status).json({ error: code, error_description: message });
      return;
    }
    const title = err instanceof AuthError ? 'Sign-in problem' : 'Something went wrong';
    res.status(status).type('html').send(page(req, title, `<h1>${title}</h1>
<section><p id="error-message">${escapeHtml(message)}</p>
<p class="muted">Error code: <code id="error-code">${escapeHtml(code)}</code></p>
<p class="actions"><a class="button" href="/">Home</a></p></section>`));
  }
  app.use(renderError);
  return app;
}
