// One worker thread serving numbered jobs: each message sent gets an id, the worker answers with that id,
// and the promise settles then. While a job is pending the worker keeps the process alive (ref), otherwise
// not (unref). If the worker dies or fails, every pending job is rejected and `gone` is called, so the
// owner can drop it (a new one is started on demand). Used by the import pool, the argon2 pool and the
// access log's append thread.
import { Worker, type WorkerOptions } from 'node:worker_threads';

interface Pending { resolve: (reply: any) => void; reject: (e: Error) => void }

export class WorkerJobs {
  readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private next = 0;
  private dead = false;

  /** `other` receives messages that carry no job id (e.g. reports); `gone` is called once if the worker dies. */
  constructor(url: URL, options: WorkerOptions, private readonly failure: string,
    opts: { other?: (message: any) => void; gone?: () => void } = {}) {
    this.worker = new Worker(url, options);
    this.worker.on('message', (m: { id?: number }) => {
      const job = m.id === undefined ? undefined : this.pending.get(m.id);
      if (!job) { opts.other?.(m); return; }
      this.pending.delete(m.id!);
      if (!this.pending.size) this.worker.unref();
      job.resolve(m);
    });
    const fail = () => {
      if (this.dead) return;
      this.dead = true;
      this.rejectAll();
      opts.gone?.();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', fail);
    this.worker.unref();
  }

  /** Sends one job; resolves with the worker's reply (the whole message). */
  send<R>(message: object, transfer: ArrayBuffer[] = []): Promise<R> {
    if (this.dead) return Promise.reject(new Error(this.failure));
    const id = this.next++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref(); // a pending job keeps the process alive
      this.worker.postMessage({ id, ...message }, transfer);
    });
  }

  get busy(): number { return this.pending.size; }
  get alive(): boolean { return !this.dead; }

  /** Rejects what is pending and stops the thread. */
  async terminate(): Promise<void> {
    this.dead = true;
    this.rejectAll();
    await this.worker.terminate();
  }

  private rejectAll(): void {
    for (const j of this.pending.values()) j.reject(new Error(this.failure));
    this.pending.clear();
  }
}
