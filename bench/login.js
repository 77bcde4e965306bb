// @ts-check
/**
 * A real login over HTTP, as a browser makes it: `GET {app}/login`, the redirects to the provider
 * and back, the provider's development login form and consent page when it shows them, and the
 * callback that sets the session cookie. Two cookie jars (tough-cookie, RFC 6265): the user's
 * at the provider (on `localhost`), kept from login to login, and the app's (on `127.0.0.1`),
 * new for every login. Once the user has signed in at the provider and consented for a client,
 * a login is three requests: the app's login route, the authorization endpoint, the callback.
 */
import { Agent, request as httpRequest } from 'node:http';
import { CookieJar } from 'tough-cookie';

/** Keep-alive connections to the app and the provider: `fetch` costs the login driver twice the CPU. */
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/**
 * One HTTP request, no redirect followed.
 *
 * @param {string} url
 * @param {{ method: string, headers: Record<string, string>, body?: string }} init
 * @returns {Promise<{ status: number, location: string | undefined, setCookies: string[], body: string }>}
 */
function send(url, { method, headers, body }) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        location: res.headers.location,
        setCookies: res.headers['set-cookie'] ?? [],
        body: text,
      }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * @typedef {object} Page
 * @property {string} url
 * @property {number} status
 * @property {string | undefined} location
 * @property {string} body
 */

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
  if (!form) throw new Error(`login: expected a form at ${page.url} (status ${page.status})`);
  const action = /\baction="([^"]*)"/i.exec(form[0])?.[1] ?? page.url;
  const fields = new URLSearchParams();
  for (const input of page.body.matchAll(/<input\b[^>]*>/gi)) {
    const name = /\bname="([^"]*)"/i.exec(input[0])?.[1];
    const value = /\bvalue="([^"]*)"/i.exec(input[0])?.[1] ?? '';
    if (name !== undefined) fields.set(name, decodeEntities(value));
  }
  return { action: new URL(decodeEntities(action), page.url).href, fields };
}

/** One user at the provider: their provider cookies, kept across logins. */
export class User {
  /** @param {string} name the login name typed into the provider's form */
  constructor(name) {
    this.name = name;
    this.providerJar = new CookieJar();
  }
}

/**
 * @typedef {object} LoginResult
 * @property {number} ms from the first request to the callback's answer
 * @property {number} requests HTTP requests made (app and provider)
 * @property {boolean} interactive the provider showed its login form or consent page
 * @property {CookieJar} appJar the app's cookies after the callback
 * @property {string} cookieHeader the `Cookie` header the browser now sends to the app's `/profile`
 */

/**
 * Logs `user` in to the app at `appBase`, from its login route to the callback's answer.
 *
 * @param {string} appBase e.g. `http://127.0.0.1:40001`
 * @param {User} user
 * @returns {Promise<LoginResult>}
 */
export async function login(appBase, user) {
  const appJar = new CookieJar();
  const appOrigin = new URL(appBase).origin;
  let requests = 0;
  let interactive = false;

  /**
   * @param {string} url
   * @param {URLSearchParams} [body]
   * @returns {Promise<Page>}
   */
  async function request(url, body) {
    requests++;
    const jar = new URL(url).origin === appOrigin ? appJar : user.providerJar;
    /** @type {Record<string, string>} */
    const headers = { accept: 'text/html' };
    const cookie = await jar.getCookieString(url);
    if (cookie) headers.cookie = cookie;
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await send(url, { method: body ? 'POST' : 'GET', headers, ...(body && { body: body.toString() }) });
    for (const setCookie of res.setCookies) await jar.setCookie(setCookie, url, { ignoreError: true });
    return { url, status: res.status, location: res.location, body: res.body };
  }

  const callbackPath = '/callback';
  const started = performance.now();
  let page = await request(`${appBase}/login`);
  for (let hop = 0; ; hop++) {
    if (hop > 20) throw new Error(`login at ${appBase}: too many hops`);
    const url = new URL(page.url);
    if (url.origin === appOrigin && url.pathname === callbackPath) break;
    if (page.status >= 300 && page.status < 400) {
      const location = page.location;
      if (!location) throw new Error(`login: redirect without Location from ${page.url}`);
      page = await request(new URL(location, page.url).href);
    } else if (page.status === 200 && /name="login"/.test(page.body)) {
      interactive = true;
      const { action, fields } = readForm(page);
      fields.set('login', user.name);
      fields.set('password', 'any-password');
      page = await request(action, fields);
    } else if (page.status === 200 && /<form\b/i.test(page.body)) {
      interactive = true; // the consent page
      const { action, fields } = readForm(page);
      page = await request(action, fields);
    } else {
      throw new Error(`login at ${appBase}: unexpected ${page.status} at ${page.url}: ${page.body.slice(0, 300)}`);
    }
  }
  const ms = performance.now() - started;
  if (page.status !== 302) throw new Error(`login at ${appBase}: the callback answered ${page.status}: ${page.body.slice(0, 300)}`);
  return { ms, requests, interactive, appJar, cookieHeader: await appJar.getCookieString(`${appBase}/profile`) };
}
