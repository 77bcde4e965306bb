// @ts-check
/**
 * oidc-provider's storage (its adapter interface) for the soak's provider: entries in memory,
 * every change also appended to a file (one JSON line each, written before the call returns),
 * so that a restarted provider process finds its sessions, grants and refresh tokens again.
 *
 * A file and not the soak's Redis: the provider's restart and Redis's restart are two separate
 * faults, and each must hit one side only. With the provider's records in the same Redis, the
 * Redis outage would also take the provider down (and the provider's refresh tokens would be
 * lost with any Redis data loss), so a failed check could not say which fault caused it.
 *
 * On start the file is read back (a torn last line is skipped) and rewritten with the live
 * entries only. Expiry (`expiresIn`) is honoured on read.
 */
import { existsSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';

/**
 * @typedef {object} Entry
 * @property {any} payload
 * @property {number | null} expiresAt milliseconds since the epoch; `null`: never
 */

/**
 * The adapter class for oidc-provider's `adapter` option, its entries kept in `file`.
 *
 * @param {string} file created when missing
 * @returns {import('oidc-provider').AdapterConstructor}
 */
export function fileAdapter(file) {
  /** @type {Map<string, Entry>} */
  const entries = new Map();
  /** Session ids by their `uid` (oidc-provider's `findByUid`). */
  /** @type {Map<string, string>} */
  const sessionByUid = new Map();

  /** @param {any[]} op */
  function apply(op) {
    const [kind, key] = op;
    if (kind === 'set') {
      entries.set(key, { payload: op[2], expiresAt: op[3] });
      if (key.startsWith('Session:') && typeof op[2]?.uid === 'string') sessionByUid.set(op[2].uid, key);
    } else if (kind === 'del') {
      entries.delete(key);
    } else if (kind === 'consume') {
      const entry = entries.get(key);
      if (entry !== undefined) entry.payload.consumed = op[2];
    }
  }

  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line === '') continue;
      try {
        apply(JSON.parse(line));
      } catch {
        // a line torn by a crash: the change it held was never acknowledged
      }
    }
  }
  const now = Date.now();
  const live = [...entries].filter(([, entry]) => entry.expiresAt === null || entry.expiresAt > now);
  writeFileSync(`${file}.tmp`, live.map(([key, entry]) => `${JSON.stringify(['set', key, entry.payload, entry.expiresAt])}\n`).join(''));
  renameSync(`${file}.tmp`, file);
  const fd = openSync(file, 'a');
  // Expired entries leave memory once a minute (access tokens are never read again).
  setInterval(() => {
    const at = Date.now();
    for (const [key, entry] of entries) if (entry.expiresAt !== null && entry.expiresAt <= at) entries.delete(key);
  }, 60_000).unref();

  /** @param {any[]} op */
  function record(op) {
    apply(op);
    writeSync(fd, `${JSON.stringify(op)}\n`);
  }

  /**
   * @param {string} key
   * @returns {any}
   */
  function read(key) {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== null && entry.expiresAt <= Date.now()) {
      entries.delete(key); // the file keeps it until the next start's rewrite, which drops it
      return undefined;
    }
    return entry.payload;
  }

  return class FileAdapter {
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
     * @param {number} [expiresIn] seconds
     */
    async upsert(id, payload, expiresIn) {
      record(['set', this.key(id), payload, expiresIn ? Date.now() + expiresIn * 1000 : null]);
    }

    /** @param {string} id */
    async find(id) {
      return read(this.key(id));
    }

    /** @param {string} uid */
    async findByUid(uid) {
      const key = sessionByUid.get(uid);
      return key === undefined ? undefined : read(key);
    }

    /** @param {string} userCode */
    async findByUserCode(userCode) {
      for (const [key, entry] of entries) {
        if (key.startsWith(`${this.model}:`) && entry.payload?.userCode === userCode) return read(key);
      }
      return undefined;
    }

    /** @param {string} id */
    async consume(id) {
      if (entries.has(this.key(id))) record(['consume', this.key(id), Math.floor(Date.now() / 1000)]);
    }

    /** @param {string} id */
    async destroy(id) {
      if (entries.has(this.key(id))) record(['del', this.key(id)]);
    }

    /** @param {string} grantId */
    async revokeByGrantId(grantId) {
      for (const [key, entry] of [...entries]) {
        if (key.startsWith(`${this.model}:`) && entry.payload?.grantId === grantId) record(['del', key]);
      }
    }
  };
}
