// Break-glass records for review: the reasons are sealed under the tenant's key; the DPO lists and closes them.
// Opening one is the decider's (decider.ts), inside the repository's transaction.
import type { Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { TenantKeys } from '../vault/keyring.ts';
import { envelopeCipher } from '../vault/resource-cipher.ts';

export const breakGlassAad = (tenantId: string, id: string) => `${tenantId}|break-glass|${id}`;

export interface BreakGlassRecord {
  id: string; actorKind: string; actorId: string; role: string; patientId: string; reason: string;
  createdAt: Date; expiresAt: Date; reviewedAt: Date | null; reviewedBy: string | null;
}

/** Break-glass accesses of a tenant for review (reasons decrypted), newest first. */
export async function listBreakGlass(db: Kysely<DB>, keys: TenantKeys, tenantId: string, opts: { pendingOnly: boolean; limit: number }): Promise<BreakGlassRecord[]> {
  let q = db.selectFrom('break_glass').selectAll().where('tenant_id', '=', tenantId);
  if (opts.pendingOnly) q = q.where('reviewed_at', 'is', null);
  const rows = await q.orderBy('created_at', 'desc').limit(opts.limit).execute();
  return rows.map((r) => ({
    id: r.id, actorKind: r.actor_kind, actorId: r.actor_id, role: r.role, patientId: r.patient_id,
    reason: envelopeCipher.open(keys, breakGlassAad(tenantId, r.id), r.reason).toString('utf8'),
    createdAt: new Date(r.created_at as unknown as string), expiresAt: new Date(r.expires_at as unknown as string), reviewedAt: r.reviewed_at ? new Date(r.reviewed_at as unknown as string) : null, reviewedBy: r.reviewed_by,
  }));
}

/** Marks a break-glass access as reviewed; false when unknown or already reviewed. */
export async function reviewBreakGlass(db: Kysely<DB>, tenantId: string, id: string, reviewer: string): Promise<boolean> {
  const r = await db.updateTable('break_glass').set({ reviewed_at: new Date(), reviewed_by: reviewer })
    .where('tenant_id', '=', tenantId).where('id', '=', id).where('reviewed_at', 'is', null).executeTakeFirst();
  return r.numUpdatedRows > 0n;
}
