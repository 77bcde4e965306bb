/**
 * A small seeded pseudo-random generator for fuzz tests, so that a failing run can be replayed:
 * every run prints its seed, and `FUZZ_SEED=<seed>` repeats it exactly.
 *
 * The generator is mulberry32 (32-bit state, period 2^32): not cryptographic, only reproducible.
 */

/** The fixed seed used when `FUZZ_SEED` is not set, so that CI runs are deterministic. */
export const DEFAULT_FUZZ_SEED = 0x5eed_0001;

/**
 * The seed of this run: `FUZZ_SEED` (decimal, or hexadecimal with `0x`) when set, else
 * {@link DEFAULT_FUZZ_SEED}.
 *
 * @throws TypeError when `FUZZ_SEED` is set but is not an integer
 */
export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FUZZ_SEED?.trim();
  if (raw === undefined || raw === '') return DEFAULT_FUZZ_SEED;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new TypeError(`FUZZ_SEED must be an integer, got ${JSON.stringify(raw)}`);
  return seed >>> 0;
}

/** A seeded random source with the helpers fuzz generators need. */
export class SeededRandom {
  #state: number;

  /** @param seed - any integer; only its low 32 bits are used */
  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1) (mulberry32). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** `true` with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  /** `count` random bytes. */
  bytes(count: number): Buffer {
    const out = Buffer.alloc(count);
    for (let i = 0; i < count; i++) out[i] = this.int(0, 255);
    return out;
  }

  /** `length` characters drawn from `alphabet`. */
  string(length: number, alphabet: string): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[this.int(0, alphabet.length - 1)];
    return out;
  }

  /** A length that is usually short, sometimes long: 0–16 mostly, up to `max` rarely. */
  length(max: number): number {
    const roll = this.next();
    if (roll < 0.7) return this.int(0, 16);
    if (roll < 0.95) return this.int(17, Math.min(512, max));
    return this.int(Math.min(513, max), max);
  }
}
