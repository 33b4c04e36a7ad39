// `cerbere audit verify`: recomputes a tenant's tree from the stored events and checks it against
// every signed checkpoint, in the database and outside it. Stops at the first problem, by position.
import { sql, type Kysely } from 'kysely';
import type { DB } from '../../core/schema.ts';
import { HASH_SIZE, textLeafHash } from '../merkle/merkle.ts';
import { verifyConsistency } from '../merkle/merkle-verify.ts';
import { LogTree, MissingNodeError } from './tree.ts';
import { prunes, prunedHashes } from './log-view.ts';
import { openCheckpoint } from './note.ts';
import { ENTRY_JSON, entryTextSql, jsonEntryLeafHash, parseEntryJson } from '../record/entry.ts';
import { logOrigin } from './signer.ts';
import { readLeafHashBytes, readLeafHashes, type AuditLog } from './log.ts';

export type ProblemKind = 'altered' | 'deleted' | 'inserted' | 'reordered' | 'checkpoint' | 'state' | 'prune';
export interface Problem { kind: ProblemKind; leafIndex?: number; size?: number; message: string }
export interface VerifyResult { tenantId: string; size: number; checkpoints: number; problem: Problem | null }

/** A checkpoint size known from the database, the external directory, or both. */
interface Known { size: number; db?: { root: Buffer; note: string }; ext?: string }

export async function verifyTenantLog(db: Kysely<DB>, log: AuditLog, tenantId: string, opts: { pageSize?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<VerifyResult> {
  await log.integrate(tenantId);
  const { verifier } = await log.signers.get(tenantId);
  const origin = logOrigin(tenantId);
  const state = await db.selectFrom('audit_log_state').select(['size', 'root']).where('tenant_id', '=', tenantId).executeTakeFirst();
  const stateSize = state ? Number(state.size) : 0;
  const known = new Map<number, Known>();
  for (const r of await db.selectFrom('audit_checkpoints').select(['size', 'root', 'note']).where('tenant_id', '=', tenantId).execute()) {
    known.set(Number(r.size), { size: Number(r.size), db: { root: r.root, note: r.note } });
  }
  for (const size of log.dir.sizes(tenantId)) {
    const k = known.get(size) ?? { size };
    k.ext = log.dir.read(tenantId, String(size)) ?? undefined;
    known.set(size, k);
  }
  const checkpoints = [...known.values()].sort((a, b) => a.size - b.size);
  const result = (problem: Problem | null, size: number): VerifyResult => ({ tenantId, size, checkpoints: checkpoints.length, problem });

  // The signed root of a checkpoint, or the problem with it (signature, copies, row columns).
  const signedRoot = (k: Known): Buffer | Problem => {
    const bad = (message: string): Problem => ({ kind: 'checkpoint', size: k.size, message: `checkpoint ${k.size}: ${message}` });
    if (!k.db) return bad('its copy outside the database is missing from the database (deleted)');
    if (k.ext === undefined) return bad('has no copy in the checkpoint directory (deleted there, or forged in the database)');
    if (k.ext !== k.db.note) return bad('differs from its copy in the checkpoint directory (rewritten)');
    try {
      const cp = openCheckpoint(k.db.note, verifier, origin);
      if (cp.size !== k.size || !cp.rootHash.equals(k.db.root)) return bad('the row does not match its signed note (altered)');
      return cp.rootHash;
    } catch {
      return bad('the signature does not verify (forged or altered)');
    }
  };

  // Retention: leaves [0, base) were pruned; each prune record must carry the log's signature, and the
  // tree starts from the stored hashes of the prefix (checked against the signed roots below).
  const pruneRecords = await prunes(db, tenantId);
  const base = pruneRecords.at(-1)?.boundary ?? 0;
  const pruneRoots = new Map<number, Buffer>();
  for (const p of pruneRecords) {
    const bad = (message: string): VerifyResult => result({ kind: 'prune', leafIndex: p.boundary, message: `prune at leaf ${p.boundary}: ${message}` }, 0);
    let cp;
    try { cp = openCheckpoint(p.note, verifier, origin); } catch { return bad('its note is not signed by the log key (forged or altered)'); }
    if (cp.size !== p.checkpointSize || cp.size < p.boundary || !cp.extensions.includes(`prune ${p.boundary}`)) return bad('the row does not match its signed note (altered)');
    if (!known.has(cp.size)) return bad(`its checkpoint ${cp.size} is missing (deleted)`);
    pruneRoots.set(cp.size, cp.rootHash);
  }
  let tree: LogTree;
  try {
    tree = new LogTree(base, base > 0 ? await prunedHashes(db, tenantId) : []);
  } catch (e) {
    if (!(e instanceof MissingNodeError)) throw e;
    return result({ kind: 'prune', leafIndex: base, message: `prune at leaf ${base}: hashes of the pruned prefix are missing (deleted)` }, base);
  }
  let next = 0; // next checkpoint to check
  let prev: { size: number; root: Buffer } | null = null;
  // Called each time the tree reaches a size: checks every checkpoint of that size.
  const atSize = (): Problem | null => {
    while (next < checkpoints.length && checkpoints[next].size <= tree.size) {
      const k = checkpoints[next++];
      const root = signedRoot(k);
      if (!Buffer.isBuffer(root)) return root;
      if (k.size < tree.size) continue; // pruned sizes (signature and copies checked only), or size 0
      const pr = pruneRoots.get(k.size);
      if (pr && !pr.equals(root)) return { kind: 'prune', size: k.size, message: `checkpoint ${k.size}: the prune note signs another root (fork)` };
      if (!tree.root().equals(root)) {
        const from = prev?.size ?? base;
        if (k.size === base) return { kind: 'altered', leafIndex: base, size: k.size, message: `checkpoint ${k.size}: the stored hashes of the pruned prefix do not produce its signed root (altered)` };
        const hint = prev === null && base > 0 ? ', or the stored hashes of the pruned prefix were altered' : '';
        return { kind: 'altered', leafIndex: from, size: k.size, message: `leaves ${from}..${k.size - 1} do not produce the signed root of checkpoint ${k.size} (an event was altered and re-hashed, or events were replaced${hint})` };
      }
      if (prev && !verifyConsistency(prev.size, k.size, tree.consistencyProof(prev.size, k.size), prev.root, root)) {
        return { kind: 'checkpoint', size: k.size, message: `checkpoint ${k.size} is not consistent with checkpoint ${prev.size}` };
      }
      prev = { size: k.size, root };
    }
    return null;
  };

  // Pages are ranges of leaf indices (not keyset on a unique key): a duplicated index is still seen.
  const pageSize = opts.pageSize ?? 50_000;
  const bounds = (await sql<{ lo: string | null; hi: string | null }>`select min(leaf_index)::text as lo, max(leaf_index)::text as hi
    from audit_events where tenant_id = ${tenantId}`.execute(db)).rows[0];
  if (bounds?.lo != null && Number(bounds.lo) < base) {
    return result({ kind: 'inserted', leafIndex: Number(bounds.lo), message: Number(bounds.lo) < 0 ? `leaf ${bounds.lo}: negative index (inserted)` : `leaf ${bounds.lo}: an event below the prune boundary ${base} (inserted)` }, 0);
  }
  if (base > 0) {
    const p = atSize(); // checkpoints up to the boundary
    if (p) return result(p, tree.size);
  }
  const end = bounds?.hi == null ? 0 : Number(bounds.hi) + 1;
  // Events with the stored leaf hashes of the same positions (level-0 tiles), to name an altered event.
  const text = entryTextSql(tenantId);
  // The exact entry recomputed from the row's values (the slow path, when PostgreSQL's text did not match).
  const exact = async (i: number, seq: string) => {
    const r = (await sql<{ entry: string }>`select ${ENTRY_JSON} from audit_events e
      where tenant_id = ${tenantId} and leaf_index = ${i}::bigint and seq = ${seq}::bigint`.execute(db)).rows[0];
    const row = parseEntryJson(r.entry);
    return { row, h: jsonEntryLeafHash(tenantId, i, row) };
  };
  const page = async (lo: number) => {
    const [events, stored] = await Promise.all([
      sql<{ i: string; s: string; entry: string }>`select leaf_index::text as i, seq::text as s, ${text} as entry from audit_events e
        where tenant_id = ${tenantId} and leaf_index >= ${lo}::bigint and leaf_index < ${lo + pageSize}::bigint
        order by e.leaf_index, e.seq`.execute(db),
      readLeafHashBytes(db, tenantId, lo, Math.min(lo + pageSize, stateSize)),
    ]);
    return { rows: events.rows, stored, lo };
  };
  let pending = end > base ? page(base) : null;
  for (let lo = base; pending; lo += pageSize) {
    const { rows, stored } = await pending;
    // The database prepares the next page while this one is hashed.
    pending = lo + pageSize < end ? page(lo + pageSize) : null;
    pending?.catch(() => {}); // awaited on the next turn; an early return must not leave it unhandled
    for (const r of rows) {
      const i = Number(r.i);
      const n = tree.size;
      if (i < n) return result({ kind: 'inserted', leafIndex: i, message: `leaf ${i}: a second event holds this position (inserted)` }, n);
      if (i > n) return result({ kind: 'deleted', leafIndex: n, message: `leaf ${n}: missing, the next stored event is leaf ${i} (deleted)` }, n);
      if (i >= stateSize) return result({ kind: 'inserted', leafIndex: i, message: `leaf ${i}: beyond the log size ${stateSize} (inserted)` }, n);
      const off = (i - lo) * HASH_SIZE;
      const s = off + HASH_SIZE <= stored.length;
      let h = textLeafHash(r.entry);
      if (!s || h.compare(stored, off, off + HASH_SIZE) !== 0) {
        const e = await exact(i, r.s);
        h = e.h;
        if (!s || h.compare(stored, off, off + HASH_SIZE) !== 0) {
          const j = s ? originalIndex(tenantId, e.row, await readLeafHashes(db, tenantId, 0, stateSize)) : -1;
          return result(j >= 0
            ? { kind: 'reordered', leafIndex: i, message: `leaf ${i}: holds the event hashed for leaf ${j} (reordered)` }
            : { kind: 'altered', leafIndex: i, message: `leaf ${i}: the event does not match its leaf hash (altered)` }, n);
        }
      }
      tree.append(h);
      const p = atSize();
      if (p) return result(p, tree.size);
    }
    opts.onProgress?.(tree.size, stateSize);
  }
  if (tree.size < stateSize) return result({ kind: 'deleted', leafIndex: tree.size, message: `leaf ${tree.size}: missing, the log size is ${stateSize} (deleted)` }, tree.size);
  if (next < checkpoints.length) {
    const k = checkpoints[next];
    return result({ kind: 'deleted', leafIndex: tree.size, size: k.size, message: `checkpoint ${k.size} covers leaves from ${tree.size} that are missing (deleted)` }, tree.size);
  }
  if (state && !tree.root().equals(state.root)) return result({ kind: 'state', message: 'the stored log state does not match the events (altered)' }, tree.size);
  return result(null, tree.size);
}

/** The position an unaltered event was hashed for (the index is part of the entry), or -1. Runs only once, on failure. */
function originalIndex(tenantId: string, row: unknown[], stored: Buffer[]): number {
  for (let j = 0; j < stored.length; j++) if (jsonEntryLeafHash(tenantId, j, row).equals(stored[j])) return j;
  return -1;
}
