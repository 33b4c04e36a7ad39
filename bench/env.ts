// Opens the benchmark database: PostgreSQL (schema cerbere_bench) when DATABASE_URL is set,
// otherwise PGlite in bench/out/pglite. A fixed key file under bench/out keeps runs comparable.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../src/core/schema.ts';
import { loadConfig } from '../src/core/config.ts';
import { openDatabase, openMemoryDatabase } from '../src/store/db.ts';
import { LocalKeyFileProvider } from '../src/vault/key-provider.ts';
import { openServices, type Services } from '../src/services.ts';
import type { ResourceCipher } from '../src/vault/resource-cipher.ts';
import { plainCipher } from './plain-cipher.ts';

export const OUT = resolve('bench/out');

export async function benchServices(opts: { plain?: boolean; poolSize?: number } = {}): Promise<Services> {
  const url = process.env.DATABASE_URL || null;
  const dataDir = join(OUT, 'pglite');
  // CERBERE_BENCH_SCHEMA lets a benchmark keep its own data set (bench:rotate rewrites every row).
  const database = await openDatabase({ databaseUrl: url, dataDir, schema: url ? process.env.CERBERE_BENCH_SCHEMA || 'cerbere_bench' : undefined, poolSize: opts.poolSize ?? 10 });
  const config = loadConfig({ CERBERE_DATA_DIR: dataDir, CERBERE_KEY_FILE: join(OUT, 'bench.key'), CERBERE_DEMO: 'false', LOG_LEVEL: 'warn',
    CERBERE_KEY_REFRESH_SECONDS: process.env.CERBERE_KEY_REFRESH_SECONDS, CERBERE_AUDIT_THREAD: process.env.CERBERE_AUDIT_THREAD, CERBERE_REKEY_RATE: process.env.CERBERE_REKEY_RATE });
  const cipher: ResourceCipher | undefined = opts.plain ? plainCipher : undefined;
  return openServices(config, { database, cipher });
}

/** Services on a throwaway database: a fresh PostgreSQL schema `<prefix>_<random>` when DATABASE_URL is
 *  set, otherwise an in-memory PGlite; a random key and a temporary data directory. `close()` drops the schema. */
export async function throwawayServices(prefix: string): Promise<{ svc: Services; url: string | null; close(): Promise<void> }> {
  const url = process.env.DATABASE_URL || null;
  const schema = `${prefix}_${randomBytes(4).toString('hex')}`;
  const database = url ? await openDatabase({ databaseUrl: url, dataDir: '/nonexistent', schema, poolSize: 4 }) : await openMemoryDatabase();
  const dataDir = mkdtempSync(join(tmpdir(), `cerbere-${prefix}-`));
  const svc = await openServices(loadConfig({ CERBERE_DATA_DIR: dataDir, CERBERE_DEMO: 'false' }), { database, provider: new LocalKeyFileProvider(randomBytes(32)) });
  return {
    svc, url,
    close: async () => {
      await svc.close();
      if (!url) return;
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop schema if exists ${schema} cascade`);
      await c.end();
    },
  };
}

/** N read events of realistic size (ids as the repository writes them) for a tenant with an empty log,
 *  inserted in bulk at the positions the recorder would have allocated (0..N-1, head at N). */
export async function insertSyntheticEvents(db: Kysely<DB>, tenantId: string, n: number): Promise<void> {
  for (let done = 0; done < n; done += 100_000) {
    const k = Math.min(100_000, n - done);
    await sql`insert into audit_events (tenant_id, leaf_index, actor_kind, actor_id, role, client_id, ip, purpose, action, outcome, resource_refs, patient_ids)
      select ${tenantId}, i, 'token', 'a1b2c3d4e5f60718', 'service', 'a1b2c3d4e5f60718', '10.0.0.' || (i % 250), 'TREAT', 'read', 'success',
        array['Patient/' || md5(i::text)], array[md5(i::text)] from generate_series(${done}::int, ${done + k - 1}::int) i`.execute(db);
  }
  await sql`insert into audit_log_head (tenant_id, next) values (${tenantId}, ${n})`.execute(db);
}
