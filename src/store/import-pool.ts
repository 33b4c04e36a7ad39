// Validation (≈0.2 ms per resource in medplum's validator) and blind indexing dominate a bulk
// import, so large batches go to worker threads while the main thread encrypts and writes.
import { Worker } from 'node:worker_threads';
import os from 'node:os';
import { validateResource, type ValidationIssue } from '../fhir/validate.ts';
import { resourceTokens } from './indexer.ts';
import { withCompartmentToken } from '../auth/access-decision.ts';
import type { TenantKeys } from '../vault/keyring.ts';

/** Per resource: validation issues, and blind-index tokens including the compartment token (empty when invalid). */
export interface Prepared { issues: ValidationIssue[][]; tokens: string[][] }
interface Job { resolve: (v: Prepared) => void; reject: (e: Error) => void }

export class ImportPool {
  private workers: Worker[] = [];
  private readonly jobs = new Map<number, Job>();
  private next = 0;
  private rr = 0;
  private readonly pending = new Map<Worker, number>();

  constructor(private readonly size = Number(process.env.CERBERE_IMPORT_WORKERS) || Math.max(1, os.availableParallelism())) {}

  private start(): void {
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(new URL('./import-worker.mjs', import.meta.url));
      w.on('message', (m: { id: number } & Prepared) => {
        const job = this.jobs.get(m.id);
        this.jobs.delete(m.id);
        job?.resolve({ issues: m.issues, tokens: m.tokens });
      });
      // A dead worker fails every pending job and leaves the pool, which restarts on the next batch.
      const fail = () => {
        for (const j of this.jobs.values()) j.reject(new Error('import worker stopped'));
        this.jobs.clear();
        void this.close();
      };
      w.on('error', fail);
      w.on('exit', (code) => { if (code !== 0 && this.workers.includes(w)) fail(); });
      w.unref();
      this.workers.push(w);
    }
  }

  /** Validation issues and tokens per resource, in order. Small batches are done inline. */
  async prepareMany(keys: TenantKeys, idxKey: Buffer, resources: unknown[]): Promise<Prepared> {
    if (resources.length < 50) {
      const issues = resources.map((r) => validateResource(r));
      return { issues, tokens: resources.map((r, i) => (issues[i].length ? [] : withCompartmentToken(keys, r, resourceTokens(keys, r)))) };
    }
    if (!this.workers.length) this.start();
    // One slice per worker: every batch uses all cores instead of queueing whole batches on one worker.
    const per = Math.max(50, Math.ceil(resources.length / this.workers.length));
    const parts: Promise<Prepared>[] = [];
    try {
      for (let at = 0; at < resources.length; at += per) parts.push(this.run(idxKey, keys, resources.slice(at, at + per)));
      const done = await Promise.all(parts);
      return { issues: done.flatMap((d) => d.issues), tokens: done.flatMap((d) => d.tokens) };
    } finally {
      idxKey.fill(0);
    }
  }

  private async run(idxKey: Buffer, keys: TenantKeys, resources: unknown[]): Promise<Prepared> {
    const w = this.workers[this.rr++ % this.workers.length];
    const id = this.next++;
    this.pending.set(w, (this.pending.get(w) ?? 0) + 1);
    w.ref(); // keep the process alive while a job is pending
    try {
      return await new Promise<Prepared>((resolve, reject) => {
        this.jobs.set(id, { resolve, reject });
        // The key crosses in its own ArrayBuffer, transferred: a Buffer view would clone its whole 8 KiB
        // allocation pool (other secrets included) into the worker, and a transferred copy leaves none here.
        const key = new Uint8Array(idxKey);
        w.postMessage({ id, tenantId: keys.tenantId, keyVersion: keys.loadedAt, idxKey: key, resources }, [key.buffer]);
      });
    } finally {
      const left = (this.pending.get(w) ?? 1) - 1;
      this.pending.set(w, left);
      if (!left) w.unref();
    }
  }

  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
