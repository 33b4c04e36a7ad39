// Bounded state for detectors: an LRU map (memory stays capped however many actors or patients a
// tenant has), a sliding window of timestamped keys (distinct counts over the last N minutes), and
// robust statistics (median, MAD) for baselines that one bursty day cannot drag up.

/** A Map that forgets its least recently used entry beyond `cap`. */
export class LruMap<K, V> {
  // A Map to nodes of a doubly linked list, oldest first: a hit moves its node to the end, with no
  // delete and re-insert in the Map (whose deleted slots every later iteration would skip over).
  private readonly m = new Map<K, LruNode<K, V>>();
  private head: LruNode<K, V> | null = null;
  private tail: LruNode<K, V> | null = null;
  constructor(readonly cap: number) {}
  get size(): number { return this.m.size; }
  has(k: K): boolean { return this.m.has(k); }
  get(k: K): V | undefined {
    const n = this.m.get(k);
    if (n === undefined) return undefined;
    if (n.v !== undefined) this.touch(n);
    return n.v;
  }
  /** Read without refreshing recency. */
  peek(k: K): V | undefined { return this.m.get(k)?.v; }
  set(k: K, v: V): this {
    const n = this.m.get(k);
    if (n !== undefined) { n.v = v; this.touch(n); return this; }
    const fresh: LruNode<K, V> = { k, v, prev: this.tail, next: null };
    if (this.tail) this.tail.next = fresh; else this.head = fresh;
    this.tail = fresh;
    this.m.set(k, fresh);
    if (this.m.size > this.cap) this.delete(this.head!.k);
    return this;
  }
  /** The value for `k`, created by `make` if absent. */
  upsert(k: K, make: () => V): V {
    let v = this.get(k);
    if (v === undefined) { v = make(); this.set(k, v); }
    return v;
  }
  delete(k: K): boolean {
    const n = this.m.get(k);
    if (n === undefined) return false;
    this.unlink(n);
    return this.m.delete(k);
  }
  *entries(): IterableIterator<[K, V]> { for (let n = this.head; n; n = n.next) yield [n.k, n.v]; }
  *values(): IterableIterator<V> { for (let n = this.head; n; n = n.next) yield n.v; }
  private touch(n: LruNode<K, V>): void {
    if (n === this.tail) return;
    this.unlink(n);
    n.prev = this.tail; n.next = null;
    this.tail!.next = n;
    this.tail = n;
  }
  private unlink(n: LruNode<K, V>): void {
    if (n.prev) n.prev.next = n.next; else this.head = n.next;
    if (n.next) n.next.prev = n.prev; else this.tail = n.prev;
    n.prev = n.next = null;
  }
}
interface LruNode<K, V> { k: K; v: V; prev: LruNode<K, V> | null; next: LruNode<K, V> | null }

/**
 * Distinct keys seen in the last `spanMs`, with the time each was last seen; at most `cap` keys
 * (the oldest go first, so a count saturates at `cap`, which is set above every alert threshold).
 */
export class DistinctWindow {
  // Each add appends (key, t) to a queue and points the key at it; an entry the key no longer points
  // at is stale and skipped. Expiry and eviction pop from the front; the queue is rebuilt from its
  // live entries when half of it is stale, so every operation is O(1) amortized.
  private readonly seen = new Map<string, number>();
  private keys: string[] = [];
  private ts: number[] = [];
  private head = 0;
  /** The front index last found live (it stays live until its key is added again): no lookup to know it. */
  private checked = -1;
  constructor(readonly spanMs: number, readonly cap = 5000) {}
  /** Adds `key` at `t`; true when it was not in the window. */
  add(key: string, t: number): boolean {
    this.expire(t);
    const at = this.seen.get(key);
    if (at === this.checked) this.checked = -1;
    const fresh = at === undefined;
    if (this.keys.length >= 2 * this.seen.size + 1024) this.compact();
    this.seen.set(key, this.keys.length);
    this.keys.push(key); this.ts.push(t);
    if (this.seen.size > this.cap && this.live()) this.seen.delete(this.keys[this.head++]);
    return fresh;
  }
  has(key: string, t: number): boolean { this.expire(t); return this.seen.has(key); }
  count(t: number): number { this.expire(t); return this.seen.size; }
  private expire(t: number): void {
    while (this.live() && this.ts[this.head] <= t - this.spanMs) this.seen.delete(this.keys[this.head++]);
  }
  /** Skips stale entries at the front; true when the front is a live one. */
  private live(): boolean {
    const { keys, seen } = this;
    while (this.head < keys.length) {
      if (this.head === this.checked || seen.get(keys[this.head]) === this.head) { this.checked = this.head; return true; }
      this.head++;
    }
    return false;
  }
  private compact(): void {
    const keys: string[] = [], ts: number[] = [];
    for (let i = this.head; i < this.keys.length; i++) {
      const k = this.keys[i];
      if (this.seen.get(k) !== i) continue;
      this.seen.set(k, keys.length);
      keys.push(k); ts.push(this.ts[i]);
    }
    this.keys = keys; this.ts = ts; this.head = 0; this.checked = -1;
  }
}

/** Timestamps in the last `spanMs` (bounded by `cap`): a rate. */
export class EventWindow {
  // Arrays with a moving front, trimmed when half of them is behind it: no O(n) shift per event.
  private ts: number[] = [];
  private pos: number[] = [];
  private head = 0;
  constructor(readonly spanMs: number, readonly cap = 1000) {}
  add(t: number, position: number): number {
    this.expire(t);
    this.ts.push(t); this.pos.push(position);
    if (this.ts.length - this.head > this.cap) this.head++;
    if (this.head >= 64 && 2 * this.head >= this.ts.length) { this.ts = this.ts.slice(this.head); this.pos = this.pos.slice(this.head); this.head = 0; }
    return this.ts.length - this.head;
  }
  count(t: number): number { this.expire(t); return this.ts.length - this.head; }
  /** The positions in the window, oldest first; the `last` newest only if given. */
  positions(last = Infinity): number[] { return this.pos.slice(Math.max(this.head, this.pos.length - last)); }
  private expire(t: number): void {
    while (this.head < this.ts.length && this.ts[this.head] <= t - this.spanMs) this.head++;
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
