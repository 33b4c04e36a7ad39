// Validation (≈0.2 ms per resource in medplum's validator) and blind indexing dominate a bulk
// import, so large batches go to worker threads while the main thread encrypts and writes.
import { Worker } from 'node:worker_threads';
import os from 'node:os';
import { validateResource, type ValidationIssue } from '../fhir/validate.ts';
import { resourceTokens } from './indexer.ts';
import type { TenantKeys } from '../vault/keyring.ts';

export interface Prepared { issues: ValidationIssue[][]; tokens: string[][] }
interface Job { resolve: (v: Prepared) => void; reject: (e: Error) => void }

export class ImportPool {
  private workers: Worker[] = [];
  private readonly jobs = new Map<number, Job>();
  private next = 0;
  private rr = 0;

  constructor(private readonly size = Number(process.env.CERBERE_IMPORT_WORKERS) || Math.max(1, os.availableParallelism())) {}

  private start(): void {
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(new URL('./import-worker.mjs', import.meta.url));
      w.on('message', (m: { id: number } & Prepared) => {
        const job = this.jobs.get(m.id);
        this.jobs.delete(m.id);
        job?.resolve({ issues: m.issues, tokens: m.tokens });
      });
      w.on('error', (e) => { for (const j of this.jobs.values()) j.reject(e); this.jobs.clear(); });
      w.unref();
      this.workers.push(w);
    }
  }

  /** Validation issues and tokens per resource, in order. Small batches are done inline. */
  async prepareMany(keys: TenantKeys, idxKey: Buffer, resources: unknown[]): Promise<Prepared> {
    if (resources.length < 50) {
      const issues = resources.map((r) => validateResource(r));
      return { issues, tokens: resources.map((r, i) => (issues[i].length ? [] : resourceTokens(keys, r))) };
    }
    if (!this.workers.length) this.start();
    const w = this.workers[this.rr++ % this.workers.length];
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      w.postMessage({ id, tenantId: keys.tenantId, idxKey, resources });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
