// @ts-check
/**
 * The soak: `npm run soak` (which builds dist/ first). See soak/README.md.
 *
 * Two instances of an app (app.js, each its own process) behind a non-sticky round-robin proxy
 * (proxy.js, in this process), sharing one real redis-server (redis-server.js) through
 * connect-redis, against oidc-provider in its own process (provider.js). Simulated users
 * (user.js, in this process) log in, browse, refresh and log out for `--minutes`; Redis is
 * restarted at a third of the run and the provider at two thirds, each down `--outage-seconds`.
 * The printout (report.js) goes to stdout, progress to stderr; the exit code is 1 when a check
 * fails, 2 when the soak itself could not run.
 *
 * Options (or environment): `--minutes` (SOAK_MINUTES, 3), `--users` (SOAK_USERS, 20),
 * `--outage-seconds` (SOAK_OUTAGE_SECONDS, 5), `--access-token-ttl` (SOAK_ACCESS_TOKEN_TTL, 20),
 * `--seed` (SOAK_SEED, 1), `--two-at-once` (SOAK_TWO_AT_ONCE, 0.25: the share of browsing steps
 * that send two requests at once; 0 leaves out the cross-instance refresh race), `--keep` (keep the temporary folder of Redis's and the provider's data),
 * `--trace FILE` (every answer of the app and event of the provider, one JSON line each, times in
 * ms since the users started).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, startNode } from './child.js';
import { startProxy } from './proxy.js';
import { startRedis } from './redis-server.js';
import { formatReport, graceMs, judge } from './report.js';
import { SoakUser } from './user.js';

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string' },
    users: { type: 'string' },
    'outage-seconds': { type: 'string' },
    'access-token-ttl': { type: 'string' },
    seed: { type: 'string' },
    'two-at-once': { type: 'string' },
    keep: { type: 'boolean', default: false },
    trace: { type: 'string' },
  },
});

/**
 * A positive number from the command line, else the environment, else `fallback`.
 *
 * @param {string | undefined} given
 * @param {string} envName
 * @param {number} fallback
 * @returns {number}
 */
function setting(given, envName, fallback) {
  const value = given ?? process.env[envName];
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new TypeError(`${envName} (or its option) must be a positive number, got "${value}"`);
  return number;
}

/**
 * A share in [0, 1] from the command line, else the environment, else `fallback`.
 *
 * @param {string | undefined} given
 * @param {string} envName
 * @param {number} fallback
 * @returns {number}
 */
function shareSetting(given, envName, fallback) {
  const value = given ?? process.env[envName];
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number < 0 || number > 1) throw new TypeError(`${envName} (or its option) must be a number from 0 to 1, got "${value}"`);
  return number;
}

/** @type {import('./report.js').SoakRecord['settings']} */
const settings = {
  minutes: setting(args.minutes, 'SOAK_MINUTES', 3),
  users: Math.round(setting(args.users, 'SOAK_USERS', 20)),
  seed: Math.round(setting(args.seed, 'SOAK_SEED', 1)),
  outageSeconds: setting(args['outage-seconds'], 'SOAK_OUTAGE_SECONDS', 5),
  accessTokenTtl: Math.round(setting(args['access-token-ttl'], 'SOAK_ACCESS_TOKEN_TTL', 20)),
  storeTimeout: 2,
  httpTimeout: 3,
  refreshMargin: 5,
  burstShare: shareSetting(args['two-at-once'], 'SOAK_TWO_AT_ONCE', 0.25),
  refreshShare: 0.01,
  logoutShare: 0.02,
};
if (settings.accessTokenTtl <= settings.refreshMargin) {
  throw new TypeError(`--access-token-ttl must be longer than the app's refreshMargin (${settings.refreshMargin} s)`);
}

const startedAt = Date.now();
const runMs = settings.minutes * 60_000;
/** @param {string} text */
function progress(text) {
  process.stderr.write(`[soak ${((Date.now() - startedAt) / 1000).toFixed(1).padStart(6)} s] ${text}\n`);
}
/** @param {number} ms */
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

const here = fileURLToPath(new URL('.', import.meta.url));
const stateDir = mkdtempSync(join(tmpdir(), 'soak-'));
mkdirSync(join(stateDir, 'redis'));
mkdirSync(join(stateDir, 'provider'));

/** @type {Awaited<ReturnType<typeof startRedis>> | undefined} */
let redis;
/** @type {import('./child.js').Child[]} */
const children = [];
process.on('exit', () => {
  redis?.kill();
  if (!args.keep) rmSync(stateDir, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

/** @type {Record<string, number>} */
const providerEvents = {};
/** The provider's events as they came, for `--trace`. */
/** @type {{ at: number, event: string, [key: string]: unknown }[]} */
const providerLog = [];
/** @param {any} message */
function onProviderEvent(message) {
  if (args.trace !== undefined) providerLog.push({ at: Date.now(), ...message });
  const key = message.event === 'grant' ? `grant ${message.grantType} ${message.ok ? 'ok' : message.error}`
    : message.event === 'backchannel' ? `backchannel logout ${message.ok ? 'ok' : `failed: ${message.error}`}`
      : `${message.event}: ${message.error}`;
  providerEvents[key] = (providerEvents[key] ?? 0) + 1;
}

async function main() {
  const [redisPort, providerPort, proxyPort, portA, portB] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const appBase = `http://127.0.0.1:${proxyPort}`;
  const client = {
    client_id: 'soak-app',
    client_secret: 'soak-app-client-secret-0123456789abcdef',
    redirect_uris: [`${appBase}/callback`],
    post_logout_redirect_uris: [appBase, `${appBase}/`],
    backchannel_logout_uri: `${appBase}/backchannel-logout`,
    backchannel_logout_session_required: true,
  };

  let startingAt = Date.now();
  redis = await startRedis(/** @type {number} */ (redisPort), join(stateDir, 'redis'));
  const redisStartMs = Date.now() - startingAt;
  progress(`redis-server on ${redis.url} (append-only file, fsync always)`);

  const providerEnv = {
    SOAK_PROVIDER_PORT: String(providerPort),
    SOAK_STATE_DIR: join(stateDir, 'provider'),
    SOAK_CLIENT: JSON.stringify(client),
    SOAK_ACCESS_TOKEN_TTL: String(settings.accessTokenTtl),
  };
  const startProvider = () => startNode(join(here, 'provider.js'), { env: providerEnv, onEvent: onProviderEvent });
  startingAt = Date.now();
  let { child: provider, ready: providerReady } = await startProvider();
  const providerStartMs = Date.now() - startingAt;
  const issuer = /** @type {string} */ (providerReady.issuer);
  progress(`provider at ${issuer}`);

  /** @type {Record<string, number>} */
  const instancePorts = {};
  const apps = await Promise.all([['A', portA], ['B', portB]].map(async ([name, port]) => {
    instancePorts[String(port)] = /** @type {any} */ (name);
    const { child } = await startNode(join(here, 'app.js'), {
      nodeArgs: ['--expose-gc'],
      env: {
        SOAK_NAME: String(name),
        SOAK_PORT: String(port),
        SOAK_BASE_URL: appBase,
        SOAK_ISSUER: issuer,
        SOAK_CLIENT_ID: client.client_id,
        SOAK_CLIENT_SECRET: client.client_secret,
        SOAK_REDIS_URL: redis?.url ?? '',
        SOAK_STORE_TIMEOUT: String(settings.storeTimeout),
        SOAK_HTTP_TIMEOUT: String(settings.httpTimeout),
        SOAK_REFRESH_MARGIN: String(settings.refreshMargin),
      },
    });
    children.push(child);
    return { name: String(name), child };
  }));
  const proxy = await startProxy({ port: /** @type {number} */ (proxyPort), targets: [/** @type {number} */ (portA), /** @type {number} */ (portB)] });
  progress(`instances A (:${portA}) and B (:${portB}) behind the proxy at ${appBase}; ${settings.users} users for ${settings.minutes} min`);

  /** @type {import('./browser.js').Answer[]} */
  const answers = [];
  /** @type {import('./user.js').Books} */
  const books = {
    onAnswer: (answer) => { answers.push(answer); },
    refreshes: { due: 0, dueInBurst: 0, explicit: 0 },
    surprises: [],
    logoutProblems: [],
    flows: {},
    flowErrors: {},
  };
  let faultActive = false;
  let faultsDone = false;
  const runStart = Date.now();
  const stopped = () => faultsDone && Date.now() >= runStart + runMs;
  const users = Array.from({ length: settings.users }, (_, i) => new SoakUser({
    name: `user${String(i + 1).padStart(2, '0')}`,
    appBase,
    issuer,
    seed: settings.seed * 1000 + i,
    settings: { pauseMinMs: 300, pauseMaxMs: 1500, burstShare: settings.burstShare, refreshShare: settings.refreshShare, logoutShare: settings.logoutShare, refreshMargin: settings.refreshMargin },
    books,
    logoutsAllowed: () => !faultActive,
  }));
  const loops = users.map(async (user, i) => {
    await sleep(i * 100);
    await user.run(stopped);
  });

  /** @type {import('./report.js').MemorySample[]} */
  const memory = [];
  /** @param {string} label */
  async function sampleMemory(label) {
    const at = Date.now();
    const usages = await Promise.all(apps.map((app) => app.child.call('memory')));
    memory.push({ label, at, byInstance: Object.fromEntries(apps.map((app, i) => [app.name, usages[i]])) });
  }
  const warmupMs = Math.min(30_000, Math.max(5000, runMs / 6));
  const memoryTimers = [setTimeout(() => { sampleMemory('after warm-up'); }, warmupMs)];
  for (let minute = 1; minute * 60_000 < runMs; minute++) {
    if (minute * 60_000 > warmupMs) memoryTimers.push(setTimeout(() => { sampleMemory(`minute ${minute}`); }, minute * 60_000));
  }

  /**
   * Takes a dependency down for `--outage-seconds`, brings it back, and checks every session that
   * was signed in before: one guarded request each, once the grace time has passed.
   *
   * @param {string} name
   * @param {() => Promise<void>} stop
   * @param {() => Promise<void>} start
   * @param {number} startMs how long its first start took: the restart begins that much before the outage's end
   * @returns {Promise<import('./report.js').Fault>}
   */
  async function fault(name, stop, start, startMs) {
    faultActive = true;
    // Logouts in flight finish first (their back-channel mark needs Redis, their confirmation the provider).
    const waitUntil = Date.now() + 10_000;
    while (users.some((u) => u.phase === 'logout') && Date.now() < waitUntil) await sleep(50);
    const snapshot = users.filter((u) => u.state === 'in' && u.phase === 'browsing' && u.token !== undefined);
    const sessions = snapshot.map((u) => u.session);
    for (const u of snapshot) u.held = true;
    const downAt = Date.now();
    await stop();
    progress(`${name} down (${snapshot.length} sessions signed in)`);
    await sleep(downAt + settings.outageSeconds * 1000 - startMs - Date.now());
    await start();
    const upAt = Date.now();
    progress(`${name} back after ${((upAt - downAt) / 1000).toFixed(1)} s; checking those sessions in ${graceMs(settings) / 1000} s`);
    await sleep(graceMs(settings));
    const outcomes = await Promise.all(snapshot.map((u, i) => u.requestCheck(upAt + graceMs(settings) + 15_000, /** @type {number} */ (sessions[i]))));
    for (const u of snapshot) u.held = false;
    faultActive = false;
    progress(`${name}: ${outcomes.filter((o) => o.outcome === 'kept').length} of ${snapshot.length} sessions kept`);
    return { name, downAt, upAt, sessions: snapshot.length, outcomes };
  }

  /** @type {import('./report.js').Fault[]} */
  const faults = [];
  await sleep(runStart + runMs / 3 - Date.now());
  const store = /** @type {NonNullable<typeof redis>} */ (redis);
  faults.push(await fault('Redis', () => store.down(), () => store.up(), redisStartMs));
  await sleep(runStart + (2 * runMs) / 3 - Date.now());
  faults.push(await fault('provider', () => provider.stop(), async () => {
    ({ child: provider } = await startProvider());
  }, providerStartMs));
  faultsDone = true;

  await Promise.all(loops);
  for (const timer of memoryTimers) clearTimeout(timer);
  const endedAt = Date.now();
  progress('users done; the last memory sample in 2 s');
  await sleep(2000);
  await sampleMemory('end (2 s idle)');

  const stats = await Promise.all(apps.map((app) => app.child.call('stats')));
  const running = apps.filter((app) => app.child.running).map((app) => app.name);
  await proxy.close();
  await Promise.all([...apps.map((app) => app.child.stop()), provider.stop()]);
  await redis.stop();

  /** @type {import('./report.js').SoakRecord} */
  const record = {
    settings,
    startedAt: runStart,
    endedAt,
    answers,
    faults,
    books,
    providerEvents,
    apps: Object.fromEntries(apps.map((app, i) => [app.name, stats[i]])),
    proxy: proxy.answered,
    instancePorts,
    memory,
  };
  const checks = judge(record);
  checks.unshift({ name: 'both instances ran to the end', pass: running.length === apps.length, detail: `running at the end: ${running.join(', ') || 'none'}` });
  process.stdout.write(`\n${formatReport(record, checks)}\n`);
  if (args.keep) process.stderr.write(`state kept in ${stateDir}\n`);
  if (args.trace !== undefined) {
    const lines = [
      ...answers.map((a) => ({ at: a.start - runStart, kind: 'answer', ...a, start: undefined, ms: a.end - a.start, end: undefined })),
      ...providerLog.map((e) => ({ ...e, at: e.at - runStart, kind: 'provider', type: undefined })),
      ...faults.map((f) => ({ at: f.downAt - runStart, kind: 'fault', name: f.name, upAt: f.upAt - runStart })),
      ...books.surprises.map((x) => ({ ...x, at: x.at - runStart, kind: 'session ended' })),
    ].sort((x, y) => x.at - y.at);
    writeFileSync(args.trace, lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
    process.stderr.write(`trace written to ${args.trace}\n`);
  }
  return checks.every((c) => c.pass) ? 0 : 1;
}

main().then((code) => {
  process.exit(code);
}, (err) => {
  process.stderr.write(`soak failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(2);
});
