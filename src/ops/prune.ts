// Retention of the access log: `cerbere audit prune`. Events recorded before a date are deleted, but
// only as a prefix [0, boundary) of the tenant's Merkle log lying within a signed checkpoint, and only
// together with what keeps the rest verifiable:
//   - the hashes of the pruned prefix that proofs and tiles still need (src/audit/log/tree.ts), in
//     audit_pruned_hashes;
//   - a prune record (audit_prunes) whose note is a checkpoint of the covering size, signed by the log
//     key, with the extension line `prune <boundary>`: an attacker without the key cannot pass a
//     deletion off as a prune;
//   - an access event `audit-prune` appended in the same transaction.
// The log is verified first: a log that does not verify is never pruned (that would destroy evidence).
// The delete goes through the one exception of the append-only trigger (migration 4): a transaction
// that set cerbere.audit_prune and inserted the prune record may delete leaves below its boundary.
import { sql } from 'kysely';
import type { Services } from './services.ts';
import { systemContext, type AccessContext } from '../core/context.ts';
import { formatCheckpoint, signNote } from '../audit/log/note.ts';
import { logOrigin } from '../audit/log/signer.ts';
import { verifyTenantLog } from '../audit/log/verify.ts';
import { latestCheckpoint, loadTree, logView, pruneBoundary } from '../audit/log/log-view.ts';

export class PruneError extends Error {}

export interface PruneResult {
  tenantId: string; before: Date;
  /** Leaves [0, boundary) are now pruned; previous is the boundary before this run. */
  boundary: number; previous: number; deleted: number;
  /** Size of the signed checkpoint that covers the boundary. */
  checkpointSize: number;
}

export const PRUNE_EXTENSION = 'prune';

export async function pruneAccessLog(svc: Services, tenantId: string, before: Date, ctx: AccessContext = systemContext(tenantId, 'HSYSADMIN')): Promise<PruneResult> {
  if (Number.isNaN(before.getTime())) throw new PruneError('invalid date');
  if (before.getTime() > Date.now()) throw new PruneError('the date is in the future');
  const db = svc.database.db;
  const log = svc.log;
  // Cover every integrated event by a checkpoint, then make sure the log is intact before deleting anything.
  await log.integrate(tenantId);
  await log.checkpoint(tenantId);
  const check = await verifyTenantLog(db, log, tenantId);
  if (check.problem) throw new PruneError(`the access log does not verify, nothing pruned: ${check.problem.message}`);
  const cp = await latestCheckpoint(db, tenantId);
  const previous = await pruneBoundary(db, tenantId);
  const none = { tenantId, before, boundary: previous, previous, deleted: 0, checkpointSize: cp?.size ?? 0 };
  if (!cp) return none;
  const first = (await sql<{ n: string | null }>`select min(leaf_index)::text as n from audit_events
    where tenant_id = ${tenantId} and leaf_index is not null and recorded_at >= ${before.toISOString()}::timestamptz`.execute(db)).rows[0]?.n;
  const boundary = Math.min(first == null ? cp.size : Number(first), cp.size);
  if (boundary <= previous) return none;

  const tree = await loadTree(db, log, tenantId, cp.size);
  if (!tree.root(cp.size).equals(cp.root)) throw new PruneError('the stored events do not produce the signed root; nothing pruned');
  const hashes = tree.prefixHashes(boundary);
  const signer = await log.signers.get(tenantId);
  const note = signNote(formatCheckpoint({ origin: logOrigin(tenantId), size: cp.size, rootHash: cp.root, extensions: [`${PRUNE_EXTENSION} ${boundary}`] }), signer.name, signer.privateKey);

  const deleted = await db.transaction().execute(async (tx) => {
    await sql`select set_config('cerbere.audit_prune', ${tenantId}, true)`.execute(tx);
    await tx.insertInto('audit_prunes').values({ tenant_id: tenantId, boundary, checkpoint_size: cp.size, before, note }).execute();
    for (let k = 0; k < hashes.length; k += 10_000) {
      const part = hashes.slice(k, k + 10_000);
      await sql`insert into audit_pruned_hashes (tenant_id, height, idx, hash)
        select ${tenantId}, h, i, decode(x, 'hex') from unnest(${part.map((p) => p.height)}::int[], ${part.map((p) => p.index)}::bigint[], ${part.map((p) => p.hash.toString('hex'))}::text[]) as u(h, i, x)
        on conflict do nothing`.execute(tx);
    }
    const n = Number((await sql<{ n: string }>`with d as (delete from audit_events where tenant_id = ${tenantId} and leaf_index < ${boundary}::bigint returning 1)
      select count(*)::text as n from d`.execute(tx)).rows[0].n);
    if (n !== boundary - previous) throw new PruneError(`expected ${boundary - previous} events below the boundary, found ${n}; nothing pruned`);
    await svc.audit.appendInTransaction(tx, ctx, [{
      action: 'audit-prune', outcome: 'success', resourceRefs: [], patientIds: [],
      detail: `boundary=${boundary};previous=${previous};checkpoint=${cp.size};before=${before.toISOString()};deleted=${n}`,
    }]);
    return n;
  });
  logView(svc).forget(tenantId);
  await log.integrate(tenantId);
  await log.checkpoint(tenantId);
  return { tenantId, before, boundary, previous, deleted, checkpointSize: cp.size };
}
