// The Watch head's background jobs, started and stopped by the scheduler with the server's others:
// - detection: the engine on the committed access-event stream (subscriber `detect`, resumable), ticked;
// - sentinel: the host sentinel (listeners, processes, egress, CPU, integrity, outbound), its host alerts
//   stored and delivered like any other.
import { fileURLToPath } from 'node:url';
import type { BackgroundJob } from '../ops/scheduler.ts';
import type { Services } from './services.ts';
import { DetectionRunner } from './runner.ts';
import { LiveCareOracle } from './live-oracle.ts';
import { Sentinel, tcpListenerOwner } from './sentinel/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function detectionJob(svc: Services, log: (m: string) => void): BackgroundJob & { runner: DetectionRunner } {
  const runner = new DetectionRunner(svc.watch, new LiveCareOracle(svc.database.db), (m) => log(`cerbere: detection: ${m}`));
  return {
    name: 'detection',
    runner,
    start: async () => {
      // A first start does not replay the whole history: detection begins at each log's current end.
      const sub = svc.log.stream.subscribeBatches('detect', (events) => runner.onEvents(events), { from: 'end' });
      runner.start();
      return async () => { await sub.close(); await runner.stop(); };
    },
  };
}

export function sentinelJob(svc: Services, log: (m: string) => void): BackgroundJob & { sentinel: Sentinel } {
  const db = svc.database.kind === 'postgres' ? tcpListenerOwner(Number(new URL(svc.config.databaseUrl!).port || 5432)) : null;
  const sentinel = new Sentinel({
    dataDir: svc.config.dataDir,
    // Processes of the server's and database's users, and children of either; root is not a service
    // user (everything runs as root), so a server run as root watches lineage only.
    watch: { uids: [process.getuid?.() ?? 0, ...(db ? [db.uid] : [])].filter((u, i, a) => u !== 0 && a.indexOf(u) === i), pids: [process.pid, ...(db?.pid ? [db.pid] : [])] },
    integrityRoots: ['src', 'bin', 'package.json', 'package-lock.json', 'web/dist'].map((p) => ROOT + p),
    outbound: { allow: svc.config.sentinelOutboundAllow },
    onAlerts: (alerts) => { for (const a of alerts) svc.watch.raise(a).catch(() => log('cerbere: sentinel: an alert could not be stored')); },
    onError: () => log('cerbere: sentinel: a check failed'),
  });
  return {
    name: 'sentinel',
    sentinel,
    start: async () => {
      if (!svc.config.sentinel) return () => {};
      sentinel.baseline();
      sentinel.start(svc.config.sentinelIntervalMs);
      return () => sentinel.stop();
    },
  };
}
