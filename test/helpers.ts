// Shared test setup: an in-memory PGlite by default, a fresh PostgreSQL schema when DATABASE_URL is set.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/core/config.ts';
import { openDatabase, openMemoryDatabase, type Database } from '../src/store/db.ts';
import { openServices, type Services } from '../src/services.ts';
import { LocalKeyFileProvider, type KeyProvider } from '../src/vault/key-provider.ts';
import { createTenant } from '../src/store/tenants.ts';
import { createApiToken } from '../src/auth/api-tokens.ts';
import { buildApp } from '../src/server/app.ts';
import type { ResourceCipher } from '../src/vault/resource-cipher.ts';

export const PG_URL = process.env.DATABASE_URL || null;
export const DB_LABEL = PG_URL ? 'postgres' : 'pglite';

export async function openTestDatabase(dataDir?: string): Promise<Database & { schema?: string }> {
  if (PG_URL) {
    const schema = 't_' + randomBytes(6).toString('hex');
    const db = await openDatabase({ databaseUrl: PG_URL, dataDir: '/nonexistent', schema, poolSize: 4 });
    return { ...db, schema };
  }
  if (dataDir) return openDatabase({ databaseUrl: null, dataDir });
  return openMemoryDatabase();
}

export interface TestEnv {
  services: Services;
  database: Database & { schema?: string };
  dataDir: string;
  close(): Promise<void>;
}

export async function testEnv(opts: { provider?: KeyProvider; cipher?: ResourceCipher; onDisk?: boolean; env?: Record<string, string> } = {}): Promise<TestEnv> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cerbere-test-'));
  const database = await openTestDatabase(opts.onDisk ? dataDir : undefined);
  // Tests log in faster than a person: the login budget (CERBERE_LOGIN_CHECKS_PER_SECOND) has its own test.
  const config = loadConfig({ CERBERE_DATA_DIR: dataDir, CERBERE_DEMO: 'false', CERBERE_LOGIN_CHECKS_PER_SECOND: '1000', ...opts.env });
  const services = await openServices(config, { database, provider: opts.provider ?? new LocalKeyFileProvider(randomBytes(32)), cipher: opts.cipher });
  return {
    services, database, dataDir,
    close: async () => {
      if (database.schema && PG_URL) {
        const pg = (await import('pg')).default;
        await services.close();
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        await c.query(`drop schema if exists ${database.schema} cascade`);
        await c.end();
      } else {
        await services.close();
      }
    },
  };
}

export async function tenantWithToken(services: Services, tenantId: string, role = 'service'): Promise<string> {
  await createTenant(services.database.db, services.keyring, tenantId, `Tenant ${tenantId}`);
  return (await createApiToken(services.database.db, tenantId, role, 'test')).token;
}

export async function testApp(env: TestEnv) {
  return buildApp(env.services, { logLevel: false });
}
