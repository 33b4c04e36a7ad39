// The host sentinel's public surface (for the server's start-up and the `cerbere sentinel` commands).
export { Sentinel, DEFAULT_INTERVAL_MS, type SentinelOptions } from './sentinel.ts';
export { readSentinelStatus, type SentinelStatus } from './status.ts';
export type { Listener } from './net.ts';
export type { SentinelBaseline } from './baseline-store.ts';

/** The kinds of alert the sentinel raises (all with tenantId null). */
export const HOST_ALERT_KINDS = ['host.listener', 'host.process', 'host.egress', 'host.cpu', 'host.integrity', 'host.outbound'] as const;
