// Worker thread of the access log on PostgreSQL: receives group-commit batches of events as one JSON
// string, sends the append statement on its own connection and answers once it has committed; also runs
// the periodic integration (hashing events into the Merkle tree) when asked, so neither takes the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { DB } from '../../core/schema.ts';
import { pgPoolConfig, type PgConnection } from '../../store/db.ts';
import { APPEND_SQL, appendParams, type EventRow } from '../record/append-sql.ts';
import { Integrator } from './integrator.ts';

type Message = { id: number; rows: string } | { id: number; integrate: true } | { close: true };

const conn = workerData as PgConnection;
// One connection: a thread either appends batches or integrates (services.ts starts one of each).
const pool = new pg.Pool(pgPoolConfig(conn, 1));
pool.on('error', () => { /* a dropped idle client; the next batch reports failure */ });
const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
const integrator = new Integrator(db, 10_000, (message) => parentPort!.postMessage({ report: message }));

parentPort!.on('message', async (m: Message) => {
  if ('close' in m) { await db.destroy().catch(() => {}); parentPort!.postMessage({ closed: true }); return; }
  try {
    if ('integrate' in m) {
      parentPort!.postMessage({ id: m.id, ok: true, added: await integrator.integrateAll() });
      return;
    }
    const rows = JSON.parse(m.rows) as EventRow[];
    await pool.query({ name: conn.prepared ? 'cerbere_audit_append' : undefined, text: APPEND_SQL, values: appendParams(rows) });
    parentPort!.postMessage({ id: m.id, ok: true });
  } catch (e) {
    // The reason stays here (it may quote event values); integration failures name only the code.
    parentPort!.postMessage({ id: m.id, ok: false, code: (e as NodeJS.ErrnoException)?.code ?? (e as Error)?.name });
  }
});
