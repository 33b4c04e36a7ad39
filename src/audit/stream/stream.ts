// The committed access-event stream: the one tap for detectors and incident tooling. Fed by the
// integrator (events it has just hashed into the log, after its transaction committed) and caught up
// from the database (events integrated by another thread or server, or missed while stopped). Each
// subscriber gets every tenant's events in log order, at least once: its position (the leaf index of
// the last event it processed) is stored in access_stream_positions after each delivered batch, and a
// restarted subscriber resumes after it. Only integrated events are delivered, so never an uncommitted one.
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../core/schema.ts';
import type { CommittedAccessEvent } from '../../core/watch-types.ts';
import type { EntryFields } from '../record/entry.ts';
import type { IntegratedFeed } from './feed.ts';
import { committedEvent, readCommittedEvents } from './events.ts';

export type StreamHandler = (event: CommittedAccessEvent) => void | Promise<void>;
/** A subscriber that takes a tenant's events a batch at a time (in order), e.g. to prefetch what they need. */
export type BatchHandler = (events: CommittedAccessEvent[]) => void | Promise<void>;

export interface SubscribeOptions {
  /** Only these tenants (default: every tenant). */
  tenants?: string[];
  /** Where a subscriber with no stored position starts: the beginning of each log (default) or its current end. */
  from?: 'start' | 'end';
}

export interface Subscription { readonly name: string; close(): Promise<void> }

interface Subscriber {
  name: string;
  handler: StreamHandler | null;
  batchHandler: BatchHandler | null;
  opts: SubscribeOptions;
  /** Next position to deliver per tenant, once loaded from the table. */
  next: Map<string, number>;
  /** Deliveries of one subscriber run one after another (order, no duplicates). */
  chain: Promise<void>;
  closed: boolean;
}

const SUBSCRIBER = /^[a-z0-9][a-z0-9.:_-]{0,63}$/;

export class AccessEventStream implements IntegratedFeed {
  private readonly subs = new Map<string, Subscriber>();

  constructor(private readonly db: Kysely<DB>, private readonly opts: { batchSize?: number; report?: (message: string) => void } = {}) {}

  get active(): boolean { return this.subs.size > 0; }

  /** Whether the integrator should hand over this tenant's events (someone listens). */
  wants(tenantId: string): boolean {
    for (const s of this.subs.values()) if (!s.opts.tenants || s.opts.tenants.includes(tenantId)) return true;
    return false;
  }

  subscribe(name: string, handler: StreamHandler, opts: SubscribeOptions = {}): Subscription {
    return this.attach(name, handler, null, opts);
  }

  /** As subscribe, the events handed over a batch at a time (each batch one tenant's, in log order). */
  subscribeBatches(name: string, handler: BatchHandler, opts: SubscribeOptions = {}): Subscription {
    return this.attach(name, null, handler, opts);
  }

  private attach(name: string, handler: StreamHandler | null, batchHandler: BatchHandler | null, opts: SubscribeOptions): Subscription {
    if (!SUBSCRIBER.test(name)) throw new Error('subscriber names are lower-case ids (a-z, 0-9, . : _ -)');
    if (this.subs.has(name)) throw new Error(`subscriber ${name} is already attached`);
    const sub: Subscriber = { name, handler, batchHandler, opts, next: new Map(), chain: Promise.resolve(), closed: false };
    this.subs.set(name, sub);
    return {
      name,
      close: async () => { sub.closed = true; this.subs.delete(name); await sub.chain; },
    };
  }

  /** The integrator's feed: `events` are positions first.. of the tenant, committed and integrated. */
  offer(tenantId: string, first: number, fields: EntryFields[]): void {
    const events = fields.map((f, i) => committedEvent(tenantId, first + i, f));
    for (const s of this.subs.values()) {
      if (s.opts.tenants && !s.opts.tenants.includes(tenantId)) continue;
      this.enqueue(s, () => this.deliver(s, tenantId, first + events.length, { first, events }));
    }
  }

  /** Catches every subscriber up to each tenant's integrated size, from the database; resolves when done. */
  async pump(): Promise<void> {
    if (!this.subs.size) return;
    const sizes = (await sql<{ tenant_id: string; size: string }>`select tenant_id, size::text as size from audit_log_state`.execute(this.db)).rows;
    const runs: Promise<void>[] = [];
    for (const s of this.subs.values()) {
      for (const r of sizes) {
        if (s.opts.tenants && !s.opts.tenants.includes(r.tenant_id)) continue;
        runs.push(this.enqueue(s, () => this.deliver(s, r.tenant_id, Number(r.size))));
      }
    }
    await Promise.all(runs);
  }

  /** Resolves once every delivery queued so far has finished. */
  async idle(): Promise<void> {
    await Promise.all([...this.subs.values()].map((s) => s.chain));
  }

  private enqueue(s: Subscriber, job: () => Promise<void>): Promise<void> {
    const run = s.chain.then(() => (s.closed ? undefined : job())).catch((e: unknown) => {
      this.report(`subscriber ${s.name}: delivery stopped, retried on the next round (${(e as Error)?.name ?? 'error'})`);
    });
    s.chain = run;
    return run;
  }

  /** Delivers positions next..upTo-1 of the tenant: from `held` where it has them, else from the database. */
  private async deliver(s: Subscriber, tenantId: string, upTo: number, held?: { first: number; events: CommittedAccessEvent[] }): Promise<void> {
    let next = await this.position(s, tenantId, upTo);
    const batch = this.opts.batchSize ?? 1000;
    while (next < upTo && !s.closed) {
      let events: CommittedAccessEvent[];
      if (held && next >= held.first && next < held.first + held.events.length) events = held.events.slice(next - held.first, next - held.first + batch);
      else events = await readCommittedEvents(this.db, tenantId, next, Math.min(upTo, next + batch));
      if (!events.length) return; // pruned or not yet visible: the next round tries again
      // Positions below `next` were delivered already (the position is the de-duplication key).
      const fresh = events.filter((e) => e.position >= next);
      if (s.batchHandler && fresh.length) {
        await s.batchHandler(fresh);
        next = fresh[fresh.length - 1].position + 1;
        s.next.set(tenantId, next);
      }
      for (const e of s.handler ? fresh : []) {
        await s.handler!(e);
        next = e.position + 1;
        s.next.set(tenantId, next);
      }
      if (!fresh.length) next = Math.max(next, events[events.length - 1].position + 1);
      await this.acknowledge(s.name, tenantId, next - 1);
    }
  }

  /** The subscriber's next position for the tenant: stored, or where `from` says for a new subscriber. */
  private async position(s: Subscriber, tenantId: string, size: number): Promise<number> {
    const known = s.next.get(tenantId);
    if (known !== undefined) return known;
    const row = await this.db.selectFrom('access_stream_positions').select(sql<string>`position::text`.as('position'))
      .where('tenant_id', '=', tenantId).where('subscriber', '=', s.name).executeTakeFirst();
    const next = row ? Number(row.position) + 1 : s.opts.from === 'end' ? size : 0;
    if (!row && s.opts.from === 'end' && size > 0) await this.acknowledge(s.name, tenantId, size - 1);
    s.next.set(tenantId, next);
    return next;
  }

  private async acknowledge(subscriber: string, tenantId: string, position: number): Promise<void> {
    await this.db.insertInto('access_stream_positions').values({ tenant_id: tenantId, subscriber, position })
      .onConflict((oc) => oc.columns(['tenant_id', 'subscriber']).doUpdateSet({ position, updated_at: new Date() })).execute();
  }

  private report(m: string) { (this.opts.report ?? ((x) => console.error(`cerbere: access stream: ${x}`)))(m); }
}
