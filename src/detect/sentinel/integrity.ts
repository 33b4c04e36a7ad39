// Probe: integrity of Cerbère's installed code and configuration. A manifest of SHA-256 hashes of the given
// roots (files or directories, walked recursively) is taken at baseline; a changed, added or removed file
// alerts. Bounded work: a file is rehashed only when its (size, mtime, ctime, inode) changed — ctime cannot
// be set back by `touch -r` — plus a few files per check in rotation, so every file is re-read eventually.
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';

export type Manifest = Record<string, string>; // absolute path → sha256 hex

interface CacheEntry { stamp: string; sha256: string }

export interface IntegrityFinding { path: string; change: 'changed' | 'added' | 'removed'; sha256: string | null }

export interface IntegrityOptions {
  roots: readonly string[];
  /** Directory names skipped while walking (node_modules is watched through package-lock.json). */
  skipDirs: readonly string[];
  /** Files rehashed per check regardless of their stamp. */
  rotatePerCheck: number;
  /** Files larger than this are hashed by stamp only (size, times, inode) — bounded memory. */
  maxFileBytes: number;
}

export const DEFAULT_INTEGRITY: Omit<IntegrityOptions, 'roots'> = { skipDirs: ['node_modules', '.git'], rotatePerCheck: 16, maxFileBytes: 64 * 1024 * 1024 };

function stampOf(s: Stats): string {
  return `${s.size}|${s.mtimeMs}|${s.ctimeMs}|${s.ino}|${s.mode}`;
}

function hashFile(path: string, s: Stats, max: number): string | null {
  try {
    if (s.isSymbolicLink()) return createHash('sha256').update('symlink:').update(readlinkSafe(path)).digest('hex');
    if (s.size > max) return createHash('sha256').update(`large:${stampOf(s)}`).digest('hex');
    return createHash('sha256').update(readFileSync(path)).digest('hex');
  } catch {
    return null;
  }
}

function readlinkSafe(path: string): string {
  try { return readlinkSync(path); } catch { return ''; }
}

export class IntegrityProbe {
  baseline: Manifest = {};
  private cache = new Map<string, CacheEntry>();
  private rotor = 0;
  files = 0;
  hashedLastCheck = 0;
  private readonly opts: IntegrityOptions;

  constructor(opts: Partial<IntegrityOptions> & { roots: readonly string[] }) {
    this.opts = { ...DEFAULT_INTEGRITY, ...opts, roots: opts.roots.map((r) => resolve(r)) };
  }

  private walk(out: Map<string, Stats>): void {
    const visit = (p: string): void => {
      let s: Stats;
      try { s = lstatSync(p); } catch { return; }
      if (s.isDirectory()) {
        let names: string[];
        try { names = readdirSync(p); } catch { return; }
        for (const n of names) if (!this.opts.skipDirs.includes(n)) visit(join(p, n));
      } else if (s.isFile() || s.isSymbolicLink()) {
        out.set(p, s);
      }
    };
    for (const r of this.opts.roots) visit(r);
  }

  /** The current manifest, hashing only what changed since the last call (and a rotating few). */
  current(): Manifest {
    const stats = new Map<string, Stats>();
    this.walk(stats);
    const paths = [...stats.keys()].sort();
    const forced = new Set<string>();
    for (let i = 0; i < Math.min(this.opts.rotatePerCheck, paths.length); i++) forced.add(paths[(this.rotor + i) % paths.length]);
    this.rotor = paths.length ? (this.rotor + this.opts.rotatePerCheck) % paths.length : 0;
    const m: Manifest = {};
    const next = new Map<string, CacheEntry>();
    let hashed = 0;
    for (const p of paths) {
      const s = stats.get(p)!;
      const stamp = stampOf(s);
      const c = this.cache.get(p);
      let sha = c && c.stamp === stamp && !forced.has(p) ? c.sha256 : null;
      if (sha === null) { sha = hashFile(p, s, this.opts.maxFileBytes) ?? 'unreadable'; hashed++; }
      next.set(p, { stamp, sha256: sha });
      m[p] = sha;
    }
    this.cache = next;
    this.files = paths.length;
    this.hashedLastCheck = hashed;
    return m;
  }

  takeBaseline(): Manifest {
    this.baseline = this.current();
    return this.baseline;
  }

  check(): IntegrityFinding[] {
    const now = this.current();
    const out: IntegrityFinding[] = [];
    for (const [p, sha] of Object.entries(now)) {
      const b = this.baseline[p];
      if (b === undefined) out.push({ path: p, change: 'added', sha256: sha });
      else if (b !== sha) out.push({ path: p, change: 'changed', sha256: sha });
    }
    for (const p of Object.keys(this.baseline)) if (!(p in now)) out.push({ path: p, change: 'removed', sha256: null });
    return out;
  }
}
