// @ts-check
/**
 * The OpenID Provider of the benchmark, in its own process: the example app's development
 * provider (oidc-provider, with its development login form) with one client per contestant, and a
 * count of the requests it receives, by endpoint, which the orchestrator reads (`counts`), its
 * CPU time (`cpu`, µs) and its memory (`memory`, without a forced GC) and stored entries
 * (`entries`: its storage keeps every grant, code and token of the run).
 *
 * Environment: `BENCH_PROVIDER_PORT`; `BENCH_CLIENTS`, a JSON array of
 * `{ client_id, client_secret, redirect_uris }`.
 */
import { startDevProvider } from '../example-app/dev-provider.js';
import { serveParent } from './child.js';

/** @type {Record<string, number>} */
const counts = {};

/**
 * The endpoint a request path belongs to: ids in the path (`/auth/:uid`) are folded.
 *
 * @param {string} path
 * @returns {string}
 */
function endpointOf(path) {
  if (path === '/.well-known/openid-configuration') return 'discovery';
  if (path === '/jwks') return 'jwks';
  if (path === '/auth') return 'authorization';
  if (path.startsWith('/auth/')) return 'authorization resume';
  if (path === '/token') return 'token';
  if (path === '/me') return 'userinfo';
  if (path.startsWith('/interaction/')) return 'interaction';
  return path;
}

/** @type {Map<string, any>} */
const storage = new Map();
/**
 * The keys of the access tokens in {@link storage}, oldest first.
 *
 * @type {string[]}
 */
const accessTokens = [];

/** Access tokens kept: the newest ones (see {@link BenchAdapter}). */
const ACCESS_TOKENS_KEPT = 1000;

/**
 * oidc-provider's storage, in a Map without the limit of its development adapter (1,000 entries,
 * least recently used dropped): there, a user's grant is dropped after a few hundred logins and
 * the next login asks for consent again, which a benchmark of 30,000 logins would count.
 *
 * What each login leaves is not kept, or the provider's heap would grow by some 5 MB per 1,000
 * logins over the run (about 100,000 of them), and its garbage collections with it, on the core
 * the load generator shares: an authorization code is deleted when it is used (a second use is
 * refused all the same, as not found), and only the newest {@link ACCESS_TOKENS_KEPT} access
 * tokens are kept (the benchmark never presents one to the provider). Grants, sessions and
 * interactions are kept until oidc-provider destroys them.
 */
class BenchAdapter {
  /** @param {string} model */
  constructor(model) {
    this.model = model;
  }

  /** @param {string} id */
  key(id) {
    return `${this.model}:${id}`;
  }

  /**
   * @param {string} id
   * @param {any} payload
   */
  async upsert(id, payload) {
    if (this.model === 'AccessToken') {
      accessTokens.push(this.key(id));
      if (accessTokens.length > ACCESS_TOKENS_KEPT) storage.delete(/** @type {string} */ (accessTokens.shift()));
    }
    storage.set(this.key(id), payload);
    if (this.model === 'Session') storage.set(`sessionUid:${payload.uid}`, id);
  }

  /** @param {string} id */
  async find(id) {
    return storage.get(this.key(id));
  }

  /** @param {string} uid */
  async findByUid(uid) {
    const id = storage.get(`sessionUid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode() {
    return undefined;
  }

  /** @param {string} id */
  async consume(id) {
    if (this.model === 'AuthorizationCode') {
      storage.delete(this.key(id));
      return;
    }
    const payload = storage.get(this.key(id));
    if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000);
  }

  /** @param {string} id */
  async destroy(id) {
    storage.delete(this.key(id));
  }

  async revokeByGrantId() {}
}

const clients = JSON.parse(process.env.BENCH_CLIENTS ?? '[]');
const { issuer, server } = await startDevProvider({
  clients,
  port: Number(process.env.BENCH_PROVIDER_PORT ?? 0),
  configuration: { adapter: BenchAdapter },
});
// Listeners run in order: the provider's own was added first, this one only counts.
server.on('request', (/** @type {import('node:http').IncomingMessage} */ req) => {
  const endpoint = endpointOf((req.url ?? '').split('?')[0] ?? '');
  counts[endpoint] = (counts[endpoint] ?? 0) + 1;
});

serveParent({
  counts: () => ({ ...counts }),
  memory: () => process.memoryUsage(),
  entries: () => {
    /** @type {Record<string, number>} */
    const byModel = {};
    for (const key of storage.keys()) {
      const model = key.slice(0, key.indexOf(':'));
      byModel[model] = (byModel[model] ?? 0) + 1;
    }
    return byModel;
  },
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  },
}, { issuer });
