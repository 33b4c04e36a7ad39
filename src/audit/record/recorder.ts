// Writes access events. Writes append their events inside their own transaction; reads go through
// group commit: many requests' events in one INSERT, each caller released only after its batch
// has committed. If the insert fails every caller in the batch fails (fail closed). A committed batch is
// kept for the integrator (LeafCache), which then hashes it without reading it back.
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { DB } from '../../core/schema.ts';
import type { PreparedQuery } from '../../store/db.ts';
import { APPEND_RETURNING_SQL, APPEND_SQL, appendParams, pgTextArray, type EventRow } from './append-sql.ts';
import type { LeafCache } from './leaf-cache.ts';
import type { AppendThread } from './append-thread.ts';
import type { AccessContext } from '../../core/context.ts';
import { AuditUnavailableError, type AccessEvent } from '../../core/access-event.ts';
import { fitToEntryLimit } from './entry-split.ts';

export { AuditUnavailableError, type AccessEvent };

function toRow(ctx: AccessContext, e: AccessEvent, patients = [...new Set(e.patientIds)]): EventRow {
  return [
    ctx.tenantId, ctx.actor.kind, ctx.actor.id, ctx.actor.role, ctx.actor.siteId ?? null, ctx.client?.tokenId ?? null,
    ctx.client?.ip ?? null, ctx.purpose, e.action, e.outcome, pgTextArray(e.resourceRefs), pgTextArray(patients), e.detail ?? null,
  ];
}

const LONE_SURROGATE = /\p{Cs}/u;

/** One appended row, with the arrays as arrays for the integrator. */
interface Part { row: EventRow; refs: string[]; patients: string[] }
/** One recorded event: one row, or the consecutive parts of an oversized event (entry-split.ts). */
interface Pending { parts: Part[]; resolve: () => void; reject: (e: Error) => void }

/** What the group-commit append returns per event (APPEND_RETURNING_SQL). */
interface Assigned { tenant_id: string; leaf: string; seq: string; at: string }

export class AuditRecorder {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  appended = 0;

  constructor(private readonly opts: { batchMax: number; concurrency: number; prepared: PreparedQuery; thread?: AppendThread; leafCache?: LeafCache }) {}

  /** Appends inside the caller's transaction: the access and its event commit or fail together. */
  async appendInTransaction(tx: Transaction<DB> | Kysely<DB>, ctx: AccessContext, events: AccessEvent[]): Promise<void> {
    if (!events.length) return;
    try {
      await tx.executeQuery(CompiledQuery.raw(APPEND_SQL, appendParams(events.flatMap((e) => fitToEntryLimit(ctx, e)).map((e) => toRow(ctx, e)))));
    } catch {
      throw new AuditUnavailableError();
    }
    this.appended += events.length;
  }

  private partsOf(ctx: AccessContext, event: AccessEvent): Part[] {
    return fitToEntryLimit(ctx, event).map((e) => ({ row: toRow(ctx, e, e.patientIds), refs: [...e.resourceRefs], patients: e.patientIds }));
  }

  /** Resolves once the event is durable; the caller must not release data before. */
  record(ctx: AccessContext, event: AccessEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ parts: this.partsOf(ctx, event), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.opts.concurrency || !this.queue.length) return;
    this.scheduled = true;
    // Let the current tick's requests join the batch before flushing.
    setImmediate(() => { this.scheduled = false; void this.flush(); });
  }

  /** Hands the committed batch to the integrator (LeafCache). A tenant's events in a batch take consecutive
   *  positions in batch order (APPEND_SQL), so the lowest returned position places each returned row. */
  private hold(cache: LeafCache, batch: Part[], assigned: Assigned[]): void {
    if (assigned.length !== batch.length) return; // cannot happen; the integrator then reads the events back
    const byTenant = new Map<string, Part[]>();
    for (const p of batch) { const l = byTenant.get(p.row[0]); if (l) l.push(p); else byTenant.set(p.row[0], [p]); }
    const first = new Map<string, number>();
    for (const a of assigned) first.set(a.tenant_id, Math.min(first.get(a.tenant_id) ?? Infinity, Number(a.leaf)));
    for (const a of assigned) {
      const p = byTenant.get(a.tenant_id)?.[Number(a.leaf) - first.get(a.tenant_id)!];
      if (!p) return; // cannot happen; the integrator then reads the events back
      const r = p.row;
      // A lone surrogate is stored as U+FFFD: such an event is read back, never hashed from memory.
      if (r.some((v) => v !== null && LONE_SURROGATE.test(v))) continue;
      cache.add(a.tenant_id, Number(a.leaf), {
        seq: a.seq, at: a.at, actor_kind: r[1], actor_id: r[2], role: r[3], site_id: r[4], client_id: r[5], ip: r[6],
        purpose: r[7], action: r[8], outcome: r[9], resource_refs: p.refs, patient_ids: p.patients, detail: r[12],
      });
    }
  }

  private async flush(): Promise<void> {
    if (this.inFlight >= this.opts.concurrency || !this.queue.length) return;
    // Whole events only: the parts of one event stay in one statement (consecutive positions).
    let take = 0;
    for (let rows = 0; take < this.queue.length && (take === 0 || rows + this.queue[take].parts.length <= this.opts.batchMax); take++) rows += this.queue[take].parts.length;
    const batch = this.queue.splice(0, take);
    const parts = batch.flatMap((p) => p.parts);
    this.inFlight++;
    try {
      const rows = parts.map((p) => p.row);
      // With CERBERE_AUDIT_THREAD a worker thread serialises and sends the batch (and integrates elsewhere,
      // so what the append assigned is not needed here).
      let assigned: Assigned[] = [];
      if (this.opts.thread) await this.opts.thread.write(rows);
      else assigned = await this.opts.prepared<Assigned>('cerbere_audit_append_r', APPEND_RETURNING_SQL, appendParams(rows));
      this.appended += batch.length;
      for (const p of batch) p.resolve();
      if (assigned.length && this.opts.leafCache) this.hold(this.opts.leafCache, parts, assigned);
    } catch {
      this.opts.leafCache?.clear(); // the database may have lost commits: positions are read back from now on
      const err = new AuditUnavailableError();
      for (const p of batch) p.reject(err);
    } finally {
      this.inFlight--;
      this.schedule();
    }
  }
}
