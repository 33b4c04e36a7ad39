// Tenants (data controllers: a lab company, a clinic) and their sites.
import type { Kysely } from 'kysely';
import type { DB } from '../core/schema.ts';
import type { Keyring } from '../vault/keyring.ts';
import { TENANT_ID } from '../core/ids.ts';

export class TenantError extends Error {}

export async function createTenant(db: Kysely<DB>, keyring: Keyring, id: string, name: string): Promise<{ created: boolean }> {
  if (!TENANT_ID.test(id)) throw new TenantError('tenant id must be 1-40 characters of a-z, 0-9 and -, starting with a letter or digit');
  if (!name.trim() || name.length > 200) throw new TenantError('tenant name must be 1-200 characters');
  const existing = await db.selectFrom('tenants').select('tenant_id').where('tenant_id', '=', id).executeTakeFirst();
  if (!existing) await db.insertInto('tenants').values({ tenant_id: id, name: name.trim() }).execute();
  await keyring.ensureTenant(id);
  return { created: !existing };
}

export async function addSite(db: Kysely<DB>, tenantId: string, siteId: string, name: string): Promise<void> {
  if (!TENANT_ID.test(siteId)) throw new TenantError('site id must be 1-40 characters of a-z, 0-9 and -');
  await db.insertInto('sites').values({ tenant_id: tenantId, site_id: siteId, name }).onConflict((oc) => oc.doNothing()).execute();
}

export async function tenantExists(db: Kysely<DB>, id: string): Promise<boolean> {
  return !!(await db.selectFrom('tenants').select('tenant_id').where('tenant_id', '=', id).executeTakeFirst());
}

export async function listTenants(db: Kysely<DB>) {
  return db.selectFrom('tenants').select(['tenant_id', 'name', 'created_at']).orderBy('tenant_id').execute();
}
