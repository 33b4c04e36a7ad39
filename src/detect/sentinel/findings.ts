// Turning probe findings into AlertCandidates (host alerts: tenantId null, no patient, internal ids only).
// Summaries name proto, port, pid and comm; command lines stay out of alerts (they may carry secrets) and
// are shown only by `cerbere sentinel status` on the host itself.
import type { AlertCandidate, Severity } from '../../core/watch-types.ts';
import { listenerKey, type Listener } from './net.ts';
import { describeListener } from './listeners.ts';
import { procKey, procSignature, type ProcInfo, type WatchedProc } from './processes.ts';
import type { SentinelBaseline } from './baseline-store.ts';
import { formatRate, type EgressFinding } from './egress.ts';
import type { CpuFinding } from './cpu.ts';
import type { IntegrityFinding } from './integrity.ts';
import type { OutboundConn } from './outbound.ts';

const SHELLS = /^(sh|bash|dash|zsh|ksh|csh|tcsh|busybox|nc|ncat|netcat|socat|python[0-9.]*|perl|php|ruby|curl|wget)$/;

function host(kind: string, severity: Severity, at: Date, summary: string, dedupKey: string): AlertCandidate {
  return { tenantId: null, kind, severity, actor: null, tokenId: null, at, patients: 0, evidence: [], summary, dedupKey };
}

/** A listener not in the baseline, or (`baselineComm`) one whose port is now held by another program. */
export function listenerAlert(l: Listener, at: Date, baselineComm?: string): AlertCandidate {
  if (baselineComm !== undefined) {
    return host('host.listener', 'high', at, `Listening socket now held by another program: ${describeListener(l)}; the baseline had ${baselineComm}.`,
      `host.listener|${l.proto}|${l.address}|${l.port}|${l.comm}`);
  }
  return host('host.listener', 'high', at, `New listening socket not in the baseline: ${describeListener(l)}.`,
    `host.listener|${l.proto}|${l.address}|${l.port}`);
}

export function processAlert(p: WatchedProc, parent: { pid: number; comm: string } | null, at: Date): AlertCandidate {
  const why = p.reason === 'child'
    ? `descendant of a watched process${parent ? ` (parent pid ${parent.pid}, ${parent.comm})` : ''}`
    : `running under watched uid ${p.uid}`;
  return host('host.process', SHELLS.test(p.comm) ? 'critical' : 'high', at,
    `New process pid ${p.pid} (${p.comm}), uid ${p.uid ?? '?'}, ${why}, of a kind not in the baseline.`,
    `host.process|${p.pid}|${p.starttime}`);
}

export function egressAlert(f: EgressFinding, at: Date): AlertCandidate {
  return host('host.egress', 'high', at,
    `Network ${f.dir === 'out' ? 'egress' : 'ingress'} on ${f.iface} at ${formatRate(f.rate)} for ${f.checks} consecutive checks, baseline ${formatRate(f.baseline)}.`,
    `host.egress|${f.iface}|${f.dir}`);
}

export function cpuAlert(f: CpuFinding, at: Date): AlertCandidate {
  return host('host.cpu', 'medium', at,
    `Process pid ${f.pid} (${f.comm}), uid ${f.uid ?? '?'}, not Cerbère nor its database, used ${Math.round(f.share * 100)} % of a core for ${f.checks} consecutive checks.`,
    `host.cpu|${f.pid}|${f.starttime}`);
}

export function integrityAlert(f: IntegrityFinding, at: Date): AlertCandidate {
  const what = f.change === 'removed' ? 'was removed' : f.change === 'added' ? `was added (sha256 ${f.sha256?.slice(0, 16)}…)` : `changed (sha256 now ${f.sha256?.slice(0, 16)}…)`;
  return host('host.integrity', f.change === 'added' ? 'high' : 'critical', at,
    `Installed file ${f.path} ${what} since the baseline.`,
    `host.integrity|${f.path}|${f.sha256 ?? 'removed'}`);
}

export function outboundAlert(c: OutboundConn, pid: number, at: Date): AlertCandidate {
  const remote = c.remote.includes(':') ? `[${c.remote}]` : c.remote;
  return host('host.outbound', 'high', at,
    `Server process pid ${pid} has an outbound ${c.proto} connection (${c.state}) to ${remote}:${c.remotePort}, outside the allow-list.`,
    `host.outbound|${c.remote}|${c.remotePort}`);
}

export function baselineRemovedAlert(path: string, at: Date): AlertCandidate {
  return host('host.integrity', 'critical', at, `The sentinel baseline ${path} was removed; it was restored from memory.`,
    `host.integrity|${path}|removed|${at.getTime()}`);
}

/** Listeners not in the baseline, and baseline ports now held by a program with another comm. */
export function listenerFindings(current: Listener[], base: SentinelBaseline, allow: readonly string[], at: Date): AlertCandidate[] {
  const known = new Map(base.listeners.map((l) => [listenerKey(l), l]));
  const allowed = new Set(allow);
  const out: AlertCandidate[] = [];
  for (const l of current) {
    const key = listenerKey(l);
    const b = known.get(key);
    if (!b && !allowed.has(key)) out.push(listenerAlert(l, at));
    // The port of the baseline, but another program holds it (the database killed and its port taken over).
    else if (b?.comm && l.comm && b.comm !== l.comm) out.push(listenerAlert(l, at, b.comm));
  }
  return out;
}

/** Watched processes neither present at baseline nor of a kind (uid|comm) seen then or allowed. */
export function processFindings(watched: WatchedProc[], table: Map<number, ProcInfo>, base: SentinelBaseline, allow: readonly string[], at: Date): AlertCandidate[] {
  const keys = new Set(base.processes);
  const kinds = new Set([...base.processSignatures, ...allow]);
  const out: AlertCandidate[] = [];
  for (const p of watched) {
    if (keys.has(procKey(p)) || kinds.has(procSignature(p)) || kinds.has(p.comm)) continue;
    const parent = table.get(p.ppid);
    out.push(processAlert(p, parent ? { pid: parent.pid, comm: parent.comm } : null, at));
  }
  return out;
}
