// @ts-check
/**
 * Does throughput fall over a process's life? `npm run bench:long` (builds dist/ first): one
 * contestant's guarded route under steady load for `--minutes` (10) consecutive minutes, one
 * login at the start, one autocannon for the whole run (long-load.js, whose connections keep the
 * cookie a response sets, as a browser does). Each minute: req/s, the
 * server's CPU µs per request, its heap used and RSS (after a full GC), and the same for the
 * load generator and for this process (the harness), so that a slowdown can be told apart from
 * the harness's own; at the end, the last minute against the first.
 *
 * Options: `--minutes` (10), `--contestant` (a key of contestants.js; default
 * `this-package-session-option`), `--profile-minutes m1,m2` (CPU profiles of those minutes, by
 * category, to compare an early and a late one; default none), `--save DIR` (keep them).
 * BENCH_CONNECTIONS (10).
 */
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contestants as listContestants } from './contestants.js';
import { startNode } from './child.js';
import { Bench, LOAD_CPU, argument, pinSelf, setting, signIn } from './harness.js';
import { User } from './login.js';
import { CATEGORIES, summarise } from './profile-analysis.js';
import { mb, median, table } from './stats.js';

pinSelf();

const minutes = Number(argument('minutes') ?? 10);
if (!Number.isInteger(minutes) || minutes < 1) throw new TypeError(`--minutes must be a whole number ≥ 1, got ${argument('minutes')}`);
const key = argument('contestant') ?? 'this-package-session-option';
const profileMinutes = new Set((argument('profile-minutes') ?? '').split(',').filter((m) => m !== '').map(Number));
const saveTo = argument('save');
const connections = setting('BENCH_CONNECTIONS', 10);

const all = listContestants(undefined, key);
const contestant = /** @type {import('./contestants.js').Contestant} */ (all.find((c) => c.key === key));
const source = all.find((c) => c.key === contestant.cookieFrom);
const started = [...(source === undefined ? [] : [source]), contestant];

const bench = new Bench();
process.on('SIGINT', () => {
  bench.stop().finally(() => process.exit(130));
});

/**
 * @typedef {object} Minute
 * @property {number} rps
 * @property {number} cpu server CPU µs per request
 * @property {NodeJS.MemoryUsage} server after a full GC
 * @property {NodeJS.MemoryUsage} load the load generator's, after a full GC
 * @property {number} loadCpu the load generator's CPU µs per request
 * @property {number} harness this process's heap used
 * @property {number} setCookies `Set-Cookie` headers the load generator received (session touches)
 * @property {Record<string, number> | undefined} profile µs per request by category, for the profiled minutes
 */

try {
  await bench.start(started);
  const user = new User('bench-user-0');
  for (const c of started.filter((x) => x.logs)) await signIn(c, user);
  if (source !== undefined) contestant.cookieHeader = source.cookieHeader;
  const server = /** @type {import('./child.js').Child} */ (contestant.server);
  process.stderr.write(`[long-run] ${contestant.label}: ${minutes} min of load, ${connections} connections\n`);

  const { child: load } = await startNode(fileURLToPath(new URL('long-load.js', import.meta.url)), {
    cpu: LOAD_CPU,
    nodeArgs: ['--expose-gc'],
    env: { LOAD_URL: `http://127.0.0.1:${contestant.port}/profile`, LOAD_COOKIE: contestant.cookieHeader ?? '', LOAD_CONNECTIONS: String(connections), LOAD_SECONDS: String(minutes * 60 + 30) },
  });
  bench.children.push(load);
  /** @type {Minute[]} */
  const rows = [];
  let serverCpu = await server.call('cpu');
  const cpuOf = (/** @type {NodeJS.CpuUsage} */ usage) => usage.user + usage.system;
  let loadCpu = cpuOf((await load.call('sample')).cpu);
  let t0 = performance.now();
  for (let minute = 1; minute <= minutes; minute++) {
    const profiled = profileMinutes.has(minute);
    if (profiled) await server.call('profileStart');
    await new Promise((resolve) => setTimeout(resolve, t0 + 60_000 - performance.now()));
    const sample = await load.call('sample');
    const cpuNow = await server.call('cpu');
    const t1 = performance.now();
    const json = profiled ? await server.call('profileStop') : undefined;
    const memory = await server.call('memory');
    if (sample.failed > 0) throw new Error(`minute ${minute}: ${sample.failed} responses were not 2xx (or failed)`);
    const cpu = (cpuNow - serverCpu) / sample.ok;
    const loadNow = cpuOf(sample.cpu);
    if (json !== undefined && saveTo !== undefined) writeFileSync(join(saveTo, `${key}-minute-${minute}.cpuprofile`), json);
    rows.push({
      rps: sample.ok / ((t1 - t0) / 1000), cpu, server: memory, load: sample.memory,
      loadCpu: (loadNow - loadCpu) / sample.ok,
      harness: process.memoryUsage().heapUsed,
      setCookies: sample.setCookies,
      profile: json === undefined ? undefined : summarise(JSON.parse(json), cpu).perRequest,
    });
    const row = /** @type {Minute} */ (rows.at(-1));
    process.stderr.write(`[long-run] minute ${minute}/${minutes}: ${row.rps.toFixed(0)} req/s, ${cpu.toFixed(0)} µs/request, server heap ${mb(memory.heapUsed)} MB, RSS ${mb(memory.rss)} MB, ${sample.setCookies} Set-Cookie\n`);
    // The reads above (a GC, a profile) are not part of the next minute.
    serverCpu = await server.call('cpu');
    loadCpu = loadNow;
    await load.call('sample');
    t0 = performance.now();
  }

  const first = /** @type {Minute} */ (rows[0]);
  const last = /** @type {Minute} */ (rows.at(-1));
  const out = [`### Long run: ${contestant.label}, ${minutes} × 1 min of load, ${connections} connections, one process each`, ''];
  out.push(table(
    ['minute', 'req/s', 'server CPU µs/request', 'server heap used / RSS, MB (after GC)', 'Set-Cookie received', 'load generator CPU µs/request', 'load generator heap / RSS, MB', 'harness heap, MB'],
    rows.map((r, i) => [String(i + 1), r.rps.toFixed(0), r.cpu.toFixed(0), `${mb(r.server.heapUsed)} / ${mb(r.server.rss)}`, String(r.setCookies), r.loadCpu.toFixed(0),
      `${mb(r.load.heapUsed)} / ${mb(r.load.rss)}`, mb(r.harness)]),
  ), '');
  out.push(`Last minute against the first: req/s ${(last.rps / first.rps).toFixed(2)} ×, server CPU µs/request ${(last.cpu / first.cpu).toFixed(2)} ×, `
    + `server heap ${(last.server.heapUsed / first.server.heapUsed).toFixed(2)} ×, RSS ${(last.server.rss / first.server.rss).toFixed(2)} ×; `
    + `load generator CPU µs/request ${(last.loadCpu / first.loadCpu).toFixed(2)} ×, heap ${(last.load.heapUsed / first.load.heapUsed).toFixed(2)} ×. `
    + `Median of the minutes: ${median(rows.map((r) => r.rps)).toFixed(0)} req/s, ${median(rows.map((r) => r.cpu)).toFixed(0)} µs/request.`, '');
  const profiled = rows.map((r, i) => /** @type {const} */ ([i + 1, r.profile])).filter(([, p]) => p !== undefined);
  if (profiled.length > 0) {
    out.push(table(['minute', ...CATEGORIES.map((c) => `${c} µs`)], profiled.map(([m, p]) => [String(m), ...CATEGORIES.map((c) => (p?.[c] ?? 0).toFixed(0))])), '');
  }
  out.push(`${new Date().toISOString().slice(0, 16)}Z, Node.js ${process.version}, \`node bench/long-run.js ${process.argv.slice(2).join(' ')}\``);
  process.stdout.write(`\n${out.join('\n')}\n`);
} catch (err) {
  process.exitCode = 1;
  process.stderr.write(`long run failed: ${err instanceof Error ? err.stack : String(err)}\n`);
} finally {
  await bench.stop();
}
