// Writes access events. Writes append their events inside their own transaction; reads go through
// group commit: many requests' events in one INSERT, each caller released only after its batch
// has committed. If the insert fails every caller in the batch fails (fail closed).
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../store/schema.ts';
import type { PreparedQuery } from '../store/db.ts';
import type { AccessContext } from './context.ts';

export interface AccessEvent {
  action: string;
  outcome: 'success' | 'denied' | 'failure';
  resourceRefs: string[];
  patientIds: string[];
  detail?: string;
}

export class AuditUnavailableError extends Error {
  constructor() { super('the access log cannot be written'); }
}

type Row = [string, string, string, string, string | null, string | null, string | null, string, string, string, string, string, string | null];

function toRow(ctx: AccessContext, e: AccessEvent): Row {
  return [
    ctx.tenantId, ctx.actor.kind, ctx.actor.id, ctx.actor.role, ctx.actor.siteId ?? null, ctx.client?.tokenId ?? null,
    ctx.client?.ip ?? null, ctx.purpose, e.action, e.outcome, JSON.stringify(e.resourceRefs), JSON.stringify([...new Set(e.patientIds)]), e.detail ?? null,
  ];
}

/** One INSERT … SELECT FROM unnest(13 arrays): the statement text is the same whatever the batch size,
 *  so PostgreSQL parses little and the client serialises 13 parameters instead of 13 per event.
 *  The same statement allocates each tenant's leaf positions from audit_log_head: the row lock is held
 *  until commit, so positions are gap-free and in commit order (tenants locked in sorted order: no
 *  deadlock between batches). Callers append as the last statement of their transaction. */
function insertEvents(rows: Row[]) {
  const col = (i: number) => rows.map((r) => r[i]);
  return sql`with x as (
      select * from unnest(${col(0)}::text[], ${col(1)}::text[], ${col(2)}::text[], ${col(3)}::text[], ${col(4)}::text[], ${col(5)}::text[],
        ${col(6)}::text[], ${col(7)}::text[], ${col(8)}::text[], ${col(9)}::text[], ${col(10)}::text[], ${col(11)}::text[], ${col(12)}::text[])
        with ordinality as x(t, ak, ai, r, s, c, ip, p, a, o, rr, pi, d, ord)),
    n as (select x.t as nt, count(*)::bigint as cnt from x group by x.t),
    h as (insert into audit_log_head as h (tenant_id, next) select nt, cnt from n order by nt
      on conflict (tenant_id) do update set next = h.next + excluded.next returning h.tenant_id, h.next)
    insert into audit_events (tenant_id, leaf_index, actor_kind, actor_id, role, site_id, client_id, ip, purpose, action, outcome, resource_refs, patient_ids, detail)
    select x.t, h.next - n.cnt + row_number() over (partition by x.t order by x.ord) - 1, ak, ai, r, s, c, ip, p, a, o,
      array(select jsonb_array_elements_text(rr::jsonb)), array(select jsonb_array_elements_text(pi::jsonb)), d
    from x join n on n.nt = x.t join h on h.tenant_id = x.t`;
}

interface Pending { row: Row; resolve: () => void; reject: (e: Error) => void }

export class AuditRecorder {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  appended = 0;

  constructor(private readonly db: Kysely<DB>, private readonly opts: { batchMax: number; concurrency: number; prepared?: PreparedQuery }) {}

  /** Appends inside the caller's transaction: the access and its event commit or fail together. */
  async appendInTransaction(tx: Transaction<DB> | Kysely<DB>, ctx: AccessContext, events: AccessEvent[]): Promise<void> {
    if (!events.length) return;
    try {
      await insertEvents(events.map((e) => toRow(ctx, e))).execute(tx);
    } catch {
      throw new AuditUnavailableError();
    }
    this.appended += events.length;
  }

  /** Resolves once the event is durable; the caller must not release data before. */
  record(ctx: AccessContext, event: AccessEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ row: toRow(ctx, event), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.opts.concurrency || !this.queue.length) return;
    this.scheduled = true;
    // Let the current tick's requests join the batch before flushing.
    setImmediate(() => { this.scheduled = false; void this.flush(); });
  }

  private async flush(): Promise<void> {
    if (this.inFlight >= this.opts.concurrency || !this.queue.length) return;
    const batch = this.queue.splice(0, this.opts.batchMax);
    this.inFlight++;
    try {
      const q = insertEvents(batch.map((p) => p.row));
      if (this.opts.prepared) {
        const c = q.compile(this.db);
        await this.opts.prepared('cerbere_audit_append', c.sql, c.parameters);
      } else {
        await q.execute(this.db);
      }
      this.appended += batch.length;
      for (const p of batch) p.resolve();
    } catch {
      const err = new AuditUnavailableError();
      for (const p of batch) p.reject(err);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }
}
