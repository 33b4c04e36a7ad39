// The repository: the only code that reads or writes patient data tables. Every call carries an
// access context; it checks the policy, encrypts/decrypts, maintains blind indexes, and appends the
// access event before any data is returned (reads: group commit; writes: same transaction).
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../core/schema.ts';
import { unnamed, type PreparedQuery } from './db.ts';
import type { Keyring, TenantKeys } from '../vault/keyring.ts';
import { AuditUnavailableError, type AccessEvent, type AccessRecorder } from '../core/access-event.ts';
import type { AccessContext } from '../core/context.ts';
import { can, isAllowed, type Interaction } from '../access/policy.ts';
import { FhirError } from '../fhir/outcome.ts';
import { SUPPORTED_TYPES, hasErrors, validateResource, extractReferences, FHIR_ID_REGEX as ID, type ValidationIssue } from '../fhir/validate.ts';
import { ImportPool } from './import-pool.ts';
import { stampResource } from './stamp.ts';
import { pack } from '../core/packed.ts';
import { patientOf } from '../fhir/search-params.ts';
import type { SearchQuery } from '../fhir/search-query.ts';
import { bodyPatientKeyNo, envelopeCipher, resourceAad, type ResourceCipher } from '../vault/resource-cipher.ts';
import type { PatientKeyRef } from '../vault/envelope.ts';
import { RepositoryLifecycle } from './repository-lifecycle.ts';
import { queryTokens, resourceTokens, SearchValueError } from './indexer.ts';
import { blindToken } from '../vault/blind-index.ts';
import { AccessDecider } from '../access/decider.ts';
import { deny } from '../access/denials.ts';
import { withCompartmentToken } from '../access/care-links.ts';

export interface VersionInfo { versionId: number; lastUpdated: Date }
export interface ReadResult extends VersionInfo { json: string }
export interface WriteResult extends VersionInfo { resource: any; created: boolean }
export interface HistoryEntry extends VersionInfo { deleted: boolean; resource: any | null; method: 'POST' | 'PUT' | 'DELETE' }
export interface SearchResult { matches: any[]; includes: any[]; total?: number; hasMore: boolean }

type Db = Kysely<DB> | Transaction<DB>;
interface CurrentRow { version: number; last_updated: Date; deleted: boolean; body: Buffer | null }
interface PatientKeyCols { pk_no: number | null; pk_wrapped: Buffer | null; pk_wrap: number | null }
/** A requested id that matched nothing may be anything a user typed (even a NIR): the append-only
 *  log keeps only a keyed hash of it, enough to see repeated probing of the same id. */
const unknownRef = (keys: TenantKeys, type: string, id: string) => `${type}/#${blindToken(keys.tokenKey('_audit', 'unknown-id'), id).toString(16)}`;
// The patient key named by the body's header comes in the same round trip (one query per read, cache or not).
const READ_SQL = `select r.version, r.last_updated, r.deleted, r.body, pk.key_no as pk_no, pk.wrapped as pk_wrapped, pk.wrap_version as pk_wrap
  from resources r left join patient_keys pk on pk.tenant_id = r.tenant_id and pk.key_no = (case when length(r.body) >= 10 and get_byte(r.body, 0) = 1 and get_byte(r.body, 1) = 1
    then get_byte(r.body, 6)::bigint * 16777216 + get_byte(r.body, 7) * 65536 + get_byte(r.body, 8) * 256 + get_byte(r.body, 9) end)
  where r.tenant_id = $1 and r.resource_type = $2 and r.id = $3`;

/** Collects what one unit of work touched, for its access event and its deferred reference check. */
class WorkLog {
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

export class Repository {
  private readonly cipher: ResourceCipher;
  private readonly importPool = new ImportPool();
  /** Scope, masking, care relationships, break-glass and bulk limits (src/auth/access-decision.ts). */
  readonly access: AccessDecider;
  /** Key-lifecycle operations on patient tables (re-encryption, re-index, crypto-shredding, retention). */
  readonly lifecycle: RepositoryLifecycle;
  constructor(private readonly deps: { db: Kysely<DB>; keyring: Keyring; audit: AccessRecorder; cipher?: ResourceCipher; prepared?: PreparedQuery; access?: AccessDecider }) {
    this.cipher = deps.cipher ?? envelopeCipher;
    this.access = deps.access ?? new AccessDecider(deps.db, { searchPatientsPerHour: 0, searchPatientsPerHourClient: 0, breakGlassMaxMinutes: 30, careLinkDays: 90 }, deps.audit);
    this.lifecycle = new RepositoryLifecycle({ ...deps, cipher: this.cipher });
  }

  get db(): Kysely<DB> { return this.deps.db; }
  private get prepared(): PreparedQuery { return this.deps.prepared ?? unnamed(this.db); }

  async close(): Promise<void> { await this.importPool.close(); }

  // ---- reads -------------------------------------------------------------------------------

  async read(ctx: AccessContext, type: string, id: string): Promise<ReadResult> {
    this.check(ctx, 'read', type);
    if (!ID.test(id)) throw FhirError.badRequest('invalid resource id');
    const keys = await this.keys(ctx);
    // The hottest query: pre-written SQL skips the query builder's per-call compilation.
    const row = await this.guard(async () => (await this.prepared<CurrentRow & PatientKeyCols>('cerbere_read_current', READ_SQL, [ctx.tenantId, type, id]))[0]);
    if (row?.pk_wrapped && !keys.patients.get(row.pk_no!)) this.deps.keyring.cachePatientKey(keys, row.pk_no!, row.pk_wrapped, row.pk_wrap!);
    return this.release(ctx, keys, 'read', type, id, row, `${type}/${id}`);
  }

  async vread(ctx: AccessContext, type: string, id: string, versionId: number): Promise<ReadResult> {
    this.check(ctx, 'vread', type);
    if (!ID.test(id)) throw FhirError.badRequest('invalid resource id');
    if (!Number.isInteger(versionId) || versionId < 1 || versionId > 2_147_483_647) throw FhirError.notFound(type, id);
    const keys = await this.keys(ctx);
    const row = await this.guard(async () => (await this.db.selectFrom('resources').select(['version', 'last_updated', 'deleted', 'body'])
      .where('tenant_id', '=', ctx.tenantId).where('resource_type', '=', type).where('id', '=', id).where('version', '=', versionId).executeTakeFirst())
      ?? this.db.selectFrom('resource_history').select(['version', 'last_updated', 'deleted', 'body'])
        .where('tenant_id', '=', ctx.tenantId).where('resource_type', '=', type).where('id', '=', id).where('version', '=', versionId).executeTakeFirst());
    return this.release(ctx, keys, 'vread', type, id, row, `${type}/${id}/_history/${versionId}`);
  }

  /** Decrypts one stored version and returns it only once its access event is durable. */
  private async release(ctx: AccessContext, keys: TenantKeys, action: 'read' | 'vread', type: string, id: string, row: CurrentRow | undefined, ref: string): Promise<ReadResult> {
    if (!row || row.deleted || !row.body) {
      await this.record(ctx, { action, outcome: 'failure', resourceRefs: [unknownRef(keys, type, id)], patientIds: [] });
      throw row ? FhirError.gone(type, id) : FhirError.notFound(type, id);
    }
    await this.loadPatientKeys(keys, [row.body]);
    let json = this.open(keys, ctx.tenantId, type, id, row.version, row.body);
    // A Patient is its own compartment: no need to parse it to name the patient.
    const patient = type === 'Patient' ? id : patientOf(JSON.parse(json));
    const d = await this.access.decide(ctx, action, type, [patient], { refs: [ref], unreached: 'deny' });
    json = this.access.maskJson(d.rule, json);
    await this.record(ctx, { action, outcome: 'success', resourceRefs: [ref], patientIds: patient ? [patient] : [], ...breakGlassDetail(d.breakGlass) });
    return { json, versionId: row.version, lastUpdated: new Date(row.last_updated) };
  }

  async history(ctx: AccessContext, type: string, id: string, opts: { count: number }): Promise<HistoryEntry[]> {
    this.check(ctx, 'history', type);
    if (!ID.test(id)) throw FhirError.badRequest('invalid resource id');
    const keys = await this.keys(ctx);
    const rows = await this.guard(async () => {
      const cols = ['version', 'last_updated', 'deleted', 'body'] as const;
      const cur = await this.db.selectFrom('resources').select(cols).where('tenant_id', '=', ctx.tenantId).where('resource_type', '=', type).where('id', '=', id).execute();
      const old = await this.db.selectFrom('resource_history').select(cols).where('tenant_id', '=', ctx.tenantId).where('resource_type', '=', type).where('id', '=', id)
        .orderBy('version', 'desc').limit(opts.count).execute();
      return [...cur, ...old].slice(0, opts.count);
    });
    if (!rows.length) {
      await this.record(ctx, { action: 'history', outcome: 'failure', resourceRefs: [unknownRef(keys, type, id)], patientIds: [] });
      throw FhirError.notFound(type, id);
    }
    await this.loadPatientKeys(keys, rows.map((r) => r.body));
    const patients = new Set<string>();
    const scopePatients: (string | null)[] = [];
    const resources = rows.map((r) => {
      const resource = r.body ? JSON.parse(this.open(keys, ctx.tenantId, type, id, r.version, r.body)) : null;
      const p = resource ? patientOf(resource) : null;
      if (p) patients.add(p);
      if (resource) scopePatients.push(p);
      return resource;
    });
    // Every version's patient must be reached (a version may have named another patient).
    const d = await this.access.decide(ctx, 'history', type, scopePatients, { refs: [`${type}/${id}`], unreached: 'deny' });
    const entries: HistoryEntry[] = rows.map((r, i) => {
      const method = r.deleted ? 'DELETE' : r.version === 1 && i === rows.length - 1 ? 'POST' : 'PUT';
      return { versionId: r.version, lastUpdated: new Date(r.last_updated), deleted: r.deleted, resource: this.access.release(d, resources[i]), method };
    });
    await this.record(ctx, { action: 'history', outcome: 'success', resourceRefs: [`${type}/${id}`], patientIds: [...patients], ...breakGlassDetail(d.breakGlass) });
    return entries;
  }

  async search(ctx: AccessContext, q: SearchQuery): Promise<SearchResult> {
    this.check(ctx, 'search', q.type);
    const keys = await this.keys(ctx);
    const rule = this.access.rule(ctx, 'search', q.type)!;
    // Scoped roles search only among the patients they reach: in SQL, so counts and pages agree.
    const scopeFilter = this.access.searchFilter(ctx, keys, rule, q.type);
    const where = scopeFilter === 'none' ? null : this.searchConditions(keys, ctx.tenantId, q);
    if (where && scopeFilter && scopeFilter !== 'none') where.rest.push(scopeFilter);
    const params = q.criteria.map((c) => c.def.name).concat(q.ids ? ['_id'] : [], q.lastUpdated.length ? ['_lastUpdated'] : []);
    const detail = `params=${[...new Set(params)].join(',')}`;
    if (!where) {
      await this.record(ctx, { action: 'search', outcome: 'success', resourceRefs: [], patientIds: [], detail });
      return { matches: [], includes: [], total: q.total || q.summaryCount ? 0 : undefined, hasMore: false };
    }
    const cond = sql.join(where.rest, sql` and `);
    // With blind-index criteria, scan the GIN index first (tokens are tenant-keyed, so it is the
    // selective path) and filter by tenant afterwards; otherwise the planner may walk a whole tenant.
    const source = where.tokens.length
      ? sql`(select * from resources where ${sql.join(where.tokens, sql` and `)} offset 0) as r`
      : sql`resources`;
    let total: number | undefined;
    if (q.total || q.summaryCount) {
      const r = await this.guard(() => sql<{ n: string }>`select count(*)::text as n from ${source} where ${cond}`.execute(this.db));
      total = Number(r.rows[0].n);
    }
    if (q.summaryCount) {
      await this.record(ctx, { action: 'search', outcome: 'success', resourceRefs: [], patientIds: [], detail: detail + ';summary=count' });
      return { matches: [], includes: [], total, hasMore: false };
    }
    const order = q.sort === 'desc' ? sql`last_updated desc, id desc` : q.sort === 'asc' ? sql`last_updated, id` : sql`id`;
    const rows = await this.guard(() => sql<{ id: string; version: number; body: Buffer }>`
      select id, version, body from ${source} where ${cond} order by ${order} limit ${q.count + 1} offset ${q.offset}`.execute(this.db));
    const hasMore = rows.rows.length > q.count;
    const log = new WorkLog();
    await this.loadPatientKeys(keys, rows.rows.map((r) => r.body));
    const decoded = rows.rows.slice(0, q.count).map((r) => ({ id: r.id, res: JSON.parse(this.open(keys, ctx.tenantId, q.type, r.id, r.version, r.body)) }));
    // Defence in depth: every match is decided again (cached) before release; break-glass use is flagged.
    const patients = decoded.map((d) => patientOf(d.res));
    const decision = await this.access.decide(ctx, 'search', q.type, patients, { refs: [], unreached: 'skip' });
    for (const bg of decision.breakGlass) log.breakGlass.add(bg);
    const matches: any[] = [];
    decoded.forEach((d, i) => {
      if (!decision.allows(patients[i])) return;
      log.note(q.type, d.id, d.res);
      matches.push(this.access.release(decision, d.res));
    });
    const includes = await this.resolveIncludes(ctx, keys, q, matches, log);
    if (!(await this.access.chargeSearch(ctx, new Set(log.patients).size))) {
      await deny(this.deps.audit, ctx, { action: 'search', resourceRefs: [q.type], detail: `${detail};flag=bulk-limit` }, FhirError.tooManyRequests(), { wait: true });
    }
    await this.record(ctx, { action: 'search', outcome: 'success', resourceRefs: log.refs, patientIds: log.patients, detail: detail + breakGlassSuffix(log.breakGlass) });
    return { matches, includes, total, hasMore };
  }

  private searchConditions(keys: TenantKeys, tenantId: string, q: SearchQuery) {
    const rest = [sql`tenant_id = ${tenantId}`, sql`resource_type = ${q.type}`, sql`not deleted`];
    const tokens = [];
    const all: string[] = [];
    for (const c of q.criteria) {
      let toks: string[];
      try { toks = queryTokens(keys, q.type, c.def, c.values); } catch (e) {
        if (e instanceof SearchValueError) throw FhirError.badRequest(e.message, [c.def.name]);
        throw e;
      }
      if (!toks.length) return null; // e.g. a date range outside any bucket: nothing can match
      if (toks.length === 1) all.push(toks[0]);
      else tokens.push(sql`tokens && ${toks}::bigint[]`);
    }
    if (all.length) tokens.unshift(sql`tokens @> ${all}::bigint[]`);
    if (q.ids) {
      if (!q.ids.length) return null;
      rest.push(sql`id = any(${q.ids}::text[])`);
    }
    for (const b of q.lastUpdated) rest.push(b.op === '>=' ? sql`last_updated >= ${b.at}` : sql`last_updated < ${b.at}`);
    return { tokens, rest };
  }

  private async resolveIncludes(ctx: AccessContext, keys: TenantKeys, q: SearchQuery, matches: any[], log: WorkLog): Promise<any[]> {
    if (!q.include.length || !matches.length) return [];
    const wanted = new Map<string, Set<string>>();
    for (const inc of q.include) {
      for (const m of matches) {
        for (const raw of inc.param.extract(m)) {
          const mm = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(String(raw));
          if (!mm || (inc.targetType && mm[1] !== inc.targetType)) continue;
          if (!(SUPPORTED_TYPES as readonly string[]).includes(mm[1])) continue;
          if (!isAllowed(ctx.actor.role, 'read', mm[1])) continue;
          if (!wanted.has(mm[1])) wanted.set(mm[1], new Set());
          wanted.get(mm[1])!.add(mm[2]);
        }
      }
    }
    const out: any[] = [];
    for (const [type, ids] of wanted) {
      const rows = await this.guard(() => this.db.selectFrom('resources').select(['id', 'version', 'body'])
        .where('tenant_id', '=', ctx.tenantId).where('resource_type', '=', type).where('id', 'in', [...ids]).where('deleted', '=', false).execute());
      await this.loadPatientKeys(keys, rows.map((r) => r.body));
      const decoded = rows.filter((r) => r.body).map((r) => ({ id: r.id, res: JSON.parse(this.open(keys, ctx.tenantId, type, r.id, r.version, r.body!)) }));
      const patients = decoded.map((d) => patientOf(d.res));
      // An included resource the actor may not see is left out, not an error.
      const decision = await this.access.decide(ctx, 'read', type, patients, { refs: [], unreached: 'skip' });
      for (const bg of decision.breakGlass) log.breakGlass.add(bg);
      decoded.forEach((d, i) => {
        if (!decision.allows(patients[i])) return;
        log.note(type, d.id, d.res);
        out.push(this.access.release(decision, d.res));
      });
    }
    return out;
  }

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

  // ---- shared ------------------------------------------------------------------------------

  private check(ctx: AccessContext, interaction: Interaction, type: string): void {
    if (!(SUPPORTED_TYPES as readonly string[]).includes(type)) throw FhirError.notFoundType(type);
    this.access.permit(ctx, interaction, type);
  }

  /**
   * Recomputes the blind-index tokens (with the compartment token) and the care relationships of
   * every current resource of a tenant, in batches: for data stored before authorization existed
   * (migration 7). System context only; one access event per batch.
   */
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

  private async keys(ctx: AccessContext): Promise<TenantKeys> {
    try { return await this.deps.keyring.keys(ctx.tenantId); } catch {
      throw FhirError.serviceUnavailable('key provider unavailable');
    }
  }

  /** The key of the patient whose compartment `input` belongs to (created if new), or undefined. */
  private async patientKeyFor(tx: Db, keys: TenantKeys, input: any, id: string): Promise<PatientKeyRef | undefined> {
    const pid = input?.resourceType === 'Patient' ? id : patientOf(input);
    if (!pid) return undefined;
    return (await this.deps.keyring.ensurePatientKeys(tx, keys, [pid])).get(pid);
  }

  /** Unwraps the patient keys named by these bodies' headers (one query for the missing ones). */
  private async loadPatientKeys(keys: TenantKeys, bodies: Array<Uint8Array | null>, db: Db = this.db): Promise<void> {
    let nos: number[] | null = null;
    for (const b of bodies) {
      const n = bodyPatientKeyNo(b);
      if (n !== null && !keys.patients.get(n)) (nos ??= []).push(n);
    }
    if (nos) await this.guard(() => this.deps.keyring.loadPatientKeys(db, keys, nos));
  }

  private open(keys: TenantKeys, tenantId: string, type: string, id: string, version: number, body: Buffer): string {
    try {
      return this.cipher.open(keys, resourceAad(tenantId, type, id, version), body).toString('utf8');
    } catch {
      throw FhirError.serviceUnavailable(`${type}/${id} could not be decrypted`);
    }
  }

  private async record(ctx: AccessContext, e: AccessEvent): Promise<void> {
    try { await this.deps.audit.record(ctx, e); } catch {
      throw FhirError.serviceUnavailable('access log unavailable');
    }
  }

  /** Database failures become 503 (fail closed, no driver message leaks); FHIR errors pass through. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try { return await fn(); } catch (e) {
      if (e instanceof FhirError) throw e;
      if (e instanceof AuditUnavailableError) throw FhirError.serviceUnavailable('access log unavailable');
      throw FhirError.serviceUnavailable('database unavailable', e);
    }
  }
}

const breakGlassSuffix = (ids: Iterable<string>) => { const a = [...ids]; return a.length ? `;break-glass=${a.join(',')};flag=review` : ''; };
const breakGlassDetail = (ids: string[]): { detail?: string } => (ids.length ? { detail: breakGlassSuffix(ids).slice(1) } : {});

export interface TransactionOps {
  create(resource: any, id?: string): Promise<WriteResult>;
  update(type: string, id: string, resource: any, ifMatch?: number): Promise<WriteResult>;
  delete(type: string, id: string): Promise<VersionInfo | null>;
}
