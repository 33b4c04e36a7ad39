// Probe: CPU taken by processes that are neither Cerbère nor its database (nor their descendants, nor
// kernel threads), from utime+stime deltas over the check interval. Sustained use above a threshold
// (a fraction of one core, for `sustain` consecutive checks) alerts, naming pid and comm.
import { CLK_TCK } from './procfs.ts';
import { procKey, type ProcInfo, type ProcessTable } from './processes.ts';

export interface CpuOptions {
  /** Fraction of one core (0.5 = 50 %). */
  threshold: number;
  sustain: number;
}

export const DEFAULT_CPU: CpuOptions = { threshold: 0.5, sustain: 4 };

export interface CpuFinding { pid: number; comm: string; cmdline: string; uid: number | null; starttime: number; share: number; checks: number }

export class CpuProbe {
  private prev: { at: number; ticks: Map<string, number> } | null = null;
  private streak = new Map<string, number>();
  /** Top foreign consumers of the last interval, for status. */
  top: { pid: number; comm: string; share: number }[] = [];

  constructor(private readonly opts: CpuOptions = DEFAULT_CPU) {}

  /** `own`: pids excluded (Cerbère, its database and their descendants). */
  sample(atMs: number, table: ProcessTable, own: Set<number>): CpuFinding[] {
    const ticks = new Map<string, number>();
    for (const p of table.procs.values()) ticks.set(procKey(p), p.cpuTicks);
    const prev = this.prev;
    this.prev = { at: atMs, ticks };
    if (!prev || atMs <= prev.at) return [];
    const seconds = (atMs - prev.at) / 1000;
    const findings: CpuFinding[] = [];
    const shares: { p: ProcInfo; share: number }[] = [];
    const seen = new Set<string>();
    for (const p of table.procs.values()) {
      if (own.has(p.pid) || p.pid === 2 || p.ppid === 2) continue;
      const key = procKey(p);
      const before = prev.ticks.get(key);
      if (before === undefined) continue; // started during the interval: measured from the next check
      const share = (p.cpuTicks - before) / CLK_TCK / seconds;
      shares.push({ p, share });
      if (share < this.opts.threshold) continue;
      seen.add(key);
      const n = (this.streak.get(key) ?? 0) + 1;
      this.streak.set(key, n);
      if (n >= this.opts.sustain) findings.push({ pid: p.pid, comm: p.comm, cmdline: p.cmdline, uid: p.uid, starttime: p.starttime, share, checks: n });
    }
    for (const k of this.streak.keys()) if (!seen.has(k)) this.streak.delete(k);
    this.top = shares.sort((a, b) => b.share - a.share).slice(0, 5).map(({ p, share }) => ({ pid: p.pid, comm: p.comm, share: Math.round(share * 1000) / 1000 }));
    return findings;
  }
}
