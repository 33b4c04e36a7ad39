// Main-thread side of the append worker: group-commit batches go to a worker thread that owns one
// PostgreSQL connection, so serialising, sending and awaiting the INSERT never takes the event loop
// that serves requests (the main thread is what limits reads on a 2-core machine).
// A batch resolves once committed and rejects if the worker reports failure or dies (fail closed).
import { Worker } from 'node:worker_threads';
import type { PgConnection } from '../store/db.ts';
import type { EventRow } from './append-sql.ts';

interface Waiting { resolve: (added: number) => void; reject: (e: Error) => void }

export class AppendThread {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private next = 0;

  constructor(private readonly conn: PgConnection, private readonly report: (message: string) => void = () => {}) {}

  private start(): Worker {
    const w = new Worker(new URL('./append-worker.mjs', import.meta.url), { workerData: this.conn });
    w.on('message', (m: { id: number; ok: boolean; added?: number; code?: string; report?: string }) => {
      if (m.report) { this.report(m.report); return; }
      const job = this.waiting.get(m.id);
      if (!job) return;
      this.waiting.delete(m.id);
      if (m.ok) job.resolve(m.added ?? 0); else job.reject(Object.assign(new Error('access log worker failed'), { code: m.code }));
      if (!this.waiting.size) w.unref();
    });
    const fail = () => {
      if (this.worker !== w) return;
      this.worker = null; // the next batch starts a new worker
      for (const j of this.waiting.values()) j.reject(new Error('append worker stopped'));
      this.waiting.clear();
    };
    w.on('error', fail);
    w.on('exit', fail);
    w.unref();
    this.worker = w;
    return w;
  }

  private send(message: object): Promise<number> {
    const w = this.worker ?? this.start();
    const id = this.next++;
    return new Promise<number>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.ref(); // a pending job keeps the process alive
      w.postMessage({ id, ...message });
    });
  }

  /** Resolves once the batch has committed. */
  async write(rows: EventRow[]): Promise<void> { await this.send({ rows: JSON.stringify(rows) }); }

  /** Integrates every tenant's pending events in the worker; resolves with how many were added. */
  integrateAll(): Promise<number> { return this.send({ integrate: true }); }

  async close(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = null;
    w.ref();
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      w.on('message', (m: { closed?: boolean }) => { if (m.closed) { clearTimeout(t); resolve(); } });
      w.postMessage({ close: true });
    });
    await w.terminate();
    for (const j of this.waiting.values()) j.reject(new Error('append worker stopped'));
    this.waiting.clear();
  }
}
