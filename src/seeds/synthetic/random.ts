/**
 * Small, hand-written deterministic pseudo-random helpers for the synthetic directory.
 *
 * Why hand-written instead of a dependency (seedrandom, pure-rand, …) or Math.random():
 *  - the generated directory must be byte-identical for the same options on every machine, Node version and
 *    future version of this repository; a library upgrade that changes its algorithm would silently change
 *    every seeded data set (and every test fixture and benchmark built on it);
 *  - Math.random() cannot be seeded;
 *  - the generator needs *random access*: the attributes of practitioner #i must be computable without
 *    generating practitioners 0..i-1 (that is how references resolve in constant memory). So every entity
 *    gets its own stream, seeded by hashing (seed, entity tag, index) — a 32-bit integer hash plus
 *    mulberry32 does that in a dozen lines, with only 32-bit integer arithmetic (Math.imul, >>>), which is
 *    exact and identical on every JavaScript engine.
 */

/** Mixes one 32-bit value into a running hash (murmur3-style multiply/rotate + final avalanche later). */
function mix(h: number, v: number): number {
  let k = Math.imul(v | 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** murmur3 finaliser: full avalanche of a 32-bit value. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Unsigned 32-bit hash of a few integers (each taken modulo 2^32). Order-sensitive. */
export function hash32(a: number, b = 0, c = 0, d = 0): number {
  let h = 0x9747b28c;
  h = mix(h, a);
  h = mix(h, b);
  h = mix(h, c);
  h = mix(h, d);
  return fmix(h ^ 16);
}

/** A uniform float in [0, 1) from a hash of the given integers (no stream needed for one draw). */
export function unit(a: number, b = 0, c = 0, d = 0): number {
  return hash32(a, b, c, d) / 4294967296;
}

/**
 * mulberry32 (Tommy Ettinger, public domain): a tiny 32-bit-state generator with good statistical quality
 * for test data. One instance per entity; never shared across entities.
 */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Seeds a stream for one entity: (global seed, entity tag, index, sub-index). */
  static for(seed: number, tag: number, index: number, sub = 0): Rng {
    return new Rng(hash32(seed, tag, index, sub));
  }

  /** Next unsigned 32-bit integer. */
  nextU32(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). n must be ≥ 1. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

/**
 * Picks an index from a cumulative-weight table (ascending, last element = total) with a binary search.
 * `u` is a uniform draw in [0, 1).
 */
export function pickCumulative(cumulative: readonly number[] | Float64Array, u: number): number {
  const target = u * cumulative[cumulative.length - 1];
  let lo = 0;
  let hi = cumulative.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cumulative[mid] > target) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Builds a cumulative-weight table from weights. */
export function cumulativeOf(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i];
    out[i] = sum;
  }
  return out;
}
