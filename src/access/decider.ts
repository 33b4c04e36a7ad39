// The access decision. `permit` is its type-level part (may this role do this interaction on this type),
// checked before any data is read; `decide` is the whole of it for the patients a unit of work is about
// to release: the granting rule, which patients the actor reaches (scope: tenant, site, care
// relationship, own compartment) or reaches only through break-glass, the mask, and the release budget.
// Refusals are recorded by denials.ts. Also here: how a search is restricted in SQL, write checks, and
// the hourly search volume. The repository is the only caller for patient data; the rules are data in
// policy.ts.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { AccessContext } from '../core/context.ts';
import type { TenantKeys } from '../vault/keyring.ts';
import { patientOf } from '../fhir/search-params.ts';
import { FhirError } from '../fhir/outcome.ts';
import { envelopeCipher } from '../vault/resource-cipher.ts';
import { can, ruleFor, scopeOf, type Interaction, type RoleRule, type Scope } from './policy.ts';
import { arr, compartmentToken, compartmentTokens, linkDate, linksOf, LINK_SOURCES, LIVE, SITE_TAG_SYSTEM, siteOf } from './care-links.ts';
import { breakGlassAad } from './break-glass.ts';
import type { AccessRecorder } from '../core/access-event.ts';
import { deny, denyNow } from './denials.ts';
import { budgetExempt, type ReleaseBudgets } from './release-budget.ts';

/**
 * The principal's patient-release budget after this unit of work (release-budget.ts): 'unlimited' for
 * internal jobs; otherwise the unexplained patients released in the window and the limit. A unit that
 * would pass the limit is refused before deciding returns (429), and the credential is suspended.
 */
export type ReleaseBudget = 'unlimited' | { used: number; limit: number };

/** Called when a principal's budget is spent (the Watch head alerts and suspends), before the 429. */
export type BudgetSpentHook = (ctx: AccessContext, used: number, limit: number, requested: number) => Promise<void>;

/** One access decision for one unit of work (decide()). */
export interface Decision {
  rule: RoleRule;
  /** Break-glass accesses the released patients are reached through (flagged for review in the event). */
  breakGlass: string[];
  /** Top-level elements removed from released resources (labelled REDACTED); empty when none. */
  mask: readonly string[];
  budget: ReleaseBudget;
  /** Whether this patient's data may be released (searches leave the others out). */
  allows(patient: string | null): boolean;
}

/** meta.security label on every resource released with elements masked. */
export const REDACTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'REDACTED', display: 'redacted' };


export interface AuthzLimits { searchPatientsPerHour: number; searchPatientsPerHourClient: number; breakGlassMaxMinutes: number; careLinkDays: number }

/** How an actor reaches one patient: through a relationship (breakGlass null) or an active break-glass. */
export interface Reach { breakGlass: string | null }

interface CacheEntry { reach: Reach | null; until: number; gen: number }

const POSITIVE_MS = 30_000;
const NEGATIVE_MS = 5_000;

/** What explains a patient for the budget under a tenant-wide rule: the actor's care relationships or a break-glass. */
const CARE_RULE: RoleRule = { types: ['Patient'], interactions: ['read'], scope: 'care' };

const actorKey = (ctx: AccessContext) => `${ctx.actor.kind}:${ctx.actor.id}`;
const sitesOf = (ctx: AccessContext): string[] => {
  const s = ctx.actor.siteIds?.length ? ctx.actor.siteIds : ctx.actor.siteId ? [ctx.actor.siteId] : [];
  return s.filter((x) => typeof x === 'string' && x.length > 0);
};

export class AccessDecider {
  private readonly cache = new Map<string, CacheEntry>();
  /** Bumped when a patient's relationships or break-glass change here (other instances: within the TTL). */
  private readonly gens = new Map<string, number>();

  /** Set by the Watch head once it exists (services.ts). */
  onBudgetSpent: BudgetSpentHook | null = null;

  constructor(private readonly db: Kysely<DB>, private readonly limits: AuthzLimits, private readonly recorder: AccessRecorder, readonly budgets: ReleaseBudgets | null = null) {}

  // ---- the decision ------------------------------------------------------------------------

  /** The type-level part, before any data is read: the granting rule, or a recorded denial (403). */
  permit(ctx: AccessContext, interaction: Interaction, type: string): RoleRule {
    const rule = this.rule(ctx, interaction, type);
    // Denials are access events too; recorded without waiting (they release no data).
    if (!rule) denyNow(this.recorder, ctx, { action: interaction, resourceRefs: [type] }, FhirError.forbidden(`role ${ctx.actor.role} may not ${interaction} ${type}`));
    return rule!;
  }

  /**
   * The whole decision for the patients a unit of work is about to release. `unreached: 'deny'` (reads,
   * history): one unreached patient refuses the whole unit, the denial recorded with `refs` before the
   * 403; `'skip'` (search matches, includes): unreached patients are left out.
   */
  async decide(ctx: AccessContext, interaction: Interaction, type: string, patients: (string | null)[],
    opts: { refs: string[]; unreached: 'deny' | 'skip' }): Promise<Decision> {
    const rule = this.permit(ctx, interaction, type);
    const mask = rule.mask ?? [];
    if (!this.scoped(rule, type)) {
      const budget = await this.charge(ctx, interaction, patients, null, opts.refs);
      return { rule, breakGlass: [], mask, budget, allows: () => true };
    }
    const reach = await this.reachMany(ctx, rule, type, patients);
    const bg = new Set<string>();
    for (const p of patients) {
      const r = reach.get(p);
      if (!r) {
        if (opts.unreached === 'skip') continue;
        await deny(this.recorder, ctx, { action: interaction, resourceRefs: opts.refs, patientIds: p ? [p] : [], detail: 'scope' },
          FhirError.forbidden('no care relationship with this patient (break-glass may apply)'), { wait: true });
      }
      if (r!.breakGlass) bg.add(r!.breakGlass);
    }
    // A scoped rule reached each released patient through care, the own record or break-glass: explained.
    const budget = await this.charge(ctx, interaction, patients.filter((p) => reach.get(p)), reach, opts.refs);
    return { rule, breakGlass: [...bg], mask, budget, allows: (p) => !!reach.get(p) };
  }

  /**
   * Counts the unit's unexplained patients against the principal's release budget; refuses the whole unit
   * (recorded denial `budget=spent`, the Watch hook, then 429) when they would pass the limit. Patients the
   * budget already counted cost nothing; for tenant-wide rules the others are explained only by a care
   * relationship at the actor's sites or with its practitioner, or a break-glass (not by the role's breadth).
   */
  private async charge(ctx: AccessContext, interaction: Interaction, released: (string | null)[], reach: Map<string | null, Reach | null> | null, refs: string[]): Promise<ReleaseBudget> {
    if (!this.budgets || budgetExempt(ctx)) return 'unlimited';
    const unknown = this.budgets.unknown(ctx, released.filter((p): p is string => !!p));
    if (!unknown.length) return { used: 0, limit: await this.budgets.limitOf(ctx.tenantId, ctx.actor.kind, ctx.actor.id) };
    let explained = reach;
    if (!explained) explained = await this.reachMany(ctx, CARE_RULE, 'Patient', unknown);
    const unexplained = unknown.filter((p) => !explained!.get(p));
    let c;
    try { c = await this.budgets.charge(ctx, unexplained); } catch {
      throw FhirError.serviceUnavailable('database unavailable');
    }
    if (c.allowed) return { used: c.used, limit: c.limit };
    await this.onBudgetSpent?.(ctx, c.used, c.limit, unexplained.length).catch(() => {});
    return deny(this.recorder, ctx, { action: interaction, resourceRefs: refs, detail: `budget=spent;used=${c.used};limit=${c.limit};requested=${unexplained.length}` },
      FhirError.budgetSpent(c.limit), { wait: true });
  }

  /** Patients the principal wrote to are explained for its release budget from now on (inside the write's transaction). */
  async noteWork(tx: Kysely<DB> | Transaction<DB>, ctx: AccessContext, resources: any[]): Promise<void> {
    if (!this.budgets || budgetExempt(ctx)) return;
    const patients = resources.map((r) => (r?.resourceType === 'Patient' ? r.id : patientOf(r))).filter((p): p is string => typeof p === 'string');
    if (patients.length) await this.budgets.worked(tx, ctx, patients);
  }

  /** The released copy of a resource under a decision (masked elements removed, labelled REDACTED). */
  release(d: Decision, resource: any): any { return this.mask(d.rule, resource); }

  /** The rule granting the interaction, or null. */
  rule(ctx: AccessContext, interaction: Interaction, type: string): RoleRule | null {
    return ruleFor(ctx.actor.role, interaction, type);
  }

  /** Whether a rule needs a per-patient decision for this type. */
  scoped(rule: RoleRule, type: string): boolean {
    return scopeOf(rule, type) !== 'tenant';
  }

  // ---- reach: may this actor see this patient? ------------------------------------------------

  /** Decides for several patients at once (one query for those not cached). null: not reached. */
  async reachMany(ctx: AccessContext, rule: RoleRule, type: string, patients: (string | null)[], db: Kysely<DB> | Transaction<DB> = this.db): Promise<Map<string | null, Reach | null>> {
    const scope = scopeOf(rule, type);
    const out = new Map<string | null, Reach | null>();
    const todo: string[] = [];
    const now = Date.now();
    for (const p of new Set(patients)) {
      if (scope === 'tenant') { out.set(p, { breakGlass: null }); continue; }
      if (p === null) { out.set(p, null); continue; } // compartment data naming no patient: only tenant-wide roles
      if (scope === 'own') { out.set(p, ctx.actor.kind === 'patient' && ctx.actor.patientId === p ? { breakGlass: null } : null); continue; }
      const hit = this.cache.get(this.key(ctx, scope, p));
      if (hit && hit.until > now && hit.gen === (this.gens.get(this.genKey(ctx.tenantId, p)) ?? 0)) out.set(p, hit.reach);
      else todo.push(p);
    }
    if (!todo.length) return out;
    const sites = sitesOf(ctx);
    const practitioner = scope === 'care' ? ctx.actor.practitionerId ?? '' : '';
    let rows: { p: string; care: boolean; bg_id: string | null; bg_until: Date | null }[];
    try {
      rows = (await sql<{ p: string; care: boolean; bg_id: string | null; bg_until: Date | null }>`
        select x.p, exists (select 1 from care_links c where c.tenant_id = ${ctx.tenantId} and c.patient_id = x.p and ${LIVE}
            and (c.site_id = any(${sites}::text[]) or (${practitioner} <> '' and c.practitioner_id = ${practitioner}))) as care,
          bg.id as bg_id, bg.expires_at as bg_until
        from unnest(${todo}::text[]) as x(p)
        left join lateral (select b.id, b.expires_at from break_glass b where b.tenant_id = ${ctx.tenantId} and b.actor_kind = ${ctx.actor.kind}
            and b.actor_id = ${ctx.actor.id} and b.patient_id = x.p and b.expires_at > now() order by b.expires_at desc limit 1) bg on true`.execute(db)).rows;
    } catch {
      throw FhirError.serviceUnavailable('database unavailable');
    }
    if (this.cache.size > 50_000) this.cache.clear();
    for (const r of rows) {
      const reach: Reach | null = r.care ? { breakGlass: null } : r.bg_id ? { breakGlass: r.bg_id } : null;
      const ttl = reach ? POSITIVE_MS : NEGATIVE_MS;
      const until = reach?.breakGlass && r.bg_until ? Math.min(now + ttl, new Date(r.bg_until).getTime()) : now + ttl;
      this.cache.set(this.key(ctx, scope, r.p), { reach, until, gen: this.gens.get(this.genKey(ctx.tenantId, r.p)) ?? 0 });
      out.set(r.p, reach);
    }
    return out;
  }

  async reach(ctx: AccessContext, rule: RoleRule, type: string, patient: string | null, db?: Kysely<DB> | Transaction<DB>): Promise<Reach | null> {
    return (await this.reachMany(ctx, rule, type, [patient], db)).get(patient) ?? null;
  }

  /** Forgets cached decisions about a patient (its relationships or break-glass changed). */
  touch(tenantId: string, patientId: string): void {
    if (this.gens.size > 100_000) { this.gens.clear(); this.cache.clear(); }
    const k = this.genKey(tenantId, patientId);
    this.gens.set(k, (this.gens.get(k) ?? 0) + 1);
  }

  private key(ctx: AccessContext, scope: Scope, patient: string): string {
    return `${ctx.tenantId}\0${actorKey(ctx)}\0${scope}\0${sitesOf(ctx).join(',')}\0${ctx.actor.practitionerId ?? ''}\0${patient}`;
  }

  private genKey(tenantId: string, patientId: string) { return `${tenantId}\0${patientId}`; }

  /** The SQL restriction of a search to reached patients; null when the rule is tenant-wide; 'none' when nothing can match. */
  searchFilter(ctx: AccessContext, keys: TenantKeys, rule: RoleRule, type: string): RawBuilder<unknown> | null | 'none' {
    const scope = scopeOf(rule, type);
    if (scope === 'tenant') return null;
    if (scope === 'own') {
      if (ctx.actor.kind !== 'patient' || !ctx.actor.patientId) return 'none';
      return sql`tokens && ${compartmentTokens(keys, ctx.actor.patientId)}::bigint[]`;
    }
    const sites = sitesOf(ctx);
    const practitioner = scope === 'care' ? ctx.actor.practitionerId ?? '' : '';
    return sql`tokens && array(select c.patient_token from care_links c where c.tenant_id = ${ctx.tenantId} and ${LIVE}
        and (c.site_id = any(${sites}::text[]) or (${practitioner} <> '' and c.practitioner_id = ${practitioner}))
      union all select b.patient_token from break_glass b where b.tenant_id = ${ctx.tenantId} and b.actor_kind = ${ctx.actor.kind}
        and b.actor_id = ${ctx.actor.id} and b.expires_at > now())`;
  }

  // ---- masking -----------------------------------------------------------------------------

  /** A copy of the resource without the rule's masked elements, labelled REDACTED; the same object when nothing is masked. */
  mask(rule: RoleRule, resource: any): any {
    if (!rule.mask?.length || !resource) return resource;
    const out = { ...resource };
    for (const k of rule.mask) delete out[k];
    const security = arr(out.meta?.security).filter((s: any) => !(s?.system === REDACTED.system && s?.code === REDACTED.code));
    out.meta = { ...(out.meta ?? {}), security: [...security, REDACTED] };
    return out;
  }

  maskJson(rule: RoleRule, json: string): string {
    return rule.mask?.length ? JSON.stringify(this.mask(rule, JSON.parse(json))) : json;
  }

  // ---- writes ------------------------------------------------------------------------------

  /**
   * Checks a write against the rule's scope (the patient of the stored version and of the new one
   * must both be reached) and allowed statuses; keeps masked elements as stored (a role can neither
   * read nor write them); tags new orders, specimens and appointments with the writer's site.
   * Returns the resource to store and the break-glass used, if any.
   */
  async beforeWrite(tx: Kysely<DB> | Transaction<DB>, ctx: AccessContext, interaction: Interaction, type: string, next: any | null, prev: any | null): Promise<{ resource: any; breakGlass: string | null }> {
    const rule = this.rule(ctx, interaction, type);
    if (!rule) throw FhirError.forbidden(`role ${ctx.actor.role} may not ${interaction} ${type}`);
    let breakGlass: string | null = null;
    for (const r of [prev, next]) {
      if (!r) continue;
      if (rule.statuses && typeof r.status === 'string' && !rule.statuses.includes(r.status)) {
        throw FhirError.forbidden(`role ${ctx.actor.role} may not write ${type} with status ${r.status.replace(/[^a-z-]/g, '').slice(0, 30)}`);
      }
      const reach = await this.reach(ctx, rule, type, patientOf(r), tx);
      if (!reach) throw FhirError.forbidden(`no care relationship with this patient (break-glass may apply)`);
      breakGlass ??= reach.breakGlass;
    }
    if (!next) return { resource: next, breakGlass };
    let resource = next;
    if (rule.mask?.length) {
      resource = { ...next };
      for (const k of rule.mask) {
        if (prev && prev[k] !== undefined) resource[k] = prev[k];
        else delete resource[k];
      }
      if (resource.meta?.security) {
        const security = arr(resource.meta.security).filter((s: any) => !(s?.system === REDACTED.system && s?.code === REDACTED.code));
        resource.meta = { ...resource.meta };
        if (security.length) resource.meta.security = security; else delete resource.meta.security;
      }
    }
    const site = ctx.actor.siteId;
    if (site && LINK_SOURCES.has(type) && type !== 'Patient' && !siteOf(resource) && !(prev && siteOf(prev))) {
      resource = { ...resource, meta: { ...(resource.meta ?? {}), tag: [...arr(resource.meta?.tag), { system: SITE_TAG_SYSTEM, code: site }] } };
    }
    return { resource, breakGlass };
  }

  /** Whether a write needs the stored version decided too (scope, masks kept, statuses). */
  needsPrevious(ctx: AccessContext, interaction: Interaction, type: string): boolean {
    const rule = this.rule(ctx, interaction, type);
    return !rule || this.scoped(rule, type) || !!rule.mask?.length || !!rule.statuses;
  }

  /** Bulk imports skip per-resource decisions: only roles with an unscoped, unmasked create rule may use them. */
  assertBulkWritable(ctx: AccessContext, types: Iterable<string>): void {
    for (const type of new Set(types)) {
      const rule = this.rule(ctx, 'create', type);
      if (rule && (this.scoped(rule, type) || rule.mask?.length || rule.statuses)) throw FhirError.forbidden(`role ${ctx.actor.role} may not bulk-import ${type}`);
    }
  }

  /** Replaces the care relationships explained by these resources (null: deleted), inside the write's transaction. */
  async syncLinks(tx: Kysely<DB> | Transaction<DB>, keys: TenantKeys, tenantId: string, items: { type: string; id: string; resource: any | null }[],
    /** The sources were created in this transaction (version 1 inserted, so no row had their id): no old links to drop. */
    created = false): Promise<void> {
    const relevant = items.filter((i) => LINK_SOURCES.has(i.type));
    if (!relevant.length) return;
    const rows: { tenant_id: string; source_type: string; source_id: string; patient_id: string; patient_token: string; site_id: string; practitioner_id: string; expires_at: Date | null }[] = [];
    const byType = new Map<string, string[]>();
    const now = Date.now();
    const tokens = new Map<string, string>(); // one keyed hash per patient, not per link
    for (const i of relevant) {
      if (!byType.has(i.type)) byType.set(i.type, []);
      byType.get(i.type)!.push(i.id);
      const from = linkDate(i.resource, now);
      const expires = from === null ? null : new Date(from + this.limits.careLinkDays * 86_400_000);
      const seen = new Set<string>();
      for (const l of linksOf(i.resource)) {
        const k = `${l.patientId}|${l.siteId}|${l.practitionerId}`;
        if (seen.has(k)) continue;
        seen.add(k);
        let tok = tokens.get(l.patientId);
        if (!tok) { tok = compartmentToken(keys, l.patientId); tokens.set(l.patientId, tok); }
        rows.push({ tenant_id: tenantId, source_type: i.type, source_id: i.id, patient_id: l.patientId, patient_token: tok, site_id: l.siteId, practitioner_id: l.practitionerId, expires_at: expires });
        this.touch(tenantId, l.patientId);
      }
    }
    // Arrays as single parameters (= any, unnest): an import batch of 1,000 patients is two short statements.
    for (const [type, ids] of created ? [] : byType) {
      const old = (await sql<{ patient_id: string }>`delete from care_links where tenant_id = ${tenantId} and source_type = ${type}
        and source_id = any(${ids}::text[]) returning patient_id`.execute(tx)).rows;
      for (const o of old) this.touch(tenantId, o.patient_id);
    }
    if (!rows.length) return;
    await sql`insert into care_links (tenant_id, source_type, source_id, patient_id, patient_token, site_id, practitioner_id, expires_at)
      select ${tenantId}, t, s, p, k::bigint, si, pr, e::timestamptz
      from unnest(${rows.map((r) => r.source_type)}::text[], ${rows.map((r) => r.source_id)}::text[], ${rows.map((r) => r.patient_id)}::text[],
        ${rows.map((r) => r.patient_token)}::text[], ${rows.map((r) => r.site_id)}::text[], ${rows.map((r) => r.practitioner_id)}::text[],
        ${rows.map((r) => r.expires_at?.toISOString() ?? null)}::text[]) as x(t, s, p, k, si, pr, e)`.execute(tx);
  }

  // ---- bulk limits -------------------------------------------------------------------------

  /** Counts the patients a search releases against the account's hourly budget; false when over it. */
  async chargeSearch(ctx: AccessContext, patients: number): Promise<boolean> {
    if (!patients || can(ctx.actor.role, 'search:unlimited') || ctx.actor.kind === 'system') return true;
    const limit = ctx.actor.kind === 'token' || ctx.actor.kind === 'client' ? this.limits.searchPatientsPerHourClient : this.limits.searchPatientsPerHour;
    if (!limit) return true;
    const window = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    let n: number;
    try {
      const r = await sql<{ patients: number }>`insert into access_counters (tenant_id, actor, window_start, patients)
        values (${ctx.tenantId}, ${actorKey(ctx)}, ${window}, ${patients})
        on conflict (tenant_id, actor, window_start) do update set patients = access_counters.patients + excluded.patients
        returning patients`.execute(this.db);
      n = Number(r.rows[0].patients);
      if (Math.random() < 0.01) await this.db.deleteFrom('access_counters').where('window_start', '<', new Date(window.getTime() - 86_400_000)).execute();
    } catch {
      throw FhirError.serviceUnavailable('database unavailable');
    }
    return n <= limit;
  }

  // ---- break-glass -------------------------------------------------------------------------

  /** Records an emergency access (the caller checked the capability and that the patient exists). */
  async openBreakGlass(tx: Transaction<DB>, keys: TenantKeys, ctx: AccessContext, patientId: string, reason: string, minutes: number): Promise<{ id: string; expiresAt: Date }> {
    const id = randomUUID();
    const expiresAt = new Date(Date.now() + Math.min(minutes, this.limits.breakGlassMaxMinutes) * 60_000);
    const sealed = envelopeCipher.seal(keys, breakGlassAad(ctx.tenantId, id), Buffer.from(reason, 'utf8'));
    await tx.insertInto('break_glass').values({
      tenant_id: ctx.tenantId, id, actor_kind: ctx.actor.kind, actor_id: ctx.actor.id, role: ctx.actor.role, patient_id: patientId,
      patient_token: compartmentToken(keys, patientId), reason: sealed, expires_at: expiresAt,
    }).execute();
    this.touch(ctx.tenantId, patientId);
    return { id, expiresAt };
  }

  get maxBreakGlassMinutes(): number { return this.limits.breakGlassMaxMinutes; }
}

