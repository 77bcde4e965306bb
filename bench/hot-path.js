// @ts-check
/**
 * This package's own cost per guarded request, without HTTP and Express around it:
 * `npm run bench:hot-path` (builds dist/ first). One real login (provider and server as in
 * run.js) gives a session cookie; then, in a process of its own per build, `authCallback()` (the
 * `session` option, the bench server's options) and `requireAuth()` are called on synthetic
 * requests carrying that cookie, and `req.user` is read, `--iterations` times; the CPU time of
 * the same loop that only makes the request and response objects is subtracted. Builds
 * alternate, `--rounds` times; printed: ns per request, median [min–max] of the rounds.
 *
 * Options: `--iterations` (200000), `--rounds` (5), `--builds dir1,dir2,…` (`dist/` directories
 * to measure, e.g. one per commit of a series; default this build's `dist/`). `BENCH_COMPARE` (a
 * `dist/` directory, as in run.js) adds another build; `BENCH_HOT_PATH_CHILD` is set in the children.
 */
import { spawnSync } from 'node:child_process';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pinned } from './child.js';
import { contestants as listContestants } from './contestants.js';
import { Bench, SERVER_CPU, argument, pinSelf, signIn } from './harness.js';
import { User } from './login.js';
import { medianRange, table } from './stats.js';

const iterations = Number(argument('iterations') ?? 200_000);
const rounds = Number(argument('rounds') ?? 5);

if (process.env.BENCH_HOT_PATH_CHILD === '1') {
  // A child: one build, one measurement; prints ns per request.
  const { authCallback, requireAuth } = await import(pathToFileURL(/** @type {string} */ (process.env.BENCH_DIST)).href);
  const { default: session } = await import('express-session');
  const cookie = /** @type {string} */ (process.env.BENCH_COOKIE);
  const secret = 'bench-secret-bench-secret-bench-secret-0123456789'; // servers/serve.js's
  const auth = authCallback({
    issuer: process.env.BENCH_ISSUER, clientId: process.env.BENCH_CLIENT_ID, clientSecret: process.env.BENCH_CLIENT_SECRET,
    baseURL: process.env.BENCH_BASE_URL, secret, scope: 'openid profile email', session: session({ secret, resave: false, saveUninitialized: false }),
  });
  const guard = requireAuth();
  const socket = new Socket();
  const request = () => {
    const req = new IncomingMessage(socket);
    req.method = 'GET';
    req.url = '/profile';
    req.headers = { host: '127.0.0.1', accept: '*/*', cookie };
    return { req, res: new ServerResponse(req) };
  };
  let users = 0;
  /** @param {boolean} measured run the middleware, or only make the objects */
  const loop = (measured) => {
    const t0 = process.cpuUsage();
    for (let i = 0; i < iterations; i++) {
      const { req, res } = request();
      if (!measured) continue;
      auth(req, res, (/** @type {unknown} */ err) => {
        if (err) throw err;
        guard(req, res, (/** @type {unknown} */ err2) => {
          if (err2) throw err2;
          if (/** @type {any} */ (req).user?.sub !== undefined) users++;
        });
      });
    }
    const t = process.cpuUsage(t0);
    return (t.user + t.system) * 1000 / iterations;
  };
  loop(true); // warm-up: the cookie opened and cached, the code optimised
  loop(false);
  const empty = loop(false);
  const full = loop(true);
  if (users !== iterations * 2) throw new Error(`only ${users} of ${iterations * 2} requests were let through with req.user`);
  process.stdout.write(`${full - empty}\n`);
  process.exit(0);
}

pinSelf();

const listed = argument('builds')?.split(',').filter((d) => d !== '');
const builds = [
  ...(listed === undefined
    ? [{ label: 'this build (dist/)', dist: fileURLToPath(new URL('../dist/index.js', import.meta.url)) }]
    : listed.map((dir) => ({ label: dir, dist: resolve(dir, 'index.js') }))),
  ...(process.env.BENCH_COMPARE ? [{ label: `${process.env.BENCH_COMPARE}`, dist: resolve(process.env.BENCH_COMPARE, 'index.js') }] : []),
];
const all = listContestants(undefined, 'this-package-session-option');
const c = /** @type {import('./contestants.js').Contestant} */ (all.find((x) => x.key === 'this-package-session-option'));
const bench = new Bench();
try {
  await bench.start([c]);
  await signIn(c, new User('bench-user-0'));
  /** @type {Map<string, number[]>} */
  const results = new Map(builds.map((b) => [b.label, []]));
  for (let round = 0; round < rounds; round++) {
    for (const b of round % 2 === 0 ? builds : [...builds].reverse()) {
      const [command, args] = pinned(SERVER_CPU, [process.execPath, fileURLToPath(import.meta.url), '--iterations', String(iterations)]);
      const child = spawnSync(command, args, {
        encoding: 'utf8',
        env: {
          ...process.env, BENCH_HOT_PATH_CHILD: '1', BENCH_DIST: b.dist, BENCH_COOKIE: c.cookieHeader, BENCH_ISSUER: bench.issuer,
          BENCH_CLIENT_ID: c.clientId, BENCH_CLIENT_SECRET: c.clientSecret, BENCH_BASE_URL: `http://127.0.0.1:${c.port}`,
        },
      });
      if (child.status !== 0) throw new Error(`${b.label}: ${child.stderr}`);
      results.get(b.label)?.push(Number(child.stdout.trim()));
    }
    process.stderr.write(`[hot-path] round ${round + 1}/${rounds}: ${builds.map((b) => `${b.label} ${results.get(b.label)?.at(-1)?.toFixed(0)} ns`).join(', ')}\n`);
  }
  process.stdout.write(`\n### This package's CPU per guarded request, without HTTP: authCallback() + requireAuth() + req.user, ${iterations} requests × ${rounds} rounds\n\n`);
  process.stdout.write(`${table(['build', 'ns/request, median [min–max]'], builds.map((b) => [b.label, medianRange(results.get(b.label) ?? [])]))}\n`);
  // Each build against the one before it in the list, round by round (the rounds alternate the order).
  for (let i = 1; i < builds.length; i++) {
    const before = results.get(/** @type {{ label: string }} */ (builds[i - 1]).label) ?? [];
    const after = results.get(/** @type {{ label: string }} */ (builds[i]).label) ?? [];
    process.stdout.write(`\n${builds[i]?.label} against ${builds[i - 1]?.label}: ${medianRange(after.map((v, r) => v - (before[r] ?? NaN)))} ns/request (paired by round)`);
  }
  process.stdout.write('\n');
} catch (err) {
  process.exitCode = 1;
  process.stderr.write(`hot-path failed: ${err instanceof Error ? err.stack : String(err)}\n`);
} finally {
  await bench.stop();
}
