// Worker thread computing argon2id for src/auth/argon2-pool.ts. It lowers its own thread's scheduling
// priority (Linux: the nice value is per thread), so a flood of login attempts takes the CPU left over
// by request serving instead of taking it from it. Plain JavaScript: no TypeScript loader to start.
import { parentPort, workerData } from 'node:worker_threads';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { hashSync, verifySync } from '@node-rs/argon2';

try {
  // /proc/thread-self → "<pid>/task/<tid>"; setpriority on a tid changes that thread only.
  if (workerData?.nice) setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), workerData.nice);
} catch { /* not Linux, or not allowed: same priority as the rest */ }

parentPort.on('message', (m) => {
  try {
    const result = m.op === 'hash' ? hashSync(m.password, m.options) : verifySync(m.stored, m.password);
    parentPort.postMessage({ id: m.id, ok: true, result });
  } catch {
    parentPort.postMessage({ id: m.id, ok: false });
  }
});
