// Committed access events as the stream delivers them (src/core/watch-types.ts), from the database or
// from the fields the integrator holds.
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../core/schema.ts';
import type { CommittedAccessEvent } from '../../core/watch-types.ts';
import type { EntryFields } from '../record/entry.ts';

const OUTCOMES = new Set(['success', 'denied', 'failure']);
const outcome = (o: string): CommittedAccessEvent['outcome'] => (OUTCOMES.has(o) ? o as CommittedAccessEvent['outcome'] : 'failure');

/** Positions [from, to) of the tenant's log that are stored, in order. */
export async function readCommittedEvents(db: Kysely<DB>, tenantId: string, from: number, to: number): Promise<CommittedAccessEvent[]> {
  const rows = await db.selectFrom('audit_events')
    .select([sql<string>`leaf_index::text`.as('position'), 'recorded_at', 'actor_kind', 'actor_id', 'role', 'site_id', 'client_id', 'ip',
      'purpose', 'action', 'outcome', 'resource_refs', 'patient_ids', 'detail'])
    .where('tenant_id', '=', tenantId).where(sql<boolean>`leaf_index >= ${from}::bigint and leaf_index < ${to}::bigint`)
    .orderBy('leaf_index').execute();
  return rows.map((r) => ({
    tenantId, position: Number(r.position), at: new Date(r.recorded_at as unknown as string),
    actor: { kind: r.actor_kind, id: r.actor_id, role: r.role, siteId: r.site_id },
    tokenId: r.client_id, ip: r.ip, purpose: r.purpose, action: r.action, outcome: outcome(r.outcome),
    resourceRefs: [...r.resource_refs], patientIds: [...r.patient_ids], detail: r.detail,
  }));
}

/** The same event from the fields the integrator hashed (held in memory or read back). */
export function committedEvent(tenantId: string, position: number, f: EntryFields): CommittedAccessEvent {
  return {
    tenantId, position, at: new Date(f.at),
    actor: { kind: f.actor_kind, id: f.actor_id, role: f.role, siteId: f.site_id },
    tokenId: f.client_id, ip: f.ip, purpose: f.purpose, action: f.action, outcome: outcome(f.outcome),
    resourceRefs: [...f.resource_refs], patientIds: [...f.patient_ids], detail: f.detail,
  };
}
