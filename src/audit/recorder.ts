// Writes access events. Writes append their events inside their own transaction; reads go through
// group commit: many requests' events in one INSERT, each caller released only after its batch
// has committed. If the insert fails every caller in the batch fails (fail closed).
import type { Kysely, Transaction } from 'kysely';
import type { DB } from '../store/schema.ts';
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

type Row = DB['audit_events'] extends infer T ? { [K in keyof T]?: any } : never;

function toRow(ctx: AccessContext, e: AccessEvent): Row {
  return {
    tenant_id: ctx.tenantId,
    actor_kind: ctx.actor.kind,
    actor_id: ctx.actor.id,
    role: ctx.actor.role,
    site_id: ctx.actor.siteId ?? null,
    client_id: ctx.client?.tokenId ?? null,
    ip: ctx.client?.ip ?? null,
    purpose: ctx.purpose,
    action: e.action,
    outcome: e.outcome,
    resource_refs: e.resourceRefs,
    patient_ids: [...new Set(e.patientIds)],
    detail: e.detail ?? null,
  };
}

interface Pending { row: Row; resolve: () => void; reject: (e: Error) => void }

export class AuditRecorder {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  appended = 0;

  constructor(private readonly db: Kysely<DB>, private readonly opts: { batchMax: number; concurrency: number }) {}

  /** Appends inside the caller's transaction: the access and its event commit or fail together. */
  async appendInTransaction(tx: Transaction<DB> | Kysely<DB>, ctx: AccessContext, events: AccessEvent[]): Promise<void> {
    if (!events.length) return;
    try {
      await tx.insertInto('audit_events').values(events.map((e) => toRow(ctx, e)) as any).execute();
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
      await this.db.insertInto('audit_events').values(batch.map((p) => p.row) as any).execute();
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
