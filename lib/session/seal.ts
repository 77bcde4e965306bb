/**
 * Seals a JSON payload into an encrypted, authenticated string, and opens it again.
 *
 * The format is a JWE compact serialization (RFC 7516 §7.1) with `alg: "dir"` and
 * `enc: "A256GCM"` (RFC 7518 §4.5, §5.3), whose plaintext is a JSON object carrying its own
 * `iat`/`exp` (seconds since the epoch, as JWT, RFC 7519 §4.1.4) and a format version `v`,
 * optionally followed by a newline (0x0A, which `JSON.stringify` never writes) and binary bytes:
 * the attachment, for data that would otherwise be base64 inside base64 (an ID token).
 * Any JOSE library can open it with the derived key; it is produced with `node:crypto`
 * directly because WebCrypto's per-call overhead would dominate every guarded request.
 *
 * Keys: each secret gives one 256-bit key per purpose by HKDF-SHA-256 (RFC 5869) with a purpose label, and
 * a key id (`kid`) derived the same way with another label, so a sealed value names the key
 * that opens it without revealing anything about it. Keys are derived once, at start-up.
 *
 * @packageDocumentation
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, type KeyObject, createSecretKey } from 'node:crypto';

/** Version of the sealed payload; bumped when its shape changes, older versions read as "no session". */
export const SEAL_VERSION = 1;

/**
 * What a sealer's keys are for: each purpose derives its own keys (HKDF `info`), so a value sealed
 * for one purpose never opens as another (a pending login is not a session cookie, a store record
 * is not either). `'session-cookie'` keeps the label of 0.1.x, whose cookies still open.
 */
export type SealPurpose = 'session-cookie' | 'session-record' | 'transaction' | 'logout';
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface SealKey {
  /** base64url of the protected header `{"alg":"dir","enc":"A256GCM","kid":…}`: also the AAD (RFC 7516 §5.1 step 14). */
  header: string;
  key: KeyObject;
}

/** What {@link Sealer.unseal} returns: the payload, and whether it was sealed with an older secret. */
export interface Unsealed<T> {
  payload: T & SealedClaims;
  /** `true` when a secret other than the first opened it: reseal to rotate (key rotation). */
  staleKey: boolean;
  /** The bytes sealed after the payload, if any. */
  attachment?: Buffer;
}

/** Separates the JSON payload from the attachment in the plaintext. */
const ATTACHMENT_SEPARATOR = Buffer.from('\n');

/** The claims every sealed payload carries, in seconds since the epoch. */
export interface SealedClaims {
  v: number;
  iat: number;
  exp: number;
}

function deriveKey(secret: string, purpose: SealPurpose): SealKey {
  const keyBytes = Buffer.from(hkdfSync('sha256', secret, '', `express-oidc-callback/${purpose}/A256GCM/v1`, 32));
  const kid = Buffer.from(hkdfSync('sha256', secret, '', `express-oidc-callback/${purpose}/kid/v1`, 9)).toString('base64url');
  const header = Buffer.from(JSON.stringify({ alg: 'dir', enc: 'A256GCM', kid })).toString('base64url');
  return { header, key: createSecretKey(keyBytes) };
}

/**
 * Seals and opens payloads with keys derived from a list of secrets: the first seals, every one
 * opens (rotation, as express-session's `secret` array).
 */
export class Sealer {
  readonly #keys: readonly SealKey[];
  readonly #byHeader: ReadonlyMap<string, { key: KeyObject; index: number }>;

  /**
   * @param secrets - at least one secret; the caller checked their length
   * @param purpose - what the sealed values are for: each purpose has its own keys
   * @param alsoOpens - an earlier purpose whose values this one still opens (reported as
   *   `staleKey`, so that they are resealed with this purpose's key), for a migration window
   */
  constructor(secrets: readonly string[], purpose: SealPurpose = 'session-cookie', alsoOpens?: SealPurpose) {
    if (secrets.length === 0) throw new TypeError('Sealer needs at least one secret');
    this.#keys = secrets.map((secret) => deriveKey(secret, purpose));
    const older = alsoOpens === undefined ? [] : secrets.map((secret) => deriveKey(secret, alsoOpens));
    this.#byHeader = new Map([
      ...older.map((k): [string, { key: KeyObject; index: number }] => [k.header, { key: k.key, index: -1 }]),
      ...this.#keys.map((k, index): [string, { key: KeyObject; index: number }] => [k.header, { key: k.key, index }]),
    ]);
  }

  /**
   * Seals `payload` so that it can be opened until `expiresAt`.
   *
   * @param payload - any JSON-serialisable object; `v`, `iat` and `exp` are set here
   * @param expiresAt - absolute expiry, in seconds since the epoch
   * @param attachment - bytes sealed after the payload, given back by {@link Sealer.unseal}
   * @returns a JWE compact serialization (five base64url parts, the second empty)
   */
  seal(payload: object, expiresAt: number, attachment?: Uint8Array): string {
    const { header, key } = this.#keys[0]!;
    const claims = { ...payload, v: SEAL_VERSION, iat: Math.floor(Date.now() / 1000), exp: Math.floor(expiresAt) };
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(header, 'ascii'));
    const json = cipher.update(JSON.stringify(claims), 'utf8');
    const ciphertext = Buffer.concat(attachment === undefined
      ? [json, cipher.final()]
      : [json, cipher.update(ATTACHMENT_SEPARATOR), cipher.update(attachment), cipher.final()]);
    return `${header}..${iv.toString('base64url')}.${ciphertext.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
  }

  /**
   * Opens a sealed value. Each part must be the canonical base64url of its bytes (RFC 7515 §2:
   * no padding, no other characters, unused bits zero), so a recoded cookie is refused too.
   * Never throws: anything that is not a value this sealer made, with a
   * listed secret, of the current version and not past its `exp`, gives `undefined`.
   *
   * @param sealed - the value from {@link Sealer.seal}
   * @param now - the current time, in seconds since the epoch (for tests); default: the clock
   */
  unseal<T extends object>(sealed: string, now = Date.now() / 1000): Unsealed<T> | undefined {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[1] !== '') return undefined;
    const [header, , ivB64, ciphertextB64, tagB64] = parts as [string, string, string, string, string];
    const entry = this.#byHeader.get(header);
    if (entry === undefined) return undefined;
    const iv = strictBase64url(ivB64);
    const ciphertext = strictBase64url(ciphertextB64);
    const tag = strictBase64url(tagB64);
    if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || ciphertext === undefined) return undefined;
    let plaintext: Buffer;
    try {
      const decipher = createDecipheriv('aes-256-gcm', entry.key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(header, 'ascii'));
      decipher.setAuthTag(tag);
      plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      return undefined; // wrong key or tampered: the GCM tag does not verify
    }
    const separator = plaintext.indexOf(ATTACHMENT_SEPARATOR);
    let payload: unknown;
    try {
      payload = JSON.parse((separator < 0 ? plaintext : plaintext.subarray(0, separator)).toString('utf8'));
    } catch {
      return undefined;
    }
    if (payload === null || typeof payload !== 'object') return undefined;
    const claims = payload as Partial<SealedClaims>;
    if (claims.v !== SEAL_VERSION || typeof claims.exp !== 'number' || claims.exp <= now) return undefined;
    return {
      payload: payload as T & SealedClaims,
      staleKey: entry.index !== 0,
      ...(separator >= 0 && { attachment: plaintext.subarray(separator + 1) }),
    };
  }
}

/**
 * The bytes of `value` when it is their one canonical base64url encoding, else `undefined`.
 * Node's decoder skips characters outside the alphabet and ignores a last character's unused
 * bits, so several strings decode to the same bytes; only the canonical one is accepted.
 */
function strictBase64url(value: string): Buffer | undefined {
  const bytes = Buffer.from(value, 'base64url');
  return bytes.toString('base64url') === value ? bytes : undefined;
}
