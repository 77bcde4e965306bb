// @ts-check
/**
 * A scripted browser for the soak: real HTTP (node:http, keep-alive), two cookie jars
 * (tough-cookie, RFC 6265) kept for the browser's whole life, one for the app (behind the proxy,
 * on `127.0.0.1`) and one for the provider (on `localhost`), and the provider's development
 * login form, consent page and logout confirmation filled in as a user would. Adapted from
 * bench/login.js, whose app jar is new for every login.
 *
 * Every answer of the app is handed to `onAnswer` (start and end time, status, route, the
 * instance that answered, the session end reason the app reported); the provider's are not.
 */
import { Agent, request as httpRequest } from 'node:http';
import { CookieJar } from 'tough-cookie';

/** One agent for every browser: as many sockets as they need, kept alive. */
const agent = new Agent({ keepAlive: true, maxSockets: 512 });

/** A request that gets no answer within this time is recorded with status 0. */
const CLIENT_TIMEOUT_MS = 30_000;

/**
 * @typedef {object} Page
 * @property {string} url
 * @property {number} status 0 when no answer came (connection refused or reset, timeout)
 * @property {string | undefined} location
 * @property {string} body
 * @property {string | undefined} instance the app instance that answered (`x-soak-instance`)
 * @property {string | undefined} ended why the app ended the session on this request (`x-soak-session-ended`)
 * @property {string | undefined} error why no answer came
 */

/**
 * @typedef {object} Answer what the app answered, for the printout's tables and checks
 * @property {string} user whose browser sent it
 * @property {string} route e.g. `GET /api/me`
 * @property {number} start milliseconds since the epoch
 * @property {number} end
 * @property {number} status
 * @property {string | undefined} instance
 * @property {string | undefined} ended
 */

/**
 * One HTTP request, no redirect followed. A connection error or timeout is an answer of status 0.
 *
 * @param {string} url
 * @param {{ method: string, headers: Record<string, string>, body?: string }} init
 * @returns {Promise<Page & { setCookies: string[] }>}
 */
function send(url, { method, headers, body }) {
  return new Promise((resolve) => {
    let settled = false;
    /** @param {Page & { setCookies: string[] }} page */
    const settle = (page) => {
      if (settled) return;
      settled = true;
      resolve(page);
    };
    /** @param {string} error */
    const failed = (error) => settle({ url, status: 0, location: undefined, body: '', instance: undefined, ended: undefined, error, setCookies: [] });
    const req = httpRequest(url, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => settle({
        url,
        status: res.statusCode ?? 0,
        location: res.headers.location,
        body: text,
        instance: /** @type {string | undefined} */ (res.headers['x-soak-instance']),
        ended: /** @type {string | undefined} */ (res.headers['x-soak-session-ended']),
        error: undefined,
        setCookies: res.headers['set-cookie'] ?? [],
      }));
      res.on('error', (err) => failed(err.message));
    });
    req.setTimeout(CLIENT_TIMEOUT_MS, () => {
      failed('no answer within 30 s');
      req.destroy();
    });
    req.on('error', (err) => failed(/** @type {NodeJS.ErrnoException} */ (err).code ?? err.message));
    req.end(body);
  });
}

/**
 * The HTML-decoded text of an attribute value.
 *
 * @param {string} value
 * @returns {string}
 */
function decodeEntities(value) {
  return value
    .replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCharCode(parseInt(n, 16)))
    .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/**
 * The first `<form>` of a page: where it posts, and its named inputs' values.
 *
 * @param {Page} page
 * @returns {{ action: string, fields: URLSearchParams }}
 */
function readForm(page) {
  const form = /<form\b[^>]*>/i.exec(page.body);
  if (!form) throw new FlowError(`expected a form at ${page.url} (status ${page.status})`);
  const action = /\baction="([^"]*)"/i.exec(form[0])?.[1] ?? page.url;
  const fields = new URLSearchParams();
  for (const input of page.body.matchAll(/<input\b[^>]*>/gi)) {
    const name = /\bname="([^"]*)"/i.exec(input[0])?.[1];
    const value = /\bvalue="([^"]*)"/i.exec(input[0])?.[1] ?? '';
    if (name !== undefined) fields.set(name, decodeEntities(value));
  }
  return { action: new URL(decodeEntities(action), page.url).href, fields };
}

/** A login or logout that did not reach its end: `page` is where it stopped. */
export class FlowError extends Error {
  /**
   * @param {string} message
   * @param {Page} [page]
   */
  constructor(message, page) {
    super(message);
    this.name = 'FlowError';
    this.page = page;
  }
}

/** One user's browser. */
export class Browser {
  /**
   * @param {object} options
   * @param {string} options.user the user's name, in every {@link Answer}
   * @param {string} options.appBase the proxy's URL, e.g. `http://127.0.0.1:40001`
   * @param {string} options.issuer the provider's URL
   * @param {(answer: Answer) => void} options.onAnswer receives every answer of the app
   */
  constructor({ user, appBase, issuer, onAnswer }) {
    this.user = user;
    this.appBase = appBase;
    this.appOrigin = new URL(appBase).origin;
    this.issuer = issuer;
    this.onAnswer = onAnswer;
    this.appJar = new CookieJar();
    this.providerJar = new CookieJar();
  }

  /**
   * One request with this browser's cookies, no redirect followed.
   *
   * @param {string} url
   * @param {object} [init]
   * @param {string} [init.method] default GET, or POST with a body
   * @param {URLSearchParams} [init.body] a form
   * @param {Record<string, string>} [init.headers]
   * @param {string} [init.route] the route's name in the app's answers (default: method and path)
   * @returns {Promise<Page>}
   */
  async request(url, { method, body, headers: extra = {}, route } = {}) {
    const isApp = new URL(url).origin === this.appOrigin;
    const jar = isApp ? this.appJar : this.providerJar;
    const verb = method ?? (body ? 'POST' : 'GET');
    /** @type {Record<string, string>} */
    const headers = { accept: 'text/html', ...extra };
    const cookie = await jar.getCookieString(url);
    if (cookie) headers.cookie = cookie;
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const start = Date.now();
    const page = await send(url, { method: verb, headers, ...(body && { body: body.toString() }) });
    const end = Date.now();
    for (const setCookie of page.setCookies) await jar.setCookie(setCookie, url, { ignoreError: true });
    if (isApp) {
      this.onAnswer({ user: this.user, route: route ?? `${verb} ${new URL(url).pathname}`, start, end, status: page.status, instance: page.instance, ended: page.ended });
    }
    return page;
  }

  /**
   * A JSON request to the app (`accept: application/json`).
   *
   * @param {string} method
   * @param {string} path
   * @returns {Promise<Page & { json: any }>}
   */
  async api(method, path) {
    const page = await this.request(`${this.appBase}${path}`, { method, headers: { accept: 'application/json' } });
    let json;
    try {
      json = page.status === 0 ? undefined : JSON.parse(page.body);
    } catch {
      json = undefined;
    }
    return { ...page, json };
  }

  /**
   * Follows redirects from `page`, filling in the provider's login form (as `userName`), consent
   * page and logout confirmation, until `stop(page)` says it is the end.
   *
   * @param {Page} first
   * @param {string} userName
   * @param {(page: Page) => boolean} stop
   * @returns {Promise<Page>}
   */
  async follow(first, userName, stop) {
    let page = first;
    for (let hop = 0; ; hop++) {
      if (stop(page)) return page;
      if (hop > 20) throw new FlowError('too many hops', page);
      if (page.status === 0) throw new FlowError(`no answer from ${new URL(page.url).origin} (${page.error})`, page);
      if (page.status >= 300 && page.status < 400) {
        if (!page.location) throw new FlowError(`redirect without Location from ${page.url}`, page);
        page = await this.request(new URL(page.location, page.url).href);
      } else if (page.status === 200 && /name="login"/.test(page.body) && /name="password"/.test(page.body)) {
        const { action, fields } = readForm(page);
        fields.set('login', userName);
        fields.set('password', 'any-password');
        page = await this.request(action, { body: fields });
      } else if (page.status === 200 && /op\.logoutForm/.test(page.body)) {
        const { action, fields } = readForm(page);
        fields.set('logout', 'yes');
        page = await this.request(action, { body: fields });
      } else if (page.status === 200 && /<form\b/i.test(page.body)) {
        const { action, fields } = readForm(page); // the consent page
        page = await this.request(action, { body: fields });
      } else {
        throw new FlowError(`unexpected ${page.status} at ${page.url}: ${page.body.slice(0, 200)}`, page);
      }
    }
  }

  /**
   * Logs in through the app's login route, up to the callback's answer.
   *
   * @param {string} userName
   * @returns {Promise<Page>} the callback's answer (a 302 when the session was made)
   * @throws FlowError when the login stopped before the callback (the provider unreachable, a 5xx)
   */
  async login(userName) {
    const first = await this.request(`${this.appBase}/login?returnTo=%2F`);
    const isCallback = (/** @type {Page} */ page) => page.url.startsWith(`${this.appBase}/callback`);
    const page = await this.follow(first, userName, (p) => isCallback(p) || (p.url.startsWith(this.appBase) && p.status >= 400));
    if (!isCallback(page)) throw new FlowError(`the app answered ${page.status} at ${page.url}`, page);
    if (page.status !== 302) throw new FlowError(`the callback answered ${page.status}: ${page.body.slice(0, 200)}`, page);
    return page;
  }

  /**
   * Logs out through the app (`POST /logout` from its own origin): the local session ends, then
   * the provider's (RP-Initiated Logout 1.0, its confirmation page), back to the app.
   *
   * @param {string} userName
   * @returns {Promise<Page>} the app's answer where the logout ended
   */
  async logoutAtApp(userName) {
    const first = await this.request(`${this.appBase}/logout`, { method: 'POST', headers: { origin: this.appOrigin } });
    if (first.status >= 400 || first.status === 0) throw new FlowError(`POST /logout answered ${first.status}`, first);
    return this.follow(first, userName, (p) => p !== first && p.url.startsWith(this.appBase) && (p.status < 300 || p.status >= 400));
  }

  /**
   * Logs out at the provider only (its `end_session_endpoint`, confirmed): the provider tells the
   * app by a back-channel logout (OpenID Connect Back-Channel Logout 1.0).
   *
   * @param {string} userName
   * @returns {Promise<Page>} the provider's "signed out" page
   */
  async logoutAtProvider(userName) {
    const first = await this.request(`${this.issuer}/session/end`);
    return this.follow(first, userName, (p) => p.status === 200 && /Signed out/.test(p.body));
  }
}
