// argon2id computations on dedicated worker threads of lower scheduling priority (CERBERE_ARGON2_NICE),
// at most one per thread: a burst of logins uses the CPU that serving requests leaves, instead of
// libuv's shared pool at normal priority. Callers bound concurrency to the number of threads.
import { Worker } from 'node:worker_threads';

interface Job { worker: Worker; resolve: (v: any) => void; reject: (e: Error) => void }

export class Argon2Pool {
  private readonly idle: Worker[] = [];
  private readonly jobs = new Map<number, Job>();
  private next = 0;

  constructor(private readonly nice: number) {}

  private spawn(): Worker {
    const w = new Worker(new URL('./argon2-worker.mjs', import.meta.url), { workerData: { nice: this.nice } });
    w.on('message', (m: { id: number; ok: boolean; result?: unknown }) => {
      const job = this.jobs.get(m.id);
      this.jobs.delete(m.id);
      w.unref();
      this.idle.push(w);
      if (m.ok) job?.resolve(m.result); else job?.reject(new Error('argon2 failed'));
    });
    // A dead worker fails its job (a login answers "no") and leaves the pool; another is started on demand.
    const gone = () => {
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
      const mine = [...this.jobs].filter(([, j]) => j.worker === w);
      for (const [id, j] of mine) { this.jobs.delete(id); j.reject(new Error('argon2 worker stopped')); }
    };
    w.on('error', gone);
    w.on('exit', gone);
    w.unref();
    return w;
  }

  /** Runs one computation on an idle thread (one is started when none is idle). */
  run<T>(message: { op: 'hash'; password: string; options: object } | { op: 'verify'; stored: string; password: string }): Promise<T> {
    const w = this.idle.pop() ?? this.spawn();
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      this.jobs.set(id, { worker: w, resolve, reject });
      w.ref(); // a pending computation keeps the process alive
      w.postMessage({ id, ...message });
    });
  }

  /** Stops threads beyond `keep` idle ones (after the concurrency was lowered). */
  trim(keep: number): void {
    while (this.idle.length > keep) void this.idle.pop()!.terminate();
  }
}
