/**
 * A minimal browser for end-to-end tests: real HTTP through `fetch`, a real cookie jar
 * (`tough-cookie`, RFC 6265), redirects followed by hand so every hop can be asserted, and HTML
 * forms submitted as a user would.
 */
import { CookieJar } from 'tough-cookie';

export interface Page {
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

export interface RequestOptions {
  method?: string;
  body?: URLSearchParams;
  headers?: Record<string, string>;
}

/** Reads the `<form>` of an HTML page: its action (absolute), and its named inputs' values. */
export function readForm(page: Page): { action: string; method: string; fields: URLSearchParams } {
  const form = /<form\b[^>]*>/i.exec(page.body);
  if (!form) throw new Error(`no <form> on ${page.url}`);
  const action = /\baction="([^"]*)"/i.exec(form[0])?.[1] ?? page.url;
  const method = /\bmethod="([^"]*)"/i.exec(form[0])?.[1] ?? 'GET';
  const fields = new URLSearchParams();
  for (const input of page.body.matchAll(/<input\b[^>]*>/gi)) {
    const name = /\bname="([^"]*)"/i.exec(input[0])?.[1];
    const value = /\bvalue="([^"]*)"/i.exec(input[0])?.[1] ?? '';
    if (name !== undefined) fields.set(name, decodeEntities(value));
  }
  return { action: new URL(decodeEntities(action), page.url).href, method: method.toUpperCase(), fields };
}

function decodeEntities(value: string): string {
  return value
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCharCode(parseInt(n, 16)))
    .replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function formRequest(page: Page, values: Record<string, string>): { url: string; options: RequestOptions } {
  const form = readForm(page);
  for (const [k, v] of Object.entries(values)) form.fields.set(k, v);
  if (form.method === 'GET') {
    const url = new URL(form.action);
    url.search = form.fields.toString();
    return { url: url.href, options: {} };
  }
  return { url: form.action, options: { body: form.fields } };
}

export class Browser {
  readonly jar = new CookieJar();
  /** Every URL requested, in order. */
  readonly history: string[] = [];

  /** One request, no redirect followed; cookies sent from and stored into the jar. */
  async request(target: string | URL, options: RequestOptions = {}): Promise<Page> {
    const url = String(target);
    this.history.push(url);
    const headers = new Headers({ accept: 'text/html,application/xhtml+xml', ...options.headers });
    const cookie = await this.jar.getCookieString(url);
    if (cookie) headers.set('cookie', cookie);
    if (options.body) headers.set('content-type', 'application/x-www-form-urlencoded');
    const res = await fetch(url, {
      method: options.method ?? (options.body ? 'POST' : 'GET'),
      headers,
      ...(options.body && { body: options.body.toString() }),
      redirect: 'manual',
    });
    for (const setCookie of res.headers.getSetCookie()) {
      await this.jar.setCookie(setCookie, url, { ignoreError: true });
    }
    return { url, status: res.status, headers: res.headers, body: await res.text() };
  }

  /** Requests `url` and follows redirects (as GET) until a page that is not a redirect. */
  async visit(url: string | URL, options: RequestOptions = {}, maxHops = 20): Promise<Page> {
    let page = await this.request(url, options);
    for (let hop = 0; page.status >= 300 && page.status < 400; hop++) {
      if (hop >= maxHops) throw new Error(`too many redirects from ${url}`);
      const location = page.headers.get('location');
      if (!location) throw new Error(`redirect without Location from ${page.url}`);
      page = await this.request(new URL(location, page.url).href);
    }
    return page;
  }

  /** Submits the page's form with `values` over its own fields, following redirects. */
  async submit(page: Page, values: Record<string, string> = {}): Promise<Page> {
    const { url, options } = formRequest(page, values);
    return this.visit(url, options);
  }

  /** Submits the page's form without following the redirect that answers it. */
  async submitOnce(page: Page, values: Record<string, string> = {}): Promise<Page> {
    const { url, options } = formRequest(page, values);
    return this.request(url, options);
  }

  /** The value of cookie `name` the jar would send to `url`. */
  async cookie(url: string, name: string): Promise<string | undefined> {
    const cookies = await this.jar.getCookies(url);
    return cookies.find((c) => c.key === name)?.value;
  }
}
