// @ts-check
/**
 * The printout: one markdown table per measurement, this package's goals checked against this
 * run, and the line that says when, where and how it was measured.
 */
import { CATEGORIES, formatProfiles } from './profile-analysis.js';
import { mb, median, medianRange, table } from './stats.js';

/**
 * @typedef {object} GuardedResult per-round values of one contestant
 * @property {number[]} rps
 * @property {number[]} ratio rps / the bare route's rps of the same round
 * @property {number[]} baselineRatio rps / its baseline's rps of the same round (this package's set-ups)
 * @property {number[]} p50 ms
 * @property {number[]} p99 ms
 * @property {number[]} p99ratio p99 / the bare route's p99 of the same round
 * @property {number[]} cpu the server's CPU time per request, µs
 * @property {number[]} setCookie `Set-Cookie` headers per guarded response
 */
/**
 * @typedef {object} LoginResult per-round values of one contestant
 * @property {number[]} ms median time of one login, one user after the other
 * @property {number[]} perSecond logins per second with 4 users at once
 * @property {Record<string, number>[]} counts provider requests per login, by endpoint
 * @property {Record<string, number>} first provider requests of its first 4 logins, all together
 *   (each user's login form and consent, discovery, JWKS)
 */
/**
 * @typedef {object} CookieResult
 * @property {string} label
 * @property {number} bytes the session cookie as the browser sends it back (`name=value`, every chunk)
 * @property {number | undefined} header the whole `Cookie` header the browser sends to the app
 * @property {number} tokenSet bytes of the token set's JSON (`id_token`, `access_token`, …)
 */
/**
 * @typedef {object} MemoryResult
 * @property {import('./contestants.js').Contestant} contestant
 * @property {NodeJS.MemoryUsage} before after the rounds (about 2,000 logins)
 * @property {NodeJS.MemoryUsage} after after the logins and the guarded requests
 * @property {number | undefined} records records the express-session store gained over the logins
 * @property {number} logins
 * @property {number} seconds
 * @property {Record<string, number>} counts provider requests per login
 */
/**
 * @typedef {object} Report
 * @property {Record<string, number>} settings
 * @property {import('./contestants.js').Contestant[]} contestants
 * @property {Map<string, GuardedResult>} guarded
 * @property {Map<string, LoginResult>} logins
 * @property {CookieResult[]} cookies
 * @property {MemoryResult[]} memory
 * @property {Map<string, import('./profile-analysis.js').ProfiledLoad[]>} profiles `--profile`'s runs, by contestant (empty without it)
 * @property {Map<string, (import('./profile-analysis.js').ProfiledLoad & { providerCpu: number })[]>} loginProfiles `--profile`'s
 *   profiled logins, by contestant (`cpu`: µs per login; empty without it)
 * @property {string} footer
 */

/**
 * Provider requests per login, summed by endpoint over the rounds and averaged.
 *
 * @param {Record<string, number>[]} rounds
 * @returns {Record<string, number>}
 */
function averageCounts(rounds) {
  /** @type {Record<string, number>} */
  const sum = {};
  for (const counts of rounds) for (const [k, v] of Object.entries(counts)) sum[k] = (sum[k] ?? 0) + v;
  for (const k of Object.keys(sum)) sum[k] = /** @type {number} */ (sum[k]) / rounds.length;
  return sum;
}

/**
 * @param {Record<string, number>} counts
 * @returns {string}
 */
export function formatCounts(counts) {
  const order = ['authorization', 'token', 'discovery', 'jwks'];
  const keys = [...order, ...Object.keys(counts).filter((k) => !order.includes(k)).sort()];
  return keys.filter((k) => order.includes(k) || (counts[k] ?? 0) !== 0).map((k) => `${k} ${Number((counts[k] ?? 0).toFixed(3))}`).join(', ');
}

/**
 * Heap growth over the memory phase, per login, in bytes.
 *
 * @param {MemoryResult} m
 * @returns {number}
 */
function heapGrowth(m) {
  return (m.after.heapUsed - m.before.heapUsed) / m.logins;
}

/**
 * The printout, as markdown.
 *
 * @param {Report} report
 * @returns {string}
 */
export function formatReport({ settings, contestants, guarded, logins, cookies, memory, profiles, loginProfiles, footer }) {
  const out = [];
  const g = (/** @type {import('./contestants.js').Contestant} */ c) => /** @type {GuardedResult} */ (guarded.get(c.key));
  const l = (/** @type {import('./contestants.js').Contestant} */ c) => /** @type {LoginResult} */ (logins.get(c.key));
  const eocBytes = cookies.find((x) => x.label.startsWith('express-openid-connect'))?.bytes ?? NaN;

  out.push(`### Guarded requests: GET /profile with a valid session, ${settings.connections} connections, ${settings.seconds} s × ${settings.rounds} rounds`, '');
  out.push(table(
    ['contestant', 'req/s', 'ratio to bare', 'p50 ms', 'p99 ms', 'p99 ratio to bare', 'server CPU µs/request', 'Set-Cookie per response'],
    contestants.map((c) => [c.label, medianRange(g(c).rps), medianRange(g(c).ratio, 2), medianRange(g(c).p50, 1), medianRange(g(c).p99, 1),
      medianRange(g(c).p99ratio, 2), medianRange(g(c).cpu), median(g(c).setCookie).toFixed(2)]),
  ), '');

  const ours = contestants.filter((c) => c.isThisPackage);
  const byKey = (/** @type {string | undefined} */ key) => contestants.find((c) => c.key === key);
  out.push(table(
    ['this package\'s set-up', 'its baseline', 'req/s ratio to the baseline (same round)', 'server CPU µs/request, set-up vs baseline'],
    ours.map((c) => {
      const base = byKey(c.baseline);
      return [c.label, base?.label ?? 'n/a', medianRange(g(c).baselineRatio, 2), base === undefined ? 'n/a' : `${median(g(c).cpu).toFixed(0)} vs ${median(g(base).cpu).toFixed(0)}`];
    }),
  ), '');

  const loginContestants = contestants.filter((c) => c.loginBench);
  out.push('### Login: /login → provider /auth → /callback → session cookie (the user already signed in at the provider)', '');
  out.push(table(
    ['contestant', 'login ms, one user', `logins/s, ${settings.users} users`, 'provider requests per login', `provider requests of the first ${settings.users} logins (start-up)`],
    loginContestants.map((c) => [c.label, medianRange(l(c).ms, 1), medianRange(l(c).perSecond), formatCounts(averageCounts(l(c).counts)),
      `discovery ${l(c).first.discovery ?? 0}, jwks ${l(c).first.jwks ?? 0}`]),
  ), '');

  out.push('### Session cookie: same provider, user, client settings and scope', '');
  out.push(table(
    ['contestant', 'session cookie bytes', 'ratio to express-openid-connect', 'whole Cookie header', 'token set JSON bytes'],
    cookies.map((x) => [x.label, String(x.bytes), Number.isNaN(eocBytes) ? 'n/a' : (x.bytes / eocBytes).toFixed(2), x.header === undefined ? 'n/a' : String(x.header), String(x.tokenSet)]),
  ), '');

  out.push(`### Memory: RSS / heap used, MB, after 12 s idle and GC; ${settings.logins} logins by ${settings.memoryUsers} users, each with a new app cookie jar, then ${settings.guarded} guarded requests`, '');
  out.push(table(
    ['contestant', 'before (after the rounds)', `after the logins and requests`, 'heap growth per login, bytes', 'express-session records added per login', 'logins/s'],
    memory.map((m) => [m.contestant.label, `${mb(m.before.rss)} / ${mb(m.before.heapUsed)}`, `${mb(m.after.rss)} / ${mb(m.after.heapUsed)}`,
      String(Math.round(heapGrowth(m))), m.records === undefined ? 'n/a (no store)' : (m.records / m.logins).toFixed(2), (m.logins / m.seconds).toFixed(0)]),
  ), '');

  // This package's goals (and the compared build's), checked against this run.
  const eoc = contestants.find((c) => c.key === 'express-openid-connect');
  const mark = (/** @type {boolean | undefined} */ ok) => (ok === undefined ? 'not measured' : ok ? 'yes' : '**no**');
  /** @type {(c: import('./contestants.js').Contestant) => boolean} */
  const measuresLogin = (c) => c.loginBench && eoc !== undefined && logins.has(eoc.key);
  /** @type {[string, (c: import('./contestants.js').Contestant) => [string, boolean | undefined]][]} */
  const goals = [
    ['guarded req/s ≥ 0.90 × its baseline (bare route; express-session holding the token set; express-session + connect-redis)', (c) => {
      const ratio = median(g(c).baselineRatio);
      return [`${ratio.toFixed(2)} × ${c.baseline}`, Number.isNaN(ratio) ? undefined : ratio >= 0.9];
    }],
    ['guarded req/s ≥ 0.90 × bare', (c) => [`${median(g(c).ratio).toFixed(2)} ×`, median(g(c).ratio) >= 0.9]],
    ['p99 ≤ 1.5 × bare', (c) => [`${median(g(c).p99ratio).toFixed(2)} ×`, median(g(c).p99ratio) <= 1.5]],
    ['no Set-Cookie on guarded responses', (c) => [`${median(g(c).setCookie).toFixed(2)} per response`, median(g(c).setCookie) === 0]],
    ['login time ≤ express-openid-connect', (c) => {
      if (!measuresLogin(c) || eoc === undefined) return ['', undefined];
      const ms = median(l(c).ms);
      const theirs = median(l(eoc).ms);
      return [`${ms.toFixed(1)} vs ${theirs.toFixed(1)} ms`, ms <= theirs];
    }],
    [`logins/s (${settings.users} users at once) ≥ express-openid-connect`, (c) => {
      if (!measuresLogin(c) || eoc === undefined) return ['', undefined];
      const ours = median(l(c).perSecond);
      const theirs = median(l(eoc).perSecond);
      return [`${ours.toFixed(0)} vs ${theirs.toFixed(0)}`, ours >= theirs];
    }],
    ['cookie bytes ≤ 0.9 × express-openid-connect', (c) => {
      const ratio = (cookies.find((x) => x.label === c.label)?.bytes ?? NaN) / eocBytes;
      return Number.isNaN(ratio) ? ['', undefined] : [`${ratio.toFixed(2)} ×`, ratio <= 0.9];
    }],
    ['per login: 1 authorization, 1 token, no discovery, no JWKS', (c) => {
      if (!c.loginBench) return ['', undefined];
      const counts = averageCounts(l(c).counts);
      const one = (/** @type {string} */ k) => Math.abs((counts[k] ?? 0) - 1) < 0.005;
      return [formatCounts(counts), one('authorization') && one('token') && (counts.discovery ?? 0) === 0 && (counts.jwks ?? 0) === 0];
    }],
    ['nothing kept on the server per login (store records; heap growth shown, ±200 bytes of noise)', (c) => {
      const m = memory.find((x) => x.contestant.key === c.key);
      if (m === undefined) return ['', undefined];
      const perLogin = m === undefined ? NaN : heapGrowth(m);
      const records = m?.records === undefined ? NaN : m.records / m.logins;
      return [`${records.toFixed(2)} records, ${Math.round(perLogin)} heap bytes per login`, records === 0];
    }],
  ];
  out.push('### Goals', '');
  out.push(table(
    ['goal', ...ours.map((c) => c.label)],
    goals.map(([name, check]) => [name, ...ours.map((c) => {
      const [value, ok] = check(c);
      return value === '' ? mark(ok) : `${value}: ${mark(ok)}`;
    })]),
  ), '');
  out.push(...limits(contestants, guarded, profiles), ...loginLimits(contestants, logins, loginProfiles));
  out.push(footer);
  return out.join('\n');
}

/**
 * `--profile`'s table, and for each of this package's set-ups that misses its req/s goal, the
 * profile's difference to its baseline by category: what limits it.
 *
 * @param {import('./contestants.js').Contestant[]} contestants
 * @param {Map<string, GuardedResult>} guarded
 * @param {Map<string, import('./profile-analysis.js').ProfiledLoad[]>} profiles
 * @returns {string[]} lines
 */
function limits(contestants, guarded, profiles) {
  if (profiles.size === 0) return [];
  const runs = Math.max(...[...profiles.values()].map((p) => p.length));
  const out = [`### Server CPU per request by category: --profile, ${runs} profiled loads per contestant (median [min–max])`, ''];
  out.push(formatProfiles(contestants.filter((c) => profiles.has(c.key)).map((c) => ({ label: c.label, runs: profiles.get(c.key) ?? [] })), (v) => medianRange(v)), '');
  /** @type {(key: string, category: string) => number} */
  const us = (key, category) => median((profiles.get(key) ?? []).map((r) => r.profile.perRequest[category] ?? 0));
  /** @type {(key: string) => number} */
  const cpu = (key) => median((profiles.get(key) ?? []).map((r) => r.cpu));
  out.push('What limits a missed req/s goal: the server CPU per request over its baseline\'s, by category (medians of the profiled loads; the largest first):', '');
  let any = false;
  for (const c of contestants.filter((x) => x.isThisPackage && x.baseline !== undefined)) {
    const base = /** @type {string} */ (c.baseline);
    const ratio = median(guarded.get(c.key)?.baselineRatio ?? []);
    if (!(ratio < 0.9) || !profiles.has(c.key) || !profiles.has(base)) continue;
    any = true;
    const parts = CATEGORIES.map((category) => /** @type {[string, number]} */ ([category, us(c.key, category) - us(base, category)]))
      .filter(([, d]) => Math.abs(d) >= 0.5).sort((a, b) => b[1] - a[1]);
    out.push(`- **${c.label}**: ${ratio.toFixed(2)} × ${base}; ${cpu(c.key).toFixed(0)} against ${cpu(base).toFixed(0)} µs/request: `
      + `${parts.map(([category, d]) => `${category} ${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(0)}`).join(', ')} µs.`);
  }
  if (!any) out.push('- none missed (or the goal\'s contestants were not profiled).');
  out.push('');
  return out;
}

/**
 * `--profile`'s logins: the server CPU per login by category, the provider's beside it, and for
 * each of this package's set-ups that misses a login goal, the difference to
 * express-openid-connect by category.
 *
 * @param {import('./contestants.js').Contestant[]} contestants
 * @param {Map<string, LoginResult>} logins
 * @param {Map<string, (import('./profile-analysis.js').ProfiledLoad & { providerCpu: number })[]>} loginProfiles
 * @returns {string[]} lines
 */
function loginLimits(contestants, logins, loginProfiles) {
  if (loginProfiles.size === 0) return [];
  const profiled = contestants.filter((c) => loginProfiles.has(c.key));
  const out = ['### Server CPU per login by category: --profile, 4 users at once (median [min–max])', ''];
  out.push(formatProfiles(profiled.map((c) => ({ label: c.label, runs: loginProfiles.get(c.key) ?? [] })), (v) => medianRange(v), 'login'), '');
  out.push(table(['contestant', 'provider CPU µs/login'], profiled.map((c) => [c.label, medianRange((loginProfiles.get(c.key) ?? []).map((r) => r.providerCpu))])), '');
  const eoc = 'express-openid-connect';
  const theirs = logins.get(eoc);
  if (theirs === undefined || !loginProfiles.has(eoc)) return out;
  /** @type {(key: string, category: string) => number} */
  const us = (key, category) => median((loginProfiles.get(key) ?? []).map((r) => r.profile.perRequest[category] ?? 0));
  /** @type {(key: string) => number} */
  const cpu = (key) => median((loginProfiles.get(key) ?? []).map((r) => r.cpu));
  /** @type {(key: string) => number} */
  const providerCpu = (key) => median((loginProfiles.get(key) ?? []).map((r) => r.providerCpu));
  out.push('What limits a missed login goal: the server CPU per login over express-openid-connect\'s, by category (the largest first):', '');
  let any = false;
  for (const c of profiled.filter((x) => x.isThisPackage)) {
    const ours = logins.get(c.key);
    if (ours === undefined) continue;
    const slower = median(ours.ms) > median(theirs.ms);
    const fewer = median(ours.perSecond) < median(theirs.perSecond);
    if (!slower && !fewer) continue;
    any = true;
    const parts = CATEGORIES.map((category) => /** @type {[string, number]} */ ([category, us(c.key, category) - us(eoc, category)]))
      .filter(([, d]) => Math.abs(d) >= 5).sort((a, b) => b[1] - a[1]);
    out.push(`- **${c.label}** (${[slower && `${median(ours.ms).toFixed(1)} vs ${median(theirs.ms).toFixed(1)} ms`, fewer && `${median(ours.perSecond).toFixed(0)} vs ${median(theirs.perSecond).toFixed(0)} logins/s`].filter(Boolean).join('; ')}): `
      + `${cpu(c.key).toFixed(0)} against ${cpu(eoc).toFixed(0)} µs of server CPU per login: ${parts.map(([category, d]) => `${category} ${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(0)}`).join(', ')} µs; `
      + `the provider's CPU per login ${providerCpu(c.key).toFixed(0)} against ${providerCpu(eoc).toFixed(0)} µs.`);
  }
  if (!any) out.push('- none missed.');
  out.push('');
  return out;
}
