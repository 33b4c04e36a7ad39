// Deterministic randomness for the synthetic data generator (never Math.random).
// ---------------------------------------------------------------------------------------------
// PRNG: sfc32 (128-bit state), seeded through splitmix32.

export function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare = NaN;

  constructor(seed: number) {
    const sm = splitmix32(seed);
    this.a = sm(); this.b = sm(); this.c = sm(); this.d = sm();
    for (let i = 0; i < 12; i++) this.u32();
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** [0, 1) */
  float(): number { return this.u32() / 4294967296; }
  /** Integer in [0, n). */
  int(n: number): number { return Math.floor(this.float() * n); }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number { return lo + Math.floor(this.float() * (hi - lo + 1)); }
  chance(p: number): boolean { return this.float() < p; }
  pick<T>(a: readonly T[]): T { return a[Math.floor(this.float() * a.length)]; }
  /** Standard normal (Marsaglia polar method, pairs cached). */
  normal(): number {
    if (this.spare === this.spare) { const s = this.spare; this.spare = NaN; return s; }
    let u: number, v: number, s: number;
    do { u = this.float() * 2 - 1; v = this.float() * 2 - 1; s = u * u + v * v; } while (s >= 1 || s === 0);
    const m = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * m;
    return u * m;
  }
}

/** Weighted sampling in O(1): an array of indexes repeated in proportion to the weights. */
export function aliasTable(weights: readonly number[], size = 4096): Uint16Array {
  const total = weights.reduce((s, w) => s + w, 0);
  const table = new Uint16Array(size);
  let acc = 0;
  let j = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i];
    const end = Math.round((acc / total) * size);
    while (j < end) table[j++] = i;
  }
  while (j < size) table[j++] = weights.length - 1;
  return table;
}

export function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

