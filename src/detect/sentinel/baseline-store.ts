// The sentinel's baseline on disk: <dir>/baseline.json, directory 0700, file 0600, written atomically.
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
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

function writePrivate(dir: string, name: string, data: unknown): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(data, null, 1), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, join(dir, name));
}

export function saveBaseline(dir: string, b: SentinelBaseline): void {
  writePrivate(dir, 'baseline.json', b);
}

/** Modification time of the stored baseline, to notice an `accept()` made by another process (the CLI). */
export function baselineMtime(dir: string): number | null {
  try {
    return statSync(baselinePath(dir)).mtimeMs;
  } catch {
    return null;
  }
}

/** The running sentinel writes its status after each check, for `cerbere sentinel status` in another process. */
export function saveStatus(dir: string, status: unknown): void {
  writePrivate(dir, 'status.json', status);
}

export function loadStatus(dir: string): unknown {
  try {
    return JSON.parse(readFileSync(join(dir, 'status.json'), 'utf8'));
  } catch {
    return null;
  }
}
