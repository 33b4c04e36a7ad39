// The repository: the only code that reads or writes patient data tables. Every call carries an
// access context; it checks the policy, encrypts/decrypts, maintains blind indexes, and appends the
// access event before any data is returned (reads: group commit; writes: same transaction).
// This file holds the writes; the reads are in repository-reads.ts, the shared part in repository-base.ts.
import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { TenantKeys } from '../vault/keyring.ts';
import { type AccessEvent } from '../core/access-event.ts';
import type { AccessContext } from '../core/context.ts';
import { can, type Interaction } from '../access/policy.ts';
import { FhirError } from '../fhir/outcome.ts';
import { SUPPORTED_TYPES, hasErrors, validateResource, extractReferences, FHIR_ID_REGEX as ID, type ValidationIssue } from '../fhir/validate.ts';
import { stampResource } from './stamp.ts';
import { pack } from '../core/packed.ts';
import { patientOf } from '../fhir/search-params.ts';
import { envelopeCipher, resourceAad } from '../vault/resource-cipher.ts';
import type { PatientKeyRef } from '../vault/envelope.ts';
import { resourceTokens } from './indexer.ts';
import { deny } from '../access/denials.ts';
import { withCompartmentToken } from '../access/care-links.ts';
import { type VersionInfo, type WriteResult, type Db, unknownRef, WorkLog, type TransactionOps, breakGlassDetail } from './repository-base.ts';
import { RepositoryReads } from './repository-reads.ts';

export type { VersionInfo, ReadResult, WriteResult, HistoryEntry, SearchResult, TransactionOps } from './repository-base.ts';

export class Repository extends RepositoryReads {
  // ---- writes ------------------------------------------------------------------------------

  async create(ctx: AccessContext, resource: any, opts: { id?: string } = {}): Promise<WriteResult> {
    this.check(ctx, 'create', resource?.resourceType);
    return this.unitOfWork(ctx, 'create', async (tx, keys, log) => this.createIn(tx, keys, ctx, resource, log, opts.id));
  }

  async update(ctx: AccessContext, type: string, id: string, resource: any, opts: { ifMatch?: number } = {}): Promise<WriteResult> {
    this.check(ctx, 'update', type);
    return this.unitOfWork(ctx, 'update', async (tx, keys, log) => this.updateIn(tx, keys, ctx, type, id, resource, log, opts.ifMatch));
  }

  async delete(ctx: AccessContext, type: string, id: string): Promise<VersionInfo | null> {
    this.check(ctx, 'delete', type);
    return this.unitOfWork(ctx, 'delete', async (tx, keys, log) => this.deleteIn(tx, keys, ctx, type, id, log));
  }

  /**
   * Runs several writes as one transaction (FHIR transaction Bundles): one access event per
   * interaction, references checked once everything is written, all or nothing.
   */
  async transaction<T>(ctx: AccessContext, work: (ops: TransactionOps) => Promise<T>): Promise<T> {
    const keys = await this.keys(ctx);
    return this.guard(() => this.db.transaction().execute(async (tx) => {
      const events: AccessEvent[] = [];
      const outgoing = new Map<string, Set<string>>();
      const wrap = async <R>(action: string, fn: (log: WorkLog) => Promise<R>): Promise<R> => {
        const log = new WorkLog();
        const r = await fn(log);
        for (const [t, ids] of log.outgoing) { if (!outgoing.has(t)) outgoing.set(t, new Set()); for (const i of ids) outgoing.get(t)!.add(i); }
        events.push({ action, outcome: 'success', resourceRefs: log.refs, patientIds: log.patients, ...breakGlassDetail([...log.breakGlass]) });
        return r;
      };
      const ops: TransactionOps = {
        create: (resource, id) => { this.check(ctx, 'create', resource?.resourceType); return wrap('create', (log) => this.createIn(tx, keys, ctx, resource, log, id)); },
        update: (type, id, resource, ifMatch) => { this.check(ctx, 'update', type); return wrap('update', (log) => this.updateIn(tx, keys, ctx, type, id, resource, log, ifMatch)); },
        delete: (type, id) => { this.check(ctx, 'delete', type); return wrap('delete', (log) => this.deleteIn(tx, keys, ctx, type, id, log)); },
      };
      const result = await work(ops);
      await this.checkReferences(tx, ctx.tenantId, outgoing);
      await this.deps.audit.appendInTransaction(tx, ctx, events);
      return result;
    }));
  }

  /** Bulk creation for imports and seeding: validated, encrypted, indexed, audited as one event per batch. */
  async importBatch(ctx: AccessContext, resources: any[]): Promise<string[]> {
    for (const r of resources) this.check(ctx, 'create', r?.resourceType);
    this.access.assertBulkWritable(ctx, resources.map((r) => r.resourceType));
    const keys = await this.keys(ctx);
    const now = new Date();
    const log = new WorkLog();
    const ids = resources.map((r) => r?.id ?? randomUUID());
    // Ids are given before the workers run: a Patient's compartment token is computed from its id there too.
    const withIds = resources.map((r, i) => (r && typeof r === 'object' && !Array.isArray(r) && r.id === undefined ? { ...r, id: ids[i] } : r));
    const pids = resources.map((r, i) => (r?.resourceType === 'Patient' ? ids[i] : patientOf(r)));
    // Patient keys are planned before the workers run (existing ones, fresh ones numbered) and stored in the
    // batch's transaction: a failed batch leaves no key behind.
    // Patients whose id is generated here have no key yet: no lookup for them.
    const created = new Set(resources.flatMap((r, i) => (r?.resourceType === 'Patient' && r.id === undefined ? [ids[i]] : [])));
    const plan = await this.guard(() => this.deps.keyring.planPatientKeys(this.db, keys, pids.filter((p): p is string => !!p), created));
    // The workers validate, index and (with the envelope cipher; benchmarks may inject another) seal.
    const seal = this.cipher === envelopeCipher
      ? { now: now.toISOString(), patientKeys: pids.map((p) => (p ? plan.refs.get(p) : undefined)) } : undefined;
    let rows: ReturnType<Repository['prepare']>[] = [];
    let committed = false;
    try {
      const pre = await this.importPool.prepareMany(keys, keys.indexKeyCopy(), withIds, seal);
      await this.guard(() => this.db.transaction().execute(async (tx) => {
        const pks = await this.deps.keyring.storePatientKeys(tx, keys, plan);
        // A patient whose key a concurrent writer stored first: its resources are sealed again here, under that key.
        const body = (i: number) => (pids[i] && pks.lost.has(pids[i]!) ? undefined : pre.bodies?.[i] ?? undefined);
        rows = resources.map((r, i) => this.prepare(keys, ctx.tenantId, r, ids[i], 1, now, log, { issues: pre.issues[i], tokens: pre.tokens[i], body: body(i) }, pids[i] ? pks.refs.get(pids[i]!) : undefined));
        // unnest over arrays: one short statement for the whole batch. Bodies travel as one binary parameter
        // cut by offset (base64 text cost an encode here, a decode there and a third more bytes).
        // Tokens likewise: one bigint array for the batch, sliced per row (tokenEnds: each row's last position).
        const bodies = pack(rows.map((r) => r.body));
        let tokenEnd = 0;
        const tokenEnds = rows.map((r) => (tokenEnd += r.tokens.length));
        const allTokens = `{${rows.filter((r) => r.tokens.length).map((r) => r.tokens.join(',')).join(',')}}`;
        await sql`insert into resources (tenant_id, resource_type, id, version, last_updated, deleted, body, tokens)
          select ${ctx.tenantId}, t, i, 1, ${now}, false, substring(${bodies.bytes}::bytea from e - l + 1 for l),
            coalesce((${allTokens}::bigint[])[ke - kl + 1:ke], '{}')
          from unnest(${rows.map((r) => r.resource_type)}::text[], ${rows.map((r) => r.id)}::text[], ${bodies.ends}::int[], ${bodies.lengths}::int[],
            ${tokenEnds}::int[], ${rows.map((r) => r.tokens.length)}::int[]) as x(t, i, e, l, ke, kl)`.execute(tx);
        await this.checkReferences(tx, ctx.tenantId, log.outgoing);
        await this.access.syncLinks(tx, keys, ctx.tenantId, rows.map((p) => ({ type: p.resource_type, id: p.id, resource: p.resource })), true);
        await this.deps.audit.appendInTransaction(tx, ctx, [{ action: 'create', outcome: 'success', resourceRefs: log.refs, patientIds: log.patients, detail: 'import' }]);
      }));
      committed = true;
    } finally {
      // Fresh keys of a batch that did not commit are stored nowhere: out of the cache and overwritten.
      if (!committed) for (const f of plan.fresh) { keys.patients.delete(f.keyNo); f.key.fill(0); }
    }
    return rows.map((r) => r.id);
  }

  private async unitOfWork<T>(ctx: AccessContext, action: Interaction, fn: (tx: Transaction<DB>, keys: TenantKeys, log: WorkLog) => Promise<T>): Promise<T> {
    const keys = await this.keys(ctx);
    try {
      return await this.guard(() => this.db.transaction().execute(async (tx) => {
        const log = new WorkLog();
        const r = await fn(tx, keys, log);
        await this.checkReferences(tx, ctx.tenantId, log.outgoing);
        await this.deps.audit.appendInTransaction(tx, ctx, [{ action, outcome: 'success', resourceRefs: log.refs, patientIds: log.patients, ...breakGlassDetail([...log.breakGlass]) }]);
        return r;
      }));
    } catch (e) {
      // The write rolled back with its event: a refused write is still an access attempt.
      await this.recordFailure(ctx, action, e);
      throw e;
    }
  }

  private async recordFailure(ctx: AccessContext, action: string, e: unknown): Promise<void> {
    const status = e instanceof FhirError ? e.status : 500;
    if (status === 503) return; // the log or the database is what failed
    await this.deps.audit.record(ctx, { action, outcome: 'failure', resourceRefs: [], patientIds: [], detail: `status=${status}` }).catch(() => {});
  }

  private prepare(keys: TenantKeys, tenantId: string, input: any, id: string, version: number, now: Date, log: WorkLog,
    done?: { issues: ValidationIssue[]; tokens: string[]; body?: Buffer }, patientKey?: PatientKeyRef) {
    const issues = done?.issues ?? validateResource(input);
    if (hasErrors(issues)) throw FhirError.unprocessable(issues);
    if (!ID.test(id)) throw FhirError.badRequest('invalid resource id');
    const type: string = input.resourceType;
    const resource = stampResource(input, id, version, now.toISOString());
    for (const ref of extractReferences(resource)) {
      // Relative references (optionally versioned) must resolve in this tenant; conditional
      // references are refused; absolute URLs point outside this server and are kept as given.
      const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(ref.reference);
      if (/^[A-Z][A-Za-z]+\?/.test(ref.reference)) throw FhirError.badRequest(`conditional references are not supported (at ${ref.path})`, [ref.path]);
      if (m) {
        if (!log.outgoing.has(m[1])) log.outgoing.set(m[1], new Set());
        log.outgoing.get(m[1])!.add(m[2]);
      } else if (ref.reference.startsWith('urn:')) {
        throw FhirError.badRequest(`unresolved reference at ${ref.path}`, [ref.path]);
      }
    }
    log.note(type, id, resource);
    // Everything in a patient's compartment is sealed under their own key too (crypto-shredding).
    // Import workers may have sealed the same stamped JSON already (under the same keys).
    const body = done?.body ?? this.cipher.seal(keys, resourceAad(tenantId, type, id, version), Buffer.from(JSON.stringify(resource)), patientKey);
    // Import workers return the tokens with the compartment token already added.
    const tokens = done ? done.tokens : withCompartmentToken(keys, resource, resourceTokens(keys, resource));
    return { tenant_id: tenantId, resource_type: type, id, version, last_updated: now, deleted: false, body, tokens, resource };
  }

  private async createIn(tx: Db, keys: TenantKeys, ctx: AccessContext, input: any, log: WorkLog, id?: string): Promise<WriteResult> {
    const rid = id ?? randomUUID();
    const w = await this.access.beforeWrite(tx, ctx, 'create', input?.resourceType, { ...input, id: rid }, null);
    if (w.breakGlass) log.breakGlass.add(w.breakGlass);
    const { resource, ...row } = this.prepare(keys, ctx.tenantId, w.resource, rid, 1, new Date(), log, undefined, await this.patientKeyFor(tx, keys, w.resource, rid));
    try {
      await tx.insertInto('resources').values(row).execute();
    } catch (e: any) {
      if (e?.code === '23505') throw FhirError.conflict('a resource with this id already exists');
      throw e;
    }
    await this.access.syncLinks(tx, keys, ctx.tenantId, [{ type: row.resource_type, id: rid, resource }], true);
    await this.access.noteWork(tx, ctx, [resource]);
    return { resource, versionId: 1, lastUpdated: row.last_updated, created: true };
  }

  private async updateIn(tx: Db, keys: TenantKeys, ctx: AccessContext, type: string, id: string, input: any, log: WorkLog, ifMatch?: number): Promise<WriteResult> {
    if (input?.resourceType !== type) throw FhirError.badRequest('resourceType does not match the URL');
    if (input.id !== undefined && input.id !== id) throw FhirError.badRequest('resource id does not match the URL');
    if (!ID.test(id)) throw FhirError.badRequest('invalid resource id');
    const cur = await tx.selectFrom('resources').select(['version', 'deleted', 'body']).where('tenant_id', '=', ctx.tenantId)
      .where('resource_type', '=', type).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!cur) {
      if (ifMatch !== undefined) throw FhirError.preconditionFailed('version mismatch: the resource does not exist');
      return this.createIn(tx, keys, ctx, { ...input, id }, log, id);
    }
    if (ifMatch !== undefined && ifMatch !== cur.version) throw FhirError.preconditionFailed(`version mismatch: current version is ${cur.version}`);
    const version = cur.version + 1;
    let prev = null;
    if (cur.body && !cur.deleted && this.access.needsPrevious(ctx, 'update', type)) {
      await this.loadPatientKeys(keys, [cur.body], tx);
      prev = JSON.parse(this.open(keys, ctx.tenantId, type, id, cur.version, cur.body));
    }
    const w = await this.access.beforeWrite(tx, ctx, 'update', type, { ...input, id }, prev);
    if (w.breakGlass) log.breakGlass.add(w.breakGlass);
    const { resource, ...row } = this.prepare(keys, ctx.tenantId, w.resource, id, version, new Date(), log, undefined, await this.patientKeyFor(tx, keys, w.resource, id));
    await this.archiveCurrent(tx, ctx.tenantId, type, id);
    await tx.updateTable('resources').set({ version, last_updated: row.last_updated, deleted: false, body: row.body, tokens: row.tokens })
      .where('tenant_id', '=', ctx.tenantId).where('resource_type', '=', type).where('id', '=', id).execute();
    await this.access.syncLinks(tx, keys, ctx.tenantId, [{ type, id, resource }]);
    await this.access.noteWork(tx, ctx, [resource]);
    return { resource, versionId: version, lastUpdated: row.last_updated, created: cur.deleted };
  }

  private async deleteIn(tx: Db, keys: TenantKeys, ctx: AccessContext, type: string, id: string, log: WorkLog): Promise<VersionInfo | null> {
    if (!ID.test(id)) throw FhirError.badRequest('invalid resource id');
    const cur = await tx.selectFrom('resources').select(['version', 'deleted', 'body']).where('tenant_id', '=', ctx.tenantId)
      .where('resource_type', '=', type).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!cur || cur.deleted || !cur.body) return null; // deleting nothing is not an error in FHIR
    // The event names the patient whose data was deleted, read from the body being deleted.
    await this.loadPatientKeys(keys, [cur.body], tx);
    const prev = JSON.parse(this.open(keys, ctx.tenantId, type, id, cur.version, cur.body));
    const w = await this.access.beforeWrite(tx, ctx, 'delete', type, null, prev);
    if (w.breakGlass) log.breakGlass.add(w.breakGlass);
    log.note(type, id, prev);
    const now = new Date();
    await this.archiveCurrent(tx, ctx.tenantId, type, id);
    await tx.updateTable('resources').set({ version: cur.version + 1, last_updated: now, deleted: true, body: null, tokens: [] })
      .where('tenant_id', '=', ctx.tenantId).where('resource_type', '=', type).where('id', '=', id).execute();
    await this.access.syncLinks(tx, keys, ctx.tenantId, [{ type, id, resource: null }]);
    return { versionId: cur.version + 1, lastUpdated: now };
  }

  private async archiveCurrent(tx: Db, tenantId: string, type: string, id: string): Promise<void> {
    await sql`insert into resource_history (tenant_id, resource_type, id, version, last_updated, deleted, body)
      select tenant_id, resource_type, id, version, last_updated, deleted, body from resources
      where tenant_id = ${tenantId} and resource_type = ${type} and id = ${id}`.execute(tx);
  }

  /** Every relative reference must resolve inside the same tenant (same answer for "absent" and "other tenant"). */
  private async checkReferences(tx: Db, tenantId: string, outgoing: Map<string, Set<string>>): Promise<void> {
    for (const [type, ids] of outgoing) {
      if (!(SUPPORTED_TYPES as readonly string[]).includes(type)) throw FhirError.badRequest(`references to ${type.replace(/[^A-Za-z]/g, '')} are not supported`);
      const list = [...ids];
      const found = await tx.selectFrom('resources').select('id').where('tenant_id', '=', tenantId).where('resource_type', '=', type)
        .where('id', 'in', list).where('deleted', '=', false).execute();
      if (found.length !== list.length) {
        const have = new Set(found.map((f) => f.id));
        const missing = list.find((i) => !have.has(i));
        throw FhirError.badRequest(`reference ${type}/${missing} does not resolve`);
      }
    }
  }


  async reindexAccess(ctx: AccessContext, onBatch?: (done: number) => void): Promise<number> {
    if (ctx.actor.kind !== 'system') throw FhirError.forbidden('re-indexing is a system operation');
    const keys = await this.keys(ctx);
    let after = '';
    let afterType = '';
    let done = 0;
    for (;;) {
      const rows = await this.guard(() => this.db.selectFrom('resources').select(['resource_type', 'id', 'version', 'body'])
        .where('tenant_id', '=', ctx.tenantId).where('deleted', '=', false)
        .where((eb) => eb.or([eb('resource_type', '>', afterType), eb.and([eb('resource_type', '=', afterType), eb('id', '>', after)])]))
        .orderBy('resource_type').orderBy('id').limit(500).execute());
      if (!rows.length) return done;
      const items = rows.filter((r) => r.body).map((r) => ({ type: r.resource_type, id: r.id, resource: JSON.parse(this.open(keys, ctx.tenantId, r.resource_type, r.id, r.version, r.body!)) }));
      await this.guard(() => this.db.transaction().execute(async (tx) => {
        for (const it of items) {
          await tx.updateTable('resources').set({ tokens: withCompartmentToken(keys, it.resource, resourceTokens(keys, it.resource)) })
            .where('tenant_id', '=', ctx.tenantId).where('resource_type', '=', it.type).where('id', '=', it.id).execute();
        }
        await this.access.syncLinks(tx, keys, ctx.tenantId, items);
        await this.deps.audit.appendInTransaction(tx, ctx, [{ action: 'update', outcome: 'success', resourceRefs: items.map((i) => `${i.type}/${i.id}`), patientIds: [], detail: 'reindex' }]);
      }));
      done += rows.length;
      afterType = rows[rows.length - 1].resource_type;
      after = rows[rows.length - 1].id;
      onBatch?.(done);
    }
  }

  /**
   * Emergency access to one patient outside the actor's care relationships: needs the break-glass
   * capability and a reason; time-limited; recorded as its own access event flagged for review.
   */
  async openBreakGlass(ctx: AccessContext, patientId: string, reason: string, minutes: number): Promise<{ id: string; expiresAt: Date }> {
    if (!can(ctx.actor.role, 'break-glass')) {
      await deny(this.deps.audit, ctx, { action: 'break-glass', resourceRefs: ['Patient'] }, FhirError.forbidden(`role ${ctx.actor.role} may not break the glass`), { wait: true });
    }
    if (!ID.test(patientId)) throw FhirError.badRequest('invalid resource id');
    const keys = await this.keys(ctx);
    const exists = await this.guard(() => this.db.selectFrom('resources').select('id').where('tenant_id', '=', ctx.tenantId).where('resource_type', '=', 'Patient')
      .where('id', '=', patientId).where('deleted', '=', false).executeTakeFirst());
    if (!exists) {
      await this.record(ctx, { action: 'break-glass', outcome: 'failure', resourceRefs: [unknownRef(keys, 'Patient', patientId)], patientIds: [] });
      throw FhirError.notFound('Patient', patientId);
    }
    return this.guard(() => this.db.transaction().execute(async (tx) => {
      const p = await tx.selectFrom('resources').select('id').where('tenant_id', '=', ctx.tenantId).where('resource_type', '=', 'Patient')
        .where('id', '=', patientId).where('deleted', '=', false).executeTakeFirst();
      if (!p) throw FhirError.notFound('Patient', patientId);
      const g = await this.access.openBreakGlass(tx, keys, ctx, patientId, reason, minutes);
      await this.deps.audit.appendInTransaction(tx, ctx, [{ action: 'break-glass', outcome: 'success', resourceRefs: [`Patient/${patientId}`], patientIds: [patientId],
        detail: `break-glass=${g.id};minutes=${Math.round((g.expiresAt.getTime() - Date.now()) / 60_000)};flag=review` }]);
      return g;
    }));
  }

}
