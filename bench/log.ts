// Access-log read figures: inclusion proofs and tiles over HTTP (in-process inject, auditor token) on a
// log of N events (default 200,000): cold tree load, then warm per-request times.
// `[DATABASE_URL=postgres://…] node --import tsx bench/log.ts [N]`.
import { insertSyntheticEvents, throwawayServices } from './env.ts';
import { createTenant } from '../src/store/tenants.ts';
import { createApiToken } from '../src/auth/api-tokens.ts';
import { buildApp } from '../src/server/app.ts';
import { logView } from '../src/audit/log/log-view.ts';
import { tilePath } from '../src/audit/log/tiles.ts';

const N = Number(process.argv[2] ?? 200_000);
const env = await throwawayServices('bench_log');
const svc = env.svc;
const db = svc.database.db;
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const stats = (a: number[]) => { a.sort((x, y) => x - y); return `median ${a[Math.floor(a.length / 2)].toFixed(2)} ms, p99 ${a[Math.floor(a.length * 0.99)].toFixed(2)} ms`; };
try {
  await createTenant(db, svc.keyring, 'bench', 'Bench');
  await insertSyntheticEvents(db, 'bench', N);
  await svc.log.integrate('bench');
  await svc.log.checkpoint('bench');
  const token = (await createApiToken(db, 'bench', 'auditor', 'bench')).token;
  const app = await buildApp(svc, { logLevel: false });
  const headers = { authorization: `Bearer ${token}` };
  let t0 = process.hrtime.bigint();
  await logView(svc).snapshot('bench');
  console.log(`${N} events (${svc.database.kind}): tree loaded and checked against the checkpoint in ${(ms(t0) / 1000).toFixed(1)} s`);
  const proof: number[] = [];
  const direct: number[] = [];
  const tiles: number[] = [];
  for (let k = 0; k < 300; k++) {
    const i = Math.floor(Math.random() * N);
    t0 = process.hrtime.bigint();
    const r = await app.inject({ url: `/log/bench/proof/inclusion?index=${i}`, headers });
    proof.push(ms(t0));
    if (r.statusCode !== 200) throw new Error(`status ${r.statusCode}`);
    t0 = process.hrtime.bigint();
    const s = await logView(svc).snapshot('bench');
    s.tree.inclusionProof(i, s.checkpoint!.size);
    direct.push(ms(t0));
    t0 = process.hrtime.bigint();
    const t = await app.inject({ url: `/log/bench/${tilePath(0, Math.floor(i / 256))}`, headers });
    tiles.push(ms(t0));
    if (t.statusCode !== 200 && t.statusCode !== 404) throw new Error(`tile status ${t.statusCode}`);
  }
  console.log(`inclusion proof via HTTP (token auth + checkpoint head cached ≤ 1 s + proof + JSON): ${stats(proof)}`);
  console.log(`inclusion proof, module call (cached head + proof): ${stats(direct)}`);
  console.log(`level-0 hash tile via HTTP: ${stats(tiles)}`);
  await app.close();
} finally {
  await env.close();
}
