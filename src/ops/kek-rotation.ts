// Key-encryption-key rotation: a new KEK version in the provider (file: `<keyFile>.v<N>`, PKCS#11: a new
// key object in the token, Vault: transit key rotate), then every wrapped key in data_keys is re-wrapped
// under it (Vault: transit rewrap, the key never leaves Vault). The data itself is not touched: the data
// keys stay the same, only their wrapping changes. Each re-wrapped key is checked to unwrap to the same
// key before its row is replaced; each tenant's rows change in one transaction with its access event.
import type { Services } from './services.ts';
import { rewrapKey } from '../vault/key-provider.ts';
import { wrapContext } from '../vault/keyring.ts';
import { systemContext } from '../core/context.ts';
import { listTenants } from '../store/tenants.ts';

export interface KekRotationResult { kekId: string; rotated: boolean; tenants: number; keys: number }

export async function rotateKek(svc: Services, opts: { tenant?: string; newVersion?: boolean } = {}, progress?: (done: number, total: number) => void): Promise<KekRotationResult> {
  const { provider } = svc;
  const db = svc.database.db;
  let rotated = false;
  if (opts.newVersion ?? !opts.tenant) {
    if (!provider.rotate) throw new Error('this key provider cannot rotate its key-encryption key');
    await provider.rotate();
    rotated = true;
  }
  const kekId = provider.id;
  const tenants = opts.tenant ? [opts.tenant] : (await listTenants(db)).map((t) => t.tenant_id);
  let keys = 0;
  let done = 0;
  for (const tenantId of tenants) {
    const rows = await db.selectFrom('data_keys').select(['purpose', 'version', 'wrapped', 'provider'])
      .where('tenant_id', '=', tenantId).where('provider', '!=', kekId).execute();
    const updates: { purpose: string; version: number; wrapped: Buffer }[] = [];
    for (const r of rows) {
      const ctx = wrapContext(tenantId, r.purpose, r.version);
      const old = r.wrapped;
      const next = await rewrapKey(provider, old, ctx);
      const a = await provider.unwrap(old, ctx);
      const b = await provider.unwrap(next, ctx);
      const same = a.equals(b);
      a.fill(0); b.fill(0);
      if (!same) throw new Error(`re-wrapped key ${r.purpose} v${r.version} of tenant ${tenantId} does not unwrap to the same key`);
      updates.push({ purpose: r.purpose, version: r.version, wrapped: next });
    }
    await db.transaction().execute(async (tx) => {
      for (const u of updates) {
        await tx.updateTable('data_keys').set({ wrapped: u.wrapped, provider: kekId })
          .where('tenant_id', '=', tenantId).where('purpose', '=', u.purpose).where('version', '=', u.version).execute();
      }
      await svc.audit.appendInTransaction(tx, systemContext(tenantId, 'HSYSADMIN'), [{
        action: 'keys.rotate-kek', outcome: 'success', resourceRefs: [], patientIds: [], detail: `kek=${kekId} rewrapped=${updates.length}`,
      }]);
    });
    keys += updates.length;
    progress?.(++done, tenants.length);
  }
  return { kekId, rotated, tenants: tenants.length, keys };
}
