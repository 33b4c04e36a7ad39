// `npm run bench:authz [-- --patients N --reads R --concurrency C]`: what authorization adds to a Patient read.
// In process, through the repository (no HTTP), on an in-memory PGlite or a fresh PostgreSQL schema
// (DATABASE_URL): N synthetic patients, each with an order at site-a; the same R reads of random
// patients are timed as a tenant-wide API client (no per-patient decision: the baseline), as a
// technician of site-a whose decisions are cached (the steady state), and as technicians whose
// every read is a first read (a cache miss: one indexed query on care_links).
import { createTenant } from '../src/store/tenants.ts';
import { throwawayServices } from './env.ts';
import { systemContext, type AccessContext } from '../src/core/context.ts';
import { SITE_TAG_SYSTEM } from '../src/access/care-links.ts';

const args = process.argv.slice(2);
const flag = (name: string, dflt: number) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : dflt; };
const PATIENTS = flag('patients', 2000);
const READS = flag('reads', 4000);

const env = await throwawayServices('bench_authz');
const { svc, url } = env;
await createTenant(svc.database.db, svc.keyring, 'bench', 'Bench');
const sys = systemContext('bench');
const patients = Array.from({ length: PATIENTS }, (_, i) => ({ resourceType: 'Patient', id: `p-${i}`, name: [{ family: `Famille${i}`, given: ['Jean'] }], birthDate: '1970-01-01' }));
await svc.repo.importBatch(sys, patients);
const orders = patients.map((p, i) => ({ resourceType: 'ServiceRequest', id: `sr-${i}`, status: 'active', intent: 'order', subject: { reference: `Patient/${p.id}` }, meta: { tag: [{ system: SITE_TAG_SYSTEM, code: 'site-a' }] } }));
await svc.repo.importBatch(sys, orders);

const order = Array.from({ length: READS }, (_, i) => `p-${(i * 7919) % PATIENTS}`);
const ctxOf = (role: string, id: string): AccessContext => ({ tenantId: 'bench', actor: { kind: role === 'service' ? 'token' : 'user', id, role, siteId: 'site-a', siteIds: ['site-a'] }, purpose: 'TREAT' });

const CONCURRENCY = flag('concurrency', 32);

/** R reads by CONCURRENCY concurrent callers (as a server would: access events share group commits). */
async function run(label: string, ctxFor: (i: number) => AccessContext): Promise<number> {
  const t0 = process.hrtime.bigint();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < order.length) { const i = next++; await svc.repo.read(ctxFor(i), 'Patient', order[i]); }
  }));
  const us = Number(process.hrtime.bigint() - t0) / 1000 / order.length;
  console.log(`${label}: ${us.toFixed(1)} µs per Patient read`);
  return us;
}

const service = ctxOf('service', 'svc');
const tech = ctxOf('lab_technician', 'tech');
await run('warm-up', () => service);
for (const id of new Set(order)) await svc.repo.read(tech, 'Patient', id); // fills the technician's cache
const base: number[] = [];
const cached: number[] = [];
for (let round = 0; round < 3; round++) { // interleaved rounds, best of 3, to damp a busy machine
  base.push(await run(`service (tenant-wide, no per-patient decision) #${round + 1}`, () => service));
  cached.push(await run(`lab_technician, decision cached #${round + 1}`, () => tech));
}
const miss = await run('lab_technician, every read a cache miss', (i) => ctxOf('lab_technician', `tech-${i}`));
// The decision itself, without the read around it: a cached per-patient decision.
const rule = svc.repo.access.rule(tech, 'read', 'Patient')!;
const t1 = process.hrtime.bigint();
for (let i = 0; i < 100_000; i++) await svc.repo.access.reach(tech, rule, 'Patient', order[i % order.length]);
const decisionUs = Number(process.hrtime.bigint() - t1) / 1000 / 100_000;
console.log(`cached decision alone: ${decisionUs.toFixed(2)} µs`);
const b = Math.min(...base);
const c = Math.min(...cached);
console.log(`\nauthorization on a Patient read (${url ? 'PostgreSQL' : 'PGlite'}, ${PATIENTS} patients, ${READS} reads, best of 3):`);
console.log(`  cached decision: +${(((c - b) / b) * 100).toFixed(1)} % (${b.toFixed(1)} → ${c.toFixed(1)} µs)`);
console.log(`  cache miss:      +${(((miss - b) / b) * 100).toFixed(1)} % (${miss.toFixed(1)} µs)`);
console.log(`  cached decision alone: ${decisionUs.toFixed(2)} µs = ${((decisionUs / b) * 100).toFixed(2)} % of a read`);
await env.close();
