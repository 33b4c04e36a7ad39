// `cerbere backup` / `cerbere restore`: every tenant-keyed table of one tenant (or all), copied row by
// row as PostgreSQL's own JSON text (row_to_json: exact for bigint, bytea as hex) into an encrypted,
// authenticated archive (src/vault/archive.ts) whose key is wrapped by the key provider. The rows are
// already ciphertext (patient data) or internal ids; the archive encrypts and authenticates the whole.
// This module copies rows verbatim and never decrypts patient data, which is why it may read the
// patient tables without going through the repository. Restore checks the whole archive first, then
// inserts everything in one transaction into a database where none of its tenants exists.
import { sql, type Kysely, type Transaction } from 'kysely';
import { createHash, randomBytes } from 'node:crypto';
import type { DB } from '../core/schema.ts';
import type { Services } from './services.ts';
import { ArchiveWriter, readArchive, newArchiveId, ArchiveError, type ArchiveHeader } from '../vault/archive.ts';
import { systemContext } from '../core/context.ts';
import { applyShreddedKeysOnRestore } from '../vault/restore-hooks.ts';
import { shreddedKeysRestoreHook } from './erasure.ts';
import { TENANT_ID } from '../core/ids.ts';

export const BACKUP_MAGIC = 'CERBERE-BACKUP/1\n';
const wrapCtx = (id: string) => `cerbere/v1/backup|${id}`;
const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

interface TableInfo { name: string; columns: string[] }

/** Base tables of the current schema that have a tenant_id column, parents before children. */
export async function tenantTables(db: Kysely<DB> | Transaction<DB>): Promise<TableInfo[]> {
  const cols = await sql<{ table_name: string; column_name: string; is_generated: string }>`
    select c.table_name, c.column_name, c.is_generated from information_schema.columns c
    join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
    where c.table_schema = current_schema() and t.table_type = 'BASE TABLE' order by c.table_name, c.ordinal_position`.execute(db);
  const byTable = new Map<string, string[]>();
  for (const r of cols.rows) {
    if (r.is_generated === 'ALWAYS') continue;
    const l = byTable.get(r.table_name) ?? [];
    l.push(r.column_name);
    byTable.set(r.table_name, l);
  }
  const tables = [...byTable].filter(([n, c]) => n !== 'schema_migrations' && c.includes('tenant_id') && IDENT.test(n) && c.every((x) => IDENT.test(x)));
  const fks = await sql<{ child: string; parent: string }>`
    select tc.relname as child, pc.relname as parent from pg_constraint k
    join pg_class tc on tc.oid = k.conrelid join pg_class pc on pc.oid = k.confrelid join pg_namespace n on n.oid = tc.relnamespace
    where k.contype = 'f' and n.nspname = current_schema()`.execute(db);
  const parents = new Map<string, Set<string>>();
  for (const f of fks.rows) if (f.child !== f.parent) (parents.get(f.child) ?? parents.set(f.child, new Set()).get(f.child)!).add(f.parent);
  const order: TableInfo[] = [];
  const seen = new Set<string>();
  const names = new Map(tables);
  const visit = (n: string, depth = 0) => {
    if (seen.has(n) || !names.has(n) || depth > 50) return;
    for (const p of parents.get(n) ?? []) visit(p, depth + 1);
    seen.add(n);
    order.push({ name: n, columns: names.get(n)! });
  };
  for (const n of [...names.keys()].sort()) visit(n);
  return order;
}

export interface BackupResult { id: string; tenants: string[]; rows: number; tables: Record<string, number> }

export async function writeBackup(svc: Services, out: string, opts: { tenant?: string; chunkBytes?: number } = {}): Promise<BackupResult> {
  const db = svc.database.db;
  const tenants = opts.tenant ? [opts.tenant] : (await db.selectFrom('tenants').select('tenant_id').orderBy('tenant_id').execute()).map((t) => t.tenant_id);
  if (!tenants.length) throw new ArchiveError('no tenant to back up');
  if (!tenants.every((t) => TENANT_ID.test(t))) throw new ArchiveError('invalid tenant id');
  const tenantList = tenants.map((t) => `'${t}'`).join(',');
  // The backup is an access event of each tenant, durable before any row is read.
  for (const t of tenants) await svc.audit.record(systemContext(t, 'HSYSADMIN'), { action: 'backup.create', outcome: 'success', resourceRefs: [], patientIds: [], detail: `scope=${opts.tenant ? 'tenant' : 'all'}` });
  const id = newArchiveId();
  const archiveKey = randomBytes(32);
  const header: ArchiveHeader = {
    format: 1, kind: 'backup', id, createdAt: new Date().toISOString(), tenants, scope: opts.tenant ? 'tenant' : 'all',
    provider: svc.provider.id, wrappedKey: (await svc.provider.wrap(archiveKey, wrapCtx(id))).toString('base64'),
  };
  const w = new ArchiveWriter(out, BACKUP_MAGIC, header, archiveKey, opts.chunkBytes);
  archiveKey.fill(0);
  const counts: Record<string, number> = {};
  let rows = 0;
  try {
    // One snapshot for every table (REPEATABLE READ), rows read through a cursor.
    await db.transaction().setIsolationLevel('repeatable read').execute(async (tx) => {
      for (const t of await tenantTables(tx)) {
        w.write(`T\t${t.name}\t${JSON.stringify(t.columns)}\n`);
        counts[t.name] = 0;
        const cur = 'cbr_backup_' + t.name;
        // DECLARE takes no bind parameters: tenant ids are checked against TENANT_ID ([a-z0-9-]) above.
        await sql.raw(`declare ${cur} no scroll cursor for select row_to_json(x)::text as j from ${t.name} x where tenant_id in (${tenantList})`).execute(tx);
        for (;;) {
          const page = await sql.raw<{ j: string }>(`fetch 2000 from ${cur}`).execute(tx);
          if (!page.rows.length) break;
          for (const r of page.rows) { w.write(`R\t${r.j}\n`); counts[t.name]++; rows++; }
        }
        await sql.raw(`close ${cur}`).execute(tx);
      }
    });
    w.finish({ tables: counts, rows });
  } catch (e) {
    w.abort();
    throw e;
  }
  return { id, tenants, rows, tables: counts };
}

async function unwrapArchiveKey(svc: Services, header: ArchiveHeader): Promise<Buffer> {
  if (typeof header.wrappedKey !== 'string') throw new ArchiveError('archive header has no wrapped key');
  try {
    return await svc.provider.unwrap(Buffer.from(header.wrappedKey, 'base64'), wrapCtx(header.id));
  } catch {
    throw new ArchiveError('the key provider cannot unwrap this backup\'s key (other key-encryption key, or the header was altered)');
  }
}

/** Parses content lines; a line never spans frames (the writer adds whole lines to a frame). */
function* lines(plain: Buffer): Generator<string> {
  const text = plain.toString('utf8');
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf('\n', at);
    if (nl < 0) throw new ArchiveError('archive content is not line-framed');
    yield text.slice(at, nl);
    at = nl + 1;
  }
}

export interface RestoreCheck { id: string; createdAt: string; tenants: string[]; rows: number; tables: Record<string, number> }

/** Verifies the whole archive (authenticity, order, completeness, row counts) without writing anything. */
export async function checkBackup(svc: Services, file: string): Promise<RestoreCheck> {
  const counts: Record<string, number> = {};
  let table: string | null = null;
  const { header, manifest } = await readArchive(file, BACKUP_MAGIC, (h) => unwrapArchiveKey(svc, h), (plain) => {
    for (const l of lines(plain)) {
      if (l.startsWith('T\t')) { table = l.split('\t')[1]; counts[table] = 0; }
      else if (l.startsWith('R\t') && table) counts[table]++;
      else throw new ArchiveError('archive content is not valid');
    }
  });
  if (JSON.stringify(counts) !== JSON.stringify(manifest.tables)) throw new ArchiveError('archive rows do not match the manifest');
  return { id: header.id, createdAt: String(header.createdAt), tenants: header.tenants as string[], rows: Number(manifest.rows), tables: counts };
}

export async function restoreBackup(svc: Services, file: string): Promise<RestoreCheck> {
  const checked = await checkBackup(svc, file); // nothing is written unless the whole archive checks out
  const db = svc.database.db;
  const existing = await db.selectFrom('tenants').select('tenant_id').where('tenant_id', 'in', checked.tenants).execute();
  if (existing.length) throw new ArchiveError(`tenant ${existing[0].tenant_id} already exists: restore only into a database without the backup's tenants`);
  const targetTables = new Map((await tenantTables(db)).map((t) => [t.name, new Set(t.columns)]));
  await db.transaction().execute(async (tx) => {
    let table: string | null = null;
    let cols: string[] = [];
    let batch: string[] = [];
    const flush = async () => {
      if (!batch.length || !table) return;
      const list = cols.join(', ');
      await sql`insert into ${sql.table(table)} (${sql.raw(list)}) select ${sql.raw(list)} from json_populate_recordset(null::${sql.table(table)}, ${'[' + batch.join(',') + ']'}::json)`.execute(tx);
      batch = [];
    };
    await readArchive(file, BACKUP_MAGIC, (h) => (h.id === checked.id ? unwrapArchiveKey(svc, h) : Promise.reject(new ArchiveError('archive changed during restore'))), async (plain) => {
      for (const l of lines(plain)) {
        if (l.startsWith('T\t')) {
          await flush();
          const [, name, colJson] = l.split('\t');
          const target = targetTables.get(name);
          if (!target) throw new ArchiveError(`this database has no table ${name} (restore with the same or a newer Cerbère version)`);
          table = name;
          cols = (JSON.parse(colJson) as string[]).filter((c) => target.has(c) && IDENT.test(c));
        } else {
          batch.push(l.slice(2));
          if (batch.length >= 500) await flush();
        }
      }
    });
    await flush();
    // Sequences (e.g. audit_events.seq) continue after the restored rows.
    const seqs = await sql<{ table_name: string; column_name: string }>`select table_name, column_name from information_schema.columns
      where table_schema = current_schema() and column_default like 'nextval(%'`.execute(tx);
    for (const s of seqs.rows) {
      if (!IDENT.test(s.table_name) || !IDENT.test(s.column_name)) continue;
      await sql.raw(`select setval(pg_get_serial_sequence('${s.table_name}', '${s.column_name}'), greatest((select max(${s.column_name}) from ${s.table_name}), 1))`).execute(tx);
    }
    // Patient key numbers (a global sequence, not a serial column) continue after restored and shredded ones.
    await sql`select setval('patient_key_seq', greatest((select max(key_no) from patient_keys), (select max(key_no) from shredded_keys), 1))`.execute(tx);
    // Erasures made after the backup was taken (the shredded-key list kept outside the database).
    await shreddedKeysRestoreHook(svc)(tx, checked.tenants);
    await applyShreddedKeysOnRestore(tx, checked.tenants, { backupId: checked.id, createdAt: checked.createdAt });
    for (const t of checked.tenants) {
      await svc.audit.appendInTransaction(tx, systemContext(t, 'HSYSADMIN'), [{ action: 'backup.restore', outcome: 'success', resourceRefs: [], patientIds: [], detail: `backup=${checked.id}` }]);
    }
  });
  // The signed checkpoints go back to the directory outside the database (audit verify compares them).
  const cps = await db.selectFrom('audit_checkpoints').select(['tenant_id', 'size', 'note']).where('tenant_id', 'in', checked.tenants).orderBy('size').execute();
  for (const c of cps) svc.log.dir.write(c.tenant_id, Number(c.size), c.note);
  svc.keyring.evictAll();
  return checked;
}

/** Fingerprint of a file (for reports), never of its content's plaintext. */
export const fileId = (b: Buffer): string => createHash('sha256').update(b).digest('hex').slice(0, 16);
