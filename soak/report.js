// @ts-check
/**
 * The soak's printout (plain text tables) and its checks. Pure functions of what the run
 * recorded: {@link judge} decides each check, {@link formatReport} writes the printout.
 */

/**
 * @typedef {object} Fault
 * @property {string} name `Redis` or `provider`
 * @property {number} downAt milliseconds since the epoch: the moment it was stopped
 * @property {number} upAt the moment it answered again (Redis: PING; the provider: listening)
 * @property {number} sessions sessions signed in (a 200 seen) when it went down
 * @property {import('./user.js').CheckOutcome[]} outcomes each of those sessions' guarded request after it came back
 */

/**
 * @typedef {object} MemorySample
 * @property {string} label
 * @property {number} at milliseconds since the epoch
 * @property {Record<string, NodeJS.MemoryUsage | undefined>} byInstance
 */

/**
 * @typedef {object} SoakRecord everything the run recorded
 * @property {{ minutes: number, users: number, seed: number, storeTimeout: number, httpTimeout: number, refreshMargin: number, accessTokenTtl: number, outageSeconds: number, burstShare: number, refreshShare: number, logoutShare: number }} settings
 * @property {number} startedAt
 * @property {number} endedAt
 * @property {import('./browser.js').Answer[]} answers
 * @property {Fault[]} faults
 * @property {import('./user.js').Books} books
 * @property {Record<string, number>} providerEvents e.g. `grant refresh_token ok`, `grant refresh_token invalid_grant`, `backchannel ok`
 * @property {Record<string, { statuses: Record<string, number>, events: Record<string, number>, redisErrors: number, serverErrors: string[] } | undefined>} apps by instance name
 * @property {Record<string, Record<string, number>>} proxy answers by instance port and status
 * @property {Record<string, number>} instancePorts instance name by port
 * @property {MemorySample[]} memory
 */

/**
 * @typedef {object} Check
 * @property {string} name
 * @property {boolean} pass
 * @property {string} detail
 */

/** How long after a fault's end its 5xx are still its own, in milliseconds: `storeTimeout` + 2 s. */
export function graceMs(/** @type {SoakRecord['settings']} */ settings) {
  return settings.storeTimeout * 1000 + 2000;
}

/** The longest a 5xx may take, in milliseconds: the longer of `storeTimeout` and `httpTimeout`, + 1 s. */
export function errorLimitMs(/** @type {SoakRecord['settings']} */ settings) {
  return Math.max(settings.storeTimeout, settings.httpTimeout) * 1000 + 1000;
}

/**
 * @param {number[]} sorted ascending
 * @param {number} p 0..1
 * @returns {number}
 */
function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

/**
 * The refresh token grants the provider received, and those the run expected: one per refresh
 * due (an access token whose `exp − refreshMargin` a guarded request of its session reached)
 * plus one per explicit refresh that reached the provider.
 *
 * @param {SoakRecord} record
 */
export function refreshAccount(record) {
  let ok = 0;
  let refused = 0;
  for (const [key, count] of Object.entries(record.providerEvents)) {
    if (!key.startsWith('grant refresh_token ')) continue;
    if (key === 'grant refresh_token ok') ok += count;
    else refused += count;
  }
  const { due, explicit } = record.books.refreshes;
  const expected = due + explicit;
  return { ok, refused, grants: ok + refused, due, explicit, expected, ratio: expected === 0 ? NaN : (ok + refused) / expected };
}

/**
 * Decides every check.
 *
 * @param {SoakRecord} record
 * @returns {Check[]}
 */
export function judge(record) {
  const { settings, answers, faults, books } = record;
  const rel = (/** @type {number} */ t) => `${((t - record.startedAt) / 1000).toFixed(1)} s`;
  const grace = graceMs(settings);
  const limit = errorLimitMs(settings);
  /** @type {Check[]} */
  const checks = [];

  const fivehundreds = answers.filter((a) => a.status === 500);
  checks.push({
    name: 'no 500',
    pass: fivehundreds.length === 0,
    detail: fivehundreds.length === 0 ? 'none' : `${fivehundreds.length}, first at ${rel(/** @type {any} */ (fivehundreds[0]).start)} on ${/** @type {any} */ (fivehundreds[0]).route}`,
  });

  const failures = answers.filter((a) => a.status >= 500 || a.status === 0);
  const inWindow = (/** @type {import('./browser.js').Answer} */ a) => faults.some((f) => a.end >= f.downAt && a.start <= f.upAt + grace);
  const outside = failures.filter((a) => !inWindow(a));
  checks.push({
    name: `5xx only during the outages (+${grace / 1000} s grace)`,
    pass: outside.length === 0,
    detail: `${failures.length - outside.length} inside, ${outside.length} outside`
      + (outside.length > 0 ? `: ${outside.slice(0, 3).map((a) => `${a.status} ${a.route} at ${rel(a.start)}`).join(', ')}` : ''),
  });

  const slowest = failures.reduce((max, a) => Math.max(max, a.end - a.start), 0);
  checks.push({
    name: `each 5xx answered within ${limit / 1000} s`,
    pass: slowest <= limit,
    detail: failures.length === 0 ? 'no 5xx' : `slowest ${slowest} ms`,
  });

  for (const fault of faults) {
    const kept = fault.outcomes.filter((o) => o.outcome === 'kept');
    /** @type {Record<string, number>} */
    const others = {};
    for (const o of fault.outcomes) {
      if (o.outcome === 'kept') continue;
      const key = `${o.outcome}${o.reason ? ` (${o.reason})` : ''}`;
      others[key] = (others[key] ?? 0) + 1;
    }
    const lastAt = fault.outcomes.reduce((max, o) => Math.max(max, o.at), fault.upAt);
    checks.push({
      name: `sessions kept across the ${fault.name} restart`,
      pass: kept.length === fault.sessions && fault.sessions > 0,
      detail: `${kept.length} of ${fault.sessions} signed in before it answered 200 after it`
        + (Object.keys(others).length > 0 ? `; ${Object.entries(others).map(([k, n]) => `${n} ${k}`).join(', ')}` : '')
        + `; last check ${((lastAt - fault.upAt) / 1000).toFixed(1)} s after it was back`,
    });
  }

  /** @type {Record<string, number>} */
  const reasons = {};
  for (const s of books.surprises) reasons[s.reason] = (reasons[s.reason] ?? 0) + 1;
  checks.push({
    name: 'no session ended without a logout',
    pass: books.surprises.length === 0,
    detail: books.surprises.length === 0 ? 'none' : `${books.surprises.length}: ${Object.entries(reasons).map(([k, n]) => `${n} ${k}`).join(', ')}`,
  });

  checks.push({
    name: 'a logged-out session is refused within 3 s',
    pass: books.logoutProblems.length === 0,
    detail: books.logoutProblems.length === 0 ? `${Object.entries(books.flows).filter(([k]) => k.startsWith('logout') && !k.endsWith('failed')).reduce((n, [, c]) => n + c, 0)} logouts, each refused`
      : books.logoutProblems.slice(0, 3).map((p) => `${p.user} at ${rel(p.at)}: ${p.problem}`).join('; '),
  });

  const r = refreshAccount(record);
  checks.push({
    name: 'refresh grants per refresh due = 1.0 (±2 %, or ±2 grants)',
    pass: r.expected > 0 && (Math.abs(r.grants - r.expected) <= 2 || Math.abs(r.ratio - 1) <= 0.02),
    detail: r.expected === 0 ? 'no refresh fell due: run longer' : `${r.ratio.toFixed(3)} = ${r.grants} grants (${r.ok} ok, ${r.refused} refused) / ${r.expected} (${r.due} due + ${r.explicit} explicit)`,
  });
  return checks;
}

/**
 * A plain text table: columns padded, numbers right-aligned.
 *
 * @param {string[]} head
 * @param {(string | number)[][]} rows
 * @returns {string}
 */
export function table(head, rows) {
  const cells = [head, ...rows.map((row) => row.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'));
  const line = (/** @type {string[]} */ row) => row.map((cell, i) => (numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}

/** @param {number} bytes */
const mb = (bytes) => Number((bytes / 1048576).toFixed(1));

/**
 * The printout.
 *
 * @param {SoakRecord} record
 * @param {Check[]} checks
 * @returns {string}
 */
export function formatReport(record, checks) {
  const { settings: s, answers } = record;
  const rel = (/** @type {number} */ t) => ((t - record.startedAt) / 1000).toFixed(1);
  const out = [];
  out.push(`soak: ${((record.endedAt - record.startedAt) / 60000).toFixed(1)} min, ${s.users} users, 2 instances behind a round-robin proxy, seed ${s.seed}`);
  out.push(`settings: access token ${s.accessTokenTtl} s, refreshMargin ${s.refreshMargin} s, storeTimeout ${s.storeTimeout} s, httpTimeout ${s.httpTimeout} s; `
    + `steps: ${Math.round(s.burstShare * 100)} % of browsing two requests at once, ${Math.round(s.refreshShare * 100)} % explicit refresh, ${Math.round(s.logoutShare * 100)} % logout`);
  for (const f of record.faults) out.push(`fault: ${f.name} down at ${rel(f.downAt)} s, back at ${rel(f.upAt)} s (${((f.upAt - f.downAt) / 1000).toFixed(1)} s)`);

  out.push('', `requests answered by the app through the proxy: ${answers.length} (${(answers.length / ((record.endedAt - record.startedAt) / 1000)).toFixed(1)}/s)`);
  /** @type {Map<number, number[]>} */
  const byStatus = new Map();
  for (const a of answers) {
    const list = byStatus.get(a.status) ?? [];
    list.push(a.end - a.start);
    byStatus.set(a.status, list);
  }
  out.push(table(['status', 'count', 'p50 ms', 'p99 ms', 'max ms'], [...byStatus].sort(([a], [b]) => a - b).map(([status, ms]) => {
    ms.sort((x, y) => x - y);
    return [status === 0 ? '0 (no answer)' : String(status), ms.length, percentile(ms, 0.5), percentile(ms, 0.99), ms[ms.length - 1] ?? 0];
  })));

  out.push('', 'by route');
  /** @type {Map<string, Record<string, number>>} */
  const byRoute = new Map();
  const statuses = [...byStatus.keys()].sort((a, b) => a - b);
  for (const a of answers) {
    const route = a.route.replace(/\?.*$/, '');
    const row = byRoute.get(route) ?? {};
    row[a.status] = (row[a.status] ?? 0) + 1;
    byRoute.set(route, row);
  }
  out.push(table(['route', ...statuses.map(String)], [...byRoute].sort(([a], [b]) => a.localeCompare(b)).map(([route, row]) => [route, ...statuses.map((st) => row[st] ?? 0)])));

  out.push('', 'by instance (as the proxy counted them; includes the provider\'s back-channel logouts)');
  const proxyStatuses = [...new Set(Object.values(record.proxy).flatMap((row) => Object.keys(row)))].sort();
  out.push(table(['instance', 'total', ...proxyStatuses], Object.entries(record.proxy).map(([port, row]) => [
    record.instancePorts[port] ?? port, Object.values(row).reduce((n, c) => n + c, 0), ...proxyStatuses.map((st) => row[st] ?? 0),
  ])));

  const r = refreshAccount(record);
  out.push('', 'refreshes');
  out.push(`  due: ${r.due} access tokens reached exp − refreshMargin while their session was in use (a guarded request sent at or after that moment,`);
  out.push('       or an answer showing a new exp without an explicit refresh), counted once per access token');
  out.push(`       ${record.books.refreshes.dueInBurst} of them on a step of two requests at once (both instances may refresh the same token)`);
  out.push(`  explicit: ${r.explicit} POST /api/refresh that reached the provider (answered 200, or 401 with the refresh refused)`);
  out.push(`  grants at the provider (grant_type=refresh_token): ${r.grants} = ${r.ok} ok + ${r.refused} refused; per refresh due: ${Number.isNaN(r.ratio) ? 'n/a' : r.ratio.toFixed(3)} (target 1.000)`);

  out.push('', 'logins and logouts (users)');
  out.push(table(['flow', 'count'], Object.entries(record.books.flows).sort(([a], [b]) => a.localeCompare(b))));
  if (Object.keys(record.books.flowErrors).length > 0) {
    out.push(table(['why a flow failed', 'count'], Object.entries(record.books.flowErrors).sort(([, a], [, b]) => b - a)));
  }
  if (record.books.surprises.length > 0) {
    out.push('', 'sessions that ended without a logout (user, time, reason the app gave)');
    for (const x of record.books.surprises.slice(0, 15)) out.push(`  ${x.user} at ${rel(x.at)} s: ${x.reason}`);
    if (record.books.surprises.length > 15) out.push(`  … ${record.books.surprises.length - 15} more`);
  }

  out.push('', 'provider events (pushed as they happened, across its restart)');
  out.push(table(['event', 'count'], Object.entries(record.providerEvents).sort(([a], [b]) => a.localeCompare(b))));

  out.push('', 'app events and errors, per instance');
  const appNames = Object.keys(record.apps).sort();
  const eventNames = [...new Set(appNames.flatMap((n) => Object.keys(record.apps[n]?.events ?? {})))].sort();
  out.push(table(['event', ...appNames], [
    ...eventNames.map((e) => [e, ...appNames.map((n) => record.apps[n]?.events[e] ?? 0)]),
    ['Redis client errors', ...appNames.map((n) => record.apps[n]?.redisErrors ?? 0)],
  ]));
  for (const n of appNames) {
    const errors = record.apps[n]?.serverErrors ?? [];
    if (errors.length > 0) out.push(`  ${n}, last 5xx: ${errors.slice(-3).join(' | ')}`);
  }

  out.push('', 'memory per instance, after two full garbage collections (MB)');
  const instances = [...new Set(record.memory.flatMap((m) => Object.keys(m.byInstance)))].sort();
  out.push(table(['when', 'at s', ...instances.flatMap((i) => [`${i} rss`, `${i} heapUsed`])], record.memory.map((m) => [
    m.label, Number(rel(m.at)), ...instances.flatMap((i) => {
      const u = m.byInstance[i];
      return /** @type {(string | number)[]} */ (u === undefined ? ['-', '-'] : [mb(u.rss), mb(u.heapUsed)]);
    }),
  ])));
  const first = record.memory[0];
  const last = record.memory[record.memory.length - 1];
  if (first !== undefined && last !== undefined && first !== last) {
    out.push(`  from "${first.label}" to "${last.label}": ${instances.map((i) => {
      const a = first.byInstance[i];
      const b = last.byInstance[i];
      return a && b ? `${i} rss ${mb(b.rss - a.rss) >= 0 ? '+' : ''}${mb(b.rss - a.rss)}, heapUsed ${mb(b.heapUsed - a.heapUsed) >= 0 ? '+' : ''}${mb(b.heapUsed - a.heapUsed)}` : `${i} -`;
    }).join('; ')} (informative: noisy on a shared machine, not a check)`);
  }

  out.push('', 'checks');
  out.push(table(['', 'check', 'detail'], checks.map((c) => [c.pass ? 'PASS' : 'FAIL', c.name, c.detail])));
  const failed = checks.filter((c) => !c.pass).length;
  out.push('', failed === 0 ? `all ${checks.length} checks passed` : `${failed} of ${checks.length} checks failed`);
  return out.join('\n');
}
