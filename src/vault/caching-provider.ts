// Unwrap cache in front of a remote or hardware key provider: an unwrapped data key stays in memory
// for at most `ttlMs`, then is overwritten with zeros (Buffer.fill(0)). Each (wrapped key, context)
// is unwrapped by the HSM/Vault at most once per cache period, however many callers ask for it.
import { createHash } from 'node:crypto';
import type { KeyProvider } from './key-provider.ts';

interface Entry { key: Buffer; expires: number }

export class CachingKeyProvider implements KeyProvider {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Buffer>>();
  private readonly timer: NodeJS.Timeout;

  constructor(readonly inner: KeyProvider, readonly ttlMs = 15 * 60_000) {
    this.timer = setInterval(() => this.sweep(), Math.max(1000, Math.min(ttlMs, 60_000)));
    this.timer.unref();
  }

  get id(): string { return this.inner.id; }
  wrap(plain: Buffer, context: string): Promise<Buffer> { return this.inner.wrap(plain, context); }
  check(): Promise<void> { return this.inner.check(); }

  async unwrap(wrapped: Buffer, context: string): Promise<Buffer> {
    const k = createHash('sha256').update(wrapped).update('\0').update(context).digest('base64');
    const hit = this.cache.get(k);
    if (hit && hit.expires > Date.now()) return Buffer.from(hit.key); // a copy: callers zero theirs
    if (hit) this.evict(k);
    let p = this.inflight.get(k);
    if (!p) {
      p = this.inner.unwrap(wrapped, context).then((key) => {
        this.cache.set(k, { key: Buffer.from(key), expires: Date.now() + this.ttlMs });
        key.fill(0);
        return this.cache.get(k)!.key;
      }).finally(() => this.inflight.delete(k));
      this.inflight.set(k, p);
    }
    return Buffer.from(await p);
  }

  async rotate(): Promise<string> {
    if (!this.inner.rotate) throw new Error('this key provider cannot rotate its key-encryption key');
    return this.inner.rotate();
  }

  async rewrap(wrapped: Buffer, context: string): Promise<Buffer> {
    if (this.inner.rewrap) return this.inner.rewrap(wrapped, context);
    const plain = await this.unwrap(wrapped, context);
    try { return await this.inner.wrap(plain, context); } finally { plain.fill(0); }
  }

  private evict(k: string): void {
    const e = this.cache.get(k);
    if (e) { e.key.fill(0); this.cache.delete(k); }
  }

  /** Drops expired entries (zeroed). */
  sweep(now = Date.now()): void {
    for (const [k, e] of this.cache) if (e.expires <= now) this.evict(k);
  }

  /** Zeroes and drops every cached key (e.g. after an outage test, or on shutdown). */
  evictAll(): void {
    for (const k of [...this.cache.keys()]) this.evict(k);
  }

  get size(): number { return this.cache.size; }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.evictAll();
    await this.inner.close?.();
  }
}
