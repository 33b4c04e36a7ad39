// argon2id computations on dedicated worker threads of lower scheduling priority (CERBERE_ARGON2_NICE),
// at most one per thread: a burst of logins uses the CPU that serving requests leaves, instead of
// libuv's shared pool at normal priority. Callers bound concurrency to the number of threads.
import { WorkerJobs } from '../core/worker-jobs.ts';

export class Argon2Pool {
  private readonly idle: WorkerJobs[] = [];

  constructor(private readonly nice: number) {}

  // A dead worker fails its job (a login answers "no") and leaves the pool; another is started on demand.
  private spawn(): WorkerJobs {
    const jobs: WorkerJobs = new WorkerJobs(new URL('./argon2-worker.mjs', import.meta.url), { workerData: { nice: this.nice } }, 'argon2 worker stopped', {
      gone: () => { const i = this.idle.indexOf(jobs); if (i >= 0) this.idle.splice(i, 1); },
    });
    return jobs;
  }

  /** Runs one computation on an idle thread (one is started when none is idle). */
  async run<T>(message: { op: 'hash'; password: string; options: object } | { op: 'verify'; stored: string; password: string }): Promise<T> {
    const jobs = this.idle.pop() ?? this.spawn();
    try {
      const r = await jobs.send<{ ok: boolean; result?: T }>(message);
      if (!r.ok) throw new Error('argon2 failed');
      return r.result as T;
    } finally {
      if (jobs.alive) this.idle.push(jobs);
    }
  }

  /** Stops threads beyond `keep` idle ones (after the concurrency was lowered). */
  trim(keep: number): void {
    while (this.idle.length > keep) void this.idle.pop()!.terminate();
  }
}
