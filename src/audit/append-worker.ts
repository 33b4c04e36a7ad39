// Worker thread of the access log's group commit (PostgreSQL): receives a batch of events as one JSON
// string, sends the append statement on its own connection and answers once it has committed.
import { parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { pgPoolConfig, type PgConnection } from '../store/db.ts';
import { APPEND_SQL, appendParams, type EventRow } from './append-sql.ts';

const conn = workerData as PgConnection;
const pool = new pg.Pool(pgPoolConfig(conn, 1));
pool.on('error', () => { /* a dropped idle client; the next batch reports failure */ });

parentPort!.on('message', async (m: { id: number; rows: string } | { close: true }) => {
  if ('close' in m) { await pool.end().catch(() => {}); parentPort!.postMessage({ closed: true }); return; }
  try {
    const rows = JSON.parse(m.rows) as EventRow[];
    await pool.query({ name: conn.prepared ? 'cerbere_audit_append' : undefined, text: APPEND_SQL, values: appendParams(rows) });
    parentPort!.postMessage({ id: m.id, ok: true });
  } catch {
    parentPort!.postMessage({ id: m.id, ok: false }); // the reason stays here: it may quote event values
  }
});
