// Read side of the access log for the HTTP views (tiles, proofs, receipts): each tenant's tree up to
// its latest signed checkpoint, held in memory and extended incrementally, checked against the
// checkpoint's signed root before anything is served from it.
//
// Leaves are read through `AuditLog.leafHashes()`, the pruned prefix through audit_pruned_hashes
// (src/ops/prune.ts). Memory: ≈ 64 bytes per leaf per cached tenant (at most MAX_TENANTS trees).
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../core/schema.ts';
import type { AuditLog } from './log.ts';
import { LogTree, type PrefixHash } from './tree.ts';

export interface SignedCheckpoint { size: number; root: Buffer; note: string }

/** The stored log no longer produces its signed root: nothing is served from it (fail closed). */
export class LogInconsistentError extends Error {
  constructor(readonly tenantId: string, message: string) { super(message); this.name = 'LogInconsistentError'; }
}

export interface LogSnapshot {
  /** Latest signed checkpoint, null before the first one. */
  checkpoint: SignedCheckpoint | null;
  /** Leaves [0, base) were pruned (retention). */
  base: number;
  /** Tree of at least checkpoint.size leaves, root checked against the checkpoint. */
  tree: LogTree;
}

const MAX_TENANTS = 16;
const PAGE = 50_000;

interface Entry { base: number; tree: LogTree; checked: number; lock: Promise<unknown> }

export async function latestCheckpoint(db: Kysely<DB>, tenantId: string): Promise<SignedCheckpoint | null> {
  const r = await db.selectFrom('audit_checkpoints').select([sql<string>`size::text`.as('size'), 'root', 'note'])
    .where('tenant_id', '=', tenantId).orderBy('size', 'desc').limit(1).executeTakeFirst();
  return r ? { size: Number(r.size), root: r.root, note: r.note } : null;
}

/** The smallest checkpoint of at least `size` leaves (the first that covers leaf size − 1), or null. */
export async function checkpointCovering(db: Kysely<DB>, tenantId: string, size: number): Promise<SignedCheckpoint | null> {
  const r = await db.selectFrom('audit_checkpoints').select([sql<string>`size::text`.as('size'), 'root', 'note'])
    .where('tenant_id', '=', tenantId).where('size', '>=', String(size)).orderBy('size', 'asc').limit(1).executeTakeFirst();
  return r ? { size: Number(r.size), root: r.root, note: r.note } : null;
}

export interface PruneRecord { boundary: number; checkpointSize: number; before: Date; note: string }

/** Every prune of the tenant's log, oldest first. */
export async function prunes(db: Kysely<DB>, tenantId: string): Promise<PruneRecord[]> {
  const rows = await db.selectFrom('audit_prunes').select([sql<string>`boundary::text`.as('boundary'), sql<string>`checkpoint_size::text`.as('cs'), 'before', 'note'])
    .where('tenant_id', '=', tenantId).orderBy('boundary', 'asc').execute();
  return rows.map((r) => ({ boundary: Number(r.boundary), checkpointSize: Number(r.cs), before: new Date(r.before), note: r.note }));
}

export async function pruneBoundary(db: Kysely<DB>, tenantId: string): Promise<number> {
  const r = await db.selectFrom('audit_prunes').select(sql<string | null>`max(boundary)::text`.as('b')).where('tenant_id', '=', tenantId).executeTakeFirst();
  return r?.b == null ? 0 : Number(r.b);
}

export async function prunedHashes(db: Kysely<DB>, tenantId: string): Promise<PrefixHash[]> {
  const rows = await db.selectFrom('audit_pruned_hashes').select(['height', sql<string>`idx::text`.as('idx'), 'hash']).where('tenant_id', '=', tenantId).execute();
  return rows.map((r) => ({ height: r.height, index: Number(r.idx), hash: r.hash }));
}

/** A tree of the tenant's log from its prune boundary up to `size` leaves, read from the database. */
export async function loadTree(db: Kysely<DB>, log: AuditLog, tenantId: string, size: number, from?: { base: number; tree?: LogTree }): Promise<LogTree> {
  let tree = from?.tree;
  if (!tree) {
    const base = from?.base ?? await pruneBoundary(db, tenantId);
    tree = new LogTree(base, base > 0 ? await prunedHashes(db, tenantId) : []);
  }
  while (tree.size < size) {
    const end = Math.min(size, tree.size + PAGE);
    const hashes = await log.leafHashes(tenantId, tree.size, end);
    if (hashes.length !== end - tree.size) {
      throw new LogInconsistentError(tenantId, `leaves ${tree.size}..${end - 1}: ${hashes.length} stored events instead of ${end - tree.size}`);
    }
    for (const h of hashes) tree.append(h);
  }
  return tree;
}

export class LogView {
  private readonly trees = new Map<string, Entry>();
  /** Latest checkpoint and prune boundary per tenant, re-read at most every `ttlMs` (checkpoints come every 10 s). */
  private readonly heads = new Map<string, { at: number; checkpoint: SignedCheckpoint | null; base: number }>();

  constructor(private readonly db: Kysely<DB>, private readonly log: AuditLog, private readonly ttlMs = 1_000) {}

  /**
   * The tenant's latest checkpoint and a tree verified against it: no query when the cache is warm
   * and the head was read less than ttlMs ago; `fresh` re-reads the head (after signing a checkpoint).
   */
  async snapshot(tenantId: string, opts: { fresh?: boolean } = {}): Promise<LogSnapshot> {
    let head = this.heads.get(tenantId);
    if (!head || opts.fresh || Date.now() - head.at >= this.ttlMs) {
      head = { at: Date.now(), ...(await this.readHead(tenantId)) };
      this.heads.set(tenantId, head);
      while (this.heads.size > 1000) this.heads.delete(this.heads.keys().next().value as string);
    }
    const { checkpoint, base } = head;
    return this.treeFor(tenantId, checkpoint, base);
  }

  private async readHead(tenantId: string): Promise<{ checkpoint: SignedCheckpoint | null; base: number }> {
    const r = (await sql<{ size: string | null; root: Buffer | null; note: string | null; base: string | null }>`select c.size::text as size, c.root, c.note,
        (select max(boundary) from audit_prunes p where p.tenant_id = ${tenantId})::text as base
      from (select 1) one left join lateral (select size, root, note from audit_checkpoints where tenant_id = ${tenantId} order by size desc limit 1) c on true`
      .execute(this.db)).rows[0];
    const base = r?.base == null ? 0 : Number(r.base);
    const checkpoint = r?.size == null ? null : { size: Number(r.size), root: r.root as Buffer, note: r.note as string };
    return { checkpoint, base };
  }

  private async treeFor(tenantId: string, checkpoint: SignedCheckpoint | null, base: number): Promise<LogSnapshot> {
    let entry = this.trees.get(tenantId);
    if (!entry || entry.base !== base) {
      entry = { base, tree: null as unknown as LogTree, checked: -1, lock: Promise.resolve() };
      const e = entry;
      e.lock = (async () => { e.tree = await loadTree(this.db, this.log, tenantId, 0, { base }); })();
      this.trees.set(tenantId, entry);
      while (this.trees.size > MAX_TENANTS) this.trees.delete(this.trees.keys().next().value as string);
    } else {
      // Least recently used goes first.
      this.trees.delete(tenantId);
      this.trees.set(tenantId, entry);
    }
    const e = entry;
    const work = e.lock.then(async () => {
      if (!checkpoint) return;
      if (e.tree.size < checkpoint.size) await loadTree(this.db, this.log, tenantId, checkpoint.size, { base, tree: e.tree });
      if (e.checked < checkpoint.size) {
        if (!e.tree.root(checkpoint.size).equals(checkpoint.root)) {
          this.trees.delete(tenantId);
          throw new LogInconsistentError(tenantId, `the stored events do not produce the signed root of checkpoint ${checkpoint.size}`);
        }
        e.checked = checkpoint.size;
      }
    });
    e.lock = work.catch(() => { if (this.trees.get(tenantId) === e) this.trees.delete(tenantId); });
    await work;
    return { checkpoint, base, tree: e.tree };
  }

  forget(tenantId: string): void { this.trees.delete(tenantId); this.heads.delete(tenantId); }
}

const views = new WeakMap<object, LogView>();

/** One view per set of services (server and CLI in the same process share it). */
export function logView(svc: { database: { db: Kysely<DB> }; log: AuditLog }): LogView {
  let v = views.get(svc.log);
  if (!v) { v = new LogView(svc.database.db, svc.log); views.set(svc.log, v); }
  return v;
}
