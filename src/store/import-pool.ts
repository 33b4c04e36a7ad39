// Validation (≈0.2 ms per resource in medplum's validator) and blind indexing dominate a bulk
// import, so large batches go to worker threads, which also seal the resources when asked, while the
// main thread writes. Keys cross the thread boundary as transferred copies, zeroed once used: a worker
// thread shares the process's address space, so this exposes them to no one the main thread's copy
// is not already exposed to.
import { WorkerJobs } from '../core/worker-jobs.ts';
import os from 'node:os';
import type { ValidationIssue } from '../fhir/validate.ts';
import { validateAndIndex } from './import-prepare.ts';
import type { TenantKeys } from '../vault/keyring.ts';
import type { PatientKeyRef } from '../vault/envelope.ts';
import { KEY_BYTES } from '../vault/aead.ts';

/** Per resource: validation issues, blind-index tokens including the compartment token (empty when invalid),
 *  and with `seal`, the sealed body of the stamped resource (null when invalid or sealed on the main thread). */
export interface Prepared { issues: ValidationIssue[][]; tokens: string[][]; bodies?: (Buffer | null)[] }
/** What the workers need to seal version 1 of each resource: its lastUpdated, and per resource its patient's key. */
export interface SealRequest { now: string; patientKeys: (PatientKeyRef | undefined)[] }
interface Reply { issues: ValidationIssue[][]; tokens: string[][]; sealed?: Uint8Array; ends?: number[] }

/** Young generation of an import worker (V8's semi-space is a third of it: 64 MB). */
const YOUNG_GENERATION_MB = 192;

export class ImportPool {
  private workers: WorkerJobs[] = [];
  private rr = 0;

  constructor(private readonly size = Number(process.env.CERBERE_IMPORT_WORKERS) || Math.max(1, os.availableParallelism())) {}

  private start(): void {
    for (let i = 0; i < this.size; i++) {
      // A dead worker fails its pending jobs and the pool, which restarts on the next batch.
      // A young generation 4× V8's default: a job's 500 resources and their validation garbage filled the default
      // one every ≈ 90 resources, and each scavenge copied the job's live objects again (≈ 4 % of an import's CPU).
      this.workers.push(new WorkerJobs(new URL('./import-worker.mjs', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } },
        'import worker stopped', { gone: () => { void this.close(); } }));
    }
  }

  /** Validation issues and tokens per resource, in order. Small batches are done inline. */
  async prepareMany(keys: TenantKeys, idxKey: Buffer, resources: unknown[], seal?: SealRequest): Promise<Prepared> {
    if (resources.length < 50) return validateAndIndex(keys, resources);
    if (!this.workers.length) this.start();
    // One slice per worker: every batch uses all cores instead of queueing whole batches on one worker.
    const per = Math.max(50, Math.ceil(resources.length / this.workers.length));
    const parts: Promise<Prepared>[] = [];
    try {
      for (let at = 0; at < resources.length; at += per) {
        parts.push(this.run(idxKey, keys, resources.slice(at, at + per), seal && { now: seal.now, patientKeys: seal.patientKeys.slice(at, at + per) }));
      }
      const done = await Promise.all(parts);
      return { issues: done.flatMap((d) => d.issues), tokens: done.flatMap((d) => d.tokens), bodies: seal ? done.flatMap((d) => d.bodies ?? []) : undefined };
    } finally {
      idxKey.fill(0);
    }
  }

  private async run(idxKey: Buffer, keys: TenantKeys, resources: unknown[], seal?: SealRequest): Promise<Prepared> {
    const w = this.workers[this.rr++ % this.workers.length];
    // The key crosses in its own ArrayBuffer, transferred: a Buffer view would clone its whole 8 KiB
    // allocation pool (other secrets included) into the worker, and a transferred copy leaves none here.
    const key = new Uint8Array(idxKey);
    const transfer: ArrayBuffer[] = [key.buffer];
    let sealing: object | undefined;
    if (seal) {
      // The tenant's current data key and each resource's patient key (key number -1: none), in transferred buffers.
      const enc = new Uint8Array(keys.current);
      const patientKeys = new Uint8Array(resources.length * KEY_BYTES);
      const keyNos = seal.patientKeys.map((p, i) => { if (!p) return -1; patientKeys.set(p.key, i * KEY_BYTES); return p.keyNo; });
      sealing = { now: seal.now, encVersion: keys.encVersion, enc, patientKeys, keyNos };
      transfer.push(enc.buffer, patientKeys.buffer);
    }
    const m = await w.send<Reply>({ tenantId: keys.tenantId, keyVersion: keys.loadedAt, idxKey: key, resources, seal: sealing }, transfer);
    return { issues: m.issues, tokens: m.tokens, bodies: m.sealed ? splitBodies(m.sealed, m.ends!) : undefined };
  }

  async close(): Promise<void> {
    const ws = this.workers;
    this.workers = [];
    await Promise.all(ws.map((w) => w.terminate()));
  }
}

/** Bodies sealed by a worker arrive concatenated (one transferred buffer); `ends` are their end offsets, 0 length = none. */
function splitBodies(all: Uint8Array, ends: number[]): (Buffer | null)[] {
  const buf = Buffer.from(all.buffer, all.byteOffset, all.byteLength);
  return ends.map((end, i) => { const start = i ? ends[i - 1] : 0; return end > start ? buf.subarray(start, end) : null; });
}
