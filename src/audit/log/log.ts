// The per-tenant tamper-evident access log. Events are written by the recorder at gap-free positions
// (no Merkle work on the request path); the integrator (src/audit/log/integrator.ts) then hashes them into
// each tenant's tree, and this signs C2SP checkpoints that are copied outside the database.
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../core/schema.ts';
import type { KeyProvider } from '../../vault/key-provider.ts';
import { EMPTY_ROOT, HASH_SIZE } from '../merkle/merkle.ts';
import { TILE_WIDTH } from './tiles.ts';
import { formatCheckpoint, signNote } from './note.ts';
import { EVENT_COLUMNS, encodeEntry, type EventRow } from '../record/entry.ts';
import { Integrator } from './integrator.ts';
import type { LeafCache } from '../record/leaf-cache.ts';
import { LogSigners, logOrigin } from './signer.ts';
import { CheckpointDir, pushToWitness } from './publish.ts';
import { AccessEventStream } from '../stream/stream.ts';

export interface AuditLogOptions {
  checkpointDir: string;
  witnessUrl: string | null;
  /** Runs the periodic integration elsewhere (a worker thread, with CERBERE_AUDIT_THREAD); default: here. */
  integrateAllElsewhere?: () => Promise<number>;
  /** Events the recorder appended, to integrate without reading them back (integration here only). */
  leafCache?: LeafCache;
  /** Integration period while the server runs. */
  intervalMs?: number;
  /** Least time between two checkpoints of a tenant (a new one only if the size changed). */
  checkpointEveryMs?: number;
  batchSize?: number;
  /** Operational messages (tenant ids and codes only, never event content). */
  log?: (message: string) => void;
}

export interface StoredCheckpoint { tenantId: string; size: number; root: Buffer; note: string }

export class AuditLog {
  readonly signers: LogSigners;
  readonly dir: CheckpointDir;
  private readonly lastCheckpointAt = new Map<string, number>();
  private readonly witnessPending = new Map<string, string>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private readonly integrator: Integrator;
  /** Committed access events, in log order per tenant, for detectors and incident tooling (src/audit/stream/). */
  readonly stream: AccessEventStream;

  constructor(private readonly db: Kysely<DB>, provider: KeyProvider, private readonly opts: AuditLogOptions) {
    this.signers = new LogSigners(db, provider);
    this.stream = new AccessEventStream(db, { report: (m) => this.report(`stream: ${m}`) });
    this.integrator = new Integrator(db, opts.batchSize ?? 10_000, (m) => this.report(m), opts.leafCache, this.stream);
    this.dir = new CheckpointDir(opts.checkpointDir);
  }

  private report(msg: string) { (this.opts.log ?? ((m) => console.error(`cerbere: access log: ${m}`)))(msg); }

  /** The events this process appended and has yet to integrate (see LeafCache). */
  get leafCache(): LeafCache | undefined { return this.opts.leafCache; }

  /** Integrates every pending event of the tenant; resolves with the new tree size. */
  integrate(tenantId: string): Promise<{ size: number; added: number }> { return this.integrator.integrate(tenantId); }

  /** Integrates all tenants with pending events; returns how many events were added. */
  integrateAll(): Promise<number> { return this.integrator.integrateAll(); }

  /** Size and root of the tenant's integrated tree (0 and the empty root before the first event). */
  async state(tenantId: string): Promise<{ size: number; root: Buffer }> {
    const st = await this.db.selectFrom('audit_log_state').select([sql<string>`size::text`.as('size'), 'root']).where('tenant_id', '=', tenantId).executeTakeFirst();
    return st ? { size: Number(st.size), root: st.root } : { size: 0, root: EMPTY_ROOT };
  }

  /** Canonical entries [start, end) of the integrated log, in leaf order (entry bundles, receipts). */
  async entries(tenantId: string, start: number, end: number): Promise<Buffer[]> {
    const rows = (await sql<EventRow & { leaf_index: string }>`select ${EVENT_COLUMNS}, leaf_index::text as leaf_index from audit_events e
      where tenant_id = ${tenantId} and leaf_index >= ${start}::bigint and leaf_index < ${end}::bigint order by e.leaf_index`.execute(this.db)).rows;
    return rows.map((r) => encodeEntry(tenantId, Number(r.leaf_index), r));
  }

  /** Leaf hashes [start, end) of the integrated log, in order (hash tiles, proofs), from the stored tiles. */
  async leafHashes(tenantId: string, start: number, end: number): Promise<Buffer[]> {
    return readLeafHashes(this.db, tenantId, start, end);
  }

  /** Signs, stores and publishes a checkpoint of the tenant's current tree if it grew since the last one. */
  async checkpoint(tenantId: string): Promise<StoredCheckpoint | null> {
    const st = await this.db.selectFrom('audit_log_state').select(['size', 'root']).where('tenant_id', '=', tenantId).executeTakeFirst();
    if (!st || Number(st.size) === 0) return null;
    const size = Number(st.size);
    const last = await this.db.selectFrom('audit_checkpoints').select((eb) => eb.fn.max('size').as('m')).where('tenant_id', '=', tenantId).executeTakeFirst();
    if (last?.m != null && Number(last.m) >= size) return null;
    const signer = await this.signers.get(tenantId);
    const root = st.root;
    const note = signNote(formatCheckpoint({ origin: logOrigin(tenantId), size, rootHash: root }), signer.name, signer.privateKey);
    await this.db.insertInto('audit_checkpoints').values({ tenant_id: tenantId, size, root, note })
      .onConflict((oc) => oc.columns(['tenant_id', 'size']).doNothing()).execute();
    // Another server may have stored this size first; Ed25519 is deterministic, so it is the same note.
    const stored = await this.db.selectFrom('audit_checkpoints').select('note').where('tenant_id', '=', tenantId).where('size', '=', String(size)).executeTakeFirstOrThrow();
    this.lastCheckpointAt.set(tenantId, Date.now());
    await this.publish(tenantId, size, stored.note);
    return { tenantId, size, root, note: stored.note };
  }

  private async publish(tenantId: string, size: number, note: string): Promise<void> {
    try {
      if (this.dir.write(tenantId, size, note) === 'conflict') this.report(`tenant ${tenantId}: a different checkpoint of size ${size} is already in the checkpoint directory (fork?)`);
    } catch (e) {
      this.report(`tenant ${tenantId}: cannot write the checkpoint directory (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (this.opts.witnessUrl) {
      this.witnessPending.set(tenantId, note);
      await this.pushWitness(tenantId);
    }
  }

  /** A failed push is logged and retried on the next tick with the tenant's newest checkpoint. */
  private async pushWitness(tenantId: string): Promise<void> {
    const note = this.witnessPending.get(tenantId);
    if (!note || !this.opts.witnessUrl) return;
    try {
      await pushToWitness(this.opts.witnessUrl, tenantId, note);
      if (this.witnessPending.get(tenantId) === note) this.witnessPending.delete(tenantId);
    } catch (e) {
      this.report(`tenant ${tenantId}: witness push failed, will retry (${(e as Error).name})`);
    }
  }

  /** One round: integrate, checkpoint the tenants that are due, retry witness pushes. */
  async tick(): Promise<void> {
    await (this.opts.integrateAllElsewhere ? this.opts.integrateAllElsewhere() : this.integrateAll());
    // Events integrated elsewhere (another thread or server) reach the stream from the database.
    if (this.stream.active) void this.stream.pump().catch((e: unknown) => this.report(`stream catch-up failed (${(e as Error).name})`));
    const due = await sql<{ tenant_id: string; size: string; cp: string | null }>`select s.tenant_id, s.size::text as size,
      (select max(c.size) from audit_checkpoints c where c.tenant_id = s.tenant_id)::text as cp from audit_log_state s`.execute(this.db);
    const every = this.opts.checkpointEveryMs ?? 10_000;
    for (const r of due.rows) {
      if (r.cp !== null && Number(r.cp) >= Number(r.size)) continue;
      if (Date.now() - (this.lastCheckpointAt.get(r.tenant_id) ?? 0) < every) continue;
      await this.checkpoint(r.tenant_id);
    }
    for (const t of [...this.witnessPending.keys()]) await this.pushWitness(t);
  }

  /** Re-copies each tenant's newest checkpoint outside the database (a crash may have come between). */
  async republishLatest(): Promise<void> {
    const rows = await sql<{ tenant_id: string; size: string; note: string }>`select distinct on (tenant_id) tenant_id, size::text as size, note
      from audit_checkpoints order by tenant_id, size desc`.execute(this.db);
    for (const r of rows.rows) if (this.dir.read(r.tenant_id, r.size) === null) await this.publish(r.tenant_id, Number(r.size), r.note);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const round = async (first: boolean) => {
      try {
        if (first) await this.republishLatest();
        await this.tick();
      } catch (e) {
        this.report(`integration failed (${(e as NodeJS.ErrnoException).code ?? (e as Error).name})`);
      }
    };
    const schedule = (first: boolean) => {
      this.running = round(first).finally(() => {
        this.running = null;
        if (!this.stopped) this.timer = setTimeout(() => schedule(false), this.opts.intervalMs ?? 500).unref();
      });
    };
    schedule(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.running) await this.running;
    await this.stream.idle(); // deliveries under way finish and store their positions
  }
}

/** Leaf hashes [start, end) from the level-0 tiles (fewer, larger rows than the events themselves). */
export async function readLeafHashes(db: Kysely<DB>, tenantId: string, start: number, end: number): Promise<Buffer[]> {
  const bytes = await readLeafHashBytes(db, tenantId, start, end);
  const out: Buffer[] = [];
  for (let off = 0; off < bytes.length; off += HASH_SIZE) out.push(bytes.subarray(off, off + HASH_SIZE));
  return out;
}

/** The same hashes as one contiguous buffer (32 bytes each), cut short at the first missing tile or hash. */
export async function readLeafHashBytes(db: Kysely<DB>, tenantId: string, start: number, end: number): Promise<Buffer> {
  if (end <= start) return Buffer.alloc(0);
  const first = Math.floor(start / TILE_WIDTH);
  const tiles = await db.selectFrom('audit_tiles').select([sql<string>`tile_index::text`.as('i'), 'hashes']).where('tenant_id', '=', tenantId).where('level', '=', 0)
    .where('tile_index', '>=', String(first)).where('tile_index', '<=', String(Math.floor((end - 1) / TILE_WIDTH))).execute();
  const byIndex = new Map(tiles.map((t) => [Number(t.i), t.hashes]));
  const parts: Buffer[] = [];
  for (let i = start; i < end;) {
    const t = Math.floor(i / TILE_WIDTH);
    const tile = byIndex.get(t);
    const from = (i - t * TILE_WIDTH) * HASH_SIZE;
    const to = Math.min(end - t * TILE_WIDTH, TILE_WIDTH) * HASH_SIZE;
    if (!tile || tile.length <= from) break;
    const part = tile.subarray(from, Math.min(to, tile.length - (tile.length % HASH_SIZE)));
    parts.push(part);
    if (from + part.length < to) break; // a short tile: the hashes stop here
    i = (t + 1) * TILE_WIDTH;
  }
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}
