// The repository's key-lifecycle operations on the patient tables: background re-encryption to a
// new data-key version, re-indexing under a new index key, crypto-shredding (erasure), retention
// purges. Part of the repository (constructed by it, reached as `repo.lifecycle`): like every
// repository call it takes an access context, checks the actor's capability and writes its access
// event in the same transaction, with counts and internal ids only.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { Keyring, TenantKeys } from '../vault/keyring.ts';
import type { AccessRecorder } from '../core/access-event.ts';
import type { AccessContext } from '../core/context.ts';
import type { Capability } from '../access/policy.ts';
import { requireCapability } from '../access/capabilities.ts';
import { FhirError } from '../fhir/outcome.ts';
import { FHIR_ID_REGEX as ID } from '../fhir/validate.ts';
import { patientOf } from '../fhir/search-params.ts';
import { bodyKeyVersion, bodyPatientKeyNo, resourceAad, type ResourceCipher } from '../vault/resource-cipher.ts';
import { envelopeIdentity, type PatientKeyRef } from '../vault/envelope.ts';
import { resourceTokens } from './indexer.ts';
import { withCompartmentToken } from '../access/care-links.ts';

type Db = Kysely<DB> | Transaction<DB>;
export type RekeyTable = 'resources' | 'resource_history';
export interface RekeyBatch { next: string | null; scanned: number; changed: number; skipped: number; failed: number }

/** Patient key number of a stored body, in SQL (null for tenant-scope or empty bodies). Layout: src/vault/envelope.ts. */
const PK_NO = (col = sql.ref('body')) => sql<number>`(case when length(${col}) >= 10 and get_byte(${col}, 0) = 1 and get_byte(${col}, 1) = 1
  then get_byte(${col}, 6)::bigint * 16777216 + get_byte(${col}, 7) * 65536 + get_byte(${col}, 8) * 256 + get_byte(${col}, 9) end)`;
/** Data-key version of a stored body, in SQL. */
const KEY_VERSION = sql<number>`(case when length(body) >= 6 and get_byte(body, 0) = 1
  then get_byte(body, 2)::bigint * 16777216 + get_byte(body, 3) * 65536 + get_byte(body, 4) * 256 + get_byte(body, 5) end)`;

interface Row { resource_type: string; id: string; version: number; body: Buffer; tokens?: string[] }

export class RepositoryLifecycle {
  constructor(private readonly deps: { db: Kysely<DB>; keyring: Keyring; audit: AccessRecorder; cipher: ResourceCipher }) {}
  private get db(): Kysely<DB> { return this.deps.db; }

  private require(ctx: AccessContext, cap: Capability, action: string): void {
    requireCapability(this.deps.audit, ctx, cap, { action }, `role ${ctx.actor.role} may not ${action}`);
  }

  private async keys(ctx: AccessContext): Promise<TenantKeys> {
    try { return await this.deps.keyring.keys(ctx.tenantId); } catch {
      throw FhirError.serviceUnavailable('key provider unavailable');
    }
  }

  private open(keys: TenantKeys, tenantId: string, r: Row): Buffer {
    return this.deps.cipher.open(keys, resourceAad(tenantId, r.resource_type, r.id, r.version), r.body);
  }

  // ---- re-encryption and re-indexing --------------------------------------------------------

  /** Rows a full pass will scan (progress bars). */
  async countRows(ctx: AccessContext, table: RekeyTable): Promise<number> {
    this.require(ctx, 'keys:manage', 'rekey');
    const r = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)} where tenant_id = ${ctx.tenantId} and body is not null`.execute(this.db);
    return Number(r.rows[0].n);
  }

  /** Rows whose body is sealed under another data-key version than `version` (0 when re-encryption is complete). */
  async countStale(ctx: AccessContext, table: RekeyTable, version: number): Promise<number> {
    this.require(ctx, 'keys:manage', 'rekey');
    const r = await sql<{ n: string }>`select count(*)::text as n from ${sql.table(table)} where tenant_id = ${ctx.tenantId} and body is not null
      and ${KEY_VERSION} is distinct from ${version}`.execute(this.db);
    return Number(r.rows[0].n);
  }

  /**
   * One batch of a background pass, in primary-key order after `cursor`:
   *  - mode 'enc': re-seals every body not under the current data-key version (same patient key; a
   *    patient's row still under the tenant key alone moves to their patient key);
   *  - mode 'idx' (resources only): recomputes blind-index tokens under the active index key versions.
   * A row changed by a concurrent write (version or body no longer the one read) is skipped: the write
   * already used the current keys. One access event per batch, with counts only.
   */
  async rekeyBatch(ctx: AccessContext, table: RekeyTable, cursor: string | null, limit: number, mode: 'enc' | 'idx'): Promise<RekeyBatch> {
    this.require(ctx, 'keys:manage', 'rekey');
    if (mode === 'idx' && table !== 'resources') throw new Error('only current versions carry blind-index tokens');
    const keys = await this.keys(ctx);
    const t = ctx.tenantId;
    const after = cursor ? (JSON.parse(cursor) as [string, string, number]) : null;
    const hist = table === 'resource_history';
    const where = !after ? sql`true` : hist ? sql`(resource_type, id, version) > (${after[0]}, ${after[1]}, ${after[2]})` : sql`(resource_type, id) > (${after[0]}, ${after[1]})`;
    const order = hist ? sql`resource_type, id, version` : sql`resource_type, id`;
    const rows = (await sql<Row>`select resource_type, id, version, body${mode === 'idx' ? sql`, tokens` : sql``} from ${sql.table(table)}
      where tenant_id = ${t} and ${where} and body is not null order by ${order} limit ${limit}`.execute(this.db)).rows;
    if (!rows.length) return { next: null, scanned: 0, changed: 0, skipped: 0, failed: 0 };
    const last = rows[rows.length - 1];
    const next = JSON.stringify([last.resource_type, last.id, last.version]);

    const todo = mode === 'enc' ? rows.filter((r) => bodyKeyVersion(r.body) !== keys.encVersion) : rows;
    await this.deps.keyring.loadPatientKeys(this.db, keys, todo.map((r) => bodyPatientKeyNo(r.body)).filter((n): n is number => n !== null));
    const updates: Array<{ r: Row; body?: Buffer; tokens?: string[] }> = [];
    const legacy: Array<{ r: Row; json: Buffer; pid: string }> = [];
    let failed = 0;
    for (const r of todo) {
      let json: Buffer;
      try { json = this.open(keys, t, r); } catch { failed++; continue; } // e.g. a retired key: counted, never fatal
      if (mode === 'idx') {
        const res = JSON.parse(json.toString('utf8'));
        const tokens = withCompartmentToken(keys, res, resourceTokens(keys, res));
        const same = tokens.length === r.tokens!.length && new Set(r.tokens!.map(String)).size === new Set([...tokens, ...r.tokens!.map(String)]).size;
        if (!same) updates.push({ r, tokens });
        continue;
      }
      const pkNo = bodyPatientKeyNo(r.body);
      if (pkNo !== null) {
        updates.push({ r, body: this.deps.cipher.seal(keys, resourceAad(t, r.resource_type, r.id, r.version), json, { keyNo: pkNo, key: keys.patientKey(pkNo)! }) });
      } else {
        const pid = r.resource_type === 'Patient' ? r.id : patientOf(JSON.parse(json.toString('utf8')));
        if (pid) legacy.push({ r, json, pid });
        else updates.push({ r, body: this.deps.cipher.seal(keys, resourceAad(t, r.resource_type, r.id, r.version), json) });
      }
    }
    let changed = 0;
    await this.db.transaction().execute(async (tx) => {
      if (legacy.length) {
        const pks = await this.deps.keyring.ensurePatientKeys(tx, keys, legacy.map((l) => l.pid));
        for (const l of legacy) updates.push({ r: l.r, body: this.deps.cipher.seal(keys, resourceAad(t, l.r.resource_type, l.r.id, l.r.version), l.json, pks.get(l.pid) as PatientKeyRef) });
      }
      if (updates.length) changed = await this.applyUpdates(tx, t, table, updates);
      await this.deps.audit.appendInTransaction(tx, ctx, [{
        action: mode === 'enc' ? 'rekey' : 'reindex', outcome: failed ? 'failure' : 'success', resourceRefs: [], patientIds: [],
        detail: `table=${table};scanned=${rows.length};changed=${changed};skipped=${updates.length - changed};failed=${failed};` +
          (mode === 'enc' ? `enc=${keys.encVersion}` : `idx=${keys.idxVersions.join('+')}`),
      }]);
    });
    return { next: rows.length < limit ? null : next, scanned: rows.length, changed, skipped: updates.length - changed, failed };
  }

  /** Compare-and-swap updates: only rows whose version and sealed identity are still the ones read. */
  private async applyUpdates(tx: Db, tenantId: string, table: RekeyTable, ups: Array<{ r: Row; body?: Buffer; tokens?: string[] }>): Promise<number> {
    const types = ups.map((u) => u.r.resource_type);
    const ids = ups.map((u) => u.r.id);
    const versions = ups.map((u) => u.r.version);
    const idents = ups.map((u) => envelopeIdentity(u.r.body).toString('base64'));
    const cas = sql`r.tenant_id = ${tenantId} and r.resource_type = x.t and r.id = x.i and r.version = x.v
      and substring(r.body from 1 for length(decode(x.o, 'base64'))) = decode(x.o, 'base64')`;
    let res;
    if (ups[0].tokens) {
      res = await sql<{ id: string }>`update resources r set tokens = x.k::bigint[]
        from unnest(${types}::text[], ${ids}::text[], ${versions}::int[], ${idents}::text[], ${ups.map((u) => `{${u.tokens!.join(',')}}`)}::text[]) as x(t, i, v, o, k)
        where ${cas} returning r.id`.execute(tx);
    } else {
      res = await sql<{ id: string }>`update ${sql.table(table)} r set body = decode(x.b, 'base64')
        from unnest(${types}::text[], ${ids}::text[], ${versions}::int[], ${idents}::text[], ${ups.map((u) => u.body!.toString('base64'))}::text[]) as x(t, i, v, o, b)
        where ${cas} returning r.id`.execute(tx);
    }
    return res.rows.length;
  }

  // ---- crypto-shredding ---------------------------------------------------------------------

  /**
   * GDPR Art. 17 erasure of one patient: destroys their key (every copy of their data sealed under
   * it — current rows, history, backups — becomes unreadable), drops their current bodies and
   * blind-index tokens (rows stay as deleted tombstones: reads answer 410 Gone) and their history.
   * Returns null when the tenant has no such patient.
   */
  async erasePatient(ctx: AccessContext, patientId: string, cause: string): Promise<{ keyNo: number | null; resources: number; history: number } | null> {
    this.require(ctx, 'patient:erase', 'erase');
    if (!ID.test(patientId)) throw FhirError.badRequest('invalid resource id');
    let result;
    try {
      result = await this.db.transaction().execute(async (tx) => {
        const key = await tx.selectFrom('patient_keys').select('key_no').where('tenant_id', '=', ctx.tenantId).where('patient_id', '=', patientId).forUpdate().executeTakeFirst();
        const row = await tx.selectFrom('resources').select(['deleted']).where('tenant_id', '=', ctx.tenantId).where('resource_type', '=', 'Patient').where('id', '=', patientId).executeTakeFirst();
        if (!key && !row) return null;
        const r = await this.shredIn(tx, ctx.tenantId, key ? [key.key_no] : [], cause);
        // The Patient row itself, even if it predates per-patient keys.
        const own = await sql`update resources set deleted = true, body = null, tokens = '{}', version = version + 1, last_updated = now()
          where tenant_id = ${ctx.tenantId} and resource_type = 'Patient' and id = ${patientId} and body is not null`.execute(tx);
        await sql`delete from resource_history where tenant_id = ${ctx.tenantId} and resource_type = 'Patient' and id = ${patientId}`.execute(tx);
        const out = { keyNo: key?.key_no ?? null, resources: r.resources + Number(own.numAffectedRows ?? 0), history: r.history };
        await this.deps.audit.appendInTransaction(tx, ctx, [{
          action: 'erase', outcome: 'success', resourceRefs: [`Patient/${patientId}`], patientIds: [patientId],
          detail: `cause=${cause};key=${out.keyNo ?? 'none'};resources=${out.resources};history=${out.history}`,
        }]);
        return out;
      });
    } catch (e) {
      if (e instanceof FhirError) throw e;
      throw FhirError.serviceUnavailable('database unavailable', e);
    }
    if (result?.keyNo != null) this.deps.keyring.forgetPatientKey(ctx.tenantId, result.keyNo);
    // An attempt on an unknown id is an access attempt too (the id itself may be anything typed: not logged).
    if (!result) await this.deps.audit.record(ctx, { action: 'erase', outcome: 'failure', resourceRefs: [], patientIds: [], detail: 'status=404' }).catch(() => {});
    return result;
  }

  /** Destroys these patient keys and what they sealed, and lists them as shredded (idempotent: a restore re-applies it). */
  async shredKeys(ctx: AccessContext, keyNos: number[], cause: string): Promise<{ keys: number; resources: number; history: number }> {
    this.require(ctx, 'patient:erase', 'erase');
    const r = await this.db.transaction().execute(async (tx) => {
      const out = await this.shredIn(tx, ctx.tenantId, keyNos, cause);
      await this.deps.audit.appendInTransaction(tx, ctx, [{
        action: 'erase', outcome: 'success', resourceRefs: [], patientIds: [],
        detail: `cause=${cause};keys=${out.keys};resources=${out.resources};history=${out.history}`,
      }]);
      return out;
    });
    for (const n of keyNos) this.deps.keyring.forgetPatientKey(ctx.tenantId, n);
    return r;
  }

  /** Restore hook: shreds these keys inside the restore's own transaction (see src/ops/erasure.ts). */
  async shredInTransaction(tx: Transaction<DB>, tenantId: string, keyNos: number[]): Promise<{ keys: number; resources: number; history: number }> {
    const out = await this.shredIn(tx, tenantId, keyNos, 'restore');
    if (out.keys || out.resources || out.history) {
      await this.deps.audit.appendInTransaction(tx, { tenantId, actor: { kind: 'system', id: 'cerbere', role: 'system' }, purpose: 'restore' }, [{
        action: 'erase', outcome: 'success', resourceRefs: [], patientIds: [], detail: `cause=restore;keys=${out.keys};resources=${out.resources};history=${out.history}`,
      }]);
    }
    for (const n of keyNos) this.deps.keyring.forgetPatientKey(tenantId, n);
    return out;
  }

  private async shredIn(tx: Db, tenantId: string, keyNos: number[], cause: string): Promise<{ keys: number; resources: number; history: number }> {
    if (!keyNos.length) return { keys: 0, resources: 0, history: 0 };
    const del = await tx.deleteFrom('patient_keys').where('tenant_id', '=', tenantId).where('key_no', 'in', keyNos).executeTakeFirst();
    await sql`insert into shredded_keys (tenant_id, key_no, cause) select ${tenantId}, n, ${cause} from unnest(${keyNos}::int[]) as x(n)
      on conflict do nothing`.execute(tx);
    const res = await sql`update resources set deleted = true, body = null, tokens = '{}', version = version + 1, last_updated = now()
      where tenant_id = ${tenantId} and body is not null and ${PK_NO()} = any(${keyNos}::int[])`.execute(tx);
    const hist = await sql`delete from resource_history where tenant_id = ${tenantId} and body is not null and ${PK_NO()} = any(${keyNos}::int[])`.execute(tx);
    return { keys: Number(del.numDeletedRows), resources: Number(res.numAffectedRows ?? 0), history: Number(hist.numAffectedRows ?? 0) };
  }

  // ---- retention ----------------------------------------------------------------------------

  /** Patients whose last activity (latest lastUpdated of any of their rows) is before `cutoff`. */
  async inactivePatients(ctx: AccessContext, cutoff: Date): Promise<Array<{ patientId: string; keyNo: number; last: Date }>> {
    this.require(ctx, 'patient:erase', 'retention');
    const r = await sql<{ patient_id: string; key_no: number; last: Date }>`select pk.patient_id, pk.key_no, max(r.last_updated) as last
      from patient_keys pk join resources r on r.tenant_id = pk.tenant_id and ${PK_NO(sql.ref('r.body'))} = pk.key_no
      where pk.tenant_id = ${ctx.tenantId} and r.body is not null
      group by pk.patient_id, pk.key_no having max(r.last_updated) < ${cutoff}`.execute(this.db);
    return r.rows.map((x) => ({ patientId: x.patient_id, keyNo: Number(x.key_no), last: new Date(x.last) }));
  }

  /** Removes resources of one type not written since `cutoff` (bodies, tokens and history), in batches. */
  async purgeType(ctx: AccessContext, type: string, cutoff: Date, dryRun: boolean): Promise<number> {
    this.require(ctx, 'patient:erase', 'retention');
    if (dryRun) {
      const r = await sql<{ n: string }>`select count(*)::text as n from resources where tenant_id = ${ctx.tenantId} and resource_type = ${type}
        and body is not null and last_updated < ${cutoff}`.execute(this.db);
      return Number(r.rows[0].n);
    }
    let total = 0;
    for (;;) {
      const n = await this.db.transaction().execute(async (tx) => {
        const ids = (await sql<{ id: string }>`update resources set deleted = true, body = null, tokens = '{}', version = version + 1, last_updated = now()
          where tenant_id = ${ctx.tenantId} and resource_type = ${type} and id in (select id from resources where tenant_id = ${ctx.tenantId}
            and resource_type = ${type} and body is not null and last_updated < ${cutoff} limit 1000) returning id`.execute(tx)).rows.map((r) => r.id);
        if (!ids.length) return 0;
        await sql`delete from resource_history where tenant_id = ${ctx.tenantId} and resource_type = ${type} and id = any(${ids}::text[])`.execute(tx);
        await this.deps.audit.appendInTransaction(tx, ctx, [{ action: 'retention-purge', outcome: 'success', resourceRefs: ids.map((i) => `${type}/${i}`), patientIds: [], detail: `type=${type};rows=${ids.length}` }]);
        return ids.length;
      });
      total += n;
      if (n < 1000) return total;
    }
  }
}
