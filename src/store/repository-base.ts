// The repository's shared part: its dependencies, the type-level access check, keys, decryption, recording
// and the 503 mapping of failures (repository.ts is the class callers use).
import { type Kysely, type Transaction } from 'kysely';
import type { DB } from '../core/schema.ts';
import { unnamed, type PreparedQuery } from './db.ts';
import type { Keyring, TenantKeys } from '../vault/keyring.ts';
import { AuditUnavailableError, type AccessEvent, type AccessRecorder } from '../core/access-event.ts';
import type { AccessContext } from '../core/context.ts';
import { type Interaction } from '../access/policy.ts';
import { FhirError } from '../fhir/outcome.ts';
import { SUPPORTED_TYPES } from '../fhir/validate.ts';
import { ImportPool } from './import-pool.ts';
import { patientOf } from '../fhir/search-params.ts';
import { bodyPatientKeyNo, envelopeCipher, resourceAad, type ResourceCipher } from '../vault/resource-cipher.ts';
import type { PatientKeyRef } from '../vault/envelope.ts';
import { RepositoryLifecycle } from './repository-lifecycle.ts';
import { blindToken } from '../vault/blind-index.ts';
import { AccessDecider } from '../access/decider.ts';


export interface VersionInfo { versionId: number; lastUpdated: Date }
export interface ReadResult extends VersionInfo { json: string }
export interface WriteResult extends VersionInfo { resource: any; created: boolean }
export interface HistoryEntry extends VersionInfo { deleted: boolean; resource: any | null; method: 'POST' | 'PUT' | 'DELETE' }
export interface SearchResult { matches: any[]; includes: any[]; total?: number; hasMore: boolean }

export type Db = Kysely<DB> | Transaction<DB>;
export interface CurrentRow { version: number; last_updated: Date; deleted: boolean; body: Buffer | null }
export interface PatientKeyCols { pk_no: number | null; pk_wrapped: Buffer | null; pk_wrap: number | null }
/** A requested id that matched nothing may be anything a user typed (even a NIR): the append-only
 *  log keeps only a keyed hash of it, enough to see repeated probing of the same id. */
export const unknownRef = (keys: TenantKeys, type: string, id: string) => `${type}/#${blindToken(keys.tokenKey('_audit', 'unknown-id'), id).toString(16)}`;
// The patient key named by the body's header comes in the same round trip (one query per read, cache or not).
export const READ_SQL = `select r.version, r.last_updated, r.deleted, r.body, pk.key_no as pk_no, pk.wrapped as pk_wrapped, pk.wrap_version as pk_wrap
  from resources r left join patient_keys pk on pk.tenant_id = r.tenant_id and pk.key_no = (case when length(r.body) >= 10 and get_byte(r.body, 0) = 1 and get_byte(r.body, 1) = 1
    then get_byte(r.body, 6)::bigint * 16777216 + get_byte(r.body, 7) * 65536 + get_byte(r.body, 8) * 256 + get_byte(r.body, 9) end)
  where r.tenant_id = $1 and r.resource_type = $2 and r.id = $3`;

/** Collects what one unit of work touched, for its access event and its deferred reference check. */
export class WorkLog {
  refs: string[] = [];
  patients: string[] = [];
  outgoing = new Map<string, Set<string>>();
  /** Break-glass accesses this work relied on (flagged in its access event). */
  breakGlass = new Set<string>();
  note(type: string, id: string, resource: any | null) {
    this.refs.push(`${type}/${id}`);
    const p = resource ? patientOf(resource) : type === 'Patient' ? id : null;
    if (p) this.patients.push(p);
  }
}

export class RepositoryBase {
  protected readonly cipher: ResourceCipher;
  protected readonly importPool = new ImportPool();
  /** Scope, masking, care relationships, break-glass and bulk limits (src/access/decider.ts). */
  readonly access: AccessDecider;
  /** Key-lifecycle operations on patient tables (re-encryption, re-index, crypto-shredding, retention). */
  readonly lifecycle: RepositoryLifecycle;
  constructor(protected readonly deps: { db: Kysely<DB>; keyring: Keyring; audit: AccessRecorder; cipher?: ResourceCipher; prepared?: PreparedQuery; access?: AccessDecider }) {
    this.cipher = deps.cipher ?? envelopeCipher;
    this.access = deps.access ?? new AccessDecider(deps.db, { searchPatientsPerHour: 0, searchPatientsPerHourClient: 0, breakGlassMaxMinutes: 30, careLinkDays: 90 }, deps.audit);
    this.lifecycle = new RepositoryLifecycle({ ...deps, cipher: this.cipher });
  }

  get db(): Kysely<DB> { return this.deps.db; }
  protected get prepared(): PreparedQuery { return this.deps.prepared ?? unnamed(this.db); }

  async close(): Promise<void> { await this.importPool.close(); }

  // ---- shared ------------------------------------------------------------------------------

  protected check(ctx: AccessContext, interaction: Interaction, type: string): void {
    if (!(SUPPORTED_TYPES as readonly string[]).includes(type)) throw FhirError.notFoundType(type);
    this.access.permit(ctx, interaction, type);
  }

  /**
   * Recomputes the blind-index tokens (with the compartment token) and the care relationships of
   * every current resource of a tenant, in batches: for data stored before authorization existed
   * (migration 7). System context only; one access event per batch.
   */
  protected async keys(ctx: AccessContext): Promise<TenantKeys> {
    try { return await this.deps.keyring.keys(ctx.tenantId); } catch {
      throw FhirError.serviceUnavailable('key provider unavailable');
    }
  }

  /** The key of the patient whose compartment `input` belongs to (created if new), or undefined. */
  protected async patientKeyFor(tx: Db, keys: TenantKeys, input: any, id: string): Promise<PatientKeyRef | undefined> {
    const pid = input?.resourceType === 'Patient' ? id : patientOf(input);
    if (!pid) return undefined;
    return (await this.deps.keyring.ensurePatientKeys(tx, keys, [pid])).get(pid);
  }

  /** Unwraps the patient keys named by these bodies' headers (one query for the missing ones). */
  protected async loadPatientKeys(keys: TenantKeys, bodies: Array<Uint8Array | null>, db: Db = this.db): Promise<void> {
    let nos: number[] | null = null;
    for (const b of bodies) {
      const n = bodyPatientKeyNo(b);
      if (n !== null && !keys.patients.get(n)) (nos ??= []).push(n);
    }
    if (nos) await this.guard(() => this.deps.keyring.loadPatientKeys(db, keys, nos));
  }

  protected open(keys: TenantKeys, tenantId: string, type: string, id: string, version: number, body: Buffer): string {
    try {
      return this.cipher.open(keys, resourceAad(tenantId, type, id, version), body).toString('utf8');
    } catch {
      throw FhirError.serviceUnavailable(`${type}/${id} could not be decrypted`);
    }
  }

  protected async record(ctx: AccessContext, e: AccessEvent): Promise<void> {
    try { await this.deps.audit.record(ctx, e); } catch {
      throw FhirError.serviceUnavailable('access log unavailable');
    }
  }

  /** Database failures become 503 (fail closed, no driver message leaks); FHIR errors pass through. */
  protected async guard<T>(fn: () => Promise<T>): Promise<T> {
    try { return await fn(); } catch (e) {
      if (e instanceof FhirError) throw e;
      if (e instanceof AuditUnavailableError) throw FhirError.serviceUnavailable('access log unavailable');
      throw FhirError.serviceUnavailable('database unavailable', e);
    }
  }
}

export const breakGlassSuffix = (ids: Iterable<string>) => { const a = [...ids]; return a.length ? `;break-glass=${a.join(',')};flag=review` : ''; };
export const breakGlassDetail = (ids: string[]): { detail?: string } => (ids.length ? { detail: breakGlassSuffix(ids).slice(1) } : {});

export interface TransactionOps {
  create(resource: any, id?: string): Promise<WriteResult>;
  update(type: string, id: string, resource: any, ifMatch?: number): Promise<WriteResult>;
  delete(type: string, id: string): Promise<VersionInfo | null>;
}
