// The sentinel's baseline on disk: <dir>/baseline.json, directory 0700, file 0600, written atomically.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Manifest } from './integrity.ts';
import type { IfaceBaseline } from './egress.ts';

export interface BaselineListener { proto: string; address: string; port: number; pid: number | null; comm: string | null }

export interface SentinelBaseline {
  version: 1;
  takenAt: string;
  listeners: BaselineListener[];
  /** pid:starttime of the watched processes present at baseline. */
  processes: string[];
  /** uid|comm of the watched processes present at baseline: a new process of a known kind does not alert. */
  processSignatures: string[];
  integrity: Manifest;
  egress: Record<string, IfaceBaseline>;
}

export function baselinePath(dir: string): string {
  return join(dir, 'baseline.json');
}

export function loadBaseline(dir: string): SentinelBaseline | null {
  let text: string;
  try {
    text = readFileSync(baselinePath(dir), 'utf8');
  } catch {
    return null;
  }
  const b = JSON.parse(text) as SentinelBaseline;
  if (b.version !== 1) throw new Error(`unknown sentinel baseline version in ${baselinePath(dir)}`);
  return b;
}

export function saveBaseline(dir: string, b: SentinelBaseline): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.baseline.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(b, null, 1), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, baselinePath(dir));
}
