// Server-side key lifecycle: resumes unfinished rotations at start and runs the retention timer.
import type { Services } from '../services.ts';
import { resumeKeyJobs, stopKeyJobs } from './rotation.ts';
import { startRetentionTimer } from '../store/retention.ts';

export async function startKeyLifecycle(services: Services, log: (msg: string) => void): Promise<() => Promise<void>> {
  await resumeKeyJobs(services, log).catch(() => log('could not resume key rotations (database unavailable?)'));
  const stopRetention = startRetentionTimer(services, log);
  return async () => { stopRetention(); await stopKeyJobs(); };
}
