/**
 * Seeded randomness, injected into the core (etcd's one weak spot is a global random source).
 * xoshiro128** seeded by splitmix32: fast, 32-bit, identical on every platform.
 */
export interface Rand {
  /** A uniformly distributed integer in [0, n). */
  intn(n: number): number;
  /** A float in [0, 1). */
  float(): number;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class SeededRand implements Rand {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    const sm = splitmix32(seed);
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
  }

  /** The next 32-bit unsigned integer. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c = (this.c ^ this.a) >>> 0;
    this.d = (this.d ^ this.b) >>> 0;
    this.b = (this.b ^ this.c) >>> 0;
    this.a = (this.a ^ this.d) >>> 0;
    this.c = (this.c ^ t) >>> 0;
    this.d = rotl(this.d, 11);
    return result;
  }

  intn(n: number): number {
    if (!(n > 0)) throw new RangeError(`intn: n must be positive, got ${n}`);
    return Math.floor(this.float() * n);
  }

  float(): number {
    return this.next() / 0x1_0000_0000;
  }

  /** A new generator derived from this one (for independent streams under one seed). */
  fork(): SeededRand {
    return new SeededRand(this.next());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
