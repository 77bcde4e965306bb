// @ts-check
/**
 * The login flow in a real browser: Debian's Chromium, driven by playwright-core, signs into the
 * example app (`example-app/server.js`, what `npm start` runs) through its embedded development
 * OpenID Provider, reads the profile, calls the JSON API from the page, refreshes the tokens,
 * checks the session cookie as the browser stored it, signs out at the app and at the provider,
 * and is sent to log in again.
 *
 * Run with `npm run test:browser` (it builds first: the example app imports `dist/`). Not a jest
 * test: jest runs `test/**\/*.test.ts` only. Prints one line per step, saves a screenshot of each
 * into `test/browser/screenshots/` (`01-home.png` …, and `failure.png` when a step fails), and
 * exits 0 on success, 1 on a failure or after {@link OVERALL_TIMEOUT_MS}. The example app's
 * process and the browser are stopped on every path.
 *
 * Environment: `CHROMIUM_PATH` (default `/usr/bin/chromium`; `test/browser/install-chromium.sh`
 * installs it on Debian).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, constants, mkdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** The whole flow, start-up of the app and browser included, in milliseconds; clean-up after it is bounded at 10 s. */
const OVERALL_TIMEOUT_MS = 90_000;
/** One browser action or wait (a click, a navigation, a heading to appear), in milliseconds. */
const STEP_TIMEOUT_MS = 15_000;
/** How long the example app and its provider may take to answer after spawning, in milliseconds. */
const START_TIMEOUT_MS = 20_000;

const serverScript = fileURLToPath(new URL('../../example-app/server.js', import.meta.url));
const screenshotDir = fileURLToPath(new URL('./screenshots/', import.meta.url));
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** Flags from STACK.md: headless, no sandbox (root in a container), and no traffic of Chromium's own. */
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

/** The user name typed at the provider; the dev provider makes it the `sub` and the `name`. */
const USER = 'browser-user';
/** The example app's session cookie (authCallback's default `cookie.name`); `.0`, `.1` … when chunked. */
const SESSION_COOKIE = /^oidc_session(\.\d+)?$/;

/** @type {import('node:child_process').ChildProcess | undefined} */
let child;
let childOutput = '';
/** @type {import('playwright-core').Browser | undefined} */
let browser;
/** @type {import('playwright-core').Page | undefined} */
let page;
/** The step running, for the failure message. */
let currentStep = 'start-up';
let stepCount = 0;

/** @returns {Promise<number>} a TCP port free on 127.0.0.1 a moment ago */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts `example-app/server.js` with its development provider on free ports, and waits until
 * the app's home page and the provider's discovery document both answer 200.
 *
 * @returns {Promise<{ baseURL: string, issuer: string }>}
 */
async function startExampleApp() {
  const port = await freePort();
  const providerPort = await freePort();
  /** @type {NodeJS.ProcessEnv} */
  const env = { ...process.env, PORT: String(port), DEV_PROVIDER_PORT: String(providerPort) };
  // Without these the app starts its own provider with its own client; NODE_OPTIONS may carry jest's flags.
  for (const name of ['ISSUER', 'CLIENT_ID', 'CLIENT_SECRET', 'BASE_URL', 'NODE_OPTIONS']) delete env[name];
  const started = spawn(process.execPath, [serverScript], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child = started;
  started.stdout.on('data', (/** @type {Buffer} */ c) => { childOutput += c.toString(); });
  started.stderr.on('data', (/** @type {Buffer} */ c) => { childOutput += c.toString(); });

  const baseURL = `http://localhost:${port}`;
  const issuer = `http://localhost:${providerPort}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (const url of [`${baseURL}/`, `${issuer}/.well-known/openid-configuration`]) {
    for (;;) {
      if (started.exitCode !== null) throw new Error(`the example app exited (code ${started.exitCode}) before answering`);
      const status = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0);
      if (status === 200) break;
      if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${START_TIMEOUT_MS / 1000} s (last status ${status || 'none'})`);
      await sleep(100);
    }
  }
  return { baseURL, issuer };
}

/** Stops the example app: SIGTERM (it closes both servers), SIGKILL if it is still running 5 s later. */
async function stopExampleApp() {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child?.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/**
 * Runs one step of the flow, then saves a full-page screenshot numbered after it and prints one line.
 *
 * @param {string} name file name part, e.g. `home` for `01-home.png`
 * @param {string} title what the step shows, printed
 * @param {() => Promise<void>} fn the actions and assertions
 */
async function step(name, title, fn) {
  currentStep = title;
  const started = Date.now();
  await fn();
  stepCount += 1;
  const file = `${String(stepCount).padStart(2, '0')}-${name}.png`;
  await page?.screenshot({ path: join(screenshotDir, file), fullPage: true });
  console.log(`ok ${stepCount} - ${title} (${Date.now() - started} ms, ${file})`);
}

/**
 * The session cookie's chunks as the browser stored them for `baseURL`.
 *
 * @param {import('playwright-core').BrowserContext} context
 * @param {string} baseURL
 */
async function sessionCookies(context, baseURL) {
  return (await context.cookies(baseURL)).filter((c) => SESSION_COOKIE.test(c.name));
}

/** The whole run's time limit passed. */
class RunTimeout extends Error {
  name = 'RunTimeout';
}

/** The flow itself; each `step()` asserts what a user would see. */
async function run() {
  currentStep = 'looking for Chromium';
  await access(executablePath, constants.X_OK).catch(() => {
    throw new Error(`no Chromium at ${executablePath}: run sh test/browser/install-chromium.sh (Debian), or set CHROMIUM_PATH`);
  });
  currentStep = 'start-up';
  await rm(screenshotDir, { recursive: true, force: true });
  await mkdir(screenshotDir, { recursive: true });

  const { baseURL, issuer } = await startExampleApp();
  console.log(`example app at ${baseURL}, development provider at ${issuer}`);

  currentStep = `launching ${executablePath}`;
  browser = await chromium.launch({ executablePath, args: chromiumArgs, timeout: STEP_TIMEOUT_MS });
  console.log(`Chromium ${browser.version()} (${executablePath})`);
  const context = await browser.newContext({ viewport: { width: 1000, height: 800 } });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  // Only the app and its provider: tests call no outside host (oidc-provider's own error page @imports a font).
  const allowed = new Set([new URL(baseURL).origin, new URL(issuer).origin]);
  /** @type {Set<string>} */
  const blocked = new Set();
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (allowed.has(url.origin)) return route.continue();
    blocked.add(url.origin);
    return route.abort('blockedbyclient');
  });
  /** @type {string[]} */
  const serverErrors = [];
  const browserPage = await context.newPage();
  page = browserPage;
  browserPage.on('response', (res) => {
    if (res.status() >= 500) serverErrors.push(`${res.status()} ${res.url()}`);
  });
  /** @type {string[]} */
  const pageErrors = [];
  browserPage.on('pageerror', (err) => pageErrors.push(err.message));

  const onApp = (/** @type {string} */ path) => (/** @type {URL} */ url) => url.origin === new URL(baseURL).origin && url.pathname === path;
  const onProvider = (/** @type {URL} */ url) => url.origin === new URL(issuer).origin;
  /** @param {string} name */
  const heading = (name) => browserPage.getByRole('heading', { level: 1, name, exact: true });
  const main = browserPage.locator('main');
  /** The profile page's claims table, as `{ name: the text shown }`. */
  const claimsTable = async () => Object.fromEntries(await main.locator('#claims tr').evaluateAll(
    (rows) => rows.map((row) => [row.querySelector('th')?.textContent ?? '', row.querySelector('td')?.textContent ?? '']),
  ));

  await step('home', 'the home page says "not signed in" and offers "Sign in"', async () => {
    const res = await browserPage.goto(`${baseURL}/`);
    assert.equal(res?.status(), 200, 'GET / status');
    await heading('Welcome').waitFor();
    assert.match(await main.innerText(), /You are not signed in\./);
    assert.deepEqual(await sessionCookies(context, baseURL), [], 'no session cookie before signing in');
  });

  await step('provider-login', '"Sign in" leads to the provider\'s sign-in page', async () => {
    await main.getByRole('link', { name: 'Sign in', exact: true }).click();
    await browserPage.waitForURL(onProvider);
    await heading('Sign in').waitFor();
    assert.match(new URL(browserPage.url()).pathname, /^\/interaction\//, 'the provider\'s interaction page');
    await browserPage.getByPlaceholder('Enter any login').waitFor();
  });

  await step('provider-consent', `signing in as "${USER}" leads to the provider's consent page`, async () => {
    await browserPage.getByPlaceholder('Enter any login').fill(USER);
    await browserPage.getByPlaceholder('and password').fill('any password');
    await browserPage.getByRole('button', { name: 'Sign in', exact: true }).click();
    await heading('Authorize').waitFor();
    assert.ok(onProvider(new URL(browserPage.url())), `consent is asked by the provider, at ${browserPage.url()}`);
    const scopes = await main.locator('ul').first().innerText();
    assert.match(scopes, /profile/, 'the consent page lists the profile scope');
    assert.match(scopes, /email/, 'the consent page lists the email scope');
  });

  await step('signed-in-home', 'consenting returns to the home page, signed in; the header shows the user and "Sign out"', async () => {
    await browserPage.getByRole('button', { name: 'Continue', exact: true }).click();
    await browserPage.waitForURL(onApp('/'));
    await heading('Welcome back').waitFor();
    assert.equal(await main.locator('p strong').first().innerText(), USER, 'the signed-in name');
    assert.match(await browserPage.locator('header').innerText(), new RegExp(`${USER}\\s+Sign out`), 'the header names the user');
    assert.equal(new URL(browserPage.url()).search, '', 'no code or state left in the address bar');
  });

  await step('profile', 'the profile shows the session\'s times and the claims, times as dates', async () => {
    await main.getByRole('link', { name: 'Your profile', exact: true }).click();
    await browserPage.waitForURL(onApp('/profile'));
    await heading('Profile').waitFor();
    const claims = await claimsTable();
    assert.equal(claims.sub, USER, 'claims.sub');
    assert.equal(claims.name, USER, 'claims.name');
    assert.equal(claims.email, `${USER}@example.com`, 'claims.email');
    assert.equal(claims.iss, issuer, 'claims.iss');
    assert.match(claims.iat ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/, 'claims.iat as a date');
    const session = await main.locator('dl').innerText();
    assert.match(session, /Signed in since\s+\d{4}-\d\d-\d\d/, 'when the user signed in');
    assert.match(session, /Session expires\s+at \d{4}-\d\d-\d\d .* at the latest, or after 1 day without use/, 'when the session ends');
    assert.match(session, /Access token\s+expires in 60 minutes/, 'when the access token expires');
  });

  await step('api-call', '"Call /api/me" fetches the guarded JSON API from the page and shows its answer', async () => {
    await browserPage.getByRole('button', { name: 'Call /api/me', exact: true }).click();
    const result = main.locator('#api-result');
    await result.waitFor({ state: 'visible' });
    const [status, ...json] = (await result.innerText()).split('\n');
    assert.equal(status, '200 OK', 'the API answered');
    const me = JSON.parse(json.join('\n'));
    assert.equal(me.sub, USER, '/api/me sub');
    assert.equal(me.aud, 'example-app', '/api/me aud: every claim, not only req.user\'s');
  });

  await step('refresh', '"Refresh tokens" refreshes the tokens and returns to the profile', async () => {
    const iat = (await claimsTable()).iat;
    await sleep(1100); // a new second, so that the refreshed ID token's iat differs
    await browserPage.getByRole('button', { name: 'Refresh tokens', exact: true }).click();
    await browserPage.waitForURL(onApp('/profile'));
    await main.getByText('The tokens were refreshed.').waitFor();
    assert.notEqual((await claimsTable()).iat, iat, 'a new ID token (its iat)');
    assert.equal((await claimsTable()).sub, USER, 'the same user');
  });

  await step('session-cookie', 'the session cookie is HttpOnly, SameSite=Lax, host-only, and hidden from document.cookie', async () => {
    const cookies = await sessionCookies(context, baseURL);
    assert.ok(cookies.length > 0, `no oidc_session cookie; the browser holds: ${(await context.cookies(baseURL)).map((c) => c.name).join(', ')}`);
    for (const cookie of cookies) {
      assert.equal(cookie.httpOnly, true, `${cookie.name} HttpOnly`);
      assert.equal(cookie.sameSite, 'Lax', `${cookie.name} SameSite`);
      assert.equal(cookie.path, '/', `${cookie.name} Path`);
      assert.equal(cookie.domain, 'localhost', `${cookie.name} is host-only (no Domain attribute)`);
      assert.equal(cookie.secure, false, `${cookie.name} Secure (an http: baseURL)`);
    }
    /** @type {string} */
    const visible = await browserPage.evaluate('document.cookie');
    assert.doesNotMatch(visible, /(^|;\s*)oidc_session(\.\d+)?=/, 'document.cookie must not show the session cookie');
  });

  await step('provider-logout', '"Sign out" ends the app session and asks the provider to sign out', async () => {
    await browserPage.locator('header').getByRole('button', { name: 'Sign out', exact: true }).click();
    await browserPage.waitForURL(onProvider);
    await heading('Sign out of the development provider?').waitFor();
    assert.deepEqual(await sessionCookies(context, baseURL), [], 'the app cleared its session cookie');
  });

  await step('signed-out-home', 'confirming at the provider returns to the home page, signed out', async () => {
    await browserPage.getByRole('button', { name: 'Yes, sign me out', exact: true }).click();
    await browserPage.waitForURL(onApp('/'));
    await heading('Welcome').waitFor();
    assert.match(await main.innerText(), /You are not signed in\./);
  });

  await step('profile-needs-login', '/profile now sends the browser to the provider\'s sign-in page', async () => {
    await browserPage.goto(`${baseURL}/profile`);
    await browserPage.waitForURL(onProvider);
    await heading('Sign in').waitFor();
    await browserPage.getByPlaceholder('Enter any login').waitFor();
    assert.match(new URL(browserPage.url()).pathname, /^\/interaction\//, 'the provider\'s interaction page');
  });

  assert.deepEqual(serverErrors, [], 'no 5xx answer during the flow');
  assert.deepEqual(pageErrors, [], 'no script error in the pages');
  if (blocked.size > 0) console.log(`(requests to outside hosts blocked: ${[...blocked].join(', ')})`);
}

/** Saves `failure.png` of the page as it is, when there is one; never throws. */
async function failureScreenshot() {
  if (!page || page.isClosed()) return;
  try {
    await page.screenshot({ path: join(screenshotDir, 'failure.png'), fullPage: true, timeout: 5000 });
    console.error(`screenshot of the page at ${page.url()}: failure.png`);
  } catch (err) {
    console.error(`no failure screenshot: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Closes the browser (killing it if closing hangs) and stops the example app; never throws. */
async function cleanUp() {
  if (browser) {
    const closing = browser.close().catch(() => undefined);
    const timedOut = await Promise.race([closing.then(() => false), sleep(5000).then(() => true)]);
    if (timedOut) console.error('the browser did not close within 5 s; playwright kills it as this process exits');
  }
  await stopExampleApp().catch(() => undefined);
}

// Last resort: whatever happens, the example app does not outlive this process.
process.once('exit', () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    console.error(`interrupted (${signal}) during: ${currentStep}`);
    void cleanUp().finally(() => process.exit(1));
  });
}

const startedAt = Date.now();
/** @type {ReturnType<typeof setTimeout> | undefined} */
let overallTimer;
const timeout = new Promise((_, reject) => {
  overallTimer = setTimeout(() => reject(new RunTimeout(`timed out after ${OVERALL_TIMEOUT_MS / 1000} s`)), OVERALL_TIMEOUT_MS);
});
let exitCode = 0;
try {
  await Promise.race([run(), timeout]);
  console.log(`browser login test passed: ${stepCount} steps in ${((Date.now() - startedAt) / 1000).toFixed(1)} s; screenshots in ${screenshotDir}`);
} catch (err) {
  exitCode = 1;
  console.error(`\nnot ok - ${currentStep}`);
  // An assertion's message and diff say it all; for anything else the stack says where.
  const plain = err instanceof assert.AssertionError || err instanceof RunTimeout || !(err instanceof Error);
  console.error(plain ? String(err) : err.stack ?? err.message);
  await failureScreenshot();
  if (childOutput) console.error(`--- example app output ---\n${childOutput.trimEnd()}\n---`);
} finally {
  clearTimeout(overallTimer);
  await cleanUp();
}
// Exit now: nothing of the run (an aborted fetch, a pending playwright call after a timeout) may hold the process open.
process.exit(exitCode);
