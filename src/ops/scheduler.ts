// The one place background jobs are started and stopped: the access-log integrator (and checkpoint
// signer), resumed key rotations, the retention timer and the export purger. main.ts asks it to start
// once the server is up and to stop before closing the services; no route or module starts a job itself.
import type { Services } from './services.ts';
import { resumeKeyJobs, stopKeyJobs } from './rotation.ts';
import { startRetentionTimer } from './retention.ts';
import { startExportPurger } from './export.ts';

export interface BackgroundJob {
  name: string;
  /** Starts the job; resolves with how to stop it. */
  start(): Promise<() => Promise<void> | void>;
}

/** The server's jobs, in the order they start (they stop in reverse). */
export function serverJobs(svc: Services, log: (msg: string) => void): BackgroundJob[] {
  return [
    { name: 'access-log', start: async () => { svc.log.start(); return () => svc.log.stop(); } },
    {
      name: 'key-rotations',
      start: async () => {
        await resumeKeyJobs(svc, log).catch(() => log('could not resume key rotations (database unavailable?)'));
        return () => stopKeyJobs();
      },
    },
    { name: 'retention', start: async () => startRetentionTimer(svc, log) },
    { name: 'export-purger', start: async () => startExportPurger(svc) },
  ];
}

export class Scheduler {
  private readonly stops: { name: string; stop: () => Promise<void> | void }[] = [];

  constructor(private readonly jobs: BackgroundJob[]) {}

  get running(): string[] { return this.stops.map((s) => s.name); }

  async start(): Promise<void> {
    for (const j of this.jobs) this.stops.push({ name: j.name, stop: await j.start() });
  }

  async stop(): Promise<void> {
    while (this.stops.length) await this.stops.pop()!.stop();
  }
}
