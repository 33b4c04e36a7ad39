// `npm run bench:sentinel`: the host sentinel's own cost — CPU ms per check and the share of one core at the
// default 15 s interval (target ≤ 2 %), with this repository's code as the integrity roots.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_INTERVAL_MS, Sentinel } from '../src/detect/sentinel/sentinel.ts';
import { listPids } from '../src/detect/sentinel/procfs.ts';

const N = Number(process.env.SENTINEL_BENCH_CHECKS ?? 40);
const dir = mkdtempSync(join(tmpdir(), 'cerbere-sentinel-bench-'));
const roots = ['src', 'bin', 'package.json', 'package-lock.json', 'web/dist'];
const s = new Sentinel({ dataDir: dir, watch: { uids: [process.getuid?.() ?? 0], pids: [process.pid] }, integrityRoots: roots });

let c0 = process.cpuUsage();
let t0 = performance.now();
s.baseline();
const baseCpu = process.cpuUsage(c0);
console.log(`baseline: ${(performance.now() - t0).toFixed(1)} ms wall, ${((baseCpu.user + baseCpu.system) / 1000).toFixed(1)} ms CPU`);

const cpu: number[] = [];
const wall: number[] = [];
for (let i = 0; i < N; i++) {
  await new Promise((r) => setTimeout(r, 50));
  c0 = process.cpuUsage();
  t0 = performance.now();
  s.check(new Date());
  const c = process.cpuUsage(c0);
  wall.push(performance.now() - t0);
  cpu.push((c.user + c.system) / 1000);
}
const st = s.status();
const sorted = [...cpu].sort((a, b) => a - b);
const median = sorted[Math.floor(N / 2)];
const steady = cpu.slice(1).reduce((a, b) => a + b, 0) / (N - 1);
const pct = (ms: number): string => ((ms / DEFAULT_INTERVAL_MS) * 100).toFixed(3);
console.log(`host: ${listPids('/proc').length} processes, ${st.current.listeners.length} listeners, ${st.current.integrity?.files ?? 0} files watched`);
console.log(`checks: ${N}; first ${cpu[0].toFixed(1)} ms CPU; median ${median.toFixed(2)} ms CPU; mean after first ${steady.toFixed(2)} ms CPU; max ${sorted[N - 1].toFixed(1)} ms`);
console.log(`wall median ${[...wall].sort((a, b) => a - b)[Math.floor(N / 2)].toFixed(2)} ms (the event loop is blocked this long per check)`);
console.log(`share of one core at ${DEFAULT_INTERVAL_MS / 1000} s interval: median ${pct(median)} %, worst ${pct(sorted[N - 1])} % (target ≤ 2 %)`);
rmSync(dir, { recursive: true, force: true });
