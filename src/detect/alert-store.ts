// Stored alerts of the detectors and the host sentinel. An alert is de-duplicated on its key (kind and actor)
// while it is not closed: a repeat extends it (last time, patients, evidence, severity). Its state moves
// open → acknowledged → closed, each change kept in alert_history with who made it. Host alerts (tenant null
// in the candidate) are stored under HOST_TENANT and shown to every tenant's DPO and to the operator.
// Nothing here holds PHI: internal ids, counts, access-log positions and a one-line summary.
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { AlertCandidate, AlertMessage, Severity } from '../core/watch-types.ts';

export const HOST_TENANT = '_host';
const RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
const SEVERITIES = Object.keys(RANK) as Severity[];
export const ALERT_STATES = ['open', 'acknowledged', 'closed'] as const;
export type AlertState = (typeof ALERT_STATES)[number];
/** Evidence positions kept per alert (the first ones, then the latest ones). */
const EVIDENCE_MAX = 200;

export interface StoredAlert extends AlertMessage { evidence: number[] }
export interface AlertChange { state: AlertState; by: { kind: string; id: string }; at: string; note: string | null }

type Row = DB['alerts'] extends infer T ? { [K in keyof T]: any } : never;

function toMessage(r: Row): StoredAlert {
  return {
    id: r.alert_id, tenantId: r.tenant_id === HOST_TENANT ? null : r.tenant_id, kind: r.kind, severity: r.severity, state: r.state,
    actor: r.actor_kind ? { kind: r.actor_kind, id: r.actor_id } : null, tokenId: r.token_id,
    firstAt: new Date(r.first_at).toISOString(), lastAt: new Date(r.last_at).toISOString(), patients: Number(r.patients),
    summary: r.summary, evidence: (r.evidence ?? []).map(Number),
  };
}

export class AlertStore {
  constructor(private readonly db: Kysely<DB>) {}

  /**
   * Stores a candidate: a new alert, or the open one with the same key extended. Returns the alert and
   * whether it is new or rose in severity (then it is delivered again).
   */
  async raise(c: AlertCandidate): Promise<{ alert: StoredAlert; fresh: boolean }> {
    const tenant = c.tenantId ?? HOST_TENANT;
    const severity = SEVERITIES.includes(c.severity) ? c.severity : 'medium';
    const evidence = c.evidence.slice(0, EVIDENCE_MAX).map(String);
    return this.db.transaction().execute(async (tx) => {
      const cur = await tx.selectFrom('alerts').selectAll().where('tenant_id', '=', tenant).where('dedup_key', '=', c.dedupKey)
        .where('state', '<>', 'closed').forUpdate().executeTakeFirst();
      if (!cur) {
        const id = randomUUID();
        const row = await tx.insertInto('alerts').values({
          tenant_id: tenant, alert_id: id, dedup_key: c.dedupKey, kind: c.kind, severity, actor_kind: c.actor?.kind ?? null,
          actor_id: c.actor?.id ?? null, token_id: c.tokenId, first_at: c.at, last_at: c.at, patients: c.patients, evidence, summary: c.summary,
        }).returningAll().executeTakeFirstOrThrow();
        await tx.insertInto('alert_history').values({ tenant_id: tenant, alert_id: id, state: 'open', by_kind: 'system', by_id: 'detector', note: null }).execute();
        return { alert: toMessage(row as Row), fresh: true };
      }
      const rose = RANK[severity] > RANK[cur.severity as Severity];
      const merged = [...new Set([...(cur.evidence ?? []).map(String), ...evidence])];
      const kept = merged.length > EVIDENCE_MAX ? [...merged.slice(0, EVIDENCE_MAX / 2), ...merged.slice(-EVIDENCE_MAX / 2)] : merged;
      const row = await tx.updateTable('alerts').set({
        severity: rose ? severity : cur.severity,
        last_at: sql`greatest(last_at, ${c.at})`, first_at: sql`least(first_at, ${c.at})`,
        patients: sql`greatest(patients, ${c.patients})`, evidence: kept, summary: c.summary, updated_at: new Date(),
        // A repeat of an acknowledged alert that got worse needs a look again.
        ...(rose && cur.state === 'acknowledged' ? { state: 'open' } : {}),
      }).where('tenant_id', '=', tenant).where('alert_id', '=', cur.alert_id).returningAll().executeTakeFirstOrThrow();
      return { alert: toMessage(row as Row), fresh: rose };
    });
  }

  /** Alerts of a tenant (host alerts included), newest first. */
  async list(tenantId: string | null, opts: { state?: AlertState | 'all'; limit?: number; kind?: string } = {}): Promise<StoredAlert[]> {
    const tenants = tenantId === null ? [HOST_TENANT] : [tenantId, HOST_TENANT];
    let q = this.db.selectFrom('alerts').selectAll().where('tenant_id', 'in', tenants);
    const state = opts.state ?? 'all';
    if (state !== 'all') q = q.where('state', '=', state);
    if (opts.kind) q = q.where('kind', '=', opts.kind);
    return (await q.orderBy('last_at', 'desc').limit(opts.limit ?? 200).execute()).map((r) => toMessage(r as Row));
  }

  async get(tenantId: string | null, id: string): Promise<(StoredAlert & { history: AlertChange[] }) | null> {
    const tenants = tenantId === null ? [HOST_TENANT] : [tenantId, HOST_TENANT];
    const r = await this.db.selectFrom('alerts').selectAll().where('tenant_id', 'in', tenants).where('alert_id', '=', id).executeTakeFirst();
    if (!r) return null;
    const h = await this.db.selectFrom('alert_history').selectAll().where('tenant_id', '=', r.tenant_id).where('alert_id', '=', id).orderBy('at').execute();
    return {
      ...toMessage(r as Row),
      history: h.map((x) => ({ state: x.state as AlertState, by: { kind: x.by_kind, id: x.by_id }, at: new Date(x.at as unknown as string).toISOString(), note: x.note })),
    };
  }

  /** Moves an alert to `state` (acknowledged or closed); null when unknown, unchanged when already there. */
  async setState(tenantId: string | null, id: string, state: 'acknowledged' | 'closed', by: { kind: string; id: string }, note: string | null): Promise<StoredAlert | null> {
    const cur = await this.get(tenantId, id);
    if (!cur) return null;
    if (cur.state === state || cur.state === 'closed') return cur;
    const tenant = cur.tenantId ?? HOST_TENANT;
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('alerts').set({ state, updated_at: new Date() }).where('tenant_id', '=', tenant).where('alert_id', '=', id).execute();
      await tx.insertInto('alert_history').values({ tenant_id: tenant, alert_id: id, state, by_kind: by.kind, by_id: by.id, note: note?.slice(0, 500) ?? null }).execute();
    });
    return { ...cur, state };
  }

  async recordDelivery(tenantId: string | null, id: string, channel: string, status: string, attempts: number, detail: string | null): Promise<void> {
    const tenant = tenantId ?? HOST_TENANT;
    await this.db.insertInto('alert_deliveries').values({ tenant_id: tenant, alert_id: id, channel, status, attempts, detail, updated_at: new Date() })
      .onConflict((oc) => oc.columns(['tenant_id', 'alert_id', 'channel']).doUpdateSet({ status, attempts, detail, updated_at: new Date() })).execute();
  }
}
