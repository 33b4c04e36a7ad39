// Crypto-shredding of one patient (GDPR Art. 17, end of retention) and the shredded-key list.
//
// Every resource of a patient's compartment is sealed under the tenant data key AND the patient's
// own random key (src/vault/envelope.ts, scope 1). Erasure deletes that key (patient_keys row), the
// patient's current bodies, blind-index tokens and history, and lists the key number in
// shredded_keys. A backup taken before the erasure still holds the wrapped key: restoring it must be
// followed by applyShreddedKeys() with the list kept OUTSIDE that backup — the copy this module
// appends to CERBERE_SHRED_DIR/<tenant>.list on every erasure (and the live database's table).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { Transaction } from 'kysely';
import type { DB } from '../core/schema.ts';
import { join } from 'node:path';
import type { Services } from './services.ts';
import { systemContext, type AccessContext } from '../core/context.ts';

/** Causes recorded with an erasure (a fixed vocabulary: free text could carry personal data into the log). */
export const ERASE_REASONS = ['gdpr-art17', 'retention', 'duplicate', 'other'] as const;
export type EraseReason = (typeof ERASE_REASONS)[number];

export class EraseError extends Error {}

const listFile = (dir: string, tenantId: string) => join(dir, `${tenantId}.list`);

/** Appends shredded key numbers to the list kept outside the database (one "keyNo<TAB>ISO time<TAB>cause" per line). */
export function appendShredList(dir: string, tenantId: string, keyNos: number[], cause: string): void {
  if (!keyNos.length) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const at = new Date().toISOString();
  appendFileSync(listFile(dir, tenantId), keyNos.map((n) => `${n}\t${at}\t${cause}\n`).join(''), { mode: 0o600 });
}

/** Key numbers in the list kept outside the database for this tenant. */
export function readShredList(dir: string, tenantId: string): number[] {
  const f = listFile(dir, tenantId);
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8').split('\n').map((l) => Number(l.split('\t')[0])).filter((n) => Number.isInteger(n) && n > 0);
}

/** Erases one patient; the caller's context must hold the `patient:erase` capability. */
export async function erasePatient(svc: Services, ctx: AccessContext, patientId: string, reason: EraseReason) {
  const r = await svc.repo.lifecycle.erasePatient(ctx, patientId, reason);
  if (r?.keyNo != null) appendShredList(svc.config.shredDir, ctx.tenantId, [r.keyNo], reason);
  return r;
}

/**
 * Restore hook: destroys, in a database restored from a backup, every patient key erased since
 * that backup was taken (`list` = the shredded-key numbers from the live system or from
 * CERBERE_SHRED_DIR), with their rows, tokens and history. Idempotent. Returns what it removed.
 */
export async function applyShreddedKeys(svc: Services, tenantId: string, list: number[]): Promise<{ keys: number; resources: number; history: number }> {
  const ctx = systemContext(tenantId, 'restore');
  const nos = [...new Set(list)].filter((n) => Number.isInteger(n) && n > 0);
  const out = { keys: 0, resources: 0, history: 0 };
  for (let i = 0; i < nos.length; i += 1000) {
    const r = await svc.repo.lifecycle.shredKeys(ctx, nos.slice(i, i + 1000), 'restore');
    out.keys += r.keys; out.resources += r.resources; out.history += r.history;
  }
  return out;
}

/** Shredded key numbers recorded in the database (to carry to a restored copy). */
export async function shreddedKeys(svc: Services, tenantId: string): Promise<number[]> {
  return (await svc.database.db.selectFrom('shredded_keys').select('key_no').where('tenant_id', '=', tenantId).orderBy('key_no').execute()).map((r) => r.key_no);
}

/**
 * The restore hook (src/vault/restore-hooks.ts, `setShreddedKeysHook(shreddedKeysRestoreHook(services))`):
 * inside the restore's transaction, after every row is inserted, destroys for each restored tenant the
 * patient keys listed in CERBERE_SHRED_DIR/<tenant>.list — erasures made after the backup was taken —
 * with their rows, tokens and history. Returns the number of keys destroyed.
 */
export function shreddedKeysRestoreHook(svc: Services) {
  return async (tx: Transaction<DB>, tenants: string[]): Promise<number> => {
    let n = 0;
    for (const t of tenants) {
      const list = readShredList(svc.config.shredDir, t);
      for (let i = 0; i < list.length; i += 1000) n += (await svc.repo.lifecycle.shredInTransaction(tx, t, list.slice(i, i + 1000))).keys;
    }
    return n;
  };
}
