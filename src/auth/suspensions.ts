// Suspended credentials: an API token, an OAuth client, a staff or a patient account that a spent release
// budget, a high-severity alert or a DPO suspended. Every request of a suspended principal is refused (403
// with an OperationOutcome) on every server instance until an administrator restores it; both changes are
// recorded in the access log by the caller. The list is small, so each instance keeps the tenant's active
// suspensions in memory and reloads them every few seconds (a change made here applies at once).
import type { Kysely, Selectable } from 'kysely';
import type { DB, SuspensionsTable } from '../core/schema.ts';

export interface Principal { kind: string; id: string }
export interface Suspension {
  kind: string; id: string; suspendedAt: Date; reason: string; alertId: string | null; by: string;
  restoredAt: Date | null; restoredBy: string | null;
}

const RELOAD_MS = 5_000;

export class Suspensions {
  private readonly active = new Map<string, { ids: Set<string>; until: number }>();

  constructor(private readonly db: Kysely<DB>) {}

  private async set(tenantId: string): Promise<Set<string>> {
    const hit = this.active.get(tenantId);
    if (hit && hit.until > Date.now()) return hit.ids;
    const rows = await this.db.selectFrom('suspensions').select(['principal_kind', 'principal_id'])
      .where('tenant_id', '=', tenantId).where('restored_at', 'is', null).execute();
    const ids = new Set(rows.map((r) => `${r.principal_kind}:${r.principal_id}`));
    if (this.active.size > 10_000) this.active.clear();
    this.active.set(tenantId, { ids, until: Date.now() + RELOAD_MS });
    return ids;
  }

  /** Throws when the database cannot answer (the caller fails closed). */
  async isSuspended(tenantId: string, p: Principal): Promise<boolean> {
    return (await this.set(tenantId)).has(`${p.kind}:${p.id}`);
  }

  /** Suspends (or keeps suspended); false when it already was. */
  async suspend(tenantId: string, p: Principal, reason: string, by: Principal, alertId: string | null = null): Promise<boolean> {
    const r = await this.db.insertInto('suspensions').values({
      tenant_id: tenantId, principal_kind: p.kind, principal_id: p.id, reason: reason.slice(0, 500), alert_id: alertId,
      by_kind: by.kind, by_id: by.id, suspended_at: new Date(),
    }).onConflict((oc) => oc.columns(['tenant_id', 'principal_kind', 'principal_id']).doUpdateSet({
      reason: reason.slice(0, 500), alert_id: alertId, by_kind: by.kind, by_id: by.id, suspended_at: new Date(),
      restored_at: null, restored_by: null, restore_reason: null,
    }).where('suspensions.restored_at', 'is not', null)).executeTakeFirst();
    this.active.delete(tenantId);
    return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
  }

  /** Restores; false when it was not suspended. */
  async restore(tenantId: string, p: Principal, reason: string, by: Principal): Promise<boolean> {
    const r = await this.db.updateTable('suspensions').set({ restored_at: new Date(), restored_by: `${by.kind}:${by.id}`, restore_reason: reason.slice(0, 500) })
      .where('tenant_id', '=', tenantId).where('principal_kind', '=', p.kind).where('principal_id', '=', p.id).where('restored_at', 'is', null).executeTakeFirst();
    this.active.delete(tenantId);
    return r.numUpdatedRows > 0n;
  }

  async list(tenantId: string, opts: { all?: boolean } = {}): Promise<Suspension[]> {
    let q = this.db.selectFrom('suspensions').selectAll().where('tenant_id', '=', tenantId);
    if (!opts.all) q = q.where('restored_at', 'is', null);
    return (await q.orderBy('suspended_at', 'desc').limit(500).execute()).map(toSuspension);
  }

  /** One credential's suspension record (active or restored), by its key. */
  async get(tenantId: string, p: Principal): Promise<Suspension | null> {
    const r = await this.db.selectFrom('suspensions').selectAll().where('tenant_id', '=', tenantId)
      .where('principal_kind', '=', p.kind).where('principal_id', '=', p.id).executeTakeFirst();
    return r ? toSuspension(r) : null;
  }
}

function toSuspension(r: Selectable<SuspensionsTable>): Suspension {
  return {
    kind: r.principal_kind, id: r.principal_id, suspendedAt: new Date(r.suspended_at), reason: r.reason, alertId: r.alert_id,
    by: `${r.by_kind}:${r.by_id}`, restoredAt: r.restored_at ? new Date(r.restored_at) : null, restoredBy: r.restored_by,
  };
}
