// Per-tenant data keys: generated here, stored wrapped in data_keys, unwrapped into a bounded
// in-memory cache. 'enc' keys encrypt resources; 'idx' keys (never the encryption key) make
// blind indexes. Both have versions (rotation, see src/ops/rotation.ts): writes use the newest
// non-retired 'enc' version and every non-retired 'idx' version; reads accept any non-retired one.
// Per-patient keys (patient_keys) are random, wrapped under the tenant's current 'enc' key and
// destroyable one by one (crypto-shredding, src/ops/erasure.ts).
// A provider outage after the cache period refuses requests (fail closed).
import { randomBytes, randomFillSync } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { KeyProvider } from './key-provider.ts';
import { indexSubkey } from './blind-index.ts';
import { aesGcmOpen, aesGcmSeal, HmacSha256Key, KEY_BYTES } from './aead.ts';
import type { PatientKeyRef } from './envelope.ts';
import { pack } from '../core/packed.ts';

/** Unwrapped per-patient keys of one tenant, by key number; bounded, zeroed on eviction. */
export class PatientKeyCache {
  private readonly map = new Map<number, Buffer>();
  constructor(private readonly max = 100_000) {}
  get(keyNo: number): Buffer | undefined { return this.map.get(keyNo); }
  set(keyNo: number, key: Buffer): void {
    if (this.map.size >= this.max) {
      const first = this.map.keys().next().value as number;
      this.delete(first);
    }
    this.map.set(keyNo, key);
  }
  delete(keyNo: number): void {
    this.map.get(keyNo)?.fill(0);
    this.map.delete(keyNo);
  }
  zero(): void { for (const k of this.map.values()) k.fill(0); this.map.clear(); }
  get size(): number { return this.map.size; }
}

function splitIdx(idx: Buffer | Map<number, Buffer>): Map<number, Buffer> {
  if (idx instanceof Map) return idx;
  // Concatenated 32-byte keys, newest first (the form import workers receive).
  const m = new Map<number, Buffer>();
  const n = idx.length / KEY_BYTES;
  for (let i = 0; i < n; i++) m.set(n - i, idx.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES));
  return m;
}

export class TenantKeys {
  private readonly subkeys = new Map<string, Buffer[]>();
  private readonly tokenKeys = new Map<string, HmacSha256Key[]>();
  private readonly idxKeys: Map<number, Buffer>;
  /** Non-retired index key versions, newest first. */
  readonly idxVersions: number[];
  constructor(
    readonly tenantId: string,
    readonly encVersion: number,
    private readonly encKeys: Map<number, Buffer>,
    idxKeys: Buffer | Map<number, Buffer>,
    readonly loadedAt: number,
    readonly patients: PatientKeyCache = new PatientKeyCache(),
  ) {
    this.idxKeys = splitIdx(idxKeys);
    this.idxVersions = [...this.idxKeys.keys()].sort((a, b) => b - a);
  }
  private destroyed = false;
  enc(version: number): Buffer {
    if (this.destroyed) throw new Error('tenant keys were evicted');
    const k = this.encKeys.get(version);
    if (!k) throw new Error(`no data key version ${version} for this tenant`);
    return k;
  }
  get current(): Buffer { return this.enc(this.encVersion); }
  /** Versions of the 'enc' key this object can open. */
  get encVersions(): number[] { return [...this.encKeys.keys()]; }
  /** Copies of the index keys (newest first, concatenated), for import workers (same process; never stored or logged). */
  indexKeyCopy(): Buffer {
    // Buffer.alloc, not concat: a pooled slice would share its 8 KiB pool with unrelated data.
    const out = Buffer.alloc(this.idxVersions.length * KEY_BYTES);
    this.idxVersions.forEach((v, i) => this.idxKeys.get(v)!.copy(out, i * KEY_BYTES));
    return out;
  }
  /** HKDF subkeys per resource type and search parameter, one per active index key version (newest first), cached.
   *  Writes store tokens under all of them; queries match any (index key rotation keeps search working). */
  subkeysFor(resourceType: string, param: string): Buffer[] {
    if (this.destroyed) throw new Error('tenant keys were evicted');
    const name = resourceType + '/' + param;
    let k = this.subkeys.get(name);
    if (!k) { k = this.idxVersions.map((v) => indexSubkey(this.idxKeys.get(v)!, resourceType, param)); this.subkeys.set(name, k); }
    return k;
  }
  /** Subkey under the newest index key version (for keyed hashes that need one value, e.g. in the access log). */
  subkey(resourceType: string, param: string): Buffer { return this.subkeysFor(resourceType, param)[0]; }
  /** The same subkeys prepared for blind-index tokens (blindToken), cached and zeroed with them. */
  tokenKeysFor(resourceType: string, param: string): HmacSha256Key[] {
    // Checked here too: a cached entry would otherwise hand out zeroed pads after eviction.
    if (this.destroyed) throw new Error('tenant keys were evicted');
    const name = resourceType + '/' + param;
    let k = this.tokenKeys.get(name);
    if (!k) { k = this.subkeysFor(resourceType, param).map((s) => new HmacSha256Key(s)); this.tokenKeys.set(name, k); }
    return k;
  }
  /** Token subkey under the newest index key version. */
  tokenKey(resourceType: string, param: string): HmacSha256Key { return this.tokenKeysFor(resourceType, param)[0]; }
  /** Unwrapped patient key by number, if loaded (Keyring.loadPatientKeys). */
  patientKey(keyNo: number): Buffer | undefined { return this.patients.get(keyNo); }
  /** Overwrites key material in memory (called on eviction). The patient-key cache is shared across reloads. */
  zero(): void {
    this.destroyed = true; // a request still holding this object fails (503) instead of using zeroed keys
    for (const k of this.encKeys.values()) k.fill(0);
    for (const k of this.idxKeys.values()) k.fill(0);
    for (const ks of this.subkeys.values()) for (const k of ks) k.fill(0);
    for (const ks of this.tokenKeys.values()) for (const k of ks) k.zero();
  }
}

export class KeyringError extends Error {}

export const wrapContext = (tenantId: string, purpose: string, version: number) => `cerbere/v1/data-key|${tenantId}|${purpose}|${version}`;
const patientWrapAad = (tenantId: string, keyNo: number, wrapVersion: number) => Buffer.from(`cerbere/v1/patient-key|${tenantId}|${keyNo}|${wrapVersion}`);

/** Wraps a patient key under the tenant's 'enc' data key version `wrapVersion` (AES-256-GCM, bound to tenant and key number). */
export function wrapPatientKey(keys: TenantKeys, keyNo: number, key: Buffer, wrapVersion = keys.encVersion, nonce: Buffer = randomBytes(12)): Buffer {
  const { ciphertext, tag } = aesGcmSeal(keys.enc(wrapVersion), nonce, key, patientWrapAad(keys.tenantId, keyNo, wrapVersion));
  return Buffer.concat([nonce, ciphertext, tag]);
}
export function unwrapPatientKey(keys: TenantKeys, keyNo: number, wrapped: Buffer, wrapVersion: number): Buffer {
  return aesGcmOpen(keys.enc(wrapVersion), wrapped.subarray(0, 12), wrapped.subarray(12, -16), wrapped.subarray(-16), patientWrapAad(keys.tenantId, keyNo, wrapVersion));
}

/** Patient keys for a batch: existing ones, and fresh ones not yet stored (Keyring.planPatientKeys). */
export interface PatientKeyPlan { refs: Map<string, PatientKeyRef>; fresh: { pid: string; keyNo: number; key: Buffer; nonce: Buffer }[] }

interface Cached { keys: TenantKeys; fingerprint: string; checkedAt: number; checking: boolean }
type Db = Kysely<DB> | Transaction<DB>;

export class Keyring {
  private readonly cache = new Map<string, Cached>();
  private readonly loading = new Map<string, Promise<TenantKeys>>();
  private readonly patientCaches = new Map<string, PatientKeyCache>();
  constructor(private readonly db: Kysely<DB>, readonly provider: KeyProvider, private readonly ttlMs = 15 * 60_000,
    /** How often a cached tenant checks data_keys for a new or retired version (bounds how long another process lags a rotation). */
    readonly refreshMs = 30_000) {}

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
    if (hit && Date.now() - hit.keys.loadedAt < this.ttlMs) {
      if (Date.now() - hit.checkedAt >= this.refreshMs && !hit.checking) void this.recheck(tenantId, hit);
      return hit.keys;
    }
    let p = this.loading.get(tenantId);
    if (!p) {
      p = this.load(tenantId).finally(() => this.loading.delete(tenantId));
      this.loading.set(tenantId, p);
    }
    return p;
  }

  /** Forces the next keys() call to reload from data_keys (after a rotation or retirement in this process). */
  invalidate(tenantId: string): void {
    const hit = this.cache.get(tenantId);
    if (!hit) return;
    this.cache.delete(tenantId);
    setTimeout(() => hit.keys.zero(), 5_000).unref();
  }

  private async fingerprint(tenantId: string): Promise<string> {
    const rows = await this.db.selectFrom('data_keys').select(['purpose', 'version', 'retired_at'])
      .where('tenant_id', '=', tenantId).where('purpose', 'in', ['enc', 'idx']).orderBy('purpose').orderBy('version').execute();
    return rows.map((r) => `${r.purpose}:${r.version}:${r.retired_at ? 'r' : ''}`).join(',');
  }

  /** A cheap query; reloads only when a version was added or retired elsewhere. Never blocks a request. */
  private async recheck(tenantId: string, hit: Cached): Promise<void> {
    hit.checking = true;
    try {
      const fp = await this.fingerprint(tenantId);
      hit.checkedAt = Date.now();
      if (fp !== hit.fingerprint && this.cache.get(tenantId) === hit && !this.loading.has(tenantId)) {
        // Reload in the background; requests keep the current keys until the new ones are ready.
        const p = this.load(tenantId).finally(() => this.loading.delete(tenantId));
        this.loading.set(tenantId, p);
        await p;
      }
    } catch { /* the next request retries; the provider/database failure surfaces there */ } finally { hit.checking = false; }
  }

  private async load(tenantId: string): Promise<TenantKeys> {
    const rows = await this.db.selectFrom('data_keys').select(['purpose', 'version', 'wrapped', 'retired_at'])
      .where('tenant_id', '=', tenantId).where('purpose', 'in', ['enc', 'idx']).orderBy('purpose').orderBy('version').execute();
    const fingerprint = rows.map((r) => `${r.purpose}:${r.version}:${r.retired_at ? 'r' : ''}`).join(',');
    const enc = new Map<number, Buffer>();
    const idx = new Map<number, Buffer>();
    let encVersion = 0;
    for (const r of rows) {
      if (r.retired_at) continue; // retired keys are never used again (their rows were re-encrypted or re-indexed)
      const plain = await this.provider.unwrap(r.wrapped, wrapContext(tenantId, r.purpose, r.version));
      if (r.purpose === 'enc') { enc.set(r.version, plain); encVersion = Math.max(encVersion, r.version); }
      else if (r.purpose === 'idx') idx.set(r.version, plain);
    }
    if (!encVersion || !idx.size) throw new KeyringError('tenant has no data keys');
    let pc = this.patientCaches.get(tenantId);
    if (!pc) { pc = new PatientKeyCache(); this.patientCaches.set(tenantId, pc); }
    const keys = new TenantKeys(tenantId, encVersion, enc, idx, Date.now(), pc);
    const old = this.cache.get(tenantId);
    this.cache.set(tenantId, { keys, fingerprint, checkedAt: Date.now(), checking: false });
    // Let in-flight requests finish with the old object before zeroing it.
    if (old && old.keys !== keys) setTimeout(() => old.keys.zero(), 5_000).unref();
    return keys;
  }

  // ---- versions (rotation) -------------------------------------------------------------------

  /** Adds a new version of the tenant's 'enc' or 'idx' key; this process uses it at once, others within refreshMs. */
  async addVersion(tenantId: string, purpose: 'enc' | 'idx'): Promise<number> {
    const cur = await this.db.selectFrom('data_keys').select((eb) => eb.fn.max('version').as('v'))
      .where('tenant_id', '=', tenantId).where('purpose', '=', purpose).executeTakeFirst();
    const version = Number(cur?.v ?? 0) + 1;
    const wrapped = await this.provider.wrap(randomBytes(32), wrapContext(tenantId, purpose, version));
    await this.db.insertInto('data_keys').values({ tenant_id: tenantId, purpose, version, wrapped, provider: this.provider.id }).execute();
    this.invalidate(tenantId);
    return version;
  }

  /** Marks every version of `purpose` below `keep` as retired: no process loads them after its next refresh. */
  async retireBelow(tenantId: string, purpose: 'enc' | 'idx', keep: number): Promise<number> {
    const r = await this.db.updateTable('data_keys').set({ retired_at: new Date() }).where('tenant_id', '=', tenantId)
      .where('purpose', '=', purpose).where('version', '<', keep).where('retired_at', 'is', null).executeTakeFirst();
    this.invalidate(tenantId);
    return Number(r.numUpdatedRows);
  }

  async versions(tenantId: string) {
    return this.db.selectFrom('data_keys').select(['purpose', 'version', 'created_at', 'retired_at', 'provider'])
      .where('tenant_id', '=', tenantId).where('purpose', 'in', ['enc', 'idx']).orderBy('purpose').orderBy('version').execute();
  }

  // ---- per-patient keys ----------------------------------------------------------------------

  /** Loads (unwraps into the cache) the patient keys with these numbers; missing ones stay missing (destroyed). */
  async loadPatientKeys(db: Db, keys: TenantKeys, keyNos: Iterable<number>): Promise<void> {
    const want = [...new Set(keyNos)].filter((n) => !keys.patients.get(n));
    if (!want.length) return;
    const rows = await db.selectFrom('patient_keys').select(['key_no', 'wrapped', 'wrap_version'])
      .where('tenant_id', '=', keys.tenantId).where('key_no', 'in', want).execute();
    for (const r of rows) keys.patients.set(r.key_no, unwrapPatientKey(keys, r.key_no, r.wrapped, r.wrap_version));
  }

  /** Unwraps one patient key fetched with its row (the read path joins patient_keys) into the cache. */
  cachePatientKey(keys: TenantKeys, keyNo: number, wrapped: Buffer, wrapVersion: number): void {
    try { keys.patients.set(keyNo, unwrapPatientKey(keys, keyNo, wrapped, wrapVersion)); } catch { /* left missing: the read fails closed */ }
  }

  /** The key of each patient id, created (random, wrapped) for patients that have none yet. Runs in the caller's transaction.
   *  Ids travel as one array parameter (= any), not one placeholder each: a 1,000-patient import batch is 2-3 short statements. */
  async ensurePatientKeys(db: Db, keys: TenantKeys, patientIds: Iterable<string>): Promise<Map<string, PatientKeyRef>> {
    return (await this.storePatientKeys(db, keys, await this.planPatientKeys(db, keys, patientIds))).refs;
  }

  /** First half of ensurePatientKeys, which may run before the writing transaction: the patients' existing keys,
   *  and fresh keys (numbered, not yet stored) for the others. Import workers seal under both. */
  async planPatientKeys(db: Db, keys: TenantKeys, patientIds: Iterable<string>, created?: ReadonlySet<string>): Promise<PatientKeyPlan> {
    const ids = [...new Set(patientIds)];
    const refs = new Map<string, PatientKeyRef>();
    if (!ids.length) return { refs, fresh: [] };
    // `created`: patients whose id this batch has just generated, so no key can exist for them yet.
    const lookup = created ? ids.filter((id) => !created.has(id)) : ids;
    if (lookup.length) await this.fetchPatientKeys(db, keys, lookup, refs);
    const missing = ids.filter((id) => !refs.has(id));
    if (!missing.length) return { refs, fresh: [] };
    // A number taken here and not stored (failed batch, lost race) is never reused: sequences do not roll back.
    const nos = (await sql<{ n: number }>`select nextval('patient_key_seq')::int as n from generate_series(1, ${missing.length})`.execute(db)).rows.map((r) => Number(r.n));
    // One call to the random generator for the whole batch (keys and wrapping nonces): per-key calls were ≈ 2 % of an import.
    const random = randomFillSync(Buffer.alloc(missing.length * 44));
    const fresh = missing.map((pid, i) => ({ pid, keyNo: nos[i], key: random.subarray(i * 44, i * 44 + 32), nonce: random.subarray(i * 44 + 32, i * 44 + 44) }));
    for (const f of fresh) refs.set(f.pid, { keyNo: f.keyNo, key: f.key });
    return { refs, fresh };
  }

  /** Second half, in the writing transaction: stores the plan's fresh keys. A patient whose key another
   *  transaction stored first gets that key instead, and is named in `lost` (values sealed under the planned key
   *  must be sealed again). A failed transaction leaves no key behind. */
  async storePatientKeys(db: Db, keys: TenantKeys, plan: PatientKeyPlan): Promise<{ refs: Map<string, PatientKeyRef>; lost: Set<string> }> {
    const refs = new Map(plan.refs);
    const lost = new Set<string>();
    if (!plan.fresh.length) return { refs, lost };
    const fresh = plan.fresh;
    // Wrapped keys travel as one binary parameter cut by offset (e: end, l: length).
    const wrapped = pack(fresh.map((f) => wrapPatientKey(keys, f.keyNo, f.key, keys.encVersion, f.nonce)));
    const inserted = new Set((await sql<{ patient_id: string }>`insert into patient_keys (tenant_id, key_no, patient_id, wrap_version, wrapped)
      select ${keys.tenantId}, n, p, ${keys.encVersion}, substring(${wrapped.bytes}::bytea from e - l + 1 for l)
      from unnest(${fresh.map((f) => f.keyNo)}::int[], ${fresh.map((f) => f.pid)}::text[], ${wrapped.ends}::int[], ${wrapped.lengths}::int[]) as x(n, p, e, l)
      on conflict (tenant_id, patient_id) do nothing returning patient_id`.execute(db)).rows.map((r) => r.patient_id));
    for (const f of fresh) {
      if (inserted.has(f.pid)) { keys.patients.set(f.keyNo, f.key); continue; }
      refs.delete(f.pid);
      lost.add(f.pid);
      f.key.fill(0);
    }
    // A concurrent transaction created the others first: theirs are the keys.
    if (lost.size) await this.fetchPatientKeys(db, keys, [...lost], refs);
    return { refs, lost };
  }

  private async fetchPatientKeys(db: Db, keys: TenantKeys, ids: string[], out: Map<string, PatientKeyRef>): Promise<void> {
    // One unique-index probe per id whatever the statistics say: with `patient_id = any(…)`, a never-analysed
    // patient_keys (a bulk import, autovacuum off) was planned as a scan of the whole tenant, for every batch.
    const rows = (await sql<{ patient_id: string; key_no: number; wrapped: Buffer; wrap_version: number }>`select k.patient_id, k.key_no, k.wrapped, k.wrap_version
      from unnest(${ids}::text[]) as x(pid)
      cross join lateral (select patient_id, key_no, wrapped, wrap_version from patient_keys where tenant_id = ${keys.tenantId} and patient_id = x.pid) k`.execute(db)).rows;
    for (const r of rows) {
      let k = keys.patients.get(r.key_no);
      if (!k) { k = unwrapPatientKey(keys, r.key_no, r.wrapped, r.wrap_version); keys.patients.set(r.key_no, k); }
      out.set(r.patient_id, { keyNo: r.key_no, key: k });
    }
  }

  /** Forgets a destroyed patient key in this process (other processes hold it at most until their cache evicts it;
   *  the rows it opened are gone from the database by then). */
  forgetPatientKey(tenantId: string, keyNo: number): void {
    this.patientCaches.get(tenantId)?.delete(keyNo);
  }

  evictAll(): void {
    for (const k of this.cache.values()) k.keys.zero();
    this.cache.clear();
    for (const pc of this.patientCaches.values()) pc.zero();
    this.patientCaches.clear();
  }
}
