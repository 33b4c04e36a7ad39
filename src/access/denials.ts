// "Record the denial, then refuse": the one place a refused access becomes an access event. Refusals that
// release nothing are recorded without waiting (a slow log must not slow a refusal); those that follow a
// look at stored data (scope, volume) wait for the event, and a log that cannot write answers 503.
import type { AccessContext } from '../core/context.ts';
import type { AccessEvent, AccessRecorder } from '../core/access-event.ts';
import { FhirError } from '../fhir/outcome.ts';

export interface Denial { action: string; resourceRefs?: string[]; patientIds?: string[]; detail?: string }

/**
 * Records the denial and throws `error`. `wait`: false (default) records in the background; true waits
 * until the event is durable (503 if the log cannot write); 'settled' waits for the attempt but refuses
 * with `error` whatever its result.
 */
export async function deny(recorder: AccessRecorder, ctx: AccessContext, d: Denial, error: Error, opts: { wait?: boolean | 'settled' } = {}): Promise<never> {
  const event: AccessEvent = { action: d.action, outcome: 'denied', resourceRefs: d.resourceRefs ?? [], patientIds: d.patientIds ?? [], ...(d.detail ? { detail: d.detail } : {}) };
  if (!opts.wait) {
    recorder.record(ctx, event).catch(() => {});
    throw error;
  }
  if (opts.wait === 'settled') {
    await recorder.record(ctx, event).catch(() => {});
    throw error;
  }
  try { await recorder.record(ctx, event); } catch {
    throw FhirError.serviceUnavailable('access log unavailable');
  }
  throw error;
}

/** The same, for callers that cannot await before throwing (a synchronous check): recorded without waiting. */
export function denyNow(recorder: AccessRecorder, ctx: AccessContext, d: Denial, error: Error): never {
  recorder.record(ctx, { action: d.action, outcome: 'denied', resourceRefs: d.resourceRefs ?? [], patientIds: d.patientIds ?? [], ...(d.detail ? { detail: d.detail } : {}) }).catch(() => {});
  throw error;
}
