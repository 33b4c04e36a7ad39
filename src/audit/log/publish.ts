// Copies of signed checkpoints outside the database: a directory (<dir>/<tenant>/<size> and
// <dir>/<tenant>/latest) and an optional HTTP witness. Rewriting the database cannot rewrite these.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class CheckpointDir {
  constructor(readonly dir: string) {}

  /** Writes <size> once; an existing different copy is kept as evidence (a fork) and reported. */
  write(tenantId: string, size: number, note: string): 'written' | 'same' | 'conflict' {
    const d = join(this.dir, tenantId);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    const file = join(d, String(size));
    if (existsSync(file)) {
      if (readFileSync(file, 'utf8') !== note) return 'conflict';
    } else {
      writeFileSync(file, note, { mode: 0o600, flag: 'wx' });
    }
    // latest only moves forward; replaced atomically.
    const latest = this.read(tenantId, 'latest');
    const latestSize = latest ? Number(latest.split('\n')[1]) : -1;
    if (size > latestSize) {
      const tmp = join(d, `.latest.${process.pid}`);
      writeFileSync(tmp, note, { mode: 0o600 });
      renameSync(tmp, join(d, 'latest'));
      return 'written';
    }
    return 'same';
  }

  read(tenantId: string, name: string): string | null {
    const file = join(this.dir, tenantId, name);
    return existsSync(file) ? readFileSync(file, 'utf8') : null;
  }

  /** Sizes of the numbered copies of a tenant's checkpoints, ascending. */
  sizes(tenantId: string): number[] {
    const d = join(this.dir, tenantId);
    if (!existsSync(d)) return [];
    return readdirSync(d).filter((n) => /^(0|[1-9][0-9]*)$/.test(n)).map(Number).sort((a, b) => a - b);
  }
}

/** POSTs the signed note (text/plain) to the witness; throws on a network error or a non-2xx answer. */
export async function pushToWitness(url: string, tenantId: string, note: string): Promise<void> {
  const r = await fetch(url, {
    method: 'POST', body: note, signal: AbortSignal.timeout(5_000),
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-cerbere-log': tenantId },
  });
  if (!r.ok) throw new Error(`witness answered ${r.status}`);
}
