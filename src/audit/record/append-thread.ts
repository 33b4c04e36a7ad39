// Main-thread side of the append worker (CERBERE_AUDIT_THREAD, PostgreSQL): group-commit batches go to a
// worker thread that owns one PostgreSQL connection, so serialising, sending and awaiting the INSERT never
// takes the event loop that serves requests. Not the default: on 2 cores the hops between threads cost
// reads more than they save (services.ts).
// A batch resolves once committed and rejects if the worker reports failure or dies (fail closed).
import type { PgConnection } from '../../store/db.ts';
import type { EventRow } from './append-sql.ts';
import { WorkerJobs } from '../../core/worker-jobs.ts';

interface Reply { ok: boolean; added?: number; code?: string }

export class AppendThread {
  private jobs: WorkerJobs | null = null;

  constructor(private readonly conn: PgConnection, private readonly report: (message: string) => void = () => {}) {}

  private start(): WorkerJobs {
    const jobs: WorkerJobs = new WorkerJobs(new URL('../log/append-worker.mjs', import.meta.url), { workerData: this.conn }, 'append worker stopped', {
      other: (m: { report?: string }) => { if (m.report) this.report(m.report); },
      gone: () => { if (this.jobs === jobs) this.jobs = null; }, // the next batch starts a new worker
    });
    this.jobs = jobs;
    return jobs;
  }

  private async send(message: object): Promise<number> {
    const r = await (this.jobs ?? this.start()).send<Reply>(message);
    if (!r.ok) throw Object.assign(new Error('access log worker failed'), { code: r.code });
    return r.added ?? 0;
  }

  /** Resolves once the batch has committed. */
  async write(rows: EventRow[]): Promise<void> { await this.send({ rows: JSON.stringify(rows) }); }

  /** Integrates every tenant's pending events in the worker; resolves with how many were added. */
  integrateAll(): Promise<number> { return this.send({ integrate: true }); }

  async close(): Promise<void> {
    const jobs = this.jobs;
    if (!jobs) return;
    this.jobs = null;
    const w = jobs.worker;
    w.ref();
    // The worker closes its connection first (an answer without a job id), then the thread stops.
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      w.on('message', (m: { closed?: boolean }) => { if (m.closed) { clearTimeout(t); resolve(); } });
      w.postMessage({ close: true });
    });
    await jobs.terminate();
  }
}
