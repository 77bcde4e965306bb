// @ts-check
/**
 * Where each server's CPU goes under load: `npm run bench:profile` (builds dist/ first). For
 * each contestant, `--runs` times (interleaved, as run.js's rounds): a fresh login, 1 s of load,
 * then `--seconds` of load with the server's CPU profiled; printed: req/s and server CPU µs per
 * request (process.cpuUsage()), and the profile's self time per request by category (this
 * package, cookie, express-session, Express, Node's http/net/stream code, GC, …), each as
 * `median [min–max]` of the runs; and this package's busiest functions.
 *
 * Options: `--contestants a,b` (keys of contestants.js; the bare route and each one's baseline
 * come along; default: bare and this package's set-ups with their baselines), `--runs` (3),
 * `--seconds` (5), `--save DIR` (keep the `.cpuprofile` files, for Chrome DevTools).
 * BENCH_CONNECTIONS (10), BENCH_COMPARE as in run.js; BENCH_PROFILE_INTERVAL, the sampling
 * interval in µs (200).
 */
import { contestants as listContestants } from './contestants.js';
import { Bench, argument, pinSelf, setting, signIn } from './harness.js';
import { loadTest } from './load.js';
import { User } from './login.js';
import { formatProfiles, profiledLoad } from './profile-analysis.js';
import { medianRange, median, table } from './stats.js';
import { LOAD_CPU } from './harness.js';

pinSelf();

const runs = Number(argument('runs') ?? 3);
const seconds = Number(argument('seconds') ?? 5);
const saveTo = argument('save');
const connections = setting('BENCH_CONNECTIONS', 10);
const contestants = listContestants(process.env.BENCH_COMPARE || undefined,
  argument('contestants') ?? 'this-package-session-option,this-package,this-package-store-redis');

const bench = new Bench();
process.on('SIGINT', () => {
  bench.stop().finally(() => process.exit(130));
});
try {
  await bench.start(contestants);
  const user = new User('bench-user-0');
  for (const c of contestants) {
    if (c.logs) await signIn(c, user);
    await loadTest({ url: `http://127.0.0.1:${c.port}/profile`, cpu: LOAD_CPU, connections, cookie: c.cookieHeader, seconds: 2 });
  }
  /** @type {Map<string, import('./profile-analysis.js').ProfiledLoad[]>} */
  const results = new Map(contestants.map((c) => [c.key, []]));
  for (let run = 0; run < runs; run++) {
    for (const c of [...contestants.slice(run % contestants.length), ...contestants.slice(0, run % contestants.length)]) {
      if (c.logs) await signIn(c, user);
      await loadTest({ url: `http://127.0.0.1:${c.port}/profile`, cpu: LOAD_CPU, connections, cookie: c.cookieHeader, seconds: 1 });
      results.get(c.key)?.push(await profiledLoad(c, { seconds, connections, saveTo }));
    }
    process.stderr.write(`[profile] run ${run + 1}/${runs}: µs/request ${contestants.map((c) => `${c.key} ${results.get(c.key)?.at(-1)?.cpu.toFixed(0)}`).join(', ')}\n`);
  }
  const rows = contestants.map((c) => ({ label: c.label, runs: results.get(c.key) ?? [] }));
  const show = (/** @type {number[]} */ values) => medianRange(values);
  process.stdout.write(`### Server CPU per request by category, ${seconds} s × ${runs} runs, ${connections} connections (median [min–max])\n\n${formatProfiles(rows, show)}\n\n`);
  for (const c of contestants.filter((x) => x.isThisPackage)) {
    const own = new Map();
    for (const r of results.get(c.key) ?? []) for (const { name, us } of r.profile.ownTop) own.set(name, [...(own.get(name) ?? []), us]);
    const top = [...own].map(([name, values]) => [name, median(values)]).sort((a, b) => Number(b[1]) - Number(a[1])).slice(0, 8);
    process.stdout.write(`#### ${c.label}: this package's functions by self time\n\n${table(['function', 'µs/request (median)'], top.map(([n, v]) => [String(n), Number(v).toFixed(1)]))}\n\n`);
  }
} catch (err) {
  process.exitCode = 1;
  process.stderr.write(`profile failed: ${err instanceof Error ? err.stack : String(err)}\n`);
} finally {
  await bench.stop();
}
