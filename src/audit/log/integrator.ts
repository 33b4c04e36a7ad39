// Integration of the access log: events carry gap-free positions allocated in commit order
// (src/audit/record/recorder.ts); this reads those past a tenant's tree size, hashes them (RFC 9162 leaves over
// the canonical entry), extends the level-0 hash tiles and stores the new tree state. Runs in the
// server's main thread, or in the append worker thread on PostgreSQL (src/audit/log/append-worker.ts).
//
// Concurrency: a tenant is integrated in one transaction holding its audit_log_state row FOR UPDATE,
// so several servers (or threads) never integrate the same tenant at once.
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../core/schema.ts';
import { CompactRange, EMPTY_ROOT, HASH_SIZE } from '../merkle/merkle.ts';
import { TILE_WIDTH } from './tiles.ts';
import { EVENT_COLUMNS, entryLeafHash, fieldsLeafHash, type EntryFields, type EventRow } from '../record/entry.ts';
import type { LeafCache } from '../record/leaf-cache.ts';
import type { IntegratedFeed } from '../stream/feed.ts';

export class Integrator {
  constructor(private readonly db: Kysely<DB>, private readonly batchSize: number, private readonly report: (message: string) => void,
    private readonly cache?: LeafCache, private readonly feed?: IntegratedFeed) {}

  /** Integrates every pending event of the tenant; resolves with the new tree size. */
  async integrate(tenantId: string): Promise<{ size: number; added: number }> {
    let added = 0;
    for (;;) {
      const r = await this.integrateBatch(tenantId);
      added += r.added;
      if (r.added < this.batchSize) return { size: r.size, added };
    }
  }

  /** Integrates all tenants with pending events; returns how many events were added. */
  async integrateAll(): Promise<number> {
    const rows = await sql<{ tenant_id: string; size: string; next: string }>`select h.tenant_id, coalesce(s.size, 0)::text as size, h.next::text as next
      from audit_log_head h left join audit_log_state s using (tenant_id)`.execute(this.db);
    let added = 0;
    for (const r of rows.rows) {
      if (Number(r.next) > Number(r.size)) added += (await this.integrate(r.tenant_id)).added;
      else this.cache?.forgetBelow(r.tenant_id, Number(r.size)); // integrated by another server
    }
    return added;
  }

  // Positions are allocated gap-free in commit order (src/audit/record/recorder.ts), so pending events are
  // exactly those at or past the tree size: read forward, hash, extend the tree and its level-0 tiles.
  private async integrateBatch(tenantId: string): Promise<{ size: number; added: number }> {
    await this.db.insertInto('audit_log_state')
      .values({ tenant_id: tenantId, size: 0, root: EMPTY_ROOT, compact_range: JSON.stringify(new CompactRange().toJSON()) })
      .onConflict((oc) => oc.column('tenant_id').doNothing()).execute();
    return this.db.transaction().execute(async (tx) => {
      const st = (await sql<{ size: string; compact_range: string }>`select size::text as size, compact_range from audit_log_state
        where tenant_id = ${tenantId} for update`.execute(tx)).rows[0];
      const range = CompactRange.fromJSON(JSON.parse(st.compact_range));
      const start = range.size;
      if (start !== Number(st.size)) throw new Error(`log state of ${tenantId} is inconsistent`);
      // Only positions the head has handed out: a row written around the recorder is not integrated.
      const head = (await sql<{ next: string }>`select next::text as next from audit_log_head where tenant_id = ${tenantId}`.execute(tx)).rows[0];
      const limit = Math.min(Number(head?.next ?? start), start + this.batchSize);
      // Events this process appended are in the cache; the others are read back from the database.
      const held: (EntryFields | undefined)[] = [];
      const missing: number[] = [];
      for (let i = start; i < limit; i++) {
        const f = this.cache?.get(tenantId, i);
        held.push(f);
        if (!f) missing.push(i);
      }
      const read = new Map<number, EventRow>();
      if (missing.length) {
        const which = missing.length === limit - start ? sql`leaf_index >= ${start}::bigint and leaf_index < ${limit}::bigint`
          : sql`leaf_index = any(${missing.map(String)}::bigint[])`;
        const rows = (await sql<EventRow & { leaf_index: string }>`select ${EVENT_COLUMNS}, leaf_index::text as leaf_index from audit_events e
          where tenant_id = ${tenantId} and ${which}`.execute(tx)).rows;
        for (const r of rows) read.set(Number(r.leaf_index), r);
      }
      const hashes: Buffer[] = [];
      // Only when a stream subscriber listens: the events, to hand over once this transaction has committed.
      const fed: EntryFields[] | null = this.feed?.wants(tenantId) ? [] : null;
      for (let i = start; i < limit; i++) {
        const f = held[i - start];
        const row = f ? undefined : read.get(i);
        // A hole can only come from tampering: stop there, `audit verify` names it.
        if (!f && !row) { this.report(`tenant ${tenantId}: leaf ${i} is missing`); break; }
        const h = f ? fieldsLeafHash(tenantId, i, f) : entryLeafHash(tenantId, i, row!);
        hashes.push(h);
        range.append(h);
        fed?.push(f ?? { ...row!, resource_refs: JSON.parse(row!.resource_refs ?? '[]'), patient_ids: JSON.parse(row!.patient_ids ?? '[]') });
      }
      if (!hashes.length) return { size: start, added: 0, start, fed };
      await this.writeTiles(tx, tenantId, start, hashes);
      await tx.updateTable('audit_log_state').where('tenant_id', '=', tenantId)
        .set({ size: range.size, root: range.root(), compact_range: JSON.stringify(range.toJSON()), updated_at: sql`now()` }).execute();
      return { size: range.size, added: hashes.length, start, fed };
    }).then(({ size, added, start, fed }) => {
      this.cache?.forgetBelow(tenantId, size); // after commit: a rolled-back round integrates them again
      if (fed?.length) this.feed!.offer(tenantId, start, fed); // committed: the stream may deliver them
      return { size, added };
    }, (e: unknown) => {
      this.cache?.clear(); // the database may have lost commits: positions are read back from now on
      throw e;
    });
  }

  /** Extends the level-0 tiles with hashes of leaves start.. (the first tile may be partial already). */
  private async writeTiles(tx: Kysely<DB>, tenantId: string, start: number, hashes: Buffer[]): Promise<void> {
    const first = Math.floor(start / TILE_WIDTH);
    let prefix: Buffer = Buffer.alloc(0);
    if (start % TILE_WIDTH) {
      const t = await tx.selectFrom('audit_tiles').select('hashes').where('tenant_id', '=', tenantId).where('level', '=', 0).where('tile_index', '=', String(first)).executeTakeFirst();
      prefix = (t?.hashes ?? Buffer.alloc(0)).subarray(0, (start % TILE_WIDTH) * HASH_SIZE);
      if (prefix.length !== (start % TILE_WIDTH) * HASH_SIZE) throw new Error(`tile ${first} of ${tenantId} is missing`);
    }
    const all = Buffer.concat([prefix, ...hashes]);
    const idx: string[] = [];
    const data: string[] = [];
    for (let off = 0, t = first; off < all.length; off += TILE_WIDTH * HASH_SIZE, t++) {
      idx.push(String(t));
      data.push(all.subarray(off, off + TILE_WIDTH * HASH_SIZE).toString('base64'));
    }
    await sql`insert into audit_tiles (tenant_id, level, tile_index, hashes)
      select ${tenantId}, 0, i, decode(h, 'base64') from unnest(${idx}::bigint[], ${data}::text[]) as x(i, h)
      on conflict (tenant_id, level, tile_index) do update set hashes = excluded.hashes`.execute(tx);
  }
}
