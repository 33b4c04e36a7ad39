// The sentinel's status: what `status()` returns and the running loop writes to <dataDir>/sentinel/status.json
// (0600) after each check, so `cerbere sentinel status [--json]` can show it from another process.
import { join } from 'node:path';
import type { AlertCandidate } from '../../core/watch-types.ts';
import type { Listener } from './net.ts';
import { loadStatus } from './baseline-store.ts';

/** The status last written by the running sentinel (null if it never ran), for `cerbere sentinel status`. */
export function readSentinelStatus(dataDir: string): SentinelStatus | null {
  return loadStatus(join(dataDir, 'sentinel')) as SentinelStatus | null;
}

export interface SentinelStatus {
  running: boolean;
  baseline: { takenAt: string; listeners: number; processSignatures: string[]; files: number; interfaces: string[] } | null;
  current: {
    listeners: Listener[];
    egressBytesPerSec: Record<string, { rx: number; tx: number }>;
    egressBaselineBytesPerSec: Record<string, { rx: number; tx: number }>;
    cpuTop: { pid: number; comm: string; share: number }[];
    outbound: { remote: string; remotePort: number; state: string }[];
    integrity: { files: number; hashedLastCheck: number } | null;
  };
  lastCheckAt: string | null;
  lastCheckMs: number | null;
  meanCheckMs: number | null;
  findings: AlertCandidate[];
}
