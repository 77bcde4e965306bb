/**
 * Seeded fuzzing of every route the middleware serves or guards, over raw TCP against the
 * example app and a real OpenID Provider: random and malformed query strings, form bodies,
 * content types and Cookie headers, with and without a pending login.
 *
 * Whatever arrives, the answer is below 500, carries no stack trace, signs nobody in, keeps every
 * redirect on the app's origin, and the process sees no unhandled rejection or uncaught
 * exception. A failure names the seed and the input: `FUZZ_SEED=<seed> npm test -- test/app/fuzz.test.ts`
 * replays the run.
 */
import { connect } from 'node:net';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { parseSetCookie } from 'cookie';
import { Browser } from '../support/browser.js';
import { fuzzSeed, SeededRandom } from '../support/seeded-random.js';
import { Sealer } from '../../lib/session/seal.js';
import { SECRET, signIn, startTestbed, type Testbed } from '../support/testbed.js';

const SEED = fuzzSeed();
/** Requests in flight at once. */
const CONCURRENCY = 16;
/** A request that gets no complete answer in this many milliseconds is a failure (the server hangs). */
const ANSWER_TIMEOUT_MS = 5000;
const STACK_TRACE = /\n\s+at .+:\d+:\d+/;
const SESSION_COOKIE = /^oidc_session(\.\d+)?$/;
/** Parameters of an authorization response, and names that poke at object prototypes and parsers. */
const PARAM_NAMES = [
  'code', 'state', 'iss', 'error', 'error_description', 'error_uri', 'session_state', 'returnTo',
  '', 'x', '__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString',
  'state[]', 'state[x]', 'code[]', 'code[0]', 'error[]', 'iss[a][b]', '__proto__[state]', 'constructor[prototype][x]',
  'STATE', 'Code', 'state ', ' code', 'state%00', 'c%6fde', '%73tate',
];
/** Escapes a URL parser may choke on. */
const BAD_ESCAPES = ['%', '%z', '%zz', '%4', '%%', '%%41', '%u0041', '%E0%A4%A', '%C0%AF', '%ED%A0%80', '%FF%FE', '%F4%90%80%80', '%00', '%0d%0a', '%2', '%G0'];
/** Bytes that are raw in a request line only when an attacker writes them by hand. */
const RAW_SPECIALS = '!$&\'()*+,;=:@/?[]{}|^`"<>#%\\~.-_ ';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Building blocks of returnTo values that try to leave the origin. */
const RETURN_TO_PIECES = [
  '/', '//', '///', '\\', '/\\', '%2f', '%2F', '%5c', '%5C', 'evil.com', '@', ':', 'javascript:', 'https:', 'http://', 'data:',
  '\t', ' ', '%09', '%0a', '%0d', '%20', '%00', '.', '..', '%2e', '%2e%2e', '?', '#', '&', 'profile', 'a', '%252f', '\u3002', '\uff0f', '%E3%80%82',
];

/** Stands for the pending login's state in a generated input; the state itself is known only when it is sent. */
const STATE_PLACEHOLDER = 'FUZZ-REAL-STATE';
/** A pending-login cookie (lib/transaction/transaction-cookie.ts) in a Set-Cookie header. */
const PENDING_LOGIN_COOKIE = /^oidc_session_tx_[\w-]{16}=/;

const rng = new SeededRandom(SEED);
let bed: Testbed;
let appOrigin: string;
let issuerOrigin: string;

interface FuzzInput {
  /** What the input exercises, for the failure message. */
  kind: string;
  method: string;
  /** The request target exactly as written on the request line (any bytes, latin1). */
  target: string;
  /** Header lines exactly as written (any bytes, latin1). */
  headers: [string, string][];
  body?: Buffer;
  /** GET /login first, and send its express-session cookie (a pending login) along. */
  pending?: boolean;
  /** The query or body carries {@link STATE_PLACEHOLDER}, replaced by the pending login's real state. */
  realState?: boolean;
  /** Send the body with `Transfer-Encoding: chunked`. */
  chunked?: boolean;
  /** Which property to check beyond the common ones. */
  check?: 'not-signed-in' | 'login-return-to' | 'logout-redirect';
}

interface RawAnswer {
  status: number;
  headers: [string, string][];
  body: string;
}

/** Writes `request` on a fresh TCP connection and reads the whole answer (the request says Connection: close). */
function sendRaw(port: number, request: Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`));
    }, ANSWER_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined); // a reset after the answer (e.g. 413 before the body is read) is fine
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      const end = raw.indexOf('\r\n\r\n');
      if (end === -1) {
        reject(new Error(`no complete answer (${raw.length} bytes: ${JSON.stringify(raw.subarray(0, 200).toString('latin1'))})`));
        return;
      }
      const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1];
      if (status === undefined) {
        reject(new Error(`not an HTTP answer: ${JSON.stringify(statusLine)}`));
        return;
      }
      const headers = lines.map((line): [string, string] => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
      });
      let body: Buffer = raw.subarray(end + 4);
      if (headers.some(([n, v]) => n === 'transfer-encoding' && /chunked/i.test(v))) body = dechunk(body);
      resolve({ status: Number(status), headers, body: body.toString('utf8') });
    });
    // Not end(): a half-closed connection makes Node abort the request before it is answered.
    socket.write(request);
  });
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd === -1) break;
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(out);
}

/** The request bytes of `input`, with a pending login's cookie when it has one. */
function serialise(input: FuzzInput, host: string): Buffer {
  const head = [`${input.method} ${input.target} HTTP/1.1`, `Host: ${host}`, 'Connection: close'];
  for (const [name, value] of input.headers) head.push(`${name}: ${value}`);
  let body = input.body ?? Buffer.alloc(0);
  if (input.chunked) {
    head.push('Transfer-Encoding: chunked');
    const size = Math.max(1, Math.ceil(body.length / 3));
    const chunks: Buffer[] = [];
    for (let offset = 0; offset < body.length; offset += size) {
      const chunk = body.subarray(offset, offset + size);
      chunks.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
    }
    body = Buffer.concat([...chunks, Buffer.from('0\r\n\r\n')]);
  } else if (input.body !== undefined) {
    head.push(`Content-Length: ${body.length}`);
  }
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

// ---------------------------------------------------------------------------------------------
// Generators. Each draws only from `rng`, so one seed gives one sequence of inputs.

function percentEncoded(bytes: Buffer): string {
  return [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).map((e) => (rng.chance(0.5) ? e.toUpperCase() : e)).join('');
}

/** A random value for a query string or form body, already in its wire form. */
function wireValue(): string {
  switch (rng.int(0, 9)) {
    case 0: return percentEncoded(rng.bytes(rng.length(300)));
    case 1: return rng.string(rng.length(200), RAW_SPECIALS + B64URL);
    case 2: return Array.from({ length: rng.int(1, 4) }, () => rng.pick(BAD_ESCAPES) + rng.string(rng.int(0, 3), B64URL)).join('');
    case 3: return encodeURIComponent(String.fromCodePoint(...Array.from({ length: rng.int(1, 12) }, () => rng.pick([rng.int(0x80, 0x7ff), rng.int(0x800, 0xd7ff), rng.int(0xe000, 0xffff), rng.int(0x10000, 0x10ffff)]))));
    case 4: return 'a'.repeat(rng.pick([1000, 4096, 8000, 12000, 17000]));
    case 5: return rng.string(rng.length(40), B64URL) + '%00' + rng.string(rng.int(0, 8), B64URL);
    case 6: return encodeURIComponent(rng.pick(['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', '\r\nSet-Cookie: x=1', 'https://evil.com', '../../etc/passwd', '{"$gt":""}', '${7*7}', '\u202e']));
    case 7: return String(rng.pick([0, -1, 1e21, Number.MAX_SAFE_INTEGER, 'NaN', 'true', 'null', 'undefined', '[]', '{}']));
    case 8: return Buffer.from(rng.bytes(rng.int(1, 40))).toString('latin1').replace(/[\r\n]/g, ''); // raw high bytes
    default: return rng.string(rng.length(64), B64URL);
  }
}

function paramName(): string {
  return rng.chance(0.8) ? rng.pick(PARAM_NAMES) : wireValue().slice(0, 40);
}

/** A random query string or form body: repeated keys, bare keys, odd separators, brackets. */
function randomForm(withRealState = false): string {
  const pairs: string[] = [];
  const names: string[] = [];
  const pending = withRealState;
  if (pending) {
    pairs.push(`state=${STATE_PLACEHOLDER}`, `iss=${encodeURIComponent(bed.provider.issuer)}`, `code=${wireValue()}`);
    names.push('state', 'iss', 'code');
  }
  for (let i = rng.int(0, 7); i > 0; i--) {
    const name = names.length > 0 && rng.chance(0.15) ? rng.pick(names) : paramName(); // sometimes repeated
    names.push(name);
    const shape = rng.int(0, 9);
    if (shape === 0) pairs.push(name);
    else if (shape === 1) pairs.push(`${name}==${wireValue()}`);
    else pairs.push(`${name}=${wireValue()}`);
  }
  if (pending && rng.chance(0.7)) {
    // Keep the real state and code unrepeated most of the time, so the code reaches the provider.
    const seen = new Set<string>();
    for (let i = pairs.length - 1; i >= 0; i--) {
      const name = pairs[i]!.split('=')[0]!;
      if (['state', 'iss', 'code'].includes(name) && seen.has(name)) pairs.splice(i, 1);
      seen.add(name);
    }
  }
  for (let i = pairs.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [pairs[i], pairs[j]] = [pairs[j]!, pairs[i]!];
  }
  return pairs.join(rng.pick(['&', '&', '&', '&', ';', '&&', '&amp;']));
}

/** A header value with nothing that would end the header line (the server would read a new header). */
function headerSafe(value: string): string {
  return value.replace(/[\r\n]/g, '');
}

const CONTENT_TYPES = [
  'application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'application/x-www-form-urlencoded; charset=latin1',
  'APPLICATION/X-WWW-FORM-URLENCODED', 'application/x-www-form-urlencoded;;;charset', 'application/x-www-form-urlencoded; charset="', 'text/plain',
  'application/json', 'multipart/form-data; boundary=xyz', 'multipart/form-data', '', ';', '/', 'garbage', '*/*', 'application/x-www-form-urlencoded, text/html',
  'application/x-www-form-urlencoded\u00ff', 'a'.repeat(5000),
];

/** A base64url-shaped random segment. */
function b64(length: number): string {
  return rng.string(length, B64URL);
}

/** A 'base64url(JSON)' that looks like a protected header. */
function fakeProtectedHeader(): string {
  const header = rng.pick<object>([
    { alg: 'dir', enc: 'A256GCM' },
    { alg: 'dir', enc: 'A256GCM', kid: b64(12) },
    { alg: 'none' },
    { alg: 'dir', enc: 'A128CBC-HS256', kid: b64(12) },
    { __proto__: { admin: true } },
    [],
  ]);
  return Buffer.from(JSON.stringify(header)).toString('base64url');
}

/**
 * A value of the session cookie that no configured secret sealed, built from the real cookie's
 * pieces or from nothing.
 */
function brokenSealedValue(real: string): string {
  const [header, , iv, ciphertext, tag] = real.split('.') as [string, string, string, string, string];
  switch (rng.int(0, 6)) {
    case 0: return b64(rng.length(6000));
    case 1: { // five JWE parts from random pieces
      const parts = [rng.pick([header, fakeProtectedHeader(), b64(rng.int(0, 60)), '']), rng.pick(['', '', b64(rng.int(1, 50))]),
        rng.pick([iv, b64(16), b64(rng.int(0, 30)), '']), rng.pick([ciphertext, b64(rng.length(3000)), '']), rng.pick([tag, b64(22), b64(rng.int(0, 40)), ''])];
      const joined = parts.join('.');
      return joined === real ? `${joined}A` : joined;
    }
    case 2: { // the real cookie, one character changed so that its bytes change (a sextet's top bit carries data)
      const at = rng.int(0, real.length - 1);
      const sextet = B64URL.indexOf(real[at]!);
      return real.slice(0, at) + (sextet === -1 ? '_' : B64URL[sextet ^ 0x20]!) + real.slice(at + 1);
    }
    case 3: return real.slice(0, rng.int(0, real.length - 1)); // truncated
    case 4: { // the real parts in another number or order
      const parts = real.split('.');
      const count = rng.pick([3, 4, 6, 7]);
      return Array.from({ length: count }, () => rng.pick(parts)).join('.');
    }
    case 5: return `${header}..${iv}.${ciphertext}.${rng.pick([tag.slice(0, -1), `${tag}AA`, b64(22)])}`;
    // Not '=' or '%': Node's base64url decoder skips them, so they would not change a byte (see web-attacks.test.ts).
    default: return `${real}${rng.pick(['.', '..', '.A', '%2E', '.e30'])}`;
  }
}

/** A Cookie header that must not sign anyone in. */
function randomCookieHeader(real: string): string {
  const pairs: string[] = [];
  for (let i = rng.int(1, 4); i > 0; i--) {
    switch (rng.int(0, 6)) {
      case 0: pairs.push(headerSafe(Buffer.from(rng.bytes(rng.length(300))).toString('latin1')).replace(/\0/g, '')); break; // garbage
      case 1: pairs.push(`oidc_session=${b64(rng.length(2000))}`); break;
      case 2: pairs.push(`oidc_session=${brokenSealedValue(real)}`); break;
      case 3: { // chunks with random names
        const value = brokenSealedValue(real);
        const count = rng.int(1, 5);
        const size = Math.ceil(value.length / count);
        for (let c = 0; c < count; c++) {
          const index = rng.chance(0.7) ? String(c) : rng.pick(['-1', '00', '01', '1e3', '99999999999999999999', ' 0', 'a', '', '0.5', String(rng.int(0, 30))]);
          pairs.push(`oidc_session.${index}=${value.slice(c * size, (c + 1) * size)}`);
        }
        break;
      }
      case 4: { // the real cookie, split into chunks one of which is missing or out of place
        const size = Math.ceil(real.length / 3);
        const chunks = [0, 1, 2].map((c) => real.slice(c * size, (c + 1) * size));
        const order = rng.pick([[0, 2], [1, 2], [0, 1], [1, 0, 2], [0, 2, 1], [2, 1, 0]]);
        order.forEach((from, to) => pairs.push(`oidc_session.${to}=${chunks[from]}`));
        break;
      }
      case 5: pairs.push(`${rng.pick(['oidc_session', 'oidc_session.0', 'connect.sid', 'OIDC_SESSION', ' oidc_session', 'oidc_session '])}=${wireValue().replace(/;/g, '')}`); break;
      default: pairs.push(`connect.sid=${rng.pick(['s%3A', 's:', '', '%'])}${b64(rng.int(0, 40))}.${b64(rng.int(0, 43))}`);
    }
  }
  return headerSafe(pairs.join(rng.pick(['; ', ';', ' ; ', ';;', ', '])));
}

/** returnTo built from pieces that try to leave the origin, in wire form. */
function hostileReturnTo(): string {
  const value = Array.from({ length: rng.int(1, 6) }, () => rng.pick(RETURN_TO_PIECES)).join('');
  return rng.chance(0.7) ? encodeURIComponent(value) : value.replace(/[\s#&]/g, (c) => encodeURIComponent(c));
}

function callbackPath(): string {
  return rng.chance(0.9) ? '/callback' : rng.pick(['/callback/', '/CALLBACK', '/callback;x', '//callback', '/callback%00', '/./callback', '/callback%2f']);
}

/** All inputs of the run, in order. */
function generate(real: string): FuzzInput[] {
  const inputs: FuzzInput[] = [];
  // GET /callback with random queries, with and without a pending login.
  for (let i = 0; i < 700; i++) {
    const pending = rng.chance(0.5);
    const realState = pending && rng.chance(0.4);
    const query = randomForm(realState);
    const accept = rng.pick(['text/html', 'application/json', '*/*', '']);
    inputs.push({
      kind: 'GET callback', method: rng.chance(0.95) ? 'GET' : rng.pick(['HEAD', 'PUT', 'DELETE', 'OPTIONS']),
      target: `${callbackPath()}${rng.chance(0.95) ? '?' : rng.pick(['??', '?&', ''])}${query}`,
      headers: accept ? [['Accept', accept]] : [], pending, realState, check: 'not-signed-in',
    });
  }
  // POST /callback: random bodies and content types.
  for (let i = 0; i < 450; i++) {
    const pending = rng.chance(0.5);
    const realState = pending && rng.chance(0.4);
    const headers: [string, string][] = [['Accept', rng.pick(['text/html', 'application/json'])]];
    const contentType = rng.chance(0.85) ? rng.pick(CONTENT_TYPES) : undefined;
    if (contentType !== undefined) headers.push(['Content-Type', contentType]);
    let body: Buffer;
    switch (rng.int(0, 5)) {
      case 0: body = realState ? Buffer.from(randomForm(true)) : rng.bytes(rng.length(4000)); break;
      case 1: body = Buffer.from(JSON.stringify({ code: wireValue(), state: [wireValue()], __proto__: { x: 1 } })); break;
      case 2: body = Buffer.from(`--xyz\r\nContent-Disposition: form-data; name="code"\r\n\r\n${wireValue()}\r\n--xyz--\r\n`, 'latin1'); break;
      case 3: body = Buffer.from(`code=${'b'.repeat(rng.pick([60_000, 66_000, 70_000]))}`); break; // around the 64 KiB limit
      default: body = Buffer.from(randomForm(realState), 'latin1');
    }
    const chunked = rng.chance(0.15);
    inputs.push({ kind: `POST callback${chunked ? ' (chunked)' : ''}`, method: 'POST', target: callbackPath(), headers, body, pending, realState, chunked, check: 'not-signed-in' });
  }
  // Cookie headers against the guarded API and page, the callback, and the home page.
  for (let i = 0; i < 550; i++) {
    const [target, accept] = rng.pick([['/api/me', 'application/json'], ['/profile', 'text/html'], ['/profile', 'application/json'], ['/', 'text/html'], [`/callback?${randomForm()}`, 'text/html']] as const);
    inputs.push({ kind: 'Cookie', method: 'GET', target, headers: [['Accept', accept], ['Cookie', randomCookieHeader(real)]], check: 'not-signed-in' });
  }
  // /login and /logout with hostile returnTo values (and random query noise).
  for (let i = 0; i < 200; i++) {
    const query = rng.chance(0.8) ? `returnTo=${hostileReturnTo()}` : randomForm();
    inputs.push({ kind: 'GET login', method: 'GET', target: `/login?${query}`, headers: [], check: 'login-return-to' });
  }
  for (let i = 0; i < 150; i++) {
    const query = rng.chance(0.8) ? `returnTo=${hostileReturnTo()}` : randomForm();
    const headers: [string, string][] = rng.chance(0.5) ? [['Cookie', randomCookieHeader(real)]] : [];
    inputs.push({ kind: 'GET logout', method: 'GET', target: `/logout?${query}`, headers, check: 'logout-redirect' });
  }
  return inputs;
}

// ---------------------------------------------------------------------------------------------

/** A pending login: GET /login's pending-login cookie and the state it sent to the provider. */
async function pendingLogin(port: number, host: string): Promise<{ cookie: string; state: string }> {
  const res = await sendRaw(port, Buffer.from(`GET /login HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
  if (res.status !== 302) throw new Error(`GET /login answered ${res.status}`);
  const cookie = res.headers.find(([n, v]) => n === 'set-cookie' && PENDING_LOGIN_COOKIE.test(v))![1].split(';')[0]!;
  const state = new URL(res.headers.find(([n]) => n === 'location')![1]).searchParams.get('state')!;
  return { cookie, state };
}

function withPending(input: FuzzInput, pending: { cookie: string; state: string }): FuzzInput {
  const headers = [...input.headers];
  const cookie = headers.findIndex(([n]) => n === 'Cookie');
  if (cookie === -1) headers.push(['Cookie', pending.cookie]);
  else headers[cookie] = ['Cookie', `${headers[cookie]![1]}; ${pending.cookie}`];
  const state = encodeURIComponent(pending.state);
  return {
    ...input,
    headers,
    target: input.target.replaceAll(STATE_PLACEHOLDER, state),
    ...(input.body && { body: Buffer.from(input.body.toString('latin1').replaceAll(STATE_PLACEHOLDER, state), 'latin1') }),
  };
}

function setCookieValues(answer: RawAnswer): string[] {
  return answer.headers.filter(([n]) => n === 'set-cookie').map(([, v]) => v);
}

/** What is wrong with `answer` to `input`, or undefined. */
async function problemWith(input: FuzzInput, answer: RawAnswer): Promise<string | undefined> {
  if (answer.status >= 500) return `status ${answer.status}: ${answer.body.slice(0, 300)}`;
  if (STACK_TRACE.test(answer.body)) return `stack trace in the body: ${answer.body.slice(0, 300)}`;
  const signedIn = setCookieValues(answer).map((c) => parseSetCookie(c)).filter((c) => SESSION_COOKIE.test(c.name) && c.value !== '');
  if (signedIn.length > 0) return `session cookie set: ${signedIn.map((c) => c.name).join(', ')}`;
  const location = answer.headers.find(([n]) => n === 'location')?.[1];
  if (location !== undefined && answer.status >= 300 && answer.status < 400) {
    const to = new URL(location, bed.baseURL);
    if (to.origin !== appOrigin && to.origin !== issuerOrigin) return `redirect off both origins: ${location}`;
  }
  if (input.check === 'not-signed-in') {
    if (answer.status === 200 && (input.target.startsWith('/api/me') || input.target.startsWith('/profile'))) return 'a guarded route answered 200';
    if (answer.status === 200 && input.target === '/' && !answer.body.includes('You are not signed in')) return 'the home page shows a signed-in user';
  }
  if (input.check === 'login-return-to' && answer.status === 302) {
    // The pending login's returnTo, as its sealed cookie holds it, is a path on this origin.
    const sealed = setCookieValues(answer).map((c) => parseSetCookie(c)).find((c) => PENDING_LOGIN_COOKIE.test(`${c.name}=`))?.value;
    const state = new URL(location!).searchParams.get('state');
    if (sealed === undefined || state === null) return 'GET /login answered 302 without a pending-login cookie or a state';
    const stored = new Sealer([SECRET], 'transaction').unseal<{ state: string; transaction: { returnTo?: unknown } }>(sealed)?.payload;
    const returnTo = stored?.state === state ? stored.transaction.returnTo : undefined;
    if (typeof returnTo !== 'string') return `no returnTo sealed for the login (${JSON.stringify(stored)})`;
    if (!/^\/(?![/\\])/.test(returnTo) || /[\\\s]/.test(returnTo) || new URL(returnTo, bed.baseURL).origin !== appOrigin) {
      return `unsafe returnTo stored: ${JSON.stringify(returnTo)}`;
    }
  }
  if (input.check === 'logout-redirect' && answer.status === 302) {
    const to = new URL(location!, bed.baseURL);
    const back = to.origin === issuerOrigin ? to.searchParams.get('post_logout_redirect_uri') : to.href;
    if (back === null || new URL(back).origin !== appOrigin || new URL(back).pathname.startsWith('//')) {
      return `logout leaves the origin: ${location}`;
    }
  }
  return undefined;
}

/** Runs `tasks` with at most `limit` in flight. */
async function bounded<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await task(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

describe(`fuzzing every route with seeded random input (FUZZ_SEED=${SEED})`, () => {
  /** The host process: the test's `process` is a copy that Node never emits on. */
  const hostProcess = vm.runInThisContext('process') as NodeJS.Process;
  const processErrors: string[] = [];
  const onRejection = (reason: unknown): void => { processErrors.push(`unhandledRejection: ${String(reason)}`); };
  const onException = (err: Error): void => { processErrors.push(`uncaughtException: ${err.stack ?? String(err)}`); };
  let consoleError: ReturnType<typeof jest.spyOn>;
  let realCookie: string;
  /** Authorization codes the provider's token endpoint refused: the fuzz got past every check before it. */
  let refusedGrants = 0;

  beforeAll(async () => {
    bed = await startTestbed();
    bed.provider.provider.on('grant.error', () => { refusedGrants++; });
    appOrigin = new URL(bed.baseURL).origin;
    issuerOrigin = new URL(bed.provider.issuer).origin;
    const browser = new Browser();
    await signIn(browser, `${bed.baseURL}/login`, 'fuzz-user');
    realCookie = (await browser.cookie(bed.baseURL, 'oidc_session'))!;
    hostProcess.on('unhandledRejection', onRejection);
    hostProcess.on('uncaughtException', onException);
    consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterAll(async () => {
    hostProcess.off('unhandledRejection', onRejection);
    hostProcess.off('uncaughtException', onException);
    consoleError.mockRestore();
    await bed.close();
  });

  test('the process listeners see a rejection nobody handles (the control for the run below)', async () => {
    const before = processErrors.length;
    const rejected = Promise.reject(new Error('control'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(processErrors.slice(before)).toEqual(['unhandledRejection: Error: control']);
    // Handled late, so that Jest (which listens too) forgets it ('rejectionHandled').
    rejected.catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 10));
    processErrors.length = before;
  });

  test('2,000+ malformed requests: every answer below 500, no stack trace, nobody signed in, no redirect off the origin, no process error', async () => {
    const inputs = generate(realCookie);
    expect(inputs.length).toBeGreaterThanOrEqual(2000);
    const port = Number(new URL(bed.baseURL).port);
    const host = new URL(bed.baseURL).host;
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    await bounded(inputs, CONCURRENCY, async (generated, index) => {
      let input = generated;
      try {
        if (input.pending) input = withPending(input, await pendingLogin(port, host));
        const answer = await sendRaw(port, serialise(input, host));
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        const problem = await problemWith(input, answer);
        if (problem !== undefined) failures.push(describeFailure(index, input, problem));
      } catch (err) {
        failures.push(describeFailure(index, input, `request failed: ${(err as Error).message}`));
      }
    });
    const summary = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}×${n}`).join(' ');
    expect({ seed: SEED, failures: failures.slice(0, 10), failureCount: failures.length }).toEqual({ seed: SEED, failures: [], failureCount: 0 });
    expect(processErrors).toEqual([]);
    expect(consoleError).not.toHaveBeenCalled();
    // The run reached the library's checks, not only Node's own refusals.
    expect(refusedGrants).toBeGreaterThan(0);
    for (const status of [302, 400, 401, 413]) expect(`${status}: ${statuses.get(status) ?? 0} (${summary})`).not.toMatch(/^\d+: 0 /);
  }, 60_000);

  test('after the run, a real login still completes', async () => {
    const browser = new Browser();
    const landed = await signIn(browser, `${bed.baseURL}/login?returnTo=%2Fprofile`, 'after-fuzz');
    expect(landed.status).toBe(200);
    expect(landed.url).toBe(`${bed.baseURL}/profile`);
    const me = await browser.request(`${bed.baseURL}/api/me`, { headers: { accept: 'application/json' } });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body)).toMatchObject({ sub: 'after-fuzz' });
  });
});

function describeFailure(index: number, input: FuzzInput, problem: string): string {
  const shown = {
    method: input.method,
    target: input.target.length > 400 ? `${input.target.slice(0, 400)}…(${input.target.length} chars)` : input.target,
    headers: input.headers.map(([n, v]) => [n, v.length > 300 ? `${v.slice(0, 300)}…(${v.length} chars)` : v]),
    body: input.body === undefined ? undefined : `${input.body.subarray(0, 300).toString('latin1')}${input.body.length > 300 ? `…(${input.body.length} bytes)` : ''}`,
  };
  return `FUZZ_SEED=${SEED} input #${index} (${input.kind}): ${problem}\n  ${JSON.stringify(shown)}`;
}
