// Main-thread side of the append worker: group-commit batches go to a worker thread that owns one
// PostgreSQL connection, so serialising, sending and awaiting the INSERT never takes the event loop
// that serves requests (the main thread is what limits reads on a 2-core machine).
// A batch resolves once committed and rejects if the worker reports failure or dies (fail closed).
import { Worker } from 'node:worker_threads';
import type { PgConnection } from '../store/db.ts';
import type { EventRow } from './append-sql.ts';

interface Waiting { resolve: () => void; reject: (e: Error) => void }

export class AppendThread {
  private worker: Worker | null = null;
  private readonly waiting = new Map<number, Waiting>();
  private next = 0;

  constructor(private readonly conn: PgConnection) {}

  private start(): Worker {
    const w = new Worker(new URL('./append-worker.mjs', import.meta.url), { workerData: this.conn });
    w.on('message', (m: { id: number; ok: boolean }) => {
      const job = this.waiting.get(m.id);
      if (!job) return;
      this.waiting.delete(m.id);
      if (m.ok) job.resolve(); else job.reject(new Error('append failed'));
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

  write(rows: EventRow[]): Promise<void> {
    const w = this.worker ?? this.start();
    const id = this.next++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.ref(); // a pending batch keeps the process alive
      w.postMessage({ id, rows: JSON.stringify(rows) });
    });
  }

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
