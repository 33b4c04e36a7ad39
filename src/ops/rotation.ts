// Data-key and index-key rotation with a background, resumable, rate-limited pass.
//
// `startRotation` adds a key version (new writes use it at once in this process, within the
// keyring's refresh period in others) and records a job in key_jobs. `runKeyJob` drives the job
// through its phases, persisting a cursor after every batch so a crashed run resumes where it
// stopped:
//   enc: grace → patient-keys (re-wrap) → resources → history → verify → retire old versions → done
//   idx: grace → reindex (tokens under old+new) → retire old index key → grace2 → cleanup (new only) → done
// "grace" waits one keyring refresh period so every server writes with the new version before
// the pass starts (rows written by a lagging server would otherwise be missed).
// Row work goes through the repository (repo.lifecycle), which audits one event per batch.
import type { Services } from './services.ts';
import { systemContext, type AccessContext } from '../core/context.ts';
import { unwrapPatientKey, wrapPatientKey } from '../vault/keyring.ts';
import type { RekeyTable } from '../store/repository-lifecycle.ts';
import { retokenLinks } from '../access/care-links.ts';

export type KeyPurpose = 'enc' | 'idx';
export interface JobOptions {
  /** Rows per second at most (rate limit, so the service stays responsive). */
  rate: number;
  batch: number;
  /** How long to wait after a new version before scanning (≥ the keyring refresh period of every server). */
  graceMs: number;
  onProgress?: (done: number, total: number, label: string) => void;
}
export interface JobState { purpose: KeyPurpose; target: number; phase: string; done: number; changed: number; total: number; finished: boolean }

export class RotationError extends Error {}

const running = new Map<string, { stop: boolean; promise: Promise<JobState> }>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function jobOptions(svc: Services, over: Partial<JobOptions> = {}): JobOptions {
  // The embedded database admits one process, which switched keys at once: no other server to wait for.
  const graceMs = svc.database.kind === 'pglite' ? 0 : svc.keyring.refreshMs + 1000;
  return { rate: svc.config.rekeyRate, batch: svc.config.rekeyBatch, graceMs, ...over };
}

/** Creates the next key version and its job; if a job of this purpose is unfinished, returns it instead (resume). */
export async function startRotation(svc: Services, tenantId: string, purpose: KeyPurpose, ctx: AccessContext = systemContext(tenantId, 'key-rotation')): Promise<{ version: number; resumed: boolean }> {
  const db = svc.database.db;
  const open = await db.selectFrom('key_jobs').selectAll().where('tenant_id', '=', tenantId).where('purpose', '=', purpose).where('finished_at', 'is', null).executeTakeFirst();
  if (open) return { version: open.target_version, resumed: true };
  const version = await svc.keyring.addVersion(tenantId, purpose);
  await db.deleteFrom('key_jobs').where('tenant_id', '=', tenantId).where('purpose', '=', purpose).execute();
  await db.insertInto('key_jobs').values({ tenant_id: tenantId, purpose, target_version: version, phase: 'grace', cursor: null, done: 0, changed: 0, total: 0 }).execute();
  await svc.audit.record(ctx, { action: 'key-rotate', outcome: 'success', resourceRefs: [], patientIds: [], detail: `purpose=${purpose};version=${version}` });
  return { version, resumed: false };
}

async function state(svc: Services, tenantId: string, purpose: KeyPurpose): Promise<JobState | null> {
  const j = await svc.database.db.selectFrom('key_jobs').selectAll().where('tenant_id', '=', tenantId).where('purpose', '=', purpose).executeTakeFirst();
  return j ? { purpose, target: j.target_version, phase: j.phase, done: Number(j.done), changed: Number(j.changed), total: Number(j.total), finished: !!j.finished_at } : null;
}

export async function jobStates(svc: Services, tenantId: string): Promise<JobState[]> {
  return (await Promise.all((['enc', 'idx'] as const).map((p) => state(svc, tenantId, p)))).filter((s): s is JobState => !!s);
}

/** Runs (or joins, if already running in this process) the tenant's job for `purpose` to completion. */
export function runKeyJob(svc: Services, tenantId: string, purpose: KeyPurpose, opts: JobOptions): Promise<JobState> {
  const name = `${tenantId}|${purpose}`;
  const cur = running.get(name);
  if (cur) return cur.promise;
  const flag = { stop: false, promise: null as unknown as Promise<JobState> };
  flag.promise = drive(svc, tenantId, purpose, opts, flag).finally(() => running.delete(name));
  running.set(name, flag);
  return flag.promise;
}

/** Asks every job running in this process to stop after its current batch (server shutdown); progress is kept. */
export async function stopKeyJobs(): Promise<void> {
  const all = [...running.values()];
  for (const r of all) r.stop = true;
  await Promise.allSettled(all.map((r) => r.promise));
}

/** Resumes every unfinished job (server start), in the background. */
export async function resumeKeyJobs(svc: Services, log: (msg: string) => void = () => {}): Promise<void> {
  const open = await svc.database.db.selectFrom('key_jobs').select(['tenant_id', 'purpose']).where('finished_at', 'is', null).execute();
  for (const j of open) {
    log(`resuming ${j.purpose} key rotation of tenant ${j.tenant_id}`);
    runKeyJob(svc, j.tenant_id, j.purpose as KeyPurpose, jobOptions(svc)).catch(() => log(`${j.purpose} key rotation of tenant ${j.tenant_id} stopped on an error; it resumes at the next start or with: cerbere keys rotate --tenant ${j.tenant_id}`));
  }
}

async function drive(svc: Services, tenantId: string, purpose: KeyPurpose, opts: JobOptions, flag: { stop: boolean }): Promise<JobState> {
  const db = svc.database.db;
  const ctx = systemContext(tenantId, 'key-rotation');
  const lc = svc.repo.lifecycle;
  const save = (set: { phase?: string; cursor?: string | null; done?: number; changed?: number; total?: number; finished_at?: Date }) =>
    db.updateTable('key_jobs').set({ ...set, updated_at: new Date() }).where('tenant_id', '=', tenantId).where('purpose', '=', purpose).execute();
  const t0 = Date.now();
  let processed = 0; // rows this run, for the rate limit
  let verifications = 0;
  const throttle = async (n: number) => {
    processed += n;
    const ahead = (processed / opts.rate) * 1000 - (Date.now() - t0);
    if (ahead > 0) await sleep(ahead);
  };

  for (;;) {
    const st = await db.selectFrom('key_jobs').selectAll().where('tenant_id', '=', tenantId).where('purpose', '=', purpose).executeTakeFirst();
    if (!st || st.finished_at) return (await state(svc, tenantId, purpose))!;
    if (flag.stop) return (await state(svc, tenantId, purpose))!;
    const target = st.target_version;
    let done = Number(st.done);
    let changed = Number(st.changed);
    const label = purpose === 'enc' ? `re-encrypting ${tenantId} (key v${target})` : `re-indexing ${tenantId} (index key v${target})`;

    const pass = async (table: RekeyTable, mode: 'enc' | 'idx', nextPhase: string) => {
      let cursor = st.cursor;
      for (;;) {
        if (flag.stop) return false;
        const b = await lc.rekeyBatch(ctx, table, cursor, opts.batch, mode);
        done += b.scanned;
        changed += b.changed;
        cursor = b.next;
        await save(cursor ? { cursor, done, changed } : { cursor: null, done, changed, phase: nextPhase });
        opts.onProgress?.(Math.min(done, Number(st.total) || done), Number(st.total) || done, label);
        if (!cursor) return true;
        await throttle(b.scanned);
      }
    };

    switch (st.phase) {
      case 'grace': {
        const wait = opts.graceMs - (Date.now() - new Date(st.updated_at).getTime());
        if (wait > 0) await sleep(wait);
        const total = purpose === 'enc'
          ? (await lc.countRows(ctx, 'resources')) + (await lc.countRows(ctx, 'resource_history'))
          : 2 * (await lc.countRows(ctx, 'resources'));
        await save({ phase: purpose === 'enc' ? 'patient-keys' : 'reindex', cursor: null, total });
        break;
      }
      case 'patient-keys': {
        // Re-wrap every patient key under the new data key (the old one is retired at the end).
        const keys = await svc.keyring.keys(tenantId);
        for (;;) {
          if (flag.stop) return (await state(svc, tenantId, purpose))!;
          const rows = await db.selectFrom('patient_keys').select(['key_no', 'wrapped', 'wrap_version']).where('tenant_id', '=', tenantId)
            .where('wrap_version', '<>', keys.encVersion).orderBy('key_no').limit(opts.batch * 4).execute();
          if (!rows.length) break;
          await db.transaction().execute(async (tx) => {
            for (const r of rows) {
              const k = unwrapPatientKey(keys, r.key_no, r.wrapped, r.wrap_version);
              await tx.updateTable('patient_keys').set({ wrapped: wrapPatientKey(keys, r.key_no, k, keys.encVersion), wrap_version: keys.encVersion })
                .where('tenant_id', '=', tenantId).where('key_no', '=', r.key_no).where('wrap_version', '=', r.wrap_version).execute();
              k.fill(0);
            }
            await svc.audit.appendInTransaction(tx, ctx, [{ action: 'rekey', outcome: 'success', resourceRefs: [], patientIds: [], detail: `table=patient_keys;rewrapped=${rows.length};enc=${keys.encVersion}` }]);
          });
        }
        await save({ phase: 'resources', cursor: null });
        break;
      }
      case 'resources': if (!(await pass('resources', 'enc', 'history'))) return (await state(svc, tenantId, purpose))!; break;
      case 'history': if (!(await pass('resource_history', 'enc', 'verify'))) return (await state(svc, tenantId, purpose))!; break;
      case 'verify': {
        // A row a lagging server wrote with the old key after the pass went by: run the passes again.
        const stale = (await lc.countStale(ctx, 'resources', target)) + (await lc.countStale(ctx, 'resource_history', target));
        const keysLeft = await db.selectFrom('patient_keys').select('key_no').where('tenant_id', '=', tenantId).where('wrap_version', '<>', target).limit(1).execute();
        if (stale === 0 && !keysLeft.length) {
          await svc.keyring.retireBelow(tenantId, 'enc', target);
          await svc.audit.record(ctx, { action: 'key-retire', outcome: 'success', resourceRefs: [], patientIds: [], detail: `purpose=enc;below=${target}` });
          await save({ phase: 'done', finished_at: new Date() });
        } else {
          // Rows that no pass can re-encrypt (e.g. undecryptable) must not loop forever: stop and say so.
          if (++verifications >= 3) throw new RotationError(`${stale} rows of tenant ${tenantId} could not be re-encrypted to version ${target}`);
          await save({ phase: 'patient-keys', cursor: null });
        }
        break;
      }
      case 'reindex': if (!(await pass('resources', 'idx', 'retire-idx'))) return (await state(svc, tenantId, purpose))!; break;
      case 'retire-idx': {
        // Every row now carries tokens under both keys: stored compartment tokens move to the new key first.
        await retokenLinks(svc.database.db, await svc.keyring.keys(tenantId), tenantId);
        await svc.keyring.retireBelow(tenantId, 'idx', target);
        await svc.audit.record(ctx, { action: 'key-retire', outcome: 'success', resourceRefs: [], patientIds: [], detail: `purpose=idx;below=${target}` });
        await save({ phase: 'grace2', cursor: null });
        break;
      }
      case 'grace2': {
        const wait = opts.graceMs - (Date.now() - new Date(st.updated_at).getTime());
        if (wait > 0) await sleep(wait);
        await save({ phase: 'cleanup', cursor: null });
        break;
      }
      case 'cleanup': if (!(await pass('resources', 'idx', 'finish'))) return (await state(svc, tenantId, purpose))!; break;
      case 'finish': await save({ phase: 'done', finished_at: new Date() }); break;
      default: throw new Error(`unknown key job phase ${st.phase}`);
    }
  }
}
