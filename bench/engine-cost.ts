// `npm run bench:engine [-- --events N --only a|b|c]`: what the detection engine costs per committed access event,
// in the server's process. Three steady-state streams at 5,000 events/s of simulated time:
// (a) one service token reading 2,000 patients round-robin (explained by scope only),
// (b) 50 users each reading their own 40 patients (explained by care),
// (c) one service token's searches returning 20 patients each.
// Prints µs/event of CPU time (the process's, GC threads included) and of wall time, each the median
// over batches of 10,000 events (built 100 at a time, just before they are fed) after a warm-up of
// the same stream; on a busy shared machine the wall time also counts the time other processes had
// the core. Also a checksum of the alerts raised and merged, so a change to the engine can be shown
// to leave its output alone.
import { createHash } from 'node:crypto';
import { median } from '../src/detect/bounded.ts';
import { Engine } from '../src/detect/engine.ts';
import type { ActorRef, CommittedAccessEvent, Explanation } from '../src/detect/types.ts';

const args = process.argv.slice(2);
const i = args.indexOf('--events');
const N = i >= 0 ? Number(args[i + 1]) : 50_000;
const o = args.indexOf('--only');
const only = o >= 0 ? args[o + 1] : null;
const T0 = Date.UTC(2025, 0, 6, 8);
const BATCH = 10_000;
const CHUNK = 100;

interface Scenario { name: string; care: (a: ActorRef, p: string) => Explanation; make: (i: number) => CommittedAccessEvent }

const token = { kind: 'token', id: 'bench', role: 'service', siteId: null };
const users = Array.from({ length: 50 }, (_, k) => ({ kind: 'user', id: `u${k}`, role: 'physician', siteId: 's1' }));
const base = (i: number) => ({ tenantId: 'demo', position: i, at: new Date(T0 + i * 0.2), ip: '127.0.0.1', purpose: 'TREAT', outcome: 'success' as const, detail: null });

const scenarios: Scenario[] = [
  {
    name: '(a) 1 token, 2,000 patients round-robin',
    care: () => 'scope',
    make: (i) => { const p = `p${i % 2000}`; return { ...base(i), actor: token, tokenId: 'bench', action: 'read', resourceRefs: [`Patient/${p}`], patientIds: [p] }; },
  },
  {
    name: '(b) 50 users, own 40 patients each',
    care: (a, p) => (p.startsWith(`${a.id}-`) ? 'care' : 'scope'),
    make: (i) => { const u = users[i % 50]; const p = `${u.id}-p${Math.floor(i / 50) % 40}`; return { ...base(i), actor: u, tokenId: null, action: 'read', resourceRefs: [`Patient/${p}`], patientIds: [p] }; },
  },
  {
    name: '(c) 1 token, searches of 20 patients',
    care: () => 'scope',
    make: (i) => {
      const ps = Array.from({ length: 20 }, (_, k) => `p${(i * 20 + k) % 2000}`);
      return { ...base(i), actor: token, tokenId: 'bench', action: 'search', resourceRefs: ps.map((p) => `Patient/${p}`), patientIds: ps };
    },
  },
];

for (const s of scenarios) {
  if (only && !s.name.startsWith(`(${only})`)) continue;
  const e = new Engine({ care: { explain: (_t, a, p) => s.care(a, p) }, isCanary: () => false });
  const h = createHash('sha256');
  let raised = 0, merged = 0;
  const perBatch: number[] = [], cpuPerBatch: number[] = [];
  for (let from = 0; from < 2 * N; from += BATCH) {
    let wall = 0n, cpu = 0;
    // Built a chunk at a time, just before they are fed, as the runner does with a batch of rows: a
    // whole batch built in advance would make the engine pay for fetching each event back into cache.
    for (let k0 = from; k0 < from + BATCH; k0 += CHUNK) {
      const evs: CommittedAccessEvent[] = [];
      for (let k = k0; k < k0 + CHUNK; k++) evs.push(s.make(k));
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      for (const ev of evs) {
        const o = e.observeAll(ev);
        raised += o.raised.length; merged += o.merged.length;
        for (const c of o.raised) h.update(`${c.kind}|${c.severity}|${c.patients}|${c.summary}|${c.evidence.join(',')}\n`);
        if (o.merged.length) h.update(`m${o.merged.length}|${o.merged[0].patients}\n`);
      }
      const c = process.cpuUsage(c0);
      wall += process.hrtime.bigint() - t0;
      cpu += c.user + c.system;
    }
    if (from >= N) { perBatch.push(Number(wall) / 1000 / BATCH); cpuPerBatch.push(cpu / BATCH); } // the first N warm up
  }
  console.log(`${s.name}: ${median(cpuPerBatch).toFixed(2)} µs/event CPU, ${median(perBatch).toFixed(2)} wall  (alerts raised ${raised}, merged ${merged}, checksum ${h.digest('hex').slice(0, 12)})`);
}
