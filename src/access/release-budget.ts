// Patient-release budgets: how many patients a principal (staff account, patient account, API token, OAuth
// client) may release that nothing explains — no care relationship at its sites or with its practitioner, not
// its own record, no break-glass, not a patient it wrote to itself. A stolen credential that pages through a
// tenant is cut off once it has released `limit` such patients within the window (default 200 in 24 h, for
// every role: a `service` or `reader` token's tenant-wide scope is what it may do, not an explanation).
//
// Counted in PostgreSQL (table budget_releases), so every server instance shares one count: a patient is
// counted once per principal and window; a request that would cross the limit is refused whole (nothing
// released), and the caller suspends the credential. Raised limits are set per principal by an
// administrator with a reason; above the tenant's approval threshold a second person approves them.
import { sql, type Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { AccessContext } from '../core/context.ts';

export interface BudgetConfig {
  /** Unexplained patients a principal may release per window (CERBERE_BUDGET_PATIENTS, default 200). */
  patients: number;
  /** Window in hours (CERBERE_BUDGET_WINDOW_HOURS, default 24). */
  windowHours: number;
  /** A raised limit above this needs a second administrator's approval (CERBERE_BUDGET_APPROVAL_ABOVE, default 5000). */
  approvalAbove: number;
}

export const DEFAULT_BUDGET: BudgetConfig = { patients: 200, windowHours: 24, approvalAbove: 5000 };

export interface Charge { allowed: boolean; used: number; limit: number }

export class BudgetError extends Error {}

const principalOf = (ctx: AccessContext) => `${ctx.actor.kind}:${ctx.actor.id}`;
/** Internal jobs (seeding, migrations, retention) are not credentials anyone can steal over the network. */
export const budgetExempt = (ctx: AccessContext) => ctx.actor.kind === 'system';

const LIMIT_TTL_MS = 30_000;
const KNOWN_CAP = 200_000;

export class ReleaseBudgets {
  /** Patients already counted (or worked on) per principal: a repeat costs no query. Bounded; cleared when full. */
  private readonly known = new Map<string, Set<string>>();
  private knownSize = 0;
  private readonly limits = new Map<string, { limit: number; until: number }>();

  constructor(private readonly db: Kysely<DB>, readonly config: BudgetConfig = DEFAULT_BUDGET) {}

  private key(ctx: AccessContext) { return `${ctx.tenantId}\0${principalOf(ctx)}`; }

  /** Patients of this list not yet counted for the principal (those need an explanation or a charge). */
  unknown(ctx: AccessContext, patients: Iterable<string>): string[] {
    const k = this.known.get(this.key(ctx));
    return [...new Set(patients)].filter((p) => !k?.has(p));
  }

  private remember(ctx: AccessContext, patients: string[]): void {
    if (this.knownSize + patients.length > KNOWN_CAP) { this.known.clear(); this.knownSize = 0; }
    const k = this.key(ctx);
    let set = this.known.get(k);
    if (!set) { set = new Set(); this.known.set(k, set); }
    for (const p of patients) if (!set.has(p)) { set.add(p); this.knownSize++; }
  }

  /** The principal's limit: its approved raised budget, else the default. */
  async limitOf(tenantId: string, kind: string, id: string): Promise<number> {
    const k = `${tenantId}\0${kind}:${id}`;
    const hit = this.limits.get(k);
    if (hit && hit.until > Date.now()) return hit.limit;
    const row = await this.db.selectFrom('release_budgets').select('patient_limit').where('tenant_id', '=', tenantId)
      .where('principal_kind', '=', kind).where('principal_id', '=', id).where('status', '=', 'active').executeTakeFirst();
    const limit = row?.patient_limit ?? this.config.patients;
    if (this.limits.size > 10_000) this.limits.clear();
    this.limits.set(k, { limit, until: Date.now() + LIMIT_TTL_MS });
    return limit;
  }

  /**
   * Counts `unexplained` patients (from `unknown`, with the explained ones removed by the caller) against the
   * budget. Refused whole when the count would pass the limit: the caller releases nothing and suspends.
   */
  async charge(ctx: AccessContext, unexplained: string[]): Promise<Charge> {
    const limit = await this.limitOf(ctx.tenantId, ctx.actor.kind, ctx.actor.id);
    if (!unexplained.length) return { allowed: true, used: 0, limit };
    const principal = principalOf(ctx);
    const since = new Date(Date.now() - this.config.windowHours * 3_600_000);
    // One principal's charges are serialised (advisory lock), so two instances cannot both pass the limit.
    const r = await this.db.transaction().execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${`budget|${ctx.tenantId}|${principal}`}))`.execute(tx);
      const used = Number((await sql<{ n: string }>`select count(*)::text as n from budget_releases where tenant_id = ${ctx.tenantId}
        and principal = ${principal} and not worked and first_at > ${since}`.execute(tx)).rows[0].n);
      const fresh = (await sql<{ patient_id: string }>`select x.p as patient_id from unnest(${unexplained}::text[]) as x(p)
        where not exists (select 1 from budget_releases b where b.tenant_id = ${ctx.tenantId} and b.principal = ${principal}
          and b.patient_id = x.p and (b.worked or b.first_at > ${since}))`.execute(tx)).rows.map((x) => x.patient_id);
      if (used + fresh.length > limit) return { allowed: false, used, limit };
      if (fresh.length) {
        await sql`insert into budget_releases (tenant_id, principal, patient_id, first_at, worked)
          select ${ctx.tenantId}, ${principal}, p, now(), false from unnest(${fresh}::text[]) as x(p)
          on conflict (tenant_id, principal, patient_id) do update set first_at = excluded.first_at where not budget_releases.worked`.execute(tx);
      }
      return { allowed: true, used: used + fresh.length, limit };
    });
    if (r.allowed) this.remember(ctx, unexplained);
    return r;
  }

  /** Patients the principal wrote to (created, updated): explained from now on. Called inside the write's transaction. */
  async worked(tx: Kysely<DB>, ctx: AccessContext, patients: string[]): Promise<void> {
    const todo = this.unknown(ctx, patients);
    if (!todo.length || budgetExempt(ctx)) return;
    await sql`insert into budget_releases (tenant_id, principal, patient_id, worked)
      select ${ctx.tenantId}, ${principalOf(ctx)}, p, true from unnest(${todo}::text[]) as x(p)
      on conflict (tenant_id, principal, patient_id) do update set worked = true`.execute(tx);
    this.remember(ctx, todo);
  }

  /** Unexplained patients released in the current window, and the limit. */
  async usage(tenantId: string, kind: string, id: string): Promise<{ used: number; limit: number }> {
    const since = new Date(Date.now() - this.config.windowHours * 3_600_000);
    const n = await sql<{ n: string }>`select count(*)::text as n from budget_releases where tenant_id = ${tenantId}
      and principal = ${`${kind}:${id}`} and not worked and first_at > ${since}`.execute(this.db);
    return { used: Number(n.rows[0].n), limit: await this.limitOf(tenantId, kind, id) };
  }

  /** A restored credential starts a new window: its unexplained releases so far no longer count. */
  async resetWindow(tenantId: string, kind: string, id: string): Promise<void> {
    await this.db.deleteFrom('budget_releases').where('tenant_id', '=', tenantId).where('principal', '=', `${kind}:${id}`).where('worked', '=', false).execute();
    this.known.delete(`${tenantId}\0${kind}:${id}`);
  }

  /** Sets a raised (or lowered) limit with a reason. Above the approval threshold it waits for a second administrator. */
  async setLimit(tenantId: string, kind: string, id: string, limit: number, reason: string, by: string): Promise<'active' | 'pending'> {
    if (!Number.isSafeInteger(limit) || limit < 0 || limit > 100_000_000) throw new BudgetError('the limit must be a whole number of patients from 0 to 100,000,000');
    if (reason.trim().length < 10 || reason.length > 500) throw new BudgetError('a reason of 10 to 500 characters is required');
    const status = limit > this.config.approvalAbove ? 'pending' : 'active';
    await this.db.insertInto('release_budgets').values({ tenant_id: tenantId, principal_kind: kind, principal_id: id, patient_limit: limit, reason, set_by: by, status, set_at: new Date() })
      .onConflict((oc) => oc.columns(['tenant_id', 'principal_kind', 'principal_id']).doUpdateSet({ patient_limit: limit, reason, set_by: by, status, set_at: new Date(), approved_by: null, approved_at: null }))
      .execute();
    this.limits.delete(`${tenantId}\0${kind}:${id}`);
    return status;
  }

  /** A second administrator approves a pending raised limit. */
  async approve(tenantId: string, kind: string, id: string, by: string): Promise<number> {
    const row = await this.db.selectFrom('release_budgets').selectAll().where('tenant_id', '=', tenantId).where('principal_kind', '=', kind).where('principal_id', '=', id).executeTakeFirst();
    if (!row || row.status !== 'pending') throw new BudgetError('no raised budget awaits approval for this credential');
    if (row.set_by === by) throw new BudgetError('the administrator who asked for the raised budget cannot approve it: a second person must');
    await this.db.updateTable('release_budgets').set({ status: 'active', approved_by: by, approved_at: new Date() })
      .where('tenant_id', '=', tenantId).where('principal_kind', '=', kind).where('principal_id', '=', id).execute();
    this.limits.delete(`${tenantId}\0${kind}:${id}`);
    return row.patient_limit;
  }

  async list(tenantId: string) {
    return this.db.selectFrom('release_budgets').selectAll().where('tenant_id', '=', tenantId).orderBy('set_at', 'desc').execute();
  }
}
