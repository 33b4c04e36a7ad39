// Read model: an actor's recent access events (the DPO's view of an alert). Positions, times, actions and
// counts of patients only: no patient id leaves this module.
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../core/schema.ts';

export interface TimelineEvent { position: number | null; at: string; action: string; outcome: string; patients: number; ip: string | null; purpose: string; tokenId: string | null }

export async function actorTimeline(db: Kysely<DB>, tenantId: string, actor: { kind: string; id: string }, limit = 100): Promise<TimelineEvent[]> {
  const rows = await sql<{ leaf: string | null; at: Date; action: string; outcome: string; n: number; ip: string | null; purpose: string; client_id: string | null }>`
    select leaf_index::text as leaf, recorded_at as at, action, outcome, cardinality(patient_ids) as n, ip, purpose, client_id
    from audit_events where tenant_id = ${tenantId} and actor_kind = ${actor.kind} and actor_id = ${actor.id}
    order by recorded_at desc, seq desc limit ${limit}`.execute(db);
  return rows.rows.map((r) => ({
    position: r.leaf === null ? null : Number(r.leaf), at: new Date(r.at).toISOString(), action: r.action, outcome: r.outcome,
    patients: Number(r.n), ip: r.ip, purpose: r.purpose, tokenId: r.client_id,
  }));
}
