// Bounded state for detectors: an LRU map (memory stays capped however many actors or patients a
// tenant has), a sliding window of timestamped keys (distinct counts over the last N minutes), and
// robust statistics (median, MAD) for baselines that one bursty day cannot drag up.

/** A Map that forgets its least recently used entry beyond `cap`. */
export class LruMap<K, V> {
  private readonly m = new Map<K, V>();
  constructor(readonly cap: number) {}
  get size(): number { return this.m.size; }
  has(k: K): boolean { return this.m.has(k); }
  get(k: K): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) { this.m.delete(k); this.m.set(k, v); }
    return v;
  }
  /** Read without refreshing recency. */
  peek(k: K): V | undefined { return this.m.get(k); }
  set(k: K, v: V): this {
    if (this.m.has(k)) this.m.delete(k);
    this.m.set(k, v);
    if (this.m.size > this.cap) this.m.delete(this.m.keys().next().value as K);
    return this;
  }
  /** The value for `k`, created by `make` if absent. */
  upsert(k: K, make: () => V): V {
    let v = this.get(k);
    if (v === undefined) { v = make(); this.set(k, v); }
    return v;
  }
  delete(k: K): boolean { return this.m.delete(k); }
  entries(): IterableIterator<[K, V]> { return this.m.entries(); }
  values(): IterableIterator<V> { return this.m.values(); }
}

/**
 * Distinct keys seen in the last `spanMs`, with the time each was last seen; at most `cap` keys
 * (the oldest go first, so a count saturates at `cap`, which is set above every alert threshold).
 */
export class DistinctWindow {
  private readonly seen = new Map<string, number>();
  constructor(readonly spanMs: number, readonly cap = 5000) {}
  /** Adds `key` at `t`; true when it was not in the window. */
  add(key: string, t: number): boolean {
    this.expire(t);
    const fresh = !this.seen.has(key);
    this.seen.delete(key);
    this.seen.set(key, t);
    if (this.seen.size > this.cap) this.seen.delete(this.seen.keys().next().value as string);
    return fresh;
  }
  has(key: string, t: number): boolean { this.expire(t); return this.seen.has(key); }
  count(t: number): number { this.expire(t); return this.seen.size; }
  private expire(t: number): void {
    for (const [k, at] of this.seen) {
      if (at > t - this.spanMs) break;
      this.seen.delete(k);
    }
  }
}

/** Timestamps in the last `spanMs` (bounded by `cap`): a rate. */
export class EventWindow {
  private readonly ts: number[] = [];
  private readonly pos: number[] = [];
  constructor(readonly spanMs: number, readonly cap = 1000) {}
  add(t: number, position: number): number {
    this.expire(t);
    this.ts.push(t); this.pos.push(position);
    if (this.ts.length > this.cap) { this.ts.shift(); this.pos.shift(); }
    return this.ts.length;
  }
  count(t: number): number { this.expire(t); return this.ts.length; }
  positions(): number[] { return this.pos.slice(); }
  private expire(t: number): void {
    while (this.ts.length && this.ts[0] <= t - this.spanMs) { this.ts.shift(); this.pos.shift(); }
  }
}

export function median(xs: readonly number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median absolute deviation scaled to a normal sigma (×1.4826). */
export function madSigma(xs: readonly number[]): number {
  const m = median(xs);
  return 1.4826 * median(xs.map((x) => Math.abs(x - m)));
}

/** A fixed-size ring of recent values (per-window counts) for a baseline. */
export class Ring {
  private readonly xs: number[] = [];
  constructor(readonly cap: number) {}
  push(x: number): void { this.xs.push(x); if (this.xs.length > this.cap) this.xs.shift(); }
  get length(): number { return this.xs.length; }
  values(): readonly number[] { return this.xs; }
  max(): number { return this.xs.reduce((a, b) => Math.max(a, b), 0); }
}
