// What the repository and the other modules hand to the access-event recorder. The recorder itself
// (group commit, Merkle log) lives in src/audit/; modules below audit/ receive it through this
// interface, so they record access without importing upward (docs/architecture.md).
import type { Kysely, Transaction } from 'kysely';
import type { DB } from './schema.ts';
import type { AccessContext } from './context.ts';

export interface AccessEvent {
  action: string;
  outcome: 'success' | 'denied' | 'failure';
  resourceRefs: string[];
  patientIds: string[];
  detail?: string;
}

export class AuditUnavailableError extends Error {
  constructor() { super('the access log cannot be written'); }
}

/** Implemented by src/audit/record/recorder.ts (AuditRecorder). */
export interface AccessRecorder {
  /** Resolves once the event is durable; the caller must not release data before. */
  record(ctx: AccessContext, event: AccessEvent): Promise<void>;
  /** Appends inside the caller's transaction: the access and its event commit or fail together. */
  appendInTransaction(tx: Transaction<DB> | Kysely<DB>, ctx: AccessContext, events: AccessEvent[]): Promise<void>;
}
