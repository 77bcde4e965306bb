// @ts-check
/**
 * The benchmark, in one run: `npm run bench` (which builds dist/ first). See bench/README.md.
 *
 * One oidc-provider and one server per contestant, all on loopback. The servers run on core 0;
 * the load generator (autocannon), the login driver (this process) and the provider on core 1.
 * Rounds interleave the contestants (A B C D E, B C D E A, …: each round starts one further) so
 * that the machine's drift hits every contestant alike; the tables report the median of the
 * rounds and their range.
 *
 * Environment, with defaults: BENCH_ROUNDS (6); BENCH_SECONDS of load per measurement (4);
 * BENCH_WARMUP seconds of load before each (1); BENCH_CONNECTIONS (10); BENCH_LOGIN_SAMPLES,
 * logins one after the other per round (30); BENCH_LOGIN_SECONDS of 4 users logging in at once
 * per round (3); BENCH_LOGINS in the memory phase (10000); BENCH_GUARDED requests in the memory
 * phase (100000); BENCH_COMPARE, the dist/ directory of another build of this package to run
 * as one more contestant (a candidate patch against the current build, in the same run);
 * BENCH_CPU_PROF, a directory where every server writes a CPU profile when the run ends
 * (`node --cpu-prof`); BENCH_CONTESTANTS, comma-separated keys of contestants.js to run (with
 * the bare route and their baselines; default all).
 *
 * `--profile`: after the rounds, BENCH_PROFILE_RUNS (3) more loads of BENCH_SECONDS on each
 * contestant with its server's CPU profiled, and a table of µs per request by category (this
 * package, cookie, express-session, Express, Node's http code, GC, …), which says what limits a
 * goal that is missed (profile-analysis.js).
 */
import { cpus, loadavg } from 'node:os';
import { canPin } from './child.js';
import { contestants as listContestants } from './contestants.js';
import { Bench, LOAD_CPU, SERVER_CPU, flag, pinSelf, setting, signIn as signInAt } from './harness.js';
import { loadTest } from './load.js';
import { login, User } from './login.js';
import { profiledLoad, profiledLogins } from './profile-analysis.js';
import { formatCounts, formatReport } from './report.js';
import { mb, median } from './stats.js';

// This process drives the logins: it belongs on the load core, away from the servers.
pinSelf();

const settings = {
  rounds: setting('BENCH_ROUNDS', 6),
  seconds: setting('BENCH_SECONDS', 4),
  warmup: setting('BENCH_WARMUP', 1),
  connections: setting('BENCH_CONNECTIONS', 10),
  loginSamples: setting('BENCH_LOGIN_SAMPLES', 30),
  loginSeconds: setting('BENCH_LOGIN_SECONDS', 3),
  logins: setting('BENCH_LOGINS', 10000),
  guarded: setting('BENCH_GUARDED', 100000),
  users: 4,
  memoryUsers: 16,
  profileRuns: setting('BENCH_PROFILE_RUNS', 3),
};
const profile = flag('profile');
/**
 * Seconds a server is left idle before its memory is read: right after a burst of logins this
 * package's heap holds about 20 MB more for some 10 s (garbage not yet collectable: the clone of
 * each token response, …), which is not what the reading is about.
 */
const SETTLE_SECONDS = 12;
/** The same secret as bench/servers/serve.js: iron-session's sealData() uses it below. */
const SECRET = 'bench-secret-bench-secret-bench-secret-0123456789';

const started = performance.now();
const loadAtStart = loadavg()[0] ?? NaN;

/** @param {string} text */
function progress(text) {
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${text}\n`);
}

/** @typedef {import('./contestants.js').Contestant} Contestant */

const contestants = listContestants(process.env.BENCH_COMPARE || undefined, process.env.BENCH_CONTESTANTS || undefined);
const bench = new Bench();
process.on('SIGINT', () => {
  bench.stop().finally(() => process.exit(130));
});

/**
 * @param {Contestant} c
 * @returns {string}
 */
const baseOf = (c) => `http://127.0.0.1:${c.port}`;

/**
 * The server's memory after {@link SETTLE_SECONDS} idle, read after two full garbage collections.
 *
 * @param {import('./child.js').Child} server
 * @returns {Promise<NodeJS.MemoryUsage>}
 */
async function settledMemory(server) {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_SECONDS * 1000));
  return server.call('memory');
}

/**
 * Logs `user` in to `c`, and keeps the cookie header the browser now sends to it.
 *
 * @param {Contestant} c
 * @param {User} user
 */
function signIn(c, user) {
  return signInAt(c, user);
}

/**
 * The `Cookie` header of a contestant without login that is sent another's ({@link Contestant.cookieFrom}).
 *
 * @param {Contestant} c
 */
function borrowCookie(c) {
  if (c.cookieFrom !== undefined) c.cookieHeader = contestants.find((x) => x.key === c.cookieFrom)?.cookieHeader;
}

/**
 * Logins by every user at once, each user's one after the other, until `until()` is true.
 *
 * @param {Contestant} c
 * @param {User[]} users
 * @param {(done: number) => boolean} until given the number of logins done
 * @returns {Promise<{ count: number, seconds: number }>}
 */
async function concurrentLogins(c, users, until) {
  let count = 0;
  const t0 = performance.now();
  await Promise.all(users.map(async (user) => {
    while (!until(count)) {
      await login(baseOf(c), user);
      count++;
    }
  }));
  return { count, seconds: (performance.now() - t0) / 1000 };
}

/**
 * The load test of `c`'s guarded route, with the server's CPU time per request.
 *
 * @param {Contestant} c
 * @param {{ seconds?: number, amount?: number }} length
 */
async function guardedLoad(c, length) {
  borrowCookie(c);
  const server = /** @type {import('./child.js').Child} */ (c.server);
  const cpuBefore = await server.call('cpu');
  const result = await loadTest({ url: `${baseOf(c)}/profile`, cpu: LOAD_CPU, connections: settings.connections, cookie: c.cookieHeader, ...length });
  const cpu = ((await server.call('cpu')) - cpuBefore) / result.requests;
  return { ...result, cpu };
}

/**
 * `Set-Cookie` headers per guarded response, over `n` requests.
 *
 * @param {Contestant} c
 * @param {number} n
 * @returns {Promise<number>}
 */
async function setCookiePerResponse(c, n = 20) {
  let setCookies = 0;
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${baseOf(c)}/profile`, { headers: c.cookieHeader ? { cookie: c.cookieHeader } : {} });
    if (res.status !== 200) throw new Error(`${c.key}: /profile answered ${res.status}`);
    await res.arrayBuffer();
    setCookies += res.headers.getSetCookie().length;
  }
  return setCookies / n;
}

/**
 * Provider requests between two counts, per login.
 *
 * @param {Record<string, number>} before
 * @param {Record<string, number>} after
 * @param {number} logins
 * @returns {Record<string, number>}
 */
function perLogin(before, after, logins) {
  /** @type {Record<string, number>} */
  const result = {};
  for (const endpoint of new Set([...Object.keys(before), ...Object.keys(after), 'discovery', 'jwks', 'authorization', 'token'])) {
    result[endpoint] = ((after[endpoint] ?? 0) - (before[endpoint] ?? 0)) / logins;
  }
  return result;
}

/**
 * `list` rotated left by `by`: each round starts with another contestant, so that none is always
 * measured first (just after the provider or the previous contestant was busy).
 *
 * @template T
 * @param {T[]} list
 * @param {number} by
 * @returns {T[]}
 */
function rotate(list, by) {
  const k = by % list.length;
  return [...list.slice(k), ...list.slice(0, k)];
}

/**
 * The session cookie's bytes as the browser sends it back (`name=value`, chunks summed).
 *
 * @param {Contestant} c
 * @returns {number}
 */
function sessionCookieBytes(c) {
  return (c.cookieHeader ?? '').split('; ').filter((pair) => c.sessionCookie.test(pair.split('=')[0] ?? ''))
    .reduce((sum, pair) => sum + pair.length, 0);
}

/**
 * The token set `c`'s session holds, as its `/tokens` route shows it.
 *
 * @param {Contestant} c
 * @returns {Promise<Record<string, unknown>>}
 */
async function tokenSetOf(c) {
  const res = await fetch(`${baseOf(c)}/tokens`, { headers: { cookie: c.cookieHeader ?? '' } });
  if (res.status !== 200) throw new Error(`${c.key}: /tokens answered ${res.status}`);
  return /** @type {Promise<Record<string, unknown>>} */ (res.json());
}

try {
  const cores = cpus().length; // not availableParallelism(): this process is pinned to one core
  if (!canPin) progress('WARNING: cannot pin processes (taskset missing or fewer than 2 cores): numbers will move more between runs');
  progress(`settings ${JSON.stringify(settings)}`);

  // The provider, with one client per contestant; Redis when a contestant needs it; the servers
  // with `--expose-gc` for the memory readings.
  await bench.start(contestants, { nodeArgs: process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [] });
  const provider = /** @type {import('./child.js').Child} */ (bench.provider);
  progress(`provider ${bench.issuer}${bench.redis ? `; redis ${bench.redis.url}` : ''}; servers (port, pid): ${contestants.map((c) => `${c.key} :${c.port} ${c.server?.pid}`).join(', ')}`);

  // Each user signs in at the provider once (its login form), and consents once per client.
  const users = Array.from({ length: settings.users }, (_, i) => new User(`bench-user-${i}`));
  const firstUser = /** @type {User} */ (users[0]);
  /** @type {Map<string, Record<string, number>>} provider requests of each contestant's first logins */
  const firstLogins = new Map();
  for (const c of contestants.filter((x) => x.logs)) {
    const before = await provider.call('counts');
    for (const user of users) await signIn(c, user);
    firstLogins.set(c.key, perLogin(before, await provider.call('counts'), 1));
  }

  // Warm-up: logins and load on every contestant before anything is measured.
  for (const c of contestants.filter((x) => x.logs)) {
    await concurrentLogins(c, users, (done) => done >= 40);
    await signIn(c, firstUser);
  }
  for (const c of contestants) await guardedLoad(c, { seconds: settings.warmup * 2 });
  progress('warm-up done');

  /** @type {Map<string, import('./report.js').GuardedResult>} */
  const guarded = new Map(contestants.map((c) => [c.key, { rps: [], ratio: [], baselineRatio: [], p50: [], p99: [], p99ratio: [], cpu: [], setCookie: [] }]));
  /** @type {Map<string, import('./report.js').LoginResult>} */
  const logins = new Map(contestants.filter((c) => c.loginBench).map((c) => [c.key, { ms: [], perSecond: [], counts: [], first: firstLogins.get(c.key) ?? {} }]));

  for (let round = 1; round <= settings.rounds; round++) {
    // Guarded requests, each contestant with the session of a login made just before.
    /** @type {Map<string, { rps: number, p99: number }>} */
    const results = new Map();
    for (const c of rotate(contestants, round - 1)) {
      if (c.logs) await signIn(c, firstUser);
      await guardedLoad(c, { seconds: settings.warmup });
      const result = await guardedLoad(c, { seconds: settings.seconds });
      results.set(c.key, result);
      const g = /** @type {import('./report.js').GuardedResult} */ (guarded.get(c.key));
      g.rps.push(result.rps);
      g.p50.push(result.p50);
      g.p99.push(result.p99);
      g.cpu.push(result.cpu);
      g.setCookie.push(await setCookiePerResponse(c));
    }
    const ceiling = /** @type {{ rps: number, p99: number }} */ (results.get('bare'));
    for (const c of contestants) {
      const result = /** @type {{ rps: number, p99: number }} */ (results.get(c.key));
      const g = /** @type {import('./report.js').GuardedResult} */ (guarded.get(c.key));
      g.ratio.push(result.rps / ceiling.rps);
      g.p99ratio.push(result.p99 / ceiling.p99);
      const baseline = results.get(c.baseline ?? 'bare');
      if (baseline !== undefined) g.baselineRatio.push(result.rps / baseline.rps);
    }
    progress(`round ${round}/${settings.rounds}: req/s (server CPU µs/request) ${contestants.map((c) => `${c.key} ${Math.round(results.get(c.key)?.rps ?? NaN)} (${Math.round(guarded.get(c.key)?.cpu.at(-1) ?? NaN)})`).join(', ')}`);

    // Logins: one user, one login after the other; then 4 users at once.
    for (const c of rotate(contestants.filter((x) => x.loginBench), round - 1)) {
      const l = /** @type {import('./report.js').LoginResult} */ (logins.get(c.key));
      /** @type {number[]} */
      const times = [];
      for (let i = 0; i < settings.loginSamples; i++) times.push((await signIn(c, firstUser)).ms);
      l.ms.push(median(times));
      const before = await provider.call('counts');
      const deadline = performance.now() + settings.loginSeconds * 1000;
      const { count, seconds } = await concurrentLogins(c, users, () => performance.now() >= deadline);
      l.perSecond.push(count / seconds);
      l.counts.push(perLogin(before, await provider.call('counts'), count));
    }
    progress(`round ${round}/${settings.rounds}: login ms ${[...logins].map(([key, l]) => `${key} ${l.ms.at(-1)?.toFixed(1)} (${l.perSecond.at(-1)?.toFixed(0)}/s)`).join(', ')}`);
    // The harness's own drift: the provider keeps every code and token of the run.
    const providerMemory = await provider.call('memory');
    const entries = /** @type {Record<string, number>} */ (await provider.call('entries'));
    progress(`round ${round}/${settings.rounds}: provider entries ${Object.entries(entries).map(([model, n]) => `${model} ${n}`).join(', ')}; heap ${mb(providerMemory.heapUsed)} MB, RSS ${mb(providerMemory.rss)} MB; `
      + `this process heap ${mb(process.memoryUsage().heapUsed)} MB; load average ${(loadavg()[0] ?? NaN).toFixed(1)}`);
  }

  // --profile: what each server's CPU goes to, to say what limits a goal that is missed.
  /** @type {Map<string, import('./profile-analysis.js').ProfiledLoad[]>} */
  const profiles = new Map();
  /** @type {Map<string, (import('./profile-analysis.js').ProfiledLoad & { providerCpu: number })[]>} */
  const loginProfiles = new Map();
  if (profile) {
    for (let run = 1; run <= settings.profileRuns; run++) {
      for (const c of rotate(contestants, run - 1)) {
        if (c.logs) await signIn(c, firstUser);
        await guardedLoad(c, { seconds: settings.warmup });
        borrowCookie(c);
        profiles.set(c.key, [...(profiles.get(c.key) ?? []), await profiledLoad(c, { seconds: settings.seconds, connections: settings.connections })]);
      }
      progress(`profile ${run}/${settings.profileRuns}: server CPU µs/request ${contestants.map((c) => `${c.key} ${profiles.get(c.key)?.at(-1)?.cpu.toFixed(0)}`).join(', ')}`);
      // The logins too: BENCH_LOGIN_SECONDS of 4 users at once, each server profiled.
      for (const c of rotate(contestants.filter((x) => x.loginBench), run - 1)) {
        const counted = await profiledLogins(c, provider, async (until) => (await concurrentLogins(c, users, until)).count, settings.loginSeconds);
        loginProfiles.set(c.key, [...(loginProfiles.get(c.key) ?? []), counted]);
      }
      progress(`profile ${run}/${settings.profileRuns}: server CPU µs/login ${[...loginProfiles].map(([key, p]) => `${key} ${p.at(-1)?.cpu.toFixed(0)}`).join(', ')}`);
    }
  }

  // Cookie bytes of each contestant's real session; and iron-session's sealData() of exactly
  // this package's token set.
  /** @type {import('./report.js').CookieResult[]} */
  const cookies = [];
  for (const c of contestants.filter((x) => x.logs)) {
    cookies.push({ label: c.label, bytes: sessionCookieBytes(c), header: c.cookieHeader?.length, tokenSet: JSON.stringify(await tokenSetOf(c)).length });
  }
  const ours = contestants.find((c) => c.key === 'this-package' || c.key === 'this-package-session-option');
  if (ours !== undefined) {
    const { sealData } = await import('iron-session');
    const tokens = await tokenSetOf(ours);
    const sealed = await sealData(tokens, { password: SECRET });
    cookies.push({ label: 'iron-session sealData() of this package\'s token set', bytes: 'iron_session='.length + sealed.length, header: undefined, tokenSet: JSON.stringify(tokens).length });
  }

  // Memory, on the servers of the rounds (warmed up by about 2,000 logins): 10,000 more logins
  // by 16 users, each with a new app cookie jar; then 100,000 guarded requests.
  /** @type {import('./report.js').MemoryResult[]} */
  const memory = [];
  const memoryUsers = [...users, ...Array.from({ length: settings.memoryUsers - settings.users }, (_, i) => new User(`bench-user-${settings.users + i}`))];
  for (const c of contestants.filter((x) => x.memory)) {
    const server = /** @type {import('./child.js').Child} */ (c.server);
    for (const user of memoryUsers.slice(settings.users)) await signIn(c, user); // sign-in and consent of the new users
    const before = await settledMemory(server);
    const recordsBefore = await server.call('records');
    const countsBefore = await provider.call('counts');
    let reported = 0;
    const { count, seconds } = await concurrentLogins(c, memoryUsers, (done) => {
      if (done - reported >= 2500) {
        reported = done;
        progress(`memory ${c.key}: ${done} logins`);
      }
      return done >= settings.logins;
    });
    const counts = perLogin(countsBefore, await provider.call('counts'), count);
    const recordsAfter = await server.call('records');
    await signIn(c, firstUser);
    await guardedLoad(c, { amount: settings.guarded });
    const after = await settledMemory(server);
    memory.push({
      contestant: c, before, after, logins: count, seconds, counts,
      records: recordsBefore === undefined || recordsAfter === undefined ? undefined : recordsAfter - recordsBefore,
    });
    progress(`memory ${c.key}: ${count} logins in ${seconds.toFixed(0)} s (provider requests per login: ${formatCounts(counts)})`);
  }

  const env = Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_') && k !== 'BENCH_PINNED').map(([k, v]) => `${k}=${v} `).join('');
  const command = `${env}npm run bench${profile ? ' -- --profile' : ''}`;
  const pinning = canPin ? `servers on core ${SERVER_CPU}; load generator, login driver and provider on core ${LOAD_CPU}` : 'not pinned';
  const footer = `${new Date().toISOString().slice(0, 10)}, ${cores} cores (${pinning}), Node.js ${process.version}, \`${command}\`, `
    + `${((performance.now() - started) / 60000).toFixed(1)} min, load average ${loadAtStart.toFixed(1)} at start / ${(loadavg()[0] ?? NaN).toFixed(1)} at end`;
  process.stdout.write(`\n${formatReport({ settings, contestants, guarded, logins, cookies, memory, profiles, loginProfiles, footer })}\n`);
} catch (err) {
  process.exitCode = 1;
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
} finally {
  await bench.stop();
}
