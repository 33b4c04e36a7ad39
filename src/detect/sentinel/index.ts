// The host sentinel's public surface (for the server's start-up and the `cerbere sentinel` commands).
export { Sentinel, DEFAULT_INTERVAL_MS, type SentinelOptions } from './sentinel.ts';
export { readSentinelStatus, type SentinelStatus } from './status.ts';
export type { Listener } from './net.ts';
export type { SentinelBaseline } from './baseline-store.ts';

/** The kinds of alert the sentinel raises (all with tenantId null). */
export const HOST_ALERT_KINDS = ['host.listener', 'host.process', 'host.egress', 'host.cpu', 'host.integrity', 'host.outbound'] as const;

import { ListenerProbe } from './listeners.ts';

/**
 * Who listens on a TCP port (e.g. the database's 5432), to fill `watch.uids` and `watch.pids` at start-up.
 * The uid comes from the socket table and is visible without privileges; the pid needs root or
 * CAP_SYS_PTRACE when the listener belongs to another user (null otherwise).
 */
export function tcpListenerOwner(port: number, procRoot = '/proc'): { uid: number; pid: number | null; comm: string | null } | null {
  const l = new ListenerProbe(procRoot).scan().find((x) => (x.proto === 'tcp' || x.proto === 'tcp6') && x.port === port);
  return l ? { uid: l.uid, pid: l.pid, comm: l.comm } : null;
}
