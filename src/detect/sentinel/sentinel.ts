// The host sentinel: compares the host against a persisted baseline every check (15 s by default) and
// raises host alerts for new listeners, unknown processes of the server's or database's user or lineage,
// sustained egress, foreign CPU use, changed installed files and outbound connections off the allow-list.
import { join } from 'node:path';
import type { AlertCandidate } from '../../core/watch-types.ts';
import { ListenerProbe } from './listeners.ts';
import { readSockets, type Listener } from './net.ts';
import { ProcessTable, procKey, procSignature, watchedProcesses, type WatchSpec } from './processes.ts';
import { DEFAULT_EGRESS, EgressProbe, type EgressOptions } from './egress.ts';
import { CpuProbe, DEFAULT_CPU, type CpuOptions } from './cpu.ts';
import { IntegrityProbe } from './integrity.ts';
import { OutboundProbe } from './outbound.ts';
import { baselineMtime, baselinePath, loadBaseline, saveBaseline, saveStatus, type SentinelBaseline } from './baseline-store.ts';
import type { SentinelStatus } from './status.ts';
import { baselineRemovedAlert, cpuAlert, egressAlert, integrityAlert, listenerFindings, outboundAlert, processFindings } from './findings.ts';

export interface SentinelOptions {
  /** Cerbère's data directory; the baseline lives in <dataDir>/sentinel/baseline.json. */
  dataDir: string;
  procRoot?: string;
  /** Processes watched: uids of the server and database users, pids of the server and database. */
  watch?: Partial<WatchSpec>;
  /** Pids whose lineage counts as "Cerbère or its database" for the CPU probe (default: watch.pids + this process). */
  ownPids?: number[];
  /** Files and directories of the installed code and configuration. */
  integrityRoots?: string[];
  /** Outbound probe of the server process (default this process); false disables it. */
  outbound?: { pid?: number; allow?: string[]; includeLoopback?: boolean } | false;
  egress?: Partial<EgressOptions>;
  cpu?: Partial<CpuOptions>;
  /** Watched processes never alerted, by comm ("pg_dump") or uid and comm ("999|pg_dump"): short-lived
   *  legitimate jobs (backups, log rotation) that a baseline rarely catches running. */
  allowProcesses?: string[];
  /** Listener keys "proto|address|port" never alerted (in addition to the baseline). */
  allowListeners?: string[];
  onAlerts?: (alerts: AlertCandidate[]) => void;
  onError?: (err: unknown) => void;
}

export const DEFAULT_INTERVAL_MS = 15_000;

export class Sentinel {
  private readonly dir: string;
  private readonly procRoot: string;
  private readonly spec: WatchSpec;
  private readonly listeners: ListenerProbe;
  private readonly table: ProcessTable;
  private readonly egress: EgressProbe;
  private readonly cpu: CpuProbe;
  private readonly integrity: IntegrityProbe | null;
  private readonly outbound: OutboundProbe | null;
  private base: SentinelBaseline | null = null;
  /** mtime of baseline.json when we last read or wrote it: a change means another process accepted. */
  private baseMtime: number | null = null;
  /** dedupKey → alert, for findings still present: a persisting finding alerts once. */
  private active = new Map<string, AlertCandidate>();
  private current: Listener[] = [];
  private lastCheck: { at: Date; ms: number } | null = null;
  private checks = 0;
  private totalMs = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: SentinelOptions) {
    this.dir = join(opts.dataDir, 'sentinel');
    this.procRoot = opts.procRoot ?? '/proc';
    this.spec = { uids: opts.watch?.uids ?? [], pids: opts.watch?.pids ?? [] };
    this.listeners = new ListenerProbe(this.procRoot);
    this.table = new ProcessTable(this.procRoot);
    this.egress = new EgressProbe({ ...DEFAULT_EGRESS, ...opts.egress }, this.procRoot);
    this.cpu = new CpuProbe({ ...DEFAULT_CPU, ...opts.cpu });
    this.integrity = opts.integrityRoots?.length ? new IntegrityProbe({ roots: opts.integrityRoots }) : null;
    this.outbound = opts.outbound === false ? null
      : new OutboundProbe({ pid: opts.outbound?.pid ?? process.pid, allow: opts.outbound?.allow ?? [], includeLoopback: opts.outbound?.includeLoopback ?? false }, this.procRoot);
  }

  /** Loads the persisted baseline, or takes and persists one if none exists. A restart never silently
   *  accepts what changed while the server was down: only `accept()` replaces an existing baseline. */
  baseline(): { source: 'loaded' | 'taken'; baseline: SentinelBaseline } {
    const loaded = loadBaseline(this.dir);
    if (loaded) {
      this.base = loaded;
      if (this.integrity) this.integrity.baseline = loaded.integrity;
      this.egress.baselines = new Map(Object.entries(loaded.egress));
      this.egress.sample(Date.now());
      this.table.refresh();
      this.baseMtime = baselineMtime(this.dir);
      return { source: 'loaded', baseline: loaded };
    }
    return { source: 'taken', baseline: this.accept() };
  }

  /** The current state becomes the baseline, persisted with mode 0600 (`cerbere sentinel baseline`). */
  accept(): SentinelBaseline {
    this.table.refresh();
    const watched = watchedProcesses(this.table, this.spec);
    this.current = this.listeners.scan();
    this.egress.acceptCurrent();
    if (this.egress.baselines.size === 0) this.egress.sample(Date.now());
    // A one-shot accept (the CLI) has no rates of its own yet: it keeps the rates the server learned.
    const learned = this.egress.baselines.size > 0 ? Object.fromEntries(this.egress.baselines) : (this.base ?? loadBaseline(this.dir))?.egress ?? {};
    this.base = {
      version: 1, takenAt: new Date().toISOString(),
      listeners: this.current.map((l) => ({ proto: l.proto, address: l.address, port: l.port, pid: l.pid, comm: l.comm })),
      processes: watched.map(procKey),
      processSignatures: [...new Set(watched.map(procSignature))],
      integrity: this.integrity ? this.integrity.takeBaseline() : {},
      egress: learned,
    };
    this.save();
    this.active.clear();
    return this.base;
  }

  /** One pass of every probe; returns only the alerts not raised by an earlier check. */
  check(now: Date = new Date()): AlertCandidate[] {
    const t0 = performance.now();
    const found: AlertCandidate[] = [];
    const mtime = baselineMtime(this.dir);
    if (!this.base) {
      this.baseline();
    } else if (mtime === null) {
      // Deleting the file must not make the next start accept everything: restore it, and say so.
      this.save();
      found.push(baselineRemovedAlert(baselinePath(this.dir), now));
    } else if (mtime !== this.baseMtime) {
      this.baseline(); // accepted by another process (`cerbere sentinel baseline`)
    }
    const base = this.base!;
    const table = this.table.refresh();

    const rows = readSockets(this.procRoot);
    this.current = this.listeners.scan(rows);
    found.push(...listenerFindings(this.current, base, this.opts.allowListeners ?? [], now));
    found.push(...processFindings(watchedProcesses(this.table, this.spec), table, base, this.opts.allowProcesses ?? [], now));

    for (const f of this.egress.sample(now.getTime())) found.push(egressAlert(f, now));

    const ownRoots = this.opts.ownPids ?? [...this.spec.pids, process.pid];
    const own = new Set([...ownRoots, ...this.table.descendantsOf(ownRoots)]);
    for (const f of this.cpu.sample(now.getTime(), this.table, own)) found.push(cpuAlert(f, now));

    if (this.integrity) for (const f of this.integrity.check()) found.push(integrityAlert(f, now));
    if (this.outbound) for (const c of this.outbound.check(this.outbound.pid === process.pid ? rows : undefined)) found.push(outboundAlert(c, this.outbound.pid, now));

    const fresh: AlertCandidate[] = [];
    const next = new Map<string, AlertCandidate>();
    for (const a of found) {
      if (next.has(a.dedupKey)) continue;
      const prev = this.active.get(a.dedupKey);
      next.set(a.dedupKey, prev ?? a);
      if (!prev) fresh.push(a);
    }
    this.active = next;
    const ms = performance.now() - t0;
    this.lastCheck = { at: now, ms };
    this.checks++;
    this.totalMs += ms;
    // The learned egress rates survive a restart: persisted every 40 checks (10 min at the default interval).
    if (this.checks % 40 === 0) this.persistEgress();
    return fresh;
  }

  status(): SentinelStatus {
    const b = this.base;
    return {
      running: this.timer !== null,
      baseline: b && {
        takenAt: b.takenAt, listeners: b.listeners.length, processSignatures: b.processSignatures,
        files: Object.keys(b.integrity).length, interfaces: Object.keys(b.egress),
      },
      current: {
        listeners: this.current,
        egressBytesPerSec: Object.fromEntries(this.egress.current),
        egressBaselineBytesPerSec: Object.fromEntries([...this.egress.baselines].map(([k, v]) => [k, { rx: v.rx.rate, tx: v.tx.rate }])),
        cpuTop: this.cpu.top,
        outbound: this.outbound?.last ?? [],
        integrity: this.integrity ? { files: this.integrity.files, hashedLastCheck: this.integrity.hashedLastCheck } : null,
      },
      lastCheckAt: this.lastCheck?.at.toISOString() ?? null,
      lastCheckMs: this.lastCheck ? Math.round(this.lastCheck.ms * 100) / 100 : null,
      meanCheckMs: this.checks ? Math.round((this.totalMs / this.checks) * 100) / 100 : null,
      findings: [...this.active.values()],
    };
  }

  /** Checks every `intervalMs` (default 15 s, so a new listener alerts well within a minute). */
  start(intervalMs = DEFAULT_INTERVAL_MS): void {
    if (this.timer) return;
    if (!this.base) this.baseline();
    this.timer = setInterval(() => {
      try {
        const alerts = this.check(new Date());
        if (alerts.length > 0) this.opts.onAlerts?.(alerts);
        saveStatus(this.dir, this.status());
      } catch (err) {
        this.opts.onError?.(err);
      }
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.persistEgress();
  }

  private persistEgress(): void {
    if (!this.base) return;
    this.base.egress = Object.fromEntries(this.egress.baselines);
    this.save();
  }

  private save(): void {
    saveBaseline(this.dir, this.base!);
    this.baseMtime = baselineMtime(this.dir);
  }
}
