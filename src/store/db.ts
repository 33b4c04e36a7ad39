// Opens the one database: PGlite in the data directory by default, PostgreSQL when DATABASE_URL is set.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from '../core/schema.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import { migrate } from './migrations.ts';

/** Runs a statement whose text never changes under a name: PostgreSQL parses and plans it once per
 *  connection (hot paths: read by id, the access log's group-commit insert). Not for use inside a
 *  Kysely transaction. Behind a transaction-pooling proxy (PgBouncer) set CERBERE_PREPARED=false. */
export type PreparedQuery = <R>(name: string, text: string, values: readonly unknown[]) => Promise<R[]>;

export interface Database {
  db: Kysely<DB>;
  kind: 'pglite' | 'postgres';
  prepared: PreparedQuery;
  /** PostgreSQL only: how to open another connection to the same schema (the access log's append thread). */
  connection?: PgConnection;
  close(): Promise<void>;
}

export interface PgConnection { url: string; schema?: string; prepared: boolean }

/** Pool settings for a connection string and an optional schema (tests and benchmarks run in their own). */
export function pgPoolConfig(c: PgConnection, max: number): pg.PoolConfig {
  return { connectionString: c.url, max, ...(c.schema ? { options: `-c search_path=${c.schema}` } : {}) };
}

/** The same statements without a name (PGlite, or a pooling proxy). */
export function unnamed(db: Kysely<DB>): PreparedQuery {
  return async <R>(_name: string, text: string, values: readonly unknown[]) => (await db.executeQuery<R>(CompiledQuery.raw(text, [...values]))).rows;
}

// PGlite's own bytea conversions go one byte at a time through JS strings, both ways (an import batch's
// 1.2 MB of sealed bodies cost ≈ 0.5 s of the main thread, and as much again in GC). A bytea parameter is
// handed on as bytes: PGlite's bind writer (node-postgres' protocol serializer) sends a byte view as a binary
// parameter, which also spares it measuring a 2.4 MB hex string char by char. A bytea result is decoded by
// Buffer's native hex codec: a Buffer, as with pg on PostgreSQL. test/store/db.test.ts checks both ways.
const PGLITE_BYTEA = {
  serializers: {
    17: (x: unknown): string => {
      if (!(x instanceof Uint8Array)) throw new TypeError('Invalid input for bytea type');
      return x as unknown as string; // PGlite types serializers as returning text; binary views pass through its bind writer
    },
  },
  parsers: { 17: (x: string): Buffer => Buffer.from(x.slice(2), 'hex') },
};

// bigint (int8) and bigint[] come back as strings: tokens are opaque, seq may exceed 2^53.
export async function openDatabase(opts: { databaseUrl: string | null; dataDir: string; poolSize?: number; schema?: string }): Promise<Database> {
  let db: Kysely<DB>;
  let kind: Database['kind'];
  let prepared: PreparedQuery | null = null;
  let connection: PgConnection | undefined;
  if (opts.databaseUrl) {
    if (opts.schema && !/^[a-z_][a-z0-9_]{0,62}$/.test(opts.schema)) throw new Error('invalid schema name');
    if (opts.schema) {
      // Tests run in a schema of their own so they never see another run's tables.
      const c = new pg.Client({ connectionString: opts.databaseUrl });
      await c.connect();
      await c.query(`create schema if not exists ${opts.schema}`);
      await c.end();
    }
    connection = { url: opts.databaseUrl, schema: opts.schema, prepared: process.env.CERBERE_PREPARED !== 'false' };
    const pool = new pg.Pool(pgPoolConfig(connection, opts.poolSize ?? 10));
    pool.on('error', () => { /* a dropped idle client; the next query reports failure */ });
    db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
    kind = 'postgres';
    if (connection.prepared) {
      prepared = async <R>(name: string, text: string, values: readonly unknown[]) => (await pool.query({ name, text, values: [...values] })).rows as R[];
    }
  } else {
    const { PGlite } = await import('@electric-sql/pglite');
    const dir = join(opts.dataDir, 'db');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const lite = await PGlite.create(dir, PGLITE_BYTEA);
    db = new Kysely<DB>({ dialect: new PGliteDialect(lite) });
    kind = 'pglite';
  }
  await migrate(db);
  return { db, kind, prepared: prepared ?? unnamed(db), connection, close: () => db.destroy() };
}

/** An in-memory PGlite for tests (no data directory). */
export async function openMemoryDatabase(): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const lite = await PGlite.create(PGLITE_BYTEA);
  const db = new Kysely<DB>({ dialect: new PGliteDialect(lite) });
  await migrate(db);
  return { db, kind: 'pglite', prepared: unnamed(db), close: () => db.destroy() };
}
