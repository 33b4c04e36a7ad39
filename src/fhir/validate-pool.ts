// Validation is the costliest step of a bulk import (≈0.2 ms per resource in medplum's validator),
// so large batches are validated in worker threads while the main thread encrypts and writes.
import { Worker } from 'node:worker_threads';
import os from 'node:os';
import { validateResource, type ValidationIssue } from './validate.ts';

interface Job { resolve: (v: ValidationIssue[][]) => void; reject: (e: Error) => void }

export class ValidationPool {
  private workers: Worker[] = [];
  private readonly jobs = new Map<number, Job>();
  private next = 0;
  private rr = 0;

  constructor(private readonly size = Math.max(1, os.availableParallelism())) {}

  private start(): void {
    for (let i = 0; i < this.size; i++) {
      const w = new Worker(new URL('./validate-worker.mjs', import.meta.url));
      w.on('message', (m: { id: number; issues: ValidationIssue[][] }) => {
        const job = this.jobs.get(m.id);
        this.jobs.delete(m.id);
        job?.resolve(m.issues);
      });
      w.on('error', (e) => { for (const j of this.jobs.values()) j.reject(e); this.jobs.clear(); });
      w.unref();
      this.workers.push(w);
    }
  }

  /** Issues per resource, in order. Small batches are validated inline. */
  async validateMany(resources: unknown[]): Promise<ValidationIssue[][]> {
    if (resources.length < 50) return resources.map((r) => validateResource(r));
    if (!this.workers.length) this.start();
    const w = this.workers[this.rr++ % this.workers.length];
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.jobs.set(id, { resolve, reject });
      w.postMessage({ id, resources });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
