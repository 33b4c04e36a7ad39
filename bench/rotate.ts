// `npm run bench:rotate [-- --patients N] [--seconds S] [--rate R] [--reseed]` (PostgreSQL: set DATABASE_URL)
// Figures of issue 5: background re-encryption of every row after `keys rotate` while a server
// keeps serving reads (read throughput before vs during, measured with autocannon), and the cost
// of key handling on a read (cached data key, per-patient key unwrap, provider calls per period).
// Own schema (cerbere_bench_rotate) and state file: it rewrites every row of its data set.
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import autocannon from 'autocannon';
import pg from 'pg';
import { OUT, benchServices } from './env.ts';
import { createTenant } from '../src/store/tenants.ts';
import { createApiToken } from '../src/auth/api-tokens.ts';
import { seedTenant } from '../src/seed/seed.ts';
import { systemContext } from '../src/core/context.ts';
import { jobOptions, runKeyJob, startRotation } from '../src/ops/rotation.ts';
import { unwrapPatientKey } from '../src/vault/keyring.ts';

if (!process.env.DATABASE_URL) throw new Error('bench:rotate needs PostgreSQL: set DATABASE_URL');
process.env.CERBERE_BENCH_SCHEMA ||= 'cerbere_bench_rotate';
process.env.CERBERE_KEY_REFRESH_SECONDS ||= '5';
const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const PATIENTS = flag('patients', 491_840);
const SECONDS = flag('seconds', 15);
const RATE = flag('rate', Number(process.env.CERBERE_REKEY_RATE) || 2000);
const STATE = join(OUT, `state-rotate-${PATIENTS}.json`);
const T = 'bench';
const results: Record<string, string> = {};
const report = (k: string, v: string) => { results[k] = v; console.log(`${k}: ${v}`); };

async function seed() {
  mkdirSync(OUT, { recursive: true });
  const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await c.connect();
  await c.query(`drop schema if exists ${process.env.CERBERE_BENCH_SCHEMA} cascade`);
  await c.end();
  const svc = await benchServices({ poolSize: 6 });
  await createTenant(svc.database.db, svc.keyring, T, 'Bench lab');
  const t0 = Date.now();
  let last = 0;
  await seedTenant(svc, T, { patients: PATIENTS, seed: 491840, ordersPerPatient: 0, batchSize: 1000 }, {
    line: () => {}, progress: (d, t) => { if (d - last >= t / 10 || d === t) { last = d; console.log(`  seeded ${d}/${t}`); } },
  });
  console.log(`  seeding took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const ids = (await svc.database.db.selectFrom('resources').select('id').where('tenant_id', '=', T).where('resource_type', '=', 'Patient').limit(5000).execute()).map((x) => x.id);
  const token = (await createApiToken(svc.database.db, T, 'service', 'bench')).token;
  await svc.close();
  writeFileSync(STATE, JSON.stringify({ ids, token }));
}

async function startServer(port: number): Promise<ChildProcess> {
  const child = fork(join('bench', 'server.ts'), ['--port', String(port)], { execArgv: ['--import', 'tsx'], stdio: 'inherit', env: process.env });
  await new Promise<void>((resolve, reject) => { child.once('message', () => resolve()); child.once('exit', (c) => reject(new Error(`bench server exited with ${c}`))); });
  return child;
}

function cannon(url: string, paths: string[], token: string, seconds: number): Promise<any> {
  let i = 0;
  return autocannon({
    url, connections: 50, duration: seconds,
    requests: [{ method: 'GET', headers: { authorization: `Bearer ${token}` }, setupRequest: (req: any) => { req.path = paths[i++ % paths.length]; return req; } }],
  } as any);
}

const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`;
console.log(`Cerbère key-rotation benchmark on PostgreSQL — ${machine} — ${PATIENTS} patients, rate limit ${RATE} rows/s`);
if (!existsSync(STATE) || args.includes('--reseed')) await seed();
const st = JSON.parse(readFileSync(STATE, 'utf8'));
const paths = st.ids.map((id: string) => `/fhir/Patient/${id}`);

// 1. Key handling on the read path, in-process: cached data key, patient-key unwrap, provider calls.
{
  const svc = await benchServices({ poolSize: 4 });
  let unwraps = 0;
  const unwrap = svc.provider.unwrap.bind(svc.provider);
  svc.provider.unwrap = (w, c) => { unwraps++; return unwrap(w, c); };
  const ctx = systemContext(T, 'bench');
  const n = 200_000;
  await svc.keyring.keys(T);
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await svc.keyring.keys(T);
  const cached = Number(process.hrtime.bigint() - t0) / n;
  const keys = await svc.keyring.keys(T);
  const pk = await svc.database.db.selectFrom('patient_keys').select(['key_no', 'wrapped', 'wrap_version']).where('tenant_id', '=', T).limit(1).executeTakeFirstOrThrow();
  t0 = process.hrtime.bigint();
  for (let i = 0; i < 20_000; i++) unwrapPatientKey(keys, pk.key_no, pk.wrapped, pk.wrap_version).fill(0);
  const pkUnwrap = Number(process.hrtime.bigint() - t0) / 20_000;
  t0 = process.hrtime.bigint();
  const reads = 3000;
  for (let i = 0; i < reads; i++) await svc.repo.read(ctx, 'Patient', st.ids[i % st.ids.length]);
  const readUs = Number(process.hrtime.bigint() - t0) / reads / 1000;
  report('cached data key lookup (keyring.keys, per read)', `${(cached / 1000).toFixed(2)} µs (${(cached / 10 / readUs).toFixed(3)}% of a ${readUs.toFixed(0)} µs sequential in-process read)`);
  report('per-patient key unwrap (AES-256-GCM under the cached data key, on a cache miss)', `${(pkUnwrap / 1000).toFixed(1)} µs`);
  report(`key-provider unwrap calls during ${reads} reads`, `${unwraps} (data keys are unwrapped once per cache period)`);
  await svc.close();
}

// 2. Read throughput before and during the background re-encryption.
const port = 18181;
const url = `http://127.0.0.1:${port}`;
const srv = await startServer(port);
await cannon(url, paths, st.token, 3);
const before = await cannon(url, paths, st.token, SECONDS);
if (before.non2xx || before.errors) throw new Error('errors before rotation');
report('Patient reads before rotation (50 connections)', `${Math.round(before.requests.average)} req/s, p99 ${before.latency.p99} ms`);

const svc = await benchServices({ poolSize: 4 });
const { version } = await startRotation(svc, T, 'enc');
const total = Number((await svc.database.db.selectFrom('resources').select((eb) => eb.fn.countAll<string>().as('n')).where('tenant_id', '=', T).executeTakeFirstOrThrow()).n);
const t0 = Date.now();
let lastLog = 0;
const job = runKeyJob(svc, T, 'enc', jobOptions(svc, { rate: RATE, onProgress: (d, t) => { if (Date.now() - lastLog > 10_000) { lastLog = Date.now(); console.log(`  re-encrypted ${d}/${t}`); } } }));
await new Promise((r) => setTimeout(r, jobOptions(svc).graceMs + 2000)); // measure while rows are being rewritten
const during = await cannon(url, paths, st.token, SECONDS);
const state = await job;
const secs = (Date.now() - t0) / 1000;
if (!state.finished) throw new Error('rotation did not finish');
report(`Patient reads during re-encryption (50 connections)`, `${Math.round(during.requests.average)} req/s, p99 ${during.latency.p99} ms, ${during.non2xx + during.errors} errors`);
report('read throughput kept during re-encryption', `${(100 * during.requests.average / before.requests.average).toFixed(0)}% (target ≥ 70%)`);
report(`background re-encryption of ${total} rows (${PATIENTS} patients) to data key v${version}`, `${secs.toFixed(0)} s incl. ${(jobOptions(svc).graceMs / 1000).toFixed(0)} s grace, ${Math.round(state.done / secs)} rows/s (limit ${RATE}); projected for 491,840 patients: ${(491_840 / Math.min(RATE, state.done / secs) / 60).toFixed(1)} min (target ≤ 10)`);
await svc.close();
srv.send('stop');
await new Promise((r) => srv.once('exit', r));
writeFileSync(join(OUT, 'results-rotate.json'), JSON.stringify({ machine, date: new Date().toISOString(), results }, null, 2));
process.exit(0);
