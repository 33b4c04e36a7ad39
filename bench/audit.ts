// Access-log figures: sustained append rate (group-committed events while the Merkle integrator
// runs), integrator throughput and `audit verify` time over N events (default 1,000,000).
// `DATABASE_URL=postgres://… node --import tsx bench/audit.ts [N] [append-seconds]`. Uses a throwaway
// schema (PostgreSQL) or an in-memory PGlite, and a temporary checkpoint directory.
import { insertSyntheticEvents, throwawayServices } from './env.ts';
import { createTenant } from '../src/store/tenants.ts';
import { verifyTenantLog } from '../src/audit/log/verify.ts';
import { systemContext } from '../src/core/context.ts';

const N = Number(process.argv[2] ?? 1_000_000);
const APPEND_SECONDS = Number(process.argv[3] ?? 10);
const env = await throwawayServices('bench_audit');
const svc = env.svc;
const db = svc.database.db;
const secs = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
try {
  await createTenant(db, svc.keyring, 'bench', 'Bench');
  await createTenant(db, svc.keyring, 'live', 'Live');

  // 1. Sustained append: 256 concurrent callers record read events as the FHIR read path does
  //    (each resolved once its group-commit batch is durable) while the integrator runs every 500 ms.
  svc.log.start();
  const ctx = { ...systemContext('live', 'TREAT'), actor: { kind: 'token' as const, id: 'a1b2c3d4e5f60718', role: 'service' }, client: { tokenId: 'a1b2c3d4e5f60718', ip: '10.0.0.1' } };
  let appended = 0;
  let t0 = process.hrtime.bigint();
  const stopAt = Date.now() + APPEND_SECONDS * 1000;
  await Promise.all(Array.from({ length: 256 }, async (_, w) => {
    for (let i = 0; Date.now() < stopAt; i++) {
      const id = `${w.toString(16)}-${i.toString(16)}-4b1c-9d2e-${'0'.repeat(12)}`;
      await svc.audit.record(ctx, { action: 'read', outcome: 'success', resourceRefs: [`Patient/${id}`], patientIds: [id] });
      appended++;
    }
  }));
  const ta = secs(t0);
  t0 = process.hrtime.bigint();
  await svc.log.stop();
  const lag = await svc.log.integrate('live');
  console.log(`append: ${appended} events in ${ta.toFixed(1)} s = ${Math.round(appended / ta)} events/s sustained (group commit, integrator running);`
    + ` ${lag.added} left to integrate at the end, done in ${secs(t0).toFixed(2)} s; tree size ${lag.size}`);

  // 2. Integrator and verify over N events inserted in bulk (positions as the recorder allocates them).
  t0 = process.hrtime.bigint();
  await insertSyntheticEvents(db, 'bench', N);
  console.log(`inserted ${N} events in ${secs(t0).toFixed(1)} s`);
  t0 = process.hrtime.bigint();
  const r = await svc.log.integrate('bench');
  const ti = secs(t0);
  console.log(`integrator: ${r.added} events in ${ti.toFixed(1)} s = ${Math.round(r.added / ti)} events/s (batches of 10,000)`);
  await svc.log.checkpoint('bench');
  t0 = process.hrtime.bigint();
  const v = await verifyTenantLog(db, svc.log, 'bench');
  console.log(`audit verify: ${v.size} events, ${v.checkpoints} checkpoint(s), ${v.problem ? 'FAILED ' + v.problem.message : 'ok'} in ${secs(t0).toFixed(1)} s`);
} finally {
  await env.close();
}
