// Probe: the process table, and which processes the sentinel watches: those running under given uids
// (the server's, the database's) and the descendants of given pids (a database spawning a shell).
import { descendants, listPids, readCmdline, readComm, readStat, readUid } from './procfs.ts';

export interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string;
  uid: number | null;
  starttime: number;
  cpuTicks: number;
}

/** pid:starttime, unique across pid reuse. */
export function procKey(p: { pid: number; starttime: number }): string {
  return `${p.pid}:${p.starttime}`;
}

/**
 * Reads /proc/[pid]/stat for every visible process on each refresh (cheap); uid, comm and cmdline only for
 * processes not seen before (cached by pid:starttime).
 */
export class ProcessTable {
  private cache = new Map<string, { uid: number | null; comm: string; cmdline: string }>();
  procs = new Map<number, ProcInfo>();

  constructor(private readonly procRoot = '/proc') {}

  refresh(): Map<number, ProcInfo> {
    const next = new Map<number, ProcInfo>();
    const nextCache = new Map<string, { uid: number | null; comm: string; cmdline: string }>();
    for (const pid of listPids(this.procRoot)) {
      const st = readStat(this.procRoot, pid);
      if (!st) continue;
      const key = procKey(st);
      let meta = this.cache.get(key);
      // comm/cmdline may change on exec(); the stat comm reflects it, so re-read when it differs.
      if (!meta || meta.comm !== st.comm) {
        meta = { uid: readUid(this.procRoot, pid), comm: readComm(this.procRoot, pid) ?? st.comm, cmdline: readCmdline(this.procRoot, pid) ?? '' };
      }
      nextCache.set(key, meta);
      next.set(pid, { pid, ppid: st.ppid, comm: meta.comm, cmdline: meta.cmdline, uid: meta.uid, starttime: st.starttime, cpuTicks: st.cpuTicks });
    }
    this.cache = nextCache;
    this.procs = next;
    return next;
  }

  /** Descendants of `roots` in the current table. */
  descendantsOf(roots: Iterable<number>): Set<number> {
    const ppid = new Map<number, number>();
    for (const p of this.procs.values()) ppid.set(p.pid, p.ppid);
    return descendants(ppid, roots);
  }
}

export interface WatchSpec {
  /** Processes running under these real uids are watched (the server's user, the database's user). */
  uids: readonly number[];
  /** Descendants of these pids are watched (server pid, database postmaster pid). */
  pids: readonly number[];
}

export interface WatchedProc extends ProcInfo { reason: 'uid' | 'child' }

/** The processes the spec watches, excluding the watched pids themselves and kernel threads. */
export function watchedProcesses(table: ProcessTable, spec: WatchSpec): WatchedProc[] {
  const kids = table.descendantsOf(spec.pids);
  const roots = new Set(spec.pids);
  const uids = new Set(spec.uids);
  const out: WatchedProc[] = [];
  for (const p of table.procs.values()) {
    if (roots.has(p.pid) || p.pid === 2 || p.ppid === 2) continue;
    if (kids.has(p.pid)) out.push({ ...p, reason: 'child' });
    else if (p.uid !== null && uids.has(p.uid)) out.push({ ...p, reason: 'uid' });
  }
  return out;
}

/** What makes a watched process "known": its uid and command name, learned at baseline. */
export function procSignature(p: { uid: number | null; comm: string }): string {
  return `${p.uid ?? '?'}|${p.comm}`;
}
