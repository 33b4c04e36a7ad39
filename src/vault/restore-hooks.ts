// Hook for the crypto-shredding work (issue 5, erasure): keys shredded after a backup was taken must stay
// shredded when that backup is restored. restoreBackup calls this inside its transaction, after every row
// is inserted and before commit; the erasure module fills it in (e.g. delete the per-patient wrapped keys
// listed in a shredded-key list kept outside the backup). Until then it changes nothing.
import type { Transaction } from 'kysely';
import type { DB } from '../core/schema.ts';

export interface RestoredBackup { backupId: string; createdAt: string }

export type ShreddedKeysHook = (tx: Transaction<DB>, tenants: string[], backup: RestoredBackup) => Promise<number>;

let hook: ShreddedKeysHook = async () => 0;

/** The erasure module registers its implementation here. */
export function setShreddedKeysHook(h: ShreddedKeysHook): void { hook = h; }

/** Applies the shredded-key list to freshly restored tenants; returns how many keys it destroyed. */
export function applyShreddedKeysOnRestore(tx: Transaction<DB>, tenants: string[], backup: RestoredBackup): Promise<number> {
  return hook(tx, tenants, backup);
}
