// Writes access events. Writes append their events inside their own transaction; reads go through
// group commit: many requests' events in one INSERT, each caller released only after its batch
// has committed. If the insert fails every caller in the batch fails (fail closed).
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../store/schema.ts';
import type { PreparedQuery } from '../store/db.ts';
import { APPEND_SQL, appendParams, pgTextArray, type EventRow } from './append-sql.ts';
import type { AppendThread } from './append-thread.ts';
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

function toRow(ctx: AccessContext, e: AccessEvent): EventRow {
  return [
    ctx.tenantId, ctx.actor.kind, ctx.actor.id, ctx.actor.role, ctx.actor.siteId ?? null, ctx.client?.tokenId ?? null,
    ctx.client?.ip ?? null, ctx.purpose, e.action, e.outcome, pgTextArray(e.resourceRefs), pgTextArray([...new Set(e.patientIds)]), e.detail ?? null,
  ];
}

interface Pending { row: EventRow; resolve: () => void; reject: (e: Error) => void }

export class AuditRecorder {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  appended = 0;

  constructor(private readonly opts: { batchMax: number; concurrency: number; prepared: PreparedQuery; thread?: AppendThread }) {}

  /** Appends inside the caller's transaction: the access and its event commit or fail together. */
  async appendInTransaction(tx: Transaction<DB> | Kysely<DB>, ctx: AccessContext, events: AccessEvent[]): Promise<void> {
    if (!events.length) return;
    try {
      await tx.executeQuery(CompiledQuery.raw(APPEND_SQL, appendParams(events.map((e) => toRow(ctx, e)))));
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
      const rows = batch.map((p) => p.row);
      // On PostgreSQL a worker thread serialises and sends the batch: the main thread keeps serving requests.
      if (this.opts.thread) await this.opts.thread.write(rows);
      else await this.opts.prepared('cerbere_audit_append', APPEND_SQL, appendParams(rows));
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
