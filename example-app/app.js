// @ts-check
/**
 * The example app: authCallback(), with express-session given to it (its `session` option),
 * then pages guarded by requireAuth().
 */
import express from 'express';
import session from 'express-session';
import { AuthError, authCallback, requireAuth } from 'express-oidc-callback';

/**
 * Escapes text for HTML element content and attribute values.
 *
 * @param {unknown} value
 * @returns {string}
 */
export function escapeHtml(value) {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * @param {string} title
 * @param {string} body HTML, already escaped
 * @returns {string}
 */
function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:1rem;overflow:auto}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
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
  app.use(authCallback({ ...auth, session: expressSession }));

  // A form, not a link: POST /logout must come from this app's pages (its Origin is checked), so
  // another site cannot sign the user out.
  const signOut = '<form method="post" action="/logout" style="display:inline"><button type="submit">Sign out</button></form>';

  app.get('/', (req, res) => {
    const body = req.user
      ? `<p>Signed in as <strong>${escapeHtml(req.user.name ?? req.user.sub)}</strong>.</p>
<p><a href="/profile">Profile</a> · <a href="/api/me">/api/me</a> · ${signOut}</p>`
      : `<p>You are not signed in.</p><p><a href="/login">Sign in</a></p>`;
    res.type('html').send(page('express-oidc-callback example', body));
  });

  app.get('/profile', requireAuth(), (req, res) => {
    const body = `<p>Signed in as <strong>${escapeHtml(req.user?.name ?? req.user?.sub)}</strong>. These are your ID token's claims:</p>
<pre id="claims">${escapeHtml(JSON.stringify(req.oidc.claims, null, 2))}</pre>
<p><a href="/">Home</a> · ${signOut}</p>`;
    res.type('html').send(page('Profile', body));
  });

  app.get('/api/me', requireAuth(), (req, res) => {
    // req.oidc.claims: every claim of the ID token, iss and aud included (req.user leaves those out).
    res.json(req.oidc.claims);
  });

  // Errors: status and a safe message, escaped; never a stack trace.
  /**
   * @param {any} err
   * @param {import('express').Request} req
   * @param {import('express').Response} res
   * @param {import('express').NextFunction} _next
   */
  function renderError(err, req, res, _next) {
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 600 ? err.status : 500;
    const message = err instanceof AuthError && err.expose ? err.message : 'Something went wrong. Please try again.';
    if (status >= 500) console.error(err);
    if (res.headersSent) {
      res.end();
    } else if (req.accepts(['html', 'json']) === 'json') {
      res.status(status).json({ error: err instanceof AuthError ? err.code : 'server_error', error_description: message });
    } else {
      res.status(status).type('html').send(page('Sign-in problem', `<p>${escapeHtml(message)}</p><p><a href="/">Home</a></p>`));
    }
  }
  app.use(renderError);
  return app;
}
