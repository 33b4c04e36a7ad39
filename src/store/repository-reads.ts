// The repository's reads: read, vread, history and search (with _include), each decided once and recorded
// before anything is released (group commit).
import { sql } from 'kysely';
import type { TenantKeys } from '../vault/keyring.ts';
import type { AccessContext } from '../core/context.ts';
import { isAllowed } from '../access/policy.ts';
import { FhirError } from '../fhir/outcome.ts';
import { SUPPORTED_TYPES, FHIR_ID_REGEX as ID } from '../fhir/validate.ts';
import { patientOf } from '../fhir/search-params.ts';
import type { SearchQuery } from '../fhir/search-query.ts';
import { queryTokens, SearchValueError } from './indexer.ts';
import { deny } from '../access/denials.ts';
import {
   type ReadResult, type HistoryEntry, type SearchResult, type CurrentRow, type PatientKeyCols, unknownRef, READ_SQL,
   WorkLog, RepositoryBase, breakGlassSuffix,
  breakGlassDetail,
} from './repository-base.ts';

export class RepositoryReads extends RepositoryBase {
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
  protected async release(ctx: AccessContext, keys: TenantKeys, action: 'read' | 'vread', type: string, id: string, row: CurrentRow | undefined, ref: string): Promise<ReadResult> {
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

  protected searchConditions(keys: TenantKeys, tenantId: string, q: SearchQuery) {
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

  protected async resolveIncludes(ctx: AccessContext, keys: TenantKeys, q: SearchQuery, matches: any[], log: WorkLog): Promise<any[]> {
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

}
