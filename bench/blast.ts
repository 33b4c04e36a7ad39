// Blast-radius figures over a large access log (default 10,000,000 events: ~200 actors, 30,000
// patients, one year), generated in SQL with generate_series in a throwaway PostgreSQL schema.
//   DATABASE_URL=postgres://… node --import tsx bench/blast.ts [N]      (npm run bench:blast)
// Default database: postgres://postgres@127.0.0.1:5432/test. The schema is dropped at the end.
// Timed: the target case (one account, 30-day window, ≤ 2 s), then an IP range, a site and a
// whole-tenant day; AuditEvent searches; and the cost of migration 5's index on audit inserts.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/core/config.ts';
import { openDatabase } from '../src/store/db.ts';
import { openServices } from '../src/services.ts';
import { LocalKeyFileProvider } from '../src/vault/key-provider.ts';
import { createTenant } from '../src/store/tenants.ts';
import { computeBlastRadius, type BlastCriteria } from '../src/respond/blast-radius.ts';
import { parseAuditEventSearch, searchAuditEvents } from '../src/audit/read/audit-event.ts';
import type { AccessContext } from '../src/core/context.ts';

const N = Number(process.argv[2] ?? 10_000_000);
const ACTORS = 200;
const PATIENTS = 30_000;
const url = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const schema = 'bench_blast_' + randomBytes(4).toString('hex');
const database = await openDatabase({ databaseUrl: url, dataDir: '/nonexistent', schema, poolSize: 4 });
const dataDir = mkdtempSync(join(tmpdir(), 'cerbere-bench-blast-'));
const svc = await openServices(loadConfig({ CERBERE_DATA_DIR: dataDir, CERBERE_DEMO: 'false' }), { database, provider: new LocalKeyFileProvider(randomBytes(32)) });
const db = svc.database.db;
const now = () => process.hrtime.bigint();
const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const YEAR_START = new Date('2025-11-01T00:00:00Z');
const YEAR_MS = 365 * 86_400_000;

async function timed<T>(label: string, fn: () => Promise<T>, describe: (r: T) => string): Promise<number> {
  // Cold (first run: rows may still be on disk) then warm (an investigation re-runs its query).
  let t0 = now();
  await fn();
  const cold = secs(t0);
  t0 = now();
  const r = await fn();
  const s = secs(t0);
  console.log(`${label}: ${(cold * 1000).toFixed(0)} ms cold, ${(s * 1000).toFixed(0)} ms warm (${describe(r)})`);
  return Math.max(cold, s);
}

try {
  await createTenant(db, svc.keyring, 'bench', 'Bench');
  // Load like a restore: secondary indexes dropped during the bulk insert, then rebuilt with the
  // exact definitions the migrations created (so the queries run on the production indexes).
  const idx = (await sql<{ indexname: string; indexdef: string }>`select indexname, indexdef from pg_indexes
    where schemaname = ${schema} and tablename = 'audit_events' and indexname <> 'audit_events_pkey'`.execute(db)).rows;
  for (const i of idx) await sql.raw(`drop index ${schema}.${i.indexname}`).execute(db);
  let t0 = now();
  // Patients: uuid-like ids; actors: 200 accounts, each with its API token, site and address.
  // Actions: 68% read (Patient or a result), 20% search (1–5 patients, results + includes),
  // 6% create/update of results/orders, 2% denied or failed, 4% logins (no patient).
  const CHUNK = 1_000_000;
  for (let done = 0; done < N; done += CHUNK) {
    const n = Math.min(CHUNK, N - done);
    await sql`insert into audit_events (tenant_id, recorded_at, actor_kind, actor_id, role, site_id, client_id, ip, purpose, action, outcome,
        resource_refs, patient_ids, leaf_index)
      select 'bench', ${YEAR_START}::timestamptz + (i * ${YEAR_MS / N / 1000}::float8) * interval '1 second',
        'user', 'u' || a, case when a < 10 then 'service' else 'practitioner' end, 's' || (a % 7), 't' || a,
        case when a % 20 = 0 then '2001:db8:' || to_hex(a) || '::' || to_hex(i % 4096) else '10.' || (a % 8) || '.' || (a / 8) || '.' || (i % 250) end,
        'TREAT',
        case when k < 68 then 'read' when k < 88 then 'search' when k < 92 then 'create' when k < 94 then 'update' when k < 96 then 'read' else 'login' end,
        case when k between 94 and 95 then (case when k = 94 then 'denied' else 'failure' end) else 'success' end,
        case when k < 40 then array['Patient/' || p1]
             when k < 68 then array['Observation/' || md5(i::text)]
             when k < 88 then array['Observation/' || md5(i::text), 'Observation/' || md5((i + 1)::text), 'Patient/' || p1, 'Patient/' || p2]
             when k < 94 then array[(case when k < 92 then 'ServiceRequest/' else 'Observation/' end) || md5(i::text)]
             when k < 96 then array['Patient/#' || to_hex(i)]
             else array[]::text[] end,
        case when k < 68 then array[p1] when k < 88 then array[p1, p2] when k < 94 then array[p1] else array[]::text[] end,
        i
      from (select i, a, k, md5('patient' || (1 + abs(hashint4((i * 3 + 1)::int)::bigint) % ${PATIENTS}))::uuid::text as p1,
          md5('patient' || (1 + abs(hashint4((i * 5 + 2)::int)::bigint) % ${PATIENTS}))::uuid::text as p2
        from (select i, (abs(hashint4(i::int)::bigint) % ${ACTORS})::int as a, (abs(hashint4((i * 7 + 3)::int)::bigint) % 100)::int as k
          from generate_series(${done}::bigint, ${done + n - 1}::bigint) i) g) x`.execute(db);
    process.stderr.write(`\rgenerated ${done + n} events (${secs(t0).toFixed(0)} s)`);
  }
  process.stderr.write('\n');
  // The recorder allocates positions from this head row: without it, the appends timed below reused 0..N-1.
  await sql`insert into audit_log_head (tenant_id, next) values ('bench', ${N})`.execute(db);
  const tGen = secs(t0);
  t0 = now();
  for (const i of idx) await sql.raw(i.indexdef).execute(db);
  await sql`analyze audit_events`.execute(db);
  console.log(`generated ${N} events in ${tGen.toFixed(0)} s; indexes rebuilt and analysed in ${secs(t0).toFixed(0)} s`);
  const size = (await sql<{ t: string; i: string }>`select pg_size_pretty(pg_table_size('audit_events')) as t, pg_size_pretty(pg_indexes_size('audit_events')) as i`.execute(db)).rows[0];
  console.log(`audit_events: table ${size.t}, indexes ${size.i}`);

  const until = new Date(YEAR_START.getTime() + YEAR_MS - 3 * 86_400_000);
  const d30 = new Date(until.getTime() - 30 * 86_400_000);
  const d1 = new Date(until.getTime() - 86_400_000);
  const run = (c: Omit<BlastCriteria, 'since' | 'until'>, since = d30) => () => computeBlastRadius(db, 'bench', { since, until, ...c });
  const show = (r: Awaited<ReturnType<ReturnType<typeof run>>>) => `${r.patients.length} patients, ${r.events} events, ${r.attempts} attempts`;
  const target = await timed('blast radius, one account, 30 days', run({ actors: ['u42'] }), show);
  await timed('blast radius, one API token, 30 days', run({ tokens: ['t42'] }), show);
  await timed('blast radius, one IPv4 /16, 30 days', run({ cidrs: ['10.3.0.0/16'] }), show);
  await timed('blast radius, one IPv6 /32 (all v6 clients), 30 days', run({ cidrs: ['2001:db8::/32'] }), show);
  await timed('blast radius, one site, 1 day', run({ sites: ['s3'] }, d1), show);
  await timed('blast radius, whole tenant, 1 day', run({}, d1), show);
  await timed('blast radius, one account, whole year', run({ actors: ['u42'] }, YEAR_START), show);

  const page = (pairs: [string, string][]) => () => searchAuditEvents(db, 'bench', parseAuditEventSearch(pairs, 100));
  const patient = (await sql<{ p: string }>`select md5('patient' || 1234)::uuid::text as p`.execute(db)).rows[0].p; // same ids as the generator
  await timed('AuditEvent search, newest 20 of the tenant', page([]), (r) => `${r.rows.length} events`);
  await timed('AuditEvent search, patient=X, newest 100', page([['patient', patient], ['_count', '100']]), (r) => `${r.rows.length} events`);
  await timed('AuditEvent search, agent=X & date in a 30-day range', page([['agent', 'u42'], ['date', `ge${d30.toISOString()}`], ['date', `lt${until.toISOString()}`]]), (r) => `${r.rows.length} events`);

  // Cost of migration 5's index on the write path: 200,000 events appended through the recorder
  // (batches of 512, as group commit does), with and without audit_events_recorded.
  const ctx: AccessContext = { tenantId: 'bench', actor: { kind: 'user', id: 'u1', role: 'practitioner', siteId: 's1' }, purpose: 'TREAT', client: { tokenId: 't1', ip: '10.0.0.1' } };
  const appendRate = async () => {
    const t = now();
    const batches = 390;
    for (let b = 0; b < batches; b++) {
      const evs = Array.from({ length: 512 }, (_, j) => ({ action: 'read', outcome: 'success' as const, resourceRefs: [`Observation/${b}-${j}`], patientIds: [patient] }));
      await svc.audit.appendInTransaction(db, ctx, evs);
    }
    return Math.round((batches * 512) / secs(t));
  };
  const withIndex = await appendRate();
  await sql`drop index audit_events_recorded`.execute(db);
  const without = await appendRate();
  console.log(`audit appends (recorder, batches of 512, ${N}-event table): ${withIndex} events/s with audit_events_recorded, ${without} events/s without`);
  console.log(`target: one account over 30 days in ${(target * 1000).toFixed(0)} ms (${target <= 2 ? 'meets' : 'MISSES'} ≤ 2 s)`);
} finally {
  await svc.close();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`drop schema if exists ${schema} cascade`);
  await c.end();
}
