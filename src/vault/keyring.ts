// Per-tenant data keys: generated here, stored wrapped in data_keys, unwrapped into a bounded
// in-memory cache. 'enc' keys encrypt resources; the 'idx' key (never the encryption key) makes
// blind indexes. A provider outage after the cache period refuses requests (fail closed).
import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../store/schema.ts';
import type { KeyProvider } from './key-provider.ts';
import { indexSubkey } from './blind-index.ts';

export class TenantKeys {
  private readonly subkeys = new Map<string, Buffer>();
  constructor(
    readonly tenantId: string,
    readonly encVersion: number,
    private readonly encKeys: Map<number, Buffer>,
    private readonly idxKey: Buffer,
    readonly loadedAt: number,
  ) {}
  private destroyed = false;
  enc(version: number): Buffer {
    if (this.destroyed) throw new Error('tenant keys were evicted');
    const k = this.encKeys.get(version);
    if (!k) throw new Error(`no data key version ${version} for this tenant`);
    return k;
  }
  get current(): Buffer { return this.enc(this.encVersion); }
  /** A copy of the index key, for import workers (same process; never stored or logged). */
  indexKeyCopy(): Buffer { return Buffer.from(this.idxKey); }
  /** HKDF subkey per resource type and search parameter, cached. */
  subkey(resourceType: string, param: string): Buffer {
    if (this.destroyed) throw new Error('tenant keys were evicted');
    const name = resourceType + '/' + param;
    let k = this.subkeys.get(name);
    if (!k) { k = indexSubkey(this.idxKey, resourceType, param); this.subkeys.set(name, k); }
    return k;
  }
  /** Overwrites key material in memory (called on eviction). */
  zero(): void {
    this.destroyed = true; // a request still holding this object fails (503) instead of using zeroed keys
    for (const k of this.encKeys.values()) k.fill(0);
    this.idxKey.fill(0);
    for (const k of this.subkeys.values()) k.fill(0);
  }
}

export class KeyringError extends Error {}

export const wrapContext = (tenantId: string, purpose: string, version: number) => `cerbere/v1/data-key|${tenantId}|${purpose}|${version}`;

export class Keyring {
  private readonly cache = new Map<string, TenantKeys>();
  private readonly loading = new Map<string, Promise<TenantKeys>>();
  constructor(private readonly db: Kysely<DB>, readonly provider: KeyProvider, private readonly ttlMs = 15 * 60_000) {}

  /** Creates version 1 of the tenant's encryption and index keys if they do not exist. */
  async ensureTenant(tenantId: string): Promise<void> {
    for (const purpose of ['enc', 'idx']) {
      const existing = await this.db.selectFrom('data_keys').select('version').where('tenant_id', '=', tenantId).where('purpose', '=', purpose).executeTakeFirst();
      if (existing) continue;
      const wrapped = await this.provider.wrap(randomBytes(32), wrapContext(tenantId, purpose, 1));
      await this.db.insertInto('data_keys').values({ tenant_id: tenantId, purpose, version: 1, wrapped, provider: this.provider.id }).execute();
    }
  }

  async keys(tenantId: string): Promise<TenantKeys> {
    const hit = this.cache.get(tenantId);
    if (hit && Date.now() - hit.loadedAt < this.ttlMs) return hit;
    let p = this.loading.get(tenantId);
    if (!p) {
      p = this.load(tenantId).finally(() => this.loading.delete(tenantId));
      this.loading.set(tenantId, p);
    }
    return p;
  }

  private async load(tenantId: string): Promise<TenantKeys> {
    const rows = await this.db.selectFrom('data_keys').select(['purpose', 'version', 'wrapped', 'retired_at'])
      .where('tenant_id', '=', tenantId).where('purpose', 'in', ['enc', 'idx']).orderBy('version').execute();
    const enc = new Map<number, Buffer>();
    let encVersion = 0;
    let idx: Buffer | null = null;
    for (const r of rows) {
      const plain = await this.provider.unwrap(Buffer.from(r.wrapped), wrapContext(tenantId, r.purpose, r.version));
      if (r.purpose === 'enc') { enc.set(r.version, plain); if (!r.retired_at) encVersion = Math.max(encVersion, r.version); }
      else if (r.purpose === 'idx') { idx?.fill(0); idx = plain; }
    }
    if (!encVersion || !idx) throw new KeyringError('tenant has no data keys');
    const keys = new TenantKeys(tenantId, encVersion, enc, idx, Date.now());
    const old = this.cache.get(tenantId);
    this.cache.set(tenantId, keys);
    // Let in-flight requests finish with the old object before zeroing it.
    if (old && old !== keys) setTimeout(() => old.zero(), 5_000).unref();
    return keys;
  }

  evictAll(): void {
    for (const k of this.cache.values()) k.zero();
    this.cache.clear();
  }
}
